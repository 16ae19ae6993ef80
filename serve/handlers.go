package serve

import (
	"encoding/base64"
	"fmt"
	"math"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/latentzoo/latentzoo/dataset"

	"github.com/go-chi/chi/v5"

	"github.com/latentzoo/latentzoo/zoo"
)

// defaultSamples is /sample's n when the request gives none (at most Config.MaxBatch).
const defaultSamples = 16

// defaultSteps is /interpolate's steps when the request gives none.
const defaultSteps = 8

// apiHandler answers an inference request whose fields are parsed and model chosen.
type apiHandler func(w http.ResponseWriter, r *http.Request, q *request, m *model) error

// api wraps an inference endpoint: it takes an in-flight slot, limits the body, parses the
// fields the route allows, picks the model, and reports any error as JSON.
func (s *Server) api(route string, h apiHandler, allowed ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		select {
		case s.slots <- struct{}{}:
			defer func() { <-s.slots }()
		case <-r.Context().Done():
			writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: "the request ended while waiting for the server"})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		err := s.serveAPI(w, r, route, h, allowed)
		if err != nil {
			writeError(w, r, s.log, err)
		}
	}
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
	return &apiError{status: http.StatusNotFound, msg: fmt.Sprintf("unknown model %q (serving: %s)", name, strings.Join(s.modelNames(), ", "))}
}

// decoder picks the graph that decodes: the request's decoder field, else def.
func decoder(m *model, q *request, def string) (*graph, error) {
	role := def
	if q.has(fieldDecoder) {
		role = q.decoder
	}
	if g := m.decoders[role]; g != nil {
		return g, nil
	}
	return nil, badRequest("unknown decoder %q for model %s (decoders: %s)", role, m.name(), strings.Join(m.decoderRoles(), ", "))
}

// upload is an encoded image sent in a field.
type upload struct {
	field string
	data  []byte
}

// tensors decodes the uploaded images and converts each to one example of the model, end
// to end.
func (s *Server) tensors(m *model, uploads ...upload) ([]float32, error) {
	size := m.imageSize()
	x := make([]float32, len(uploads)*size)
	for i, u := range uploads {
		img, err := decodeImage(u.field, u.data, s.cfg.MaxImageSide, s.cfg.MaxImagePixels)
		if err != nil {
			return nil, err
		}
		// The same conversion as training data: a 28×28 image meets a 32×32 model padded.
		if err := dataset.Convert(img, m.manifest.Resolution, m.manifest.Channels, x[i*size:(i+1)*size]); err != nil {
			return nil, badRequest("field %s: %v", u.field, err)
		}
	}
	return x, nil
}

// latent converts the numbers sent in field to one latent of the model: of the right
// length, finite as float32, and on the unit sphere for sphere latents (normalised there).
func latent(m *model, field string, v []float64) ([]float32, error) {
	if len(v) != m.manifest.LatentSize {
		return nil, badRequest("field %s: latent has %d values, model %s wants %d", field, len(v), m.name(), m.manifest.LatentSize)
	}
	z := make([]float32, len(v))
	for i, x := range v {
		z[i] = float32(x)
		if math.IsNaN(float64(z[i])) || math.IsInf(float64(z[i]), 0) {
			return nil, badRequest("field %s: value %d is %v; latents must be finite float32 numbers", field, i, x)
		}
	}
	if m.sphere {
		if err := normalize(field, z); err != nil {
			return nil, err
		}
	}
	return z, nil
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

// imagesResponse is the JSON answer of the endpoints that decode images.
type imagesResponse struct {
	Model   string      `json:"model"`
	Decoder string      `json:"decoder"`
	Path    string      `json:"path,omitempty"` // /interpolate
	Seed    *int64      `json:"seed,omitempty"` // /sample
	Images  []string    `json:"images"`         // base64 PNG, one per latent
	Z       [][]float32 `json:"z"`
}

// respondImages answers with the decoded images: one PNG of them all laid out in cols
// columns, or with Accept: application/json, resp completed with one base64 PNG each.
func respondImages(w http.ResponseWriter, r *http.Request, m *model, images []float32, cols int, resp imagesResponse) error {
	n, c, res := len(resp.Z), m.manifest.Channels, m.manifest.Resolution
	w.Header().Set("X-Model", m.name())
	w.Header().Set("X-Decoder", resp.Decoder)
	if resp.Seed != nil {
		w.Header().Set("X-Seed", strconv.FormatInt(*resp.Seed, 10))
	}
	if wantJSON(r) {
		size := m.imageSize()
		resp.Model = m.name()
		resp.Images = make([]string, n)
		for i := range n {
			png, err := encodePNG(tileImage(images[i*size:(i+1)*size], 1, c, res, 1))
			if err != nil {
				return err
			}
			resp.Images[i] = base64.StdEncoding.EncodeToString(png)
		}
		writeJSON(w, http.StatusOK, resp)
		return nil
	}
	png, err := encodePNG(tileImage(images, n, c, res, cols))
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
	g, err := decoder(m, q, m.manifest.Reconstruct)
	if err != nil {
		return err
	}
	x, err := s.tensors(m, upload{fieldImage, q.image})
	if err != nil {
		return err
	}
	out, z, err := m.reconstruct(g, x, 1)
	if err != nil {
		return err
	}
	return respondImages(w, r, m, out, 1, imagesResponse{Decoder: g.role, Z: z})
}

// encodeResponse is the JSON answer of /encode.
type encodeResponse struct {
	Model      string    `json:"model"`
	LatentKind string    `json:"latent_kind"`
	Z          []float32 `json:"z"`
	Mu         []float32 `json:"mu,omitempty"`
	LogVar     []float32 `json:"logvar,omitempty"`
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
	enc, err := m.encode(x, 1)
	if err != nil {
		return err
	}
	resp := encodeResponse{Model: m.name(), LatentKind: m.manifest.LatentKind, Z: enc.z[0]}
	if m.posterior {
		resp.Mu, resp.LogVar = enc.mu[0], enc.logvar[0]
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
	g, err := decoder(m, q, m.manifest.Reconstruct)
	if err != nil {
		return err
	}
	zs := make([][]float32, len(q.z))
	for i, v := range q.z {
		field := fieldZ
		if len(q.z) > 1 {
			field = fmt.Sprintf("z[%d]", i)
		}
		if zs[i], err = latent(m, field, v); err != nil {
			return err
		}
	}
	out, err := m.decode(g, zs)
	if err != nil {
		return err
	}
	return respondImages(w, r, m, out, len(zs), imagesResponse{Decoder: g.role, Z: zs})
}

// interpolate decodes the path between two ends, each an image or a latent.
func (s *Server) interpolate(w http.ResponseWriter, r *http.Request, q *request, m *model) error {
	steps := defaultSteps
	if q.has(fieldSteps) {
		if steps = q.steps; steps < 2 || steps > s.cfg.MaxSteps {
			return badRequest("field steps: %d is out of range: frames including both ends, 2 to %d", steps, s.cfg.MaxSteps)
		}
	}
	path := pathLinear
	if m.sphere {
		path = pathSlerp
	}
	if q.has(fieldPath) {
		if path = q.path; path != pathLinear && path != pathSlerp {
			return badRequest("field path: %q is neither %q nor %q", path, pathLinear, pathSlerp)
		}
	}
	g, err := decoder(m, q, m.manifest.Reconstruct)
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
			if e.z, err = latent(m, e.latent, e.v); err != nil {
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
		enc, err := m.encode(x, len(uploads))
		if err != nil {
			return err
		}
		for i := range ends {
			if ends[i].z == nil {
				ends[i].z, enc.z = enc.z[0], enc.z[1:]
			}
		}
	}
	zs, err := interpolate(ends[0].z, ends[1].z, steps, path)
	if err != nil {
		return err
	}
	if m.sphere && path == pathLinear {
		for _, z := range zs {
			if !unit(z) {
				return badRequest("the straight line from a to b passes through the origin, which has no direction on the sphere: use path=%s", pathSlerp)
			}
		}
	}
	out, err := m.decode(g, zs)
	if err != nil {
		return err
	}
	return respondImages(w, r, m, out, steps, imagesResponse{Decoder: g.role, Path: path, Z: zs})
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
	g, err := decoder(m, q, m.manifest.Sample)
	if err != nil {
		return err
	}
	zs := sampleLatents(seed, n, m.manifest.LatentSize, m.sphere)
	out, err := m.decode(g, zs)
	if err != nil {
		return err
	}
	return respondImages(w, r, m, out, gridColumns(n), imagesResponse{Decoder: g.role, Seed: &seed, Z: zs})
}

// healthz reports that the process is up.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz reports whether the server takes requests: its models are open, and it is not
// shutting down.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "shutting down"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "models": s.modelNames()})
}

// modelSummary describes a served model in /models.
type modelSummary struct {
	Name        string   `json:"name"`
	Family      string   `json:"family"`
	Dataset     string   `json:"dataset"`
	Resolution  int      `json:"resolution"`
	Channels    int      `json:"channels"`
	LatentSize  int      `json:"latent_size"`
	LatentKind  string   `json:"latent_kind"`
	Reconstruct string   `json:"reconstruct"`
	Sample      string   `json:"sample"`
	Decoders    []string `json:"decoders"`
	Default     bool     `json:"default"`
	// Attributes are the directions /edit takes, classes first.
	Attributes []attributeSummary `json:"attributes"`
}

func (s *Server) summary(m *model) modelSummary {
	man := m.manifest
	return modelSummary{
		Name: man.Name, Family: man.Family, Dataset: man.Dataset,
		Resolution: man.Resolution, Channels: man.Channels,
		LatentSize: man.LatentSize, LatentKind: man.LatentKind,
		Reconstruct: man.Reconstruct, Sample: man.Sample,
		Decoders:   m.decoderRoles(),
		Attributes: m.attributeSummaries(),
		Default:    m == s.def,
	}
}

func (s *Server) listModels(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	list := make([]modelSummary, len(s.models))
	for i, m := range s.models {
		list[i] = s.summary(m)
	}
	def := s.def.name()
	s.mu.RUnlock()
	writeJSON(w, http.StatusOK, map[string]any{"default": def, "models": list})
}

// tensorInfo describes a graph's input or output; -1 marks a dynamic dimension.
type tensorInfo struct {
	Name  string  `json:"name"`
	Shape []int64 `json:"shape"`
}

// graphInfo describes one open graph of a model.
type graphInfo struct {
	Provider string       `json:"provider"`
	Inputs   []tensorInfo `json:"inputs"`
	Outputs  []tensorInfo `json:"outputs"`
}

// modelDetail is the answer of /models/{name}.
type modelDetail struct {
	modelSummary
	Manifest *zoo.Manifest        `json:"manifest"`
	Graphs   map[string]graphInfo `json:"graphs"`
}

func (s *Server) showModel(w http.ResponseWriter, r *http.Request) {
	name, err := url.PathUnescape(chi.URLParam(r, "*"))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody{Error: fmt.Sprintf("bad model name in path: %v", err)})
		return
	}
	m := s.lookup(name)
	if m == nil {
		writeError(w, r, s.log, s.unknownModel(name))
		return
	}
	d := modelDetail{modelSummary: s.summaryOf(m), Manifest: m.manifest, Graphs: map[string]graphInfo{}}
	for role, g := range m.graphs() {
		info := graphInfo{Provider: g.sess.Provider()}
		for _, t := range g.sess.Inputs() {
			info.Inputs = append(info.Inputs, tensorInfo{t.Name, t.Shape})
		}
		for _, t := range g.sess.Outputs() {
			info.Outputs = append(info.Outputs, tensorInfo{t.Name, t.Shape})
		}
		d.Graphs[role] = info
	}
	writeJSON(w, http.StatusOK, d)
}
