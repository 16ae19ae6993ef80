package serve

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/latentzoo/latentzoo/api"
	"github.com/latentzoo/latentzoo/errkind"
	"github.com/latentzoo/latentzoo/latent"
	"github.com/latentzoo/latentzoo/pixels"
)

// defaultSamples is /sample's n when the request gives none (at most Config.MaxBatch).
const defaultSamples = 16

// defaultSteps is /interpolate's steps when the request gives none.
const defaultSteps = 8

// apiHandler answers an inference request whose fields are parsed and model chosen.
type apiHandler func(w http.ResponseWriter, r *http.Request, q *request, m *model) error

// inference wraps an inference handler, latentzoo's or the OIP's: it takes an in-flight
// slot (waiting while the request lasts), limits the body, and reports h's error as JSON.
func (s *Server) inference(h func(w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		select {
		case s.slots <- struct{}{}:
			defer func() { <-s.slots }()
		case <-r.Context().Done():
			writeError(w, r, s.log, errkind.New(errkind.Unavailable, "the request ended while waiting for the server"))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		if err := h(w, r); err != nil {
			writeError(w, r, s.log, err)
		}
	}
}

// api wraps an endpoint of latentzoo's API as inference does, parsing the fields the route
// allows and picking the model.
func (s *Server) api(route string, h apiHandler, allowed ...string) http.HandlerFunc {
	return s.inference(func(w http.ResponseWriter, r *http.Request) error {
		return s.serveAPI(w, r, route, h, allowed)
	})
}

// serveAPI parses an inference request, picks its model and hands it to h.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, route string, h apiHandler, allowed []string) error {
	q, err := parseRequest(r, route, allowed...)
	if err != nil {
		return err
	}
	// A model that a load replaces meanwhile stays open until this request is done.
	m, err := s.acquire(q.model, q.has(fieldModel))
	if err != nil {
		return err
	}
	defer m.users.Done()
	return h(w, r, q, m)
}

// unknownModel is the error for a model name that no served model answers to.
func (s *Server) unknownModel(name string) error {
	return errkind.New(errkind.NotFound, "unknown model %q (serving: %s)", name, strings.Join(s.modelNames(), ", "))
}

// decoder picks the role of the graph that decodes: the request's decoder field, else def.
func decoder(m *model, q *request, def string) (string, error) {
	role := def
	if q.has(fieldDecoder) {
		role = q.decoder
	}
	return m.DecoderRole(role, def)
}

// upload is an encoded image sent in a field.
type upload struct {
	field string
	data  []byte
}

// tensors decodes the uploaded images and converts each to one example of the model, end
// to end.
func (s *Server) tensors(m *model, uploads ...upload) ([]float32, error) {
	size := m.ImageSize()
	x := make([]float32, len(uploads)*size)
	for i, u := range uploads {
		img, err := decodeImage(u.field, u.data, s.cfg.MaxImageSide, s.cfg.MaxImagePixels)
		if err != nil {
			return nil, err
		}
		if err := m.FromImage(img, x[i*size:(i+1)*size]); err != nil {
			return nil, badRequest("field %s: %v", u.field, err)
		}
	}
	return x, nil
}

// wantJSON reports whether the client asked for JSON in its Accept header.
func wantJSON(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		for _, part := range strings.Split(v, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil || mt != "application/json" {
				continue
			}
			if qv, err := strconv.ParseFloat(params["q"], 64); err == nil && qv == 0 {
				continue
			}
			return true
		}
	}
	return false
}

// respondImages answers with the decoded images: one PNG of them all laid out in cols
// columns, or with Accept: application/json, resp completed with one base64 PNG each.
func respondImages(w http.ResponseWriter, r *http.Request, m *model, images []float32, cols int, resp api.Images) error {
	man := m.Manifest()
	n, c, res := len(resp.Z), man.Channels, man.Resolution
	w.Header().Set("X-Model", m.Name())
	w.Header().Set("X-Decoder", resp.Decoder)
	if resp.Seed != nil {
		w.Header().Set("X-Seed", strconv.FormatInt(*resp.Seed, 10))
	}
	if wantJSON(r) {
		size := m.ImageSize()
		resp.Model = m.Name()
		resp.Images = make([]string, n)
		for i := range n {
			png, err := encodePNG(pixels.Grid(images[i*size:(i+1)*size], 1, c, res, res, 1))
			if err != nil {
				return err
			}
			resp.Images[i] = base64.StdEncoding.EncodeToString(png)
		}
		writeJSON(w, http.StatusOK, resp)
		return nil
	}
	png, err := encodePNG(pixels.Grid(images, n, c, res, res, cols))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Content-Length", strconv.Itoa(len(png)))
	_, _ = w.Write(png) // a failed write is a client gone
	return nil
}

// missing is the error for a required field the request lacks; what says what it holds.
func missing(field, what string) error {
	return badRequest("missing field %s (%s)", field, what)
}

// reconstruct encodes one image and decodes its latent.
func (s *Server) reconstruct(w http.ResponseWriter, r *http.Request, q *request, m *model) error {
	if !q.has(fieldImage) {
		return missing(fieldImage, "the image to reconstruct")
	}
	role, err := decoder(m, q, m.Manifest().Reconstruct)
	if err != nil {
		return err
	}
	x, err := s.tensors(m, upload{fieldImage, q.image})
	if err != nil {
		return err
	}
	out, z, err := m.Reconstruct(role, x, 1)
	if err != nil {
		return err
	}
	return respondImages(w, r, m, out, 1, api.Images{Decoder: role, Z: z})
}

// encode answers one image's latent, always as JSON.
func (s *Server) encode(w http.ResponseWriter, r *http.Request, q *request, m *model) error {
	if !q.has(fieldImage) {
		return missing(fieldImage, "the image to encode")
	}
	x, err := s.tensors(m, upload{fieldImage, q.image})
	if err != nil {
		return err
	}
	enc, err := m.Posterior(x, 1)
	if err != nil {
		return err
	}
	resp := api.Encoding{Model: m.Name(), LatentKind: m.Manifest().LatentKind, Z: enc.Z[0]}
	if m.HasPosterior() {
		resp.Mu, resp.LogVar = enc.Mu[0], enc.LogVar[0]
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// decode decodes one latent or a list of them.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, q *request, m *model) error {
	if !q.has(fieldZ) {
		return missing(fieldZ, "a latent, or a list of latents")
	}
	if len(q.z) > s.cfg.MaxBatch {
		return badRequest("field z: %d latents; at most %d per request", len(q.z), s.cfg.MaxBatch)
	}
	role, err := decoder(m, q, m.Manifest().Reconstruct)
	if err != nil {
		return err
	}
	zs := make([][]float32, len(q.z))
	for i, v := range q.z {
		field := fieldZ
		if len(q.z) > 1 {
			field = fmt.Sprintf("z[%d]", i)
		}
		if zs[i], err = m.Latent("field "+field, v); err != nil {
			return err
		}
	}
	out, err := m.Decode(role, zs)
	if err != nil {
		return err
	}
	return respondImages(w, r, m, out, len(zs), api.Images{Decoder: role, Z: zs})
}

// interpolate decodes the path between two ends, each an image or a latent.
func (s *Server) interpolate(w http.ResponseWriter, r *http.Request, q *request, m *model) error {
	steps := defaultSteps
	if q.has(fieldSteps) {
		if steps = q.steps; steps < 2 || steps > s.cfg.MaxSteps {
			return badRequest("field steps: %d is out of range: frames including both ends, 2 to %d", steps, s.cfg.MaxSteps)
		}
	}
	path := m.DefaultPath()
	if q.has(fieldPath) {
		path = q.path
		if err := latent.CheckPath(path); err != nil {
			return err
		}
	}
	role, err := decoder(m, q, m.Manifest().Reconstruct)
	if err != nil {
		return err
	}
	// Each end is an image to encode or a latent.
	ends := [2]struct {
		image  upload
		latent string
		v      []float64
		z      []float32
	}{
		{image: upload{fieldA, q.a}, latent: fieldZA, v: q.za},
		{image: upload{fieldB, q.b}, latent: fieldZB, v: q.zb},
	}
	var uploads []upload
	for i := range ends {
		e := &ends[i]
		switch {
		case q.has(e.image.field) && q.has(e.latent):
			return badRequest("give field %s (an image) or %s (a latent), not both", e.image.field, e.latent)
		case q.has(e.image.field):
			uploads = append(uploads, e.image)
		case q.has(e.latent):
			if e.z, err = m.Latent("field "+e.latent, e.v); err != nil {
				return err
			}
		default:
			return badRequest("missing field %s (an image) or %s (a latent)", e.image.field, e.latent)
		}
	}
	if len(uploads) > 0 {
		x, err := s.tensors(m, uploads...)
		if err != nil {
			return err
		}
		zs, err := m.Encode(x, len(uploads))
		if err != nil {
			return err
		}
		for i := range ends {
			if ends[i].z == nil {
				ends[i].z, zs = zs[0], zs[1:]
			}
		}
	}
	out, zs, err := m.Interpolate(role, ends[0].z, ends[1].z, steps, path)
	if err != nil {
		return err
	}
	return respondImages(w, r, m, out, steps, api.Images{Decoder: role, Path: path, Z: zs})
}

// sample decodes latents drawn from the prior.
func (s *Server) sample(w http.ResponseWriter, r *http.Request, q *request, m *model) error {
	n := min(defaultSamples, s.cfg.MaxBatch)
	if q.has(fieldN) {
		if n = q.n; n < 1 || n > s.cfg.MaxBatch {
			return badRequest("field n: %d is out of range 1 to %d", n, s.cfg.MaxBatch)
		}
	}
	seed := rand.Int64()
	if q.has(fieldSeed) {
		seed = q.seed
	}
	role, err := decoder(m, q, m.Manifest().Sample)
	if err != nil {
		return err
	}
	out, zs, err := m.Sample(role, n, seed)
	if err != nil {
		return err
	}
	return respondImages(w, r, m, out, gridColumns(n), api.Images{Decoder: role, Seed: &seed, Z: zs})
}

// edit moves one latent, given or encoded from an image, along attribute directions and
// decodes it.
func (s *Server) edit(w http.ResponseWriter, r *http.Request, q *request, m *model) error {
	if !q.has(fieldAttributes) {
		return missing(fieldAttributes, `attribute names to strengths, e.g. {"sneaker": 1.5}`)
	}
	// Every name is checked before any work.
	edits, err := m.Edits(q.attributes)
	if err != nil {
		return err
	}
	role, err := decoder(m, q, m.Manifest().Reconstruct)
	if err != nil {
		return err
	}
	var z []float32
	switch {
	case q.has(fieldImage) && q.has(fieldZ):
		return badRequest("give field %s (an image) or %s (a latent), not both", fieldImage, fieldZ)
	case q.has(fieldImage):
		x, err := s.tensors(m, upload{fieldImage, q.image})
		if err != nil {
			return err
		}
		zs, err := m.Encode(x, 1)
		if err != nil {
			return err
		}
		z = zs[0]
	case q.has(fieldZ):
		if len(q.z) != 1 {
			return badRequest("field z: %d latents; /edit edits one", len(q.z))
		}
		if z, err = m.Latent("field "+fieldZ, q.z[0]); err != nil {
			return err
		}
	default:
		return badRequest("missing field %s (an image) or %s (a latent)", fieldImage, fieldZ)
	}
	out, edited, err := m.Edit(role, z, edits)
	if err != nil {
		return err
	}
	return respondImages(w, r, m, out, 1, api.Images{Decoder: role, Z: [][]float32{edited}})
}

// healthz reports that the process is up.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, api.Status{Status: "ok"})
}

// readyz reports whether the server takes requests: its models are open, and it is not
// shutting down.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, api.Status{Status: "shutting down"})
		return
	}
	writeJSON(w, http.StatusOK, api.Status{Status: "ready", Models: s.modelNames()})
}

func (s *Server) summary(m *model) api.ModelSummary {
	man := m.Manifest()
	attrs := []api.Attribute{}
	for _, d := range m.Attributes() {
		attrs = append(attrs, api.Attribute{Name: d.Name, Kind: d.Kind, Description: d.Description, With: d.With, Without: d.Without, Norm: d.Norm()})
	}
	return api.ModelSummary{
		Name: man.Name, Family: man.Family, Dataset: man.Dataset,
		Resolution: man.Resolution, Channels: man.Channels,
		LatentSize: man.LatentSize, LatentKind: man.LatentKind,
		Reconstruct: man.Reconstruct, Sample: man.Sample,
		Decoders:   m.Decoders(),
		Attributes: attrs,
		Default:    m == s.def,
	}
}

func (s *Server) listModels(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	list := api.ModelList{Default: s.def.Name(), Models: make([]api.ModelSummary, len(s.models))}
	for i, m := range s.models {
		list.Models[i] = s.summary(m)
	}
	s.mu.RUnlock()
	writeJSON(w, http.StatusOK, list)
}

// modelOf returns the served model a route's path names (escaped slashes allowed), or an
// error of the kind its answer needs.
func (s *Server) modelOf(escaped string) (*model, error) {
	name, err := url.PathUnescape(escaped)
	if err != nil {
		return nil, badName(err)
	}
	m := s.lookup(name)
	if m == nil {
		return nil, s.unknownModel(name)
	}
	return m, nil
}

func (s *Server) showModel(w http.ResponseWriter, r *http.Request) {
	m, err := s.modelOf(chi.URLParam(r, "*"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	d := api.ModelDetail{ModelSummary: s.summaryOf(m), Manifest: m.Manifest(), Graphs: map[string]api.Graph{}}
	for role, g := range m.Graphs() {
		info := api.Graph{Provider: g.Provider}
		for _, t := range g.Inputs {
			info.Inputs = append(info.Inputs, api.Tensor{Name: t.Name, Shape: t.Shape})
		}
		for _, t := range g.Outputs {
			info.Outputs = append(info.Outputs, api.Tensor{Name: t.Name, Shape: t.Shape})
		}
		d.Graphs[role] = info
	}
	writeJSON(w, http.StatusOK, d)
}
