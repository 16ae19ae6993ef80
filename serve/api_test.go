package serve

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/latentzoo/latentzoo/api"
)

// docRoute matches a documented route, "GET /models/{name}", in a heading of API.md or in a
// table cell.
var docRoute = regexp.MustCompile("(?:^### |, |^\\| `)(GET|POST|PUT|DELETE) (/[^\\s,`]*)")

// documentedRoutes lists the routes API.md documents as "METHOD PATH", with {name}, an
// entry name, written as its two path segments.
func documentedRoutes(t *testing.T) []string {
	t.Helper()
	doc, err := os.ReadFile("API.md")
	if err != nil {
		t.Fatal(err)
	}
	var routes []string
	for _, line := range strings.Split(string(doc), "\n") {
		for _, m := range docRoute.FindAllStringSubmatch(line, -1) {
			path := m[2]
			if strings.Contains(path, "...") { // a section about many routes, listed below it
				continue
			}
			routes = append(routes, m[1]+" "+strings.ReplaceAll(path, "{name}", "{family}/{dataset}"))
		}
	}
	return routes
}

// routeMatcher turns a chi route pattern into a regular expression over documented paths:
// a {param} stands for one segment, a * for the rest of the path.
func routeMatcher(method, pattern string) *regexp.Regexp {
	expr := regexp.QuoteMeta(pattern)
	expr = regexp.MustCompile(`\\\{[^/]+\\\}`).ReplaceAllString(expr, `[^/]+`)
	expr = strings.ReplaceAll(expr, `\*`, `.+`)
	return regexp.MustCompile("^" + method + " " + expr + "$")
}

func TestAPIDocumentsEveryRoute(t *testing.T) {
	srv, _ := storeServer(t) // a server with a store has every route
	type route struct {
		name string
		re   *regexp.Regexp
	}
	var routes []route
	err := chi.Walk(srv.routes().(chi.Routes), func(method, pattern string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		routes = append(routes, route{method + " " + pattern, routeMatcher(method, pattern)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	docs := documentedRoutes(t)
	if len(docs) < len(routes)/2 {
		t.Fatalf("found %d documented routes in API.md for %d routes: is the heading format still ### METHOD /path?", len(docs), len(routes))
	}
	for _, r := range routes {
		if !slices.ContainsFunc(docs, r.re.MatchString) {
			t.Errorf("route %s is not documented in API.md", r.name)
		}
	}
	for _, d := range docs {
		if !slices.ContainsFunc(routes, func(r route) bool { return r.re.MatchString(d) }) {
			t.Errorf("API.md documents %s, which no route serves", d)
		}
	}
}

func TestRouteMatcher(t *testing.T) {
	tests := []struct {
		method, pattern, doc string
		want                 bool
	}{
		{"GET", "/models/*", "GET /models/{family}/{dataset}", true},
		{"POST", "/models/*", "POST /models/{family}/{dataset}/load", true},
		{"GET", "/models/*", "POST /models/{family}/{dataset}/load", false},
		{"GET", "/models/{family}/{dataset}/examples", "GET /models/{family}/{dataset}/examples", true},
		{"GET", "/models/{family}/{dataset}/examples", "GET /models/{family}/{dataset}", false},
		{"GET", "/", "GET /", true},
		{"GET", "/", "GET /healthz", false},
	}
	for _, tt := range tests {
		if got := routeMatcher(tt.method, tt.pattern).MatchString(tt.doc); got != tt.want {
			t.Errorf("%s %s against %q: %v, want %v", tt.method, tt.pattern, tt.doc, got, tt.want)
		}
	}
}

// testClient is an api.Client of the test server over a real HTTP connection.
func testClient(t *testing.T) *api.Client {
	t.Helper()
	return clientOf(t, testServer)
}

// clientOf is a client of srv behind a real HTTP listener, closed when the test ends.
func clientOf(t *testing.T, srv *Server) *api.Client {
	t.Helper()
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	c, err := api.NewClient(ts.URL, ts.Client())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClient(t *testing.T) {
	c := testClient(t)
	ctx := context.Background()
	list, err := c.Models(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if list.Default != gaussianName || len(list.Models) != 2 {
		t.Fatalf("models: default %q, %d models", list.Default, len(list.Models))
	}
	detail, err := c.Model(ctx, sphereName)
	if err != nil {
		t.Fatal(err)
	}
	if detail.Name != sphereName || detail.Manifest == nil || len(detail.Graphs) != 3 {
		t.Errorf("model %s: %+v", sphereName, detail.ModelSummary)
	}
	seed := int64(3)
	s, err := c.Sample(ctx, &api.Request{N: 4, Seed: &seed})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Images) != 4 || len(s.Z) != 4 || s.Seed == nil || *s.Seed != 3 || s.Model != gaussianName {
		t.Errorf("sample: %d images, %d latents, seed %v, model %s", len(s.Images), len(s.Z), s.Seed, s.Model)
	}
	img := mustPNG(checker(32, 32, false))
	rec, err := c.Reconstruct(ctx, &api.Request{Image: img})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := c.Encode(ctx, &api.Request{Image: img})
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Images) != 1 || !slices.Equal(rec.Z[0], enc.Z) || len(enc.Mu) != len(enc.Z) {
		t.Errorf("reconstruct's latent %v…, encode's %v…: want the same, with mu", rec.Z[0][:2], enc.Z[:2])
	}
	dec, err := c.Decode(ctx, &api.Request{Z: [][]float32{enc.Z}})
	if err != nil {
		t.Fatal(err)
	}
	if dec.Images[0] != rec.Images[0] {
		t.Error("decoding the encoded latent gave another image than reconstruct")
	}
	interp, err := c.Interpolate(ctx, &api.Request{ZA: enc.Z, ZB: s.Z[0], Steps: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(interp.Images) != 3 || interp.Path != "linear" {
		t.Errorf("interpolate: %d images along %q", len(interp.Images), interp.Path)
	}
	if h, err := c.Health(ctx); err != nil || h.Status != "ok" {
		t.Errorf("health: %+v, %v", h, err)
	}
	if r, err := c.Ready(ctx); err != nil || r.Status != "ready" || len(r.Models) != 2 {
		t.Errorf("ready: %+v, %v", r, err)
	}
}

// TestClientEditExamplesLoad drives the client's remaining calls against real servers:
// /edit and /examples on the edit server (a Fashion-MNIST model with attribute
// directions), /load on a server with a store.
func TestClientEditExamplesLoad(t *testing.T) {
	ctx := context.Background()
	c := clientOf(t, newEditServer(t))
	seed := int64(5)
	ex, err := c.Examples(ctx, gaussianName, 3, &seed)
	if err != nil {
		t.Fatal(err)
	}
	if ex.Model != gaussianName || ex.Split != "test" || len(ex.Examples) != 3 {
		t.Errorf("examples: %s %s with %d images; want %s test with 3", ex.Model, ex.Split, len(ex.Examples), gaussianName)
	}
	again, err := c.Examples(ctx, gaussianName, 3, &seed)
	if err != nil || !slices.Equal(again.Examples, ex.Examples) {
		t.Errorf("the same seed drew other examples (%v)", err)
	}
	z := latentOf(32, func(i int) float32 { return float32(i)/16 - 1 })
	ed, err := c.Edit(ctx, &api.Request{Model: gaussianName, Z: [][]float32{z}, Attributes: map[string]float64{"up": 2}})
	if err != nil {
		t.Fatal(err)
	}
	if want := latentOf(32, func(i int) float32 { return z[i] + 1 }); len(ed.Images) != 1 || len(ed.Z) != 1 || !near(ed.Z[0], want, 1e-6) {
		t.Errorf("edit: %d images, latent %v; want one, %v", len(ed.Images), ed.Z, want)
	}

	srv, _ := storeServer(t)
	c = clientOf(t, srv)
	ld, err := c.Load(ctx, sphereName)
	if err != nil {
		t.Fatal(err)
	}
	if ld.Loaded != sphereName || ld.Replaced || ld.Model.Name != sphereName {
		t.Errorf("load: %+v; want %s newly loaded", ld, sphereName)
	}
	if list, err := c.Models(ctx); err != nil || len(list.Models) != 2 {
		t.Errorf("after the load the server lists %+v (%v); want two models", list, err)
	}
}

func TestClientErrors(t *testing.T) {
	c := testClient(t)
	ctx := context.Background()
	tests := []struct {
		name   string
		call   func() error
		status int
		msg    string
	}{
		{"unknown model", func() error { _, err := c.Model(ctx, "no/such:model"); return err }, http.StatusNotFound, `unknown model "no/such:model"`},
		{"latent of the wrong size", func() error { _, err := c.Decode(ctx, &api.Request{Z: [][]float32{{1, 2}}}); return err }, http.StatusBadRequest, "latent has 2 values"},
		{"field not used", func() error { _, err := c.Sample(ctx, &api.Request{Steps: 3}); return err }, http.StatusBadRequest, "field steps is not used by /sample"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ae *api.Error
			if err := tt.call(); !errors.As(err, &ae) || ae.Status != tt.status || !strings.Contains(ae.Message, tt.msg) {
				t.Errorf("err = %v, want status %d and a message containing %q", err, tt.status, tt.msg)
			}
		})
	}
	if _, err := api.NewClient("ftp://example", nil); err == nil {
		t.Error("NewClient took an ftp address")
	}
}

// TestBatchedServerAnswersAlike sends the same concurrent requests to a server with
// dynamic batching and to the test server without, and requires the same latents and
// images.
func TestBatchedServerAnswersAlike(t *testing.T) {
	srv, err := New(Config{IntraOpThreads: 1, BatchSize: 8, Logger: slog.New(slog.DiscardHandler)}, mustEntries(t)...)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	batched, err := api.NewClient(ts.URL, ts.Client())
	if err != nil {
		t.Fatal(err)
	}
	plain := testClient(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	for k := range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := &api.Request{Image: mustPNG(checker(20+k, 32, k%2 == 0))}
			if k%3 == 0 {
				req.Model = sphereName
			}
			a, err := plain.Reconstruct(ctx, req)
			if err != nil {
				t.Error(err)
				return
			}
			b, err := batched.Reconstruct(ctx, req)
			if err != nil {
				t.Error(err)
				return
			}
			for i := range a.Z[0] {
				if d := math.Abs(float64(a.Z[0][i] - b.Z[0][i])); d > 1e-6 {
					t.Errorf("request %d: latent value %d differs by %g with batching", k, i, d)
					return
				}
			}
			if a.Images[0] != b.Images[0] {
				t.Errorf("request %d: another image with batching", k)
			}
		}()
	}
	wg.Wait()
}

// TestOpenAPIDocumentsEveryRoute holds /openapi.json to the router, both ways, and sends
// every example in it, requiring the documented status.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	srv, _ := storeServer(t)
	w := httptest.NewRecorder()
	srv.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/openapi.json", nil))
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil || w.Code != 200 || !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("GET /openapi.json: %d, %v", w.Code, err)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	var served []*regexp.Regexp
	var names []string
	chi.Walk(srv.routes().(chi.Routes), func(method, pattern string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		served, names = append(served, routeMatcher(method, pattern)), append(names, method+" "+pattern)
		return nil
	})
	for i, re := range served {
		if !slices.ContainsFunc(documented, re.MatchString) {
			t.Errorf("route %s is not in /openapi.json", names[i])
		}
	}
	for _, d := range documented {
		if !slices.ContainsFunc(served, func(re *regexp.Regexp) bool { return re.MatchString(d) }) {
			t.Errorf("/openapi.json documents %s, which no route serves", d)
		}
	}
	for _, rt := range apiRoutes {
		if rt.example == nil {
			continue
		}
		var body io.Reader
		if rt.example.body != "" {
			body = strings.NewReader(rt.example.body)
		}
		r := httptest.NewRequest(rt.method, rt.path+"?"+rt.example.query, body)
		if body != nil {
			r.Header.Set("Content-Type", "application/json")
		}
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, r)
		if w.Code != rt.example.status {
			t.Errorf("example %s %s: %d %s, documented %d", rt.method, rt.path, w.Code, w.Body.String(), rt.example.status)
		}
	}
}
