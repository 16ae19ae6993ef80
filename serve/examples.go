package serve

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"

	"github.com/go-chi/chi/v5"

	"github.com/latentzoo/latentzoo/dataset"
	"github.com/latentzoo/latentzoo/zoo"
)

// examplePoolSize is how many test images a model keeps for /models/{name}/examples,
// evenly spread through its data set's test split.
const examplePoolSize = 256

// defaultExamples is the number of examples answered when the request gives no n.
const defaultExamples = 10

// examplePool holds some test images of a model's data set, at the model's size. It loads
// them on first use; a failed load is tried again on the next request, so a data set
// installed while the server runs is found without a restart.
type examplePool struct {
	mu     sync.Mutex
	set    *dataset.Set
	index  []int // each image's index in the test split
	labels []string
}

// get loads the pool if it is not loaded yet.
func (p *examplePool) get(man *zoo.Manifest) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.set != nil {
		return nil
	}
	full, err := dataset.Load(man.Dataset, dataset.Test, man.Resolution, man.Channels)
	if err != nil {
		return err
	}
	if full.N == 0 {
		return fmt.Errorf("data set %s has no test images", man.Dataset)
	}
	n := min(examplePoolSize, full.N)
	set := *full
	set.N = n
	set.Images = make([]float32, n*full.ImageSize())
	set.Labels = nil
	p.index = make([]int, n)
	p.labels = make([]string, n)
	for i := range n {
		j := i * full.N / n
		copy(set.Image(i), full.Image(j))
		p.index[i] = j
		if l := full.Labels[j]; l >= 0 && l < len(full.Classes) {
			p.labels[i] = full.Classes[l]
		}
	}
	p.set = &set
	return nil
}

// example is one test image in /models/{name}/examples.
type example struct {
	Index int    `json:"index"`           // in the data set's test split
	Label string `json:"label,omitempty"` // the class, if the data set has classes
	Image string `json:"image"`           // base64 PNG at the model's resolution
}

// examplesResponse is the answer of /models/{name}/examples.
type examplesResponse struct {
	Model    string    `json:"model"`
	Dataset  string    `json:"dataset"`
	Split    string    `json:"split"`
	Examples []example `json:"examples"`
}

// examples answers test images of the model's data set: n of them (default 10), evenly
// spread through the pool, or drawn at random from it when a seed is given.
func (s *Server) examples(w http.ResponseWriter, r *http.Request) {
	name, err := url.PathUnescape(chi.URLParam(r, "family") + "/" + chi.URLParam(r, "dataset"))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody{Error: fmt.Sprintf("bad model name in path: %v", err)})
		return
	}
	if err := s.serveExamples(w, r, name); err != nil {
		writeError(w, r, s.log, err)
	}
}

func (s *Server) serveExamples(w http.ResponseWriter, r *http.Request, name string) error {
	m := s.lookup(name)
	if m == nil {
		return s.unknownModel(name)
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
	man := m.manifest
	pool := &m.examples
	if err := pool.get(man); err != nil {
		s.log.Warn("no test images for examples", "model", m.name(), "dataset", man.Dataset, "err", err)
		return &apiError{status: http.StatusNotFound, msg: fmt.Sprintf("no test images for model %s: its data set %s is not available on this server (%v)", m.name(), man.Dataset, err)}
	}
	n = min(n, pool.set.N)
	pick := make([]int, n)
	if random {
		perm := rand.New(rand.NewPCG(uint64(seed), seedStream)).Perm(pool.set.N)
		copy(pick, perm)
	} else {
		for i := range pick {
			pick[i] = i * pool.set.N / n
		}
	}
	resp := examplesResponse{Model: m.name(), Dataset: man.Dataset, Split: dataset.Test, Examples: make([]example, n)}
	for k, i := range pick {
		png, err := encodePNG(tileImage(pool.set.Image(i), 1, man.Channels, man.Resolution, 1))
		if err != nil {
			return err
		}
		resp.Examples[k] = example{Index: pool.index[i], Label: pool.labels[i], Image: base64.StdEncoding.EncodeToString(png)}
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// examplesPath is the route of the examples; a model name is family/dataset[:tag].
const examplesPath = "/models/{family}/{dataset}/examples"
