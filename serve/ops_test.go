package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latentzoo/latentzoo/api"
	"github.com/latentzoo/latentzoo/zoo"
)

func TestListModels(t *testing.T) {
	var list struct {
		Default string             `json:"default"`
		Models  []api.ModelSummary `json:"models"`
	}
	wantJSONBody(t, serve(httptest.NewRequest(http.MethodGet, "/models", nil)), &list)
	if list.Default != gaussianName || len(list.Models) != 2 {
		t.Fatalf("default %q and %d models, want %s and 2", list.Default, len(list.Models), gaussianName)
	}
	g, s := list.Models[0], list.Models[1]
	if g.Name != gaussianName || !g.Default || g.Resolution != 32 || g.Channels != 1 || g.LatentSize != 32 || g.LatentKind != "gaussian" {
		t.Errorf("Gaussian model summary %+v", g)
	}
	if s.Name != sphereName || s.Default || s.Sample != "generator" || !slices.Equal(s.Decoders, []string{"decoder", "generator"}) {
		t.Errorf("sphere model summary %+v: want decoders [decoder generator] (not the critic)", s)
	}
}

func TestShowModel(t *testing.T) {
	for _, target := range []string{"/models/" + sphereName, "/models/sphere%2Ftest-colour:v1"} {
		var d api.ModelDetail
		wantJSONBody(t, serve(httptest.NewRequest(http.MethodGet, target, nil)), &d)
		if d.Manifest == nil || d.Manifest.Name != sphereName || d.Name != sphereName {
			t.Fatalf("%s: manifest %+v", target, d.Manifest)
		}
		if _, ok := d.Graphs["critic"]; ok || len(d.Graphs) != 3 {
			t.Errorf("%s: graphs %v, want encoder, decoder and generator", target, d.Graphs)
		}
		enc := d.Graphs["encoder"]
		if enc.Provider != "CPUExecutionProvider" || len(enc.Inputs) != 1 || enc.Inputs[0].Name != "image" ||
			!slices.Equal(enc.Inputs[0].Shape[1:], []int64{3, 16, 16}) || enc.Outputs[0].Name != "z" {
			t.Errorf("%s: encoder %+v", target, enc)
		}
		if gen := d.Graphs["generator"]; gen.Inputs[0].Name != "z" || !slices.Equal(gen.Outputs[0].Shape[1:], []int64{3, 16, 16}) {
			t.Errorf("%s: generator %+v", target, gen)
		}
	}
}

func TestLookup(t *testing.T) {
	s := &Server{}
	for _, name := range []string{"vae/mnist:v1", "vae/mnist:v2", "wae/fashion:v3", "odd name"} {
		s.models = append(s.models, &model{name: name})
	}
	for name, want := range map[string]string{
		"vae/mnist:v2":        "vae/mnist:v2",
		"wae/fashion:v3":      "wae/fashion:v3",
		"wae/fashion":         "wae/fashion:v3", // the only one served of that family and data set
		"wae/fashion:latest":  "wae/fashion:v3",
		"vae/mnist":           "", // two are served: ambiguous
		"vae/mnist:v9":        "",
		"wae/fashion-mnist":   "",
		"odd name":            "odd name",
		"":                    "",
		"VAE/MNIST:V1":        "",
		"vae/mnist:v1:extra":  "",
		"wae/fashion:v3 ":     "",
		"/models/vae/mnist:1": "",
	} {
		got := ""
		if m := s.lookup(name); m != nil {
			got = m.name
		}
		if got != want {
			t.Errorf("lookup(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestHealth(t *testing.T) {
	for _, target := range []string{"/healthz", "/readyz"} {
		var body map[string]any
		wantJSONBody(t, serve(httptest.NewRequest(http.MethodGet, target, nil)), &body)
		if body["status"] != "ok" && body["status"] != "ready" {
			t.Errorf("%s: %v", target, body)
		}
		if w := serve(httptest.NewRequest(http.MethodHead, target, nil)); w.Code != http.StatusOK {
			t.Errorf("HEAD %s: %d", target, w.Code)
		}
	}
}

// TestServeShutsDown runs a server on a real listener, then ends its context: Serve must
// finish the request in progress, return nil, and /readyz must say it is shutting down.
func TestServeShutsDown(t *testing.T) {
	s, base, cancel, done := serveOnListener(t, Config{DefaultModel: sphereName, Logger: slog.New(slog.DiscardHandler)})
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz: %d", resp.StatusCode)
	}
	resp, err = http.Post(base+"/sample?n=1&seed=1", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Model") != sphereName {
		t.Fatalf("/sample: %d from %q, want 200 from the configured default %s", resp.StatusCode, resp.Header.Get("X-Model"), sphereName)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("/readyz after shutdown: %d, want 503", w.Code)
	}
}

func TestNewRefuses(t *testing.T) {
	entries := mustEntries(t)
	quiet := Config{Logger: slog.New(slog.DiscardHandler)}
	unknownDefault := quiet
	unknownDefault.DefaultModel = "vae/other:v1"
	for _, tt := range []struct {
		name string
		cfg  Config
		all  []int // indexes into entries
		err  string
	}{
		{"no models", quiet, nil, "no models"},
		{"a model twice", quiet, []int{0, 1, 0}, "given twice"},
		{"unknown default", unknownDefault, []int{0}, `default model "vae/other:v1"`},
	} {
		var sel []zoo.Entry
		for _, k := range tt.all {
			sel = append(sel, entries[k])
		}
		s, err := New(tt.cfg, sel...)
		if err == nil {
			s.Close()
			t.Errorf("%s: New succeeded", tt.name)
		} else if !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%s: %v, want an error containing %q", tt.name, err, tt.err)
		}
	}
}

func TestMetricsEndpoint(t *testing.T) {
	_, call := newServer(t, Config{Logger: slog.New(slog.DiscardHandler)})
	call(newFormRequest(t, "/reconstruct", file("image", greyPNG)))
	call(newFormRequest(t, "/reconstruct", file("image", []byte("junk"))))
	call(httptest.NewRequest(http.MethodPost, "/sample?n=3&seed=1&model="+sphereName, nil))
	call(httptest.NewRequest(http.MethodGet, "/no/such/page", nil))
	w := call(httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("/metrics: %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	out := w.Body.String()
	for _, line := range []string{
		`latentzoo_http_requests_total{route="/reconstruct",method="POST",status="200"} 1`,
		`latentzoo_http_requests_total{route="/reconstruct",method="POST",status="400"} 1`,
		`latentzoo_http_requests_total{route="/sample",method="POST",status="200"} 1`,
		`latentzoo_http_requests_total{route="unmatched",method="GET",status="404"} 1`,
		`latentzoo_http_request_duration_seconds_count{route="/reconstruct"} 2`,
		fmt.Sprintf(`latentzoo_inference_duration_seconds_count{model=%q,graph="encoder"} 1`, gaussianName),
		fmt.Sprintf(`latentzoo_inference_examples_total{model=%q,graph="generator"} 3`, sphereName),
		"latentzoo_http_requests_in_flight 1", // the /metrics request itself
	} {
		if !hasSample(t, out, line) {
			t.Errorf("/metrics lacks\n%s\nin\n%s", line, out)
		}
	}
}

// TestConcurrentRequests sends many requests of every kind at once, over real HTTP, and
// checks each answer against the one the same request gets alone. Run with -race.
func TestConcurrentRequests(t *testing.T) {
	ts := httptest.NewServer(testServer.Handler())
	defer ts.Close()
	latent := make([]float32, 32)
	for i := range latent {
		latent[i] = float32(i%7) - 3
	}
	zJSON, _ := json.Marshal(map[string]any{"z": latent})
	requests := []func() *http.Request{
		func() *http.Request { return newFormRequest(t, ts.URL+"/reconstruct", file("image", colourJPEG)) },
		func() *http.Request {
			return newFormRequest(t, ts.URL+"/interpolate?model="+sphereName, file("a", colourPNG), file("b", greyPNG))
		},
		func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, ts.URL+"/decode", strings.NewReader(string(zJSON)))
			r.Header.Set("Content-Type", "application/json")
			return r
		},
		func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, ts.URL+"/sample?n=9&seed=5", nil)
			return r
		},
	}
	fetch := func(r *http.Request) ([]byte, error) {
		r.RequestURI = ""
		resp, err := ts.Client().Do(r)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("%s %s: %d %s", r.Method, r.URL.Path, resp.StatusCode, body)
		}
		return body, nil
	}
	want := make([][]byte, len(requests))
	for i, req := range requests {
		var err error
		if want[i], err = fetch(req()); err != nil {
			t.Fatal(err)
		}
	}
	const perKind = 12
	var wg sync.WaitGroup
	errs := make(chan error, perKind*len(requests))
	for range perKind {
		for i, req := range requests {
			r := req()
			wg.Go(func() {
				got, err := fetch(r)
				switch {
				case err != nil:
					errs <- err
				case string(got) != string(want[i]):
					errs <- fmt.Errorf("%s: concurrent answer differs from the one alone", r.URL.Path)
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestBuiltinEntries serves every autoencoder built into the binary and checks that each
// reconstructs and samples images of its manifest's size.
func TestBuiltinEntries(t *testing.T) {
	all, err := zoo.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	entries := zoo.Autoencoders(all)
	if len(entries) == 0 {
		t.Skip("no built-in entries in zoo/builtin yet")
	}
	s, err := New(Config{Logger: slog.New(slog.DiscardHandler)}, entries...)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	call := func(r *http.Request) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, r)
		return w
	}
	for _, e := range entries {
		m := e.Manifest()
		rec := wantPNG(t, call(newFormRequest(t, "/reconstruct", text("model", m.Name), file("image", colourJPEG))))
		if got := rec.Bounds().Size(); got != image.Pt(m.Resolution, m.Resolution) {
			t.Errorf("%s: reconstruction is %v, want %dx%d", m.Name, got, m.Resolution, m.Resolution)
		}
		grid := wantPNG(t, call(httptest.NewRequest(http.MethodPost, "/sample?n=4&seed=1&model="+m.Name, nil)))
		if got := grid.Bounds().Size(); got != image.Pt(2*m.Resolution, 2*m.Resolution) {
			t.Errorf("%s: 4 samples are %v, want a 2x2 grid", m.Name, got)
		}
	}
}

// TestServeDrains ends the context of a server with a drain period: during it /readyz
// must answer 503 while inference is still answered, with keep-alive off; after it Serve
// returns and the listener is closed.
func TestServeDrains(t *testing.T) {
	s, base, cancel, done := serveOnListener(t, Config{DrainPeriod: 500 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if resp, err := http.Get(base + "/readyz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("/readyz before: %v %v", resp, err)
	}
	cancel()
	deadline, unready := time.Now().Add(400*time.Millisecond), false
	for !unready && time.Now().Before(deadline) { // inside the drain period
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			t.Fatalf("/readyz while draining: %v", err)
		}
		resp.Body.Close()
		unready = resp.StatusCode == http.StatusServiceUnavailable
		time.Sleep(10 * time.Millisecond)
	}
	if !unready {
		t.Error("/readyz did not turn 503 in the drain period")
	}
	resp, err := http.Post(base+"/sample?n=1&seed=1", "", nil)
	if err != nil {
		t.Fatalf("/sample while draining: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !resp.Close {
		t.Errorf("/sample while draining: %d, connection close %v; want 200 closing the connection", resp.StatusCode, resp.Close)
	}
	if !s.draining.Load() {
		t.Error("not draining after the context ended")
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after its drain period")
	}
	if _, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), time.Second); err == nil {
		t.Error("the listener still takes connections after the drain")
	}
}

// serveOnListener runs a server of the test entries with cfg on a loopback listener; it
// returns the server, its base URL, the cancel that ends its context, and Serve's result.
func serveOnListener(t *testing.T, cfg Config) (*Server, string, context.CancelFunc, chan error) {
	t.Helper()
	s, err := New(cfg, mustEntries(t)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	return s, "http://" + ln.Addr().String(), cancel, done
}
