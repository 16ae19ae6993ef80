package serve

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/latentzoo/latentzoo/api"
	"github.com/latentzoo/latentzoo/errkind"
)

// loadSuffix ends the path of POST /models/{name}/load.
const loadSuffix = "/load"

// loadEntry answers POST /models/{name}/load: it resolves the name in Config.Store, then
// among the built-in entries, opens the entry's graphs, and serves it from then on,
// replacing a served model of the same name. Requests that hold the replaced model finish
// with it; it is closed once the last one is done.
func (s *Server) loadEntry(w http.ResponseWriter, r *http.Request) {
	rest, err := url.PathUnescape(chi.URLParam(r, "*"))
	if err != nil {
		writeError(w, r, s.log, badName(err))
		return
	}
	name, ok := strings.CutSuffix(rest, loadSuffix)
	if !ok {
		writeError(w, r, s.log, noRoute(r))
		return
	}
	s.admin(func(w http.ResponseWriter, r *http.Request) {
		ans, err := s.load(name)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		writeJSON(w, http.StatusOK, ans)
	})(w, r)
}

// load opens the entry called name and serves it; see loadEntry.
func (s *Server) load(name string) (api.Loaded, error) {
	e, err := s.resolveEntry(name)
	if err != nil {
		return api.Loaded{}, err
	}
	s.loading.Lock() // one load at a time: two loads of a name must not both add it
	defer s.loading.Unlock()
	start := time.Now()
	m, err := s.open(e)
	if err != nil {
		return api.Loaded{}, errkind.New(errkind.Unprocessable, "entry %s cannot be served: %v", e.Manifest().Name, err)
	}
	s.mu.Lock()
	old := s.exact(m.Name())
	if old == nil {
		s.models = append(s.models, m)
	} else {
		for i := range s.models {
			if s.models[i] == old {
				s.models[i] = m
			}
		}
		if s.def == old {
			s.def = m
		}
	}
	ans := api.Loaded{Loaded: m.Name(), Replaced: old != nil, Model: s.summary(m)}
	s.mu.Unlock()
	s.log.Info("model loaded", "model", m.Name(), "replaced", old != nil, "duration", time.Since(start))
	if old != nil {
		// No request can take old any more; close it when those that hold it are done.
		s.retired.Add(1)
		go func() {
			defer s.retired.Done()
			old.users.Wait()
			if err := old.Close(); err != nil {
				s.log.Error("closing a replaced model", "model", old.Name(), "err", err)
			}
		}()
	}
	return ans, nil
}

// acquire returns the served model called name, or the default model when named is false,
// marked in use: the caller calls m.users.Done when done with it.
func (s *Server) acquire(name string, named bool) (*model, error) {
	s.mu.RLock()
	m := s.def
	if named {
		m = s.find(name)
	}
	if m != nil {
		m.users.Add(1)
	}
	s.mu.RUnlock()
	if m == nil {
		return nil, s.unknownModel(name)
	}
	return m, nil
}

// summaryOf is summary under the lock that guards the default model.
func (s *Server) summaryOf(m *model) api.ModelSummary {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.summary(m)
}
