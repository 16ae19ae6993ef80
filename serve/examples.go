package serve

import (
	"encoding/base64"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/latentzoo/latentzoo/api"
	"github.com/latentzoo/latentzoo/autoencoder"
	"github.com/latentzoo/latentzoo/errkind"
	"github.com/latentzoo/latentzoo/pixels"
)

// defaultExamples is the number of examples answered when the request gives no n.
const defaultExamples = 10

// examplesPath is the route of the examples; a model name is family/dataset[:tag].
const examplesPath = "/models/{family}/{dataset}/examples"

// examples answers test images of the model's data set: n of them (default 10), evenly
// spread through the model's pool of examples, or drawn at random from it when a seed is
// given.
func (s *Server) examples(w http.ResponseWriter, r *http.Request) {
	if err := s.serveExamples(w, r); err != nil {
		writeError(w, r, s.log, err)
	}
}

func (s *Server) serveExamples(w http.ResponseWriter, r *http.Request) error {
	m, err := s.modelOf(chi.URLParam(r, "family") + "/" + chi.URLParam(r, "dataset"))
	if err != nil {
		return err
	}
	n, seed, random := defaultExamples, int64(0), false
	for key, vs := range r.URL.Query() {
		if len(vs) > 1 {
			return badRequest("query parameter %s given %d times", key, len(vs))
		}
		switch key {
		case fieldN:
			v, err := strconv.Atoi(vs[0])
			if err != nil || v < 1 || v > s.cfg.MaxBatch {
				return badRequest("query parameter n: %q is not an integer from 1 to %d", vs[0], s.cfg.MaxBatch)
			}
			n = v
		case fieldSeed:
			v, err := strconv.ParseInt(vs[0], 10, 64)
			if err != nil {
				return badRequest("query parameter seed: %q is not a 64-bit integer", vs[0])
			}
			seed, random = v, true
		default:
			return badRequest("unknown query parameter %q (query parameters: n, seed)", key)
		}
	}
	man := m.Manifest()
	list, err := m.Examples(n, seed, random)
	if err != nil {
		s.log.Warn("no test images for examples", "model", m.Name(), "dataset", man.Dataset, "err", err)
		return err
	}
	resp := api.Examples{Model: m.Name(), Dataset: man.Dataset, Split: autoencoder.ExampleSplit, Examples: make([]api.Example, len(list))}
	for k, e := range list {
		png, err := encodePNG(pixels.Grid(e.Image, 1, man.Channels, man.Resolution, man.Resolution, 1))
		if err != nil {
			return err
		}
		resp.Examples[k] = api.Example{Index: e.Index, Label: e.Label, Image: base64.StdEncoding.EncodeToString(png)}
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// picturesPath is the route of a model's pictures, the PNGs its card shows.
const picturesPath = "/models/{family}/{dataset}/pictures/{picture}"

// picture answers one of the model's pictures (zoo.PictureSheet, zoo.PictureCurves) as
// its entry carries it.
func (s *Server) picture(w http.ResponseWriter, r *http.Request) {
	m, err := s.modelOf(chi.URLParam(r, "family") + "/" + chi.URLParam(r, "dataset"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	pic := chi.URLParam(r, "picture")
	path, ok := m.Manifest().Pictures[pic]
	if !ok {
		have := "none"
		if pics := m.Manifest().Pictures; len(pics) > 0 {
			have = strings.Join(slices.Sorted(maps.Keys(pics)), ", ")
		}
		writeError(w, r, s.log, errkind.New(errkind.NotFound, "model %s has no picture %q (it has: %s; latentzoo eval draws them)", m.name, pic, have))
		return
	}
	b, err := m.entry.ReadFile(path)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(b)
}
