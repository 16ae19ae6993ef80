package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/latentzoo/latentzoo/api"
	"github.com/latentzoo/latentzoo/zoo"
)

// storeServer writes the test models into a new store and returns a server with that
// store, serving the Gaussian model only.
func storeServer(t *testing.T) (*Server, *zoo.Store) {
	t.Helper()
	store, err := zoo.OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, tm := range testModels() {
		m, files, err := tm.files()
		if err != nil {
			t.Fatal(err)
		}
		files["README.md"] = zoo.ModelCard(m)
		if _, err := store.Write(m, files); err != nil {
			t.Fatal(err)
		}
	}
	e, err := store.Get(zoo.Name{Family: "vae", Dataset: "test-gaussian", Tag: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{IntraOpThreads: 1, Store: store, Logger: slog.New(slog.DiscardHandler)}, e)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	})
	return srv, store
}

// do sends a request to srv's handler.
func do(srv *Server, method, target string, header http.Header) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	srv.Handler().ServeHTTP(w, r)
	return w
}

func TestZooAPI(t *testing.T) {
	srv, store := storeServer(t)
	e, err := store.Get(zoo.Name{Family: "vae", Dataset: "test-gaussian", Tag: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := e.ReadFile("encoder.onnx")
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := json.MarshalIndent(e.Manifest(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	base := zoo.HTTPPrefix + "/entries/vae/test-gaussian/v1"
	for _, tc := range []struct {
		name, method, target, rangeHeader string
		status                            int
		body                              []byte // exact body, when not nil
		saying                            string // in the body
		contentType                       string
	}{
		{"list", "GET", zoo.HTTPPrefix + "/entries", "", 200, nil, `"name":"sphere/test-colour:v1","source":"local"`, "application/json"},
		{"manifest", "GET", base + "/manifest.json", "", 200, manifest, "", "application/json"},
		{"newest", "GET", zoo.HTTPPrefix + "/entries/vae/test-gaussian/latest/manifest.json", "", 200, manifest, "", "application/json"},
		{"file", "GET", base + "/files/encoder.onnx", "", 200, enc, "", zoo.MediaTypeGraph},
		{"model card", "GET", base + "/files/README.md", "", 200, nil, "# vae/test-gaussian:v1", zoo.MediaTypeCard},
		{"range", "GET", base + "/files/encoder.onnx", "bytes=100-", 206, enc[100:], "", zoo.MediaTypeGraph},
		{"head", "HEAD", base + "/files/encoder.onnx", "", 200, []byte{}, "", zoo.MediaTypeGraph},
		{"unlisted file", "GET", base + "/files/secret.onnx", "", 404, nil, "lists no file", ""},
		{"manifest as a file", "GET", base + "/files/manifest.json", "", 404, nil, "lists no file", ""},
		{"escaping the entry", "GET", base + "/files/..%2F..%2F..%2Fv1%2Fmanifest.json", "", 404, nil, "lists no file", ""},
		{"bad name", "GET", zoo.HTTPPrefix + "/entries/VAE/test-gaussian/v1/manifest.json", "", 400, nil, "entry name", ""},
		{"dot dot tag", "GET", zoo.HTTPPrefix + "/entries/vae/test-gaussian/../manifest.json", "", 400, nil, "entry name", ""},
		{"unknown entry", "GET", zoo.HTTPPrefix + "/entries/vae/nothing/v1/manifest.json", "", 404, nil, "no entry vae/nothing:v1", ""},
		{"read only", "PUT", base + "/manifest.json", "", 405, nil, "not allowed", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.rangeHeader != "" {
				h.Set("Range", tc.rangeHeader)
			}
			w := do(srv, tc.method, tc.target, h)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if tc.body != nil && !bytes.Equal(w.Body.Bytes(), tc.body) {
				t.Errorf("body of %d bytes differs from the %d expected", w.Body.Len(), len(tc.body))
			}
			if !strings.Contains(w.Body.String(), tc.saying) {
				t.Errorf("body %q does not say %q", w.Body.String(), tc.saying)
			}
			if tc.contentType != "" && w.Header().Get("Content-Type") != tc.contentType {
				t.Errorf("Content-Type %q, want %q", w.Header().Get("Content-Type"), tc.contentType)
			}
			if tc.status >= 400 && tc.status != 405 && w.Header().Get("Content-Type") != "application/json" {
				t.Errorf("error with Content-Type %q, want JSON", w.Header().Get("Content-Type"))
			}
		})
	}
}

func TestZooAPIWithoutStore(t *testing.T) {
	w := serve(httptest.NewRequest("GET", zoo.HTTPPrefix+"/entries", nil))
	if w.Code != http.StatusNotFound {
		t.Errorf("status %d, want 404 from a server without a store", w.Code)
	}
}

// recording logs the Range header of each file request that reaches h.
type recording struct {
	h      http.Handler
	mu     sync.Mutex
	ranges []string
}

func (rec *recording) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.Contains(r.URL.Path, "/files/") {
		rec.mu.Lock()
		rec.ranges = append(rec.ranges, r.URL.Path+" "+r.Header.Get("Range"))
		rec.mu.Unlock()
	}
	rec.h.ServeHTTP(w, r)
}

func TestPullFromServer(t *testing.T) {
	srv, store := storeServer(t)
	rec := &recording{h: srv.Handler()}
	ts := httptest.NewServer(rec)
	defer ts.Close()
	src, err := zoo.ParseSource(ts.URL, zoo.SourceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dst, err := zoo.OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	n := zoo.Name{Family: "sphere", Dataset: "test-colour", Tag: "v1"}
	want, err := store.Get(n)
	if err != nil {
		t.Fatal(err)
	}
	// A pull interrupted earlier left the first 1000 bytes of the generator.
	gen := want.Manifest().Files[slices.IndexFunc(want.Manifest().Files, func(f zoo.File) bool { return f.Path == "generator.onnx" })]
	genBytes, err := want.ReadFile(gen.Path)
	if err != nil {
		t.Fatal(err)
	}
	downloads := filepath.Join(dst.Dir(), "downloads")
	if err := os.MkdirAll(downloads, 0o755); err != nil {
		t.Fatal(err)
	}
	partial := filepath.Join(downloads, strings.Replace(gen.Digest, ":", "-", 1)+".partial")
	if err := os.WriteFile(partial, genBytes[:1000], 0o644); err != nil {
		t.Fatal(err)
	}
	opts := zoo.PullOptions{Log: slog.New(slog.DiscardHandler)}
	res, err := dst.Pull(context.Background(), src, zoo.Name{Family: "sphere", Dataset: "test-colour", Tag: zoo.DefaultTag}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Entry.Manifest().Name != n.String() || res.UpToDate {
		t.Fatalf("pulled %s (up to date %v), want %s", res.Entry.Manifest().Name, res.UpToDate, n)
	}
	for _, f := range want.Manifest().Files {
		a, err := res.Entry.ReadFile(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := want.ReadFile(f.Path)
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs", f.Path)
		}
	}
	if !slices.Contains(rec.ranges, zoo.FileURLPath(n, gen.Path)+" bytes=1000-") {
		t.Errorf("file requests %q, want the generator resumed from byte 1000", rec.ranges)
	}
	if !slices.ContainsFunc(res.Entry.Manifest().Files, func(f zoo.File) bool { return f.Path == "README.md" }) {
		t.Error("the model card did not come along")
	}
	again, err := dst.Pull(context.Background(), src, n, opts)
	if err != nil || !again.UpToDate {
		t.Errorf("second pull: up to date %v, %v", again.UpToDate, err)
	}
	_, err = dst.Pull(context.Background(), src, zoo.Name{Family: "vae", Dataset: "nothing", Tag: "v1"}, opts)
	if !errors.Is(err, zoo.ErrNotFound) {
		t.Errorf("pull of an unknown entry: %v, want ErrNotFound", err)
	}
}

// loadJSON posts a load of name from a loopback client and decodes the answer.
func loadJSON(t *testing.T, srv *Server, name string) (int, api.Loaded, string) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/models/"+name+"/load", nil)
	r.RemoteAddr = "127.0.0.1:40000"
	w := httptest.NewRecorder()
	srv.Handler().ServeHTTP(w, r)
	var ans api.Loaded
	if w.Code == http.StatusOK {
		if err := json.Unmarshal(w.Body.Bytes(), &ans); err != nil {
			t.Fatal(err)
		}
	}
	return w.Code, ans, w.Body.String()
}

func TestLoad(t *testing.T) {
	srv, store := storeServer(t)
	// An entry whose graphs ONNX Runtime cannot open, and one whose file was changed.
	m, files, err := testModels()[0].files()
	if err != nil {
		t.Fatal(err)
	}
	m.Name = "vae/broken:v1"
	files["encoder.onnx"] = []byte("not an ONNX model")
	if _, err := store.Write(m, files); err != nil {
		t.Fatal(err)
	}
	m, files, _ = testModels()[0].files()
	m.Name = "vae/tampered:v1"
	if _, err := store.Write(m, files); err != nil {
		t.Fatal(err)
	}
	enc := filepath.Join(store.Dir(), "models", "vae", "tampered", "v1", "encoder.onnx")
	b, _ := os.ReadFile(enc)
	b[len(b)/2] ^= 1
	os.WriteFile(enc, b, 0o644)

	for _, tc := range []struct {
		name, path string
		status     int
		saying     string
	}{
		{"bad name", "vae/Bad:v1", 400, "entry name"},
		{"dot dot", "vae/..:v1", 400, "entry name"},
		{"unknown", "vae/nothing:v1", 404, "no entry vae/nothing:v1"},
		{"not an ONNX model", "vae/broken:v1", 422, "cannot be served"},
		{"tampered file", "vae/tampered:v1", 422, "does not match the manifest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, body := loadJSON(t, srv, tc.path)
			if code != tc.status || !strings.Contains(body, tc.saying) {
				t.Errorf("status %d %s; want %d saying %q", code, body, tc.status, tc.saying)
			}
		})
	}
	if w := do(srv, "POST", "/models/"+sphereName, nil); w.Code != http.StatusNotFound {
		t.Errorf("POST /models/{name} without /load: %d, want 404", w.Code)
	}
	if names := srv.modelNames(); !slices.Equal(names, []string{gaussianName}) {
		t.Fatalf("after failed loads the server serves %q, want only %s", names, gaussianName)
	}

	code, ans, body := loadJSON(t, srv, "sphere/test-colour")
	if code != http.StatusOK || ans.Loaded != sphereName || ans.Replaced {
		t.Fatalf("load: %d %s", code, body)
	}
	sample := func(model string) int {
		r := httptest.NewRequest("POST", "/sample?n=2&seed=1&model="+model, nil)
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, r)
		return w.Code
	}
	if c := sample(sphereName); c != http.StatusOK {
		t.Fatalf("sample from the loaded model: %d", c)
	}

	// Load both models again and again while requests use them: every request is answered.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var failed sync.Map
	for i := range 4 {
		wg.Go(func() {
			model := []string{gaussianName, sphereName}[i%2]
			for {
				select {
				case <-stop:
					return
				default:
				}
				if c := sample(model); c != http.StatusOK {
					failed.Store(fmt.Sprintf("%s: %d", model, c), true)
				}
			}
		})
	}
	for range 3 {
		for _, name := range []string{gaussianName, sphereName} {
			code, ans, body := loadJSON(t, srv, name)
			if code != http.StatusOK || !ans.Replaced {
				t.Errorf("reload %s: %d %s", name, code, body)
			}
		}
	}
	close(stop)
	wg.Wait()
	failed.Range(func(k, _ any) bool {
		t.Errorf("a request failed during reloads: %s", k)
		return true
	})
	if names := srv.modelNames(); !slices.Equal(names, []string{gaussianName, sphereName}) {
		t.Errorf("serving %q, want both models once", names)
	}
	w := do(srv, "GET", "/models", nil)
	var list struct {
		Default string `json:"default"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil || list.Default != gaussianName {
		t.Errorf("default after reloading it: %q (%v), want %s", list.Default, err, gaussianName)
	}
}
