package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/latentzoo/latentzoo/api"
	"github.com/latentzoo/latentzoo/autoencoder"
	"github.com/latentzoo/latentzoo/errkind"
	"github.com/latentzoo/latentzoo/infer"
	"github.com/latentzoo/latentzoo/zoo"
)

// The Open Inference Protocol (KServe V2) over HTTP, beside latentzoo's own API: each graph
// of each served entry is an OIP model named api.OIPModelName(family, dataset, role), and
// each entry is also its reconstruct model (image in, image out), its tag the version.
// Tensors are the graphs' own, FP32, raw: images NCHW in [0, 1], latents as the graph
// takes them (no PNG, no resizing, no normalising onto the sphere).

// oipDatatype is the datatype of every tensor latentzoo's graphs take and give.
const oipDatatype = "FP32"

// oipPlatform names the backend in model metadata, as the specification lists it; a
// reconstruct model chains two graphs, as a Triton ensemble does.
const (
	oipPlatform         = "onnx_onnxv1"
	oipEnsemblePlatform = "ensemble"
)

// oipRoutes adds the OIP v2 routes.
func (s *Server) oipRoutes(r chi.Router) {
	r.Get("/v2", s.oipServer)
	r.Get("/v2/health/live", s.oipLive)
	r.Get("/v2/health/ready", s.oipReady)
	for _, prefix := range []string{"/v2/models/{model}", "/v2/models/{model}/versions/{version}"} {
		r.Get(prefix, s.oipMetadata)
		r.Get(prefix+"/ready", s.oipModelReady)
		r.Post(prefix+"/infer", s.inference(s.serveInfer))
	}
}

func (s *Server) oipServer(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, api.OIPServerMetadata{Name: "latentzoo", Version: s.cfg.Version, Extensions: []string{}})
}

func (s *Server) oipLive(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, api.OIPLive{Live: true})
}

func (s *Server) oipReady(w http.ResponseWriter, r *http.Request) {
	status := http.StatusOK
	if s.draining.Load() {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, api.OIPReady{Ready: status == http.StatusOK})
}

// oipModel is a served model's graph, or its reconstruction, as an OIP model.
type oipModel struct {
	m       *model
	name    string // the OIP model name
	version string // the entry's tag
	role    string // a graph's role, or api.OIPReconstruct
}

// oipModels lists the OIP models of m.
func oipModels(m *model) []oipModel {
	n, err := zoo.ParseName(m.name)
	if err != nil {
		return nil
	}
	roles := append(m.Decoders(), autoencoder.EncoderRole, api.OIPReconstruct)
	out := make([]oipModel, len(roles))
	for i, role := range roles {
		out[i] = oipModel{m: m, name: api.OIPModelName(n.Family, n.Dataset, role), version: n.Tag, role: role}
	}
	return out
}

// oipFind finds the OIP model called name at version ("" for the first served of that
// name) and the versions served under the name, and marks its model in use: the caller
// calls m.users.Done. An unknown name or version is an errkind.NotFound error.
func (s *Server) oipFind(name, version string) (oipModel, []string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var found *oipModel
	var versions []string
	for _, m := range s.models {
		for _, om := range oipModels(m) {
			if om.name != name {
				continue
			}
			versions = append(versions, om.version)
			if found == nil && (version == "" || version == om.version) {
				found = &om
			}
		}
	}
	switch {
	case found == nil && len(versions) > 0:
		return oipModel{}, nil, errkind.New(errkind.NotFound, "model %s has no version %q (versions: %s)", name, version, strings.Join(versions, ", "))
	case found == nil:
		return oipModel{}, nil, errkind.New(errkind.NotFound, "unknown model %q (OIP model names are FAMILY_DATASET_GRAPH, e.g. vae_fashion-mnist_encoder, or FAMILY_DATASET_%s)", name, api.OIPReconstruct)
	}
	found.m.users.Add(1)
	return *found, versions, nil
}

// oipModelOf resolves the route's model and version; see oipFind.
func (s *Server) oipModelOf(r *http.Request) (oipModel, []string, error) {
	return s.oipFind(chi.URLParam(r, "model"), chi.URLParam(r, "version"))
}

// signature is the model's inputs and outputs, from its graphs.
func (om oipModel) signature() (in, out []infer.TensorInfo) {
	graphs := om.m.Graphs()
	if om.role == api.OIPReconstruct {
		return graphs[autoencoder.EncoderRole].Inputs, graphs[om.m.Manifest().Reconstruct].Outputs
	}
	return graphs[om.role].Inputs, graphs[om.role].Outputs
}

func tensorMetadata(infos []infer.TensorInfo) []api.OIPTensorMetadata {
	out := make([]api.OIPTensorMetadata, len(infos))
	for i, t := range infos {
		out[i] = api.OIPTensorMetadata{Name: t.Name, Datatype: oipDatatype, Shape: t.Shape}
	}
	return out
}

func (s *Server) oipMetadata(w http.ResponseWriter, r *http.Request) {
	om, versions, err := s.oipModelOf(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	defer om.m.users.Done()
	in, out := om.signature()
	platform := oipPlatform
	if om.role == api.OIPReconstruct {
		platform = oipEnsemblePlatform
	}
	writeJSON(w, http.StatusOK, api.OIPModelMetadata{Name: om.name, Versions: versions, Platform: platform, Inputs: tensorMetadata(in), Outputs: tensorMetadata(out)})
}

func (s *Server) oipModelReady(w http.ResponseWriter, r *http.Request) {
	om, _, err := s.oipModelOf(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	defer om.m.users.Done()
	writeJSON(w, http.StatusOK, api.OIPModelReady{Name: om.name, Ready: !s.draining.Load()})
}

func (s *Server) serveInfer(w http.ResponseWriter, r *http.Request) error {
	var req api.OIPInferRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return fmt.Errorf("read infer body: %w", err)
		}
		if errors.Is(err, io.EOF) {
			return badRequest("bad inference request: empty body")
		}
		return badRequest("bad inference request: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	om, _, err := s.oipModelOf(r)
	if err != nil {
		return err
	}
	defer om.m.users.Done()
	in, outs := om.signature()
	if len(req.Inputs) != len(in) {
		return badRequest("model %s takes %d input(s) (%s), the request gives %d", om.name, len(in), tensorNames(in), len(req.Inputs))
	}
	input := req.Inputs[0]
	want := in[0]
	if input.Name != want.Name {
		return badRequest("unknown input %q: model %s takes %q", input.Name, om.name, want.Name)
	}
	data, n, err := s.oipTensor(om.name, input, want)
	if err != nil {
		return err
	}
	wanted, err := requestedOutputs(om.name, req.Outputs, outs)
	if err != nil {
		return err
	}
	results, err := om.run(data, n)
	if err != nil {
		return err
	}
	resp := api.OIPInferResponse{ModelName: om.name, ModelVersion: om.version, ID: req.ID, Outputs: []api.OIPResponseOutput{}}
	for _, t := range outs {
		if !slices.Contains(wanted, t.Name) {
			continue
		}
		vals := results[t.Name]
		shape := append([]int64{int64(n)}, t.Shape[1:]...)
		resp.Outputs = append(resp.Outputs, api.OIPResponseOutput{Name: t.Name, Shape: shape, Datatype: oipDatatype, Data: vals})
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// run runs the model on n examples.
func (om oipModel) run(data []float32, n int) (map[string][]float32, error) {
	m := om.m
	switch om.role {
	case autoencoder.EncoderRole:
		enc, err := m.Posterior(data, n)
		if err != nil {
			return nil, err
		}
		if m.HasPosterior() {
			return map[string][]float32{autoencoder.TensorMu: flatten(enc.Mu), autoencoder.TensorLogVar: flatten(enc.LogVar)}, nil
		}
		return map[string][]float32{autoencoder.TensorZ: flatten(enc.Z)}, nil
	case api.OIPReconstruct:
		out, _, err := m.Reconstruct("", data, n)
		return map[string][]float32{autoencoder.TensorImage: out}, err
	}
	size := len(data) / n
	zs := make([][]float32, n)
	for i := range zs {
		zs[i] = data[i*size : (i+1)*size]
	}
	out, err := m.Decode(om.role, zs)
	return map[string][]float32{autoencoder.TensorImage: out}, err
}

func flatten(rows [][]float32) []float32 { return slices.Concat(rows...) }

func tensorNames(infos []infer.TensorInfo) string {
	names := make([]string, len(infos))
	for i, t := range infos {
		names[i] = t.Name
	}
	return strings.Join(names, ", ")
}

// requestedOutputs checks the outputs a request names; none names every output.
func requestedOutputs(model string, req []api.OIPRequestOutput, outs []infer.TensorInfo) ([]string, error) {
	all := make([]string, len(outs))
	for i, t := range outs {
		all[i] = t.Name
	}
	if len(req) == 0 {
		return all, nil
	}
	var names []string
	for _, o := range req {
		if !slices.Contains(all, o.Name) {
			return nil, badRequest("unknown output %q: model %s gives %s", o.Name, model, strings.Join(all, ", "))
		}
		names = append(names, o.Name)
	}
	return names, nil
}

// oipTensor checks an input tensor against the model's and returns its values as float32
// and its batch size: FP32, of the model's rank and fixed dimensions, a batch within
// Config.MaxBatch, as many finite values as the shape says, flat or nested.
func (s *Server) oipTensor(model string, t api.OIPRequestInput, want infer.TensorInfo) ([]float32, int, error) {
	if t.Datatype != oipDatatype {
		return nil, 0, badRequest("input %s: datatype %q; model %s takes %s", t.Name, t.Datatype, model, oipDatatype)
	}
	if len(t.Shape) != len(want.Shape) {
		return nil, 0, badRequest("input %s: shape %v has rank %d; model %s takes %v", t.Name, t.Shape, len(t.Shape), model, want.Shape)
	}
	count := int64(1)
	for i, d := range t.Shape {
		if d < 1 || (want.Shape[i] >= 0 && d != want.Shape[i]) {
			return nil, 0, badRequest("input %s: shape %v does not fit %v (-1 is any size)", t.Name, t.Shape, want.Shape)
		}
		count *= d
	}
	if n := t.Shape[0]; n > int64(s.cfg.MaxBatch) {
		return nil, 0, badRequest("input %s: a batch of %d; at most %d per request", t.Name, n, s.cfg.MaxBatch)
	}
	values, err := flatNumbers(t.Data, int(count))
	if err != nil {
		return nil, 0, badRequest("input %s: %v", t.Name, err)
	}
	if int64(len(values)) != count {
		return nil, 0, badRequest("input %s: shape %v holds %d values, data has %d", t.Name, t.Shape, count, len(values))
	}
	return values, int(t.Shape[0]), nil
}

// flatNumbers reads tensor data, a JSON array of numbers nested to any depth, as float32
// in row-major order. It refuses other element types, values that are not finite as
// float32, and more than limit values.
func flatNumbers(raw json.RawMessage, limit int) ([]float32, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out []float32
	depth := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("data: %v", err)
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '[':
				depth++
			case ']':
				depth--
			default:
				return nil, errors.New("data must be an array of numbers, not an object")
			}
		case json.Number:
			if depth == 0 {
				return nil, errors.New("data must be an array of numbers")
			}
			f, err := v.Float64()
			x := float32(f)
			if err != nil || math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return nil, fmt.Errorf("value %d, %s, is not a finite FP32 number", len(out), v)
			}
			if len(out) == limit {
				return nil, fmt.Errorf("data has more than the %d values its shape holds", limit)
			}
			out = append(out, x)
		default:
			return nil, fmt.Errorf("value %d is %v, not a number: the datatype is %s", len(out), tok, oipDatatype)
		}
	}
	if out == nil && !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("[")) {
		return nil, errors.New("data must be an array of numbers")
	}
	return out, nil
}
