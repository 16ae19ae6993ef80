package serve

import (
	"errors"
	"io/fs"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/latentzoo/latentzoo/api"
	"github.com/latentzoo/latentzoo/errkind"
	"github.com/latentzoo/latentzoo/zoo"
)

// storeRoutes adds the routes that need Config.Store: POST /models/{name}/load, and the
// read-only API under zoo.HTTPPrefix through which other latentzoo processes pull the
// entries of the store and the built-in ones. A server without a store has none of them.
func (s *Server) storeRoutes(r chi.Router) {
	if s.cfg.Store == nil {
		return
	}
	r.Post("/models/*", s.loadEntry) // guarded by s.admin once the path is a load
	r.Get(zoo.HTTPPrefix+"/entries", s.zooList)
	r.Get(zoo.HTTPPrefix+"/entries/{family}/{dataset}/{tag}/manifest.json", s.zooManifest)
	r.Get(zoo.HTTPPrefix+"/entries/{family}/{dataset}/{tag}/files/*", s.zooFile)
}

func (s *Server) zooList(w http.ResponseWriter, r *http.Request) {
	local, err := s.cfg.Store.List()
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	builtin, err := zoo.Builtin()
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	list := api.ZooEntries{Entries: []api.ZooEntry{}}
	for _, group := range []struct {
		source  string
		entries []zoo.Entry
	}{{"local", local}, {"builtin", builtin}} {
		for _, e := range group.entries {
			n, err := zoo.ParseName(e.Manifest().Name)
			if err != nil {
				writeError(w, r, s.log, err)
				return
			}
			list.Entries = append(list.Entries, api.ZooEntry{Name: n.String(), Source: group.source, Manifest: zoo.ManifestURLPath(n)})
		}
	}
	writeJSON(w, http.StatusOK, list)
}

// zooEntryOf resolves the entry the route's family, dataset and tag name, as the local
// store resolves names, and reports a bad or unknown name as a JSON error.
func (s *Server) zooEntryOf(w http.ResponseWriter, r *http.Request) zoo.Entry {
	e, err := s.resolveEntry(chi.URLParam(r, "family") + "/" + chi.URLParam(r, "dataset") + ":" + chi.URLParam(r, "tag"))
	if err != nil {
		writeError(w, r, s.log, err)
		return nil
	}
	return e
}

// resolveEntry resolves an entry name in Config.Store, then among the built-in entries.
// A bad name is a 400, an unknown one a 404, an entry that fails its checks a 422.
func (s *Server) resolveEntry(name string) (zoo.Entry, error) {
	n, err := zoo.ParseName(name)
	if err != nil {
		return nil, badRequest("%v", err)
	}
	e, err := s.cfg.Store.Resolve(n)
	switch {
	case errors.Is(err, zoo.ErrNotFound):
		return nil, errkind.New(errkind.NotFound, "no entry %s in the store or among the built-in entries", n)
	case err != nil:
		return nil, errkind.New(errkind.Unprocessable, "entry %s: %v", n, err)
	}
	return e, nil
}

func (s *Server) zooManifest(w http.ResponseWriter, r *http.Request) {
	e := s.zooEntryOf(w, r)
	if e == nil {
		return
	}
	b, err := e.Manifest().JSON()
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("ETag", `"`+zoo.DigestOf(b)+`"`)
	w.Header().Set("Cache-Control", "no-cache") // a tag may be pulled again with other contents
	_, _ = w.Write(b)                           // a failed write is a client gone
}

// zooFile sends a file of an entry, with Range requests honoured for resuming pulls. Its
// ETag is the file's digest.
func (s *Server) zooFile(w http.ResponseWriter, r *http.Request) {
	e := s.zooEntryOf(w, r)
	if e == nil {
		return
	}
	path := chi.URLParam(r, "*")
	f, listed, err := zoo.OpenFile(e, path)
	if errors.Is(err, fs.ErrNotExist) {
		writeError(w, r, s.log, errkind.New(errkind.NotFound, "entry %s lists no file %q", e.Manifest().Name, path))
		return
	}
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", zoo.MediaType(listed.Path))
	w.Header().Set("ETag", `"`+listed.Digest+`"`)
	http.ServeContent(w, r, "", time.Time{}, f)
}
