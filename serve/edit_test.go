package serve

import (
	"encoding/json"
	"fmt"
	"image"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/latentzoo/latentzoo/api"
	"github.com/latentzoo/latentzoo/attributes"
	"github.com/latentzoo/latentzoo/dataset"
	"github.com/latentzoo/latentzoo/zoo"
)

// The directions of the edit server's models: for the Gaussian model (latent size 32) "up"
// adds 0.5 to every value and "first" 2 to the first; for the sphere model (latent size 8)
// "north" is the first axis and "east" the second.
var testDirections = map[string][]attributes.Direction{
	gaussianName: {
		{Name: "up", Kind: attributes.KindMeasure, Description: "every value up", With: 20, Without: 20, Vector: latentOf(32, func(int) float32 { return 0.5 })},
		{Name: "first", Kind: attributes.KindClass, Description: "the first value up", With: 30, Without: 270, Vector: latentOf(32, func(i int) float32 { return float32(2 * b2f(i == 0)) })},
	},
	sphereName: {
		{Name: "north", Kind: attributes.KindClass, Vector: latentOf(8, func(i int) float32 { return float32(b2f(i == 0)) })},
		{Name: "east", Kind: attributes.KindClass, Vector: latentOf(8, func(i int) float32 { return float32(b2f(i == 1)) })},
	},
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// newEditServer serves the test models with the directions above; the Gaussian model's
// data set is Fashion-MNIST, so that it has test images to offer.
func newEditServer(t *testing.T) *Server {
	t.Helper()
	var entries []zoo.Entry
	for _, tm := range testModels() {
		m, files, err := tm.files()
		if err != nil {
			t.Fatal(err)
		}
		if m.Name == gaussianName {
			m.Dataset = dataset.FashionMNIST
		}
		if err := attributes.Attach(m, files, testDirections[m.Name]); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(t.TempDir(), "entry")
		if err := zoo.WriteEntry(dir, m, files); err != nil {
			t.Fatal(err)
		}
		e, err := zoo.OpenDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, e)
	}
	srv, err := New(Config{IntraOpThreads: 1, Logger: slog.New(slog.DiscardHandler)}, entries...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func serveBy(srv *Server, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	srv.Handler().ServeHTTP(w, r)
	return w
}

// near reports whether a and b differ by at most tol in every value.
func near(a, b []float32, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > tol {
			return false
		}
	}
	return true
}

func TestEdit(t *testing.T) {
	srv := newEditServer(t)
	gz := latentOf(32, func(i int) float32 { return float32(i)/16 - 1 })
	sz := latentOf(8, func(i int) float32 { return float32(b2f(i == 2)) })
	tests := []struct {
		name  string
		model string
		body  map[string]any
		want  []float32 // the edited latent
	}{
		{"one attribute", gaussianName, map[string]any{"z": gz, "attributes": map[string]float64{"up": 2}},
			latentOf(32, func(i int) float32 { return gz[i] + 1 })},
		{"two attributes, one negative", gaussianName, map[string]any{"z": gz, "attributes": map[string]float64{"up": 1, "first": -0.5}},
			latentOf(32, func(i int) float32 { return gz[i] + 0.5 - float32(b2f(i == 0)) })},
		{"no attributes decodes the latent", gaussianName, map[string]any{"z": gz, "attributes": map[string]float64{}}, gz},
		{"sphere latents are renormalised", sphereName, map[string]any{"z": sz, "attributes": map[string]float64{"north": 1}},
			latentOf(8, func(i int) float32 { return float32((b2f(i == 0) + b2f(i == 2)) / math.Sqrt2) })},
		{"sphere, two attributes", sphereName, map[string]any{"z": sz, "attributes": map[string]float64{"north": 2, "east": -2}},
			latentOf(8, func(i int) float32 { return float32((2*b2f(i == 0) - 2*b2f(i == 1) + b2f(i == 2)) / 3) })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.body["model"] = tt.model
			var resp api.Images
			wantJSONBody(t, serveBy(srv, asJSON(newJSONRequest(t, "/edit", tt.body))), &resp)
			if len(resp.Z) != 1 || !near(resp.Z[0], tt.want, 1e-6) {
				t.Fatalf("edited latent %v, want %v", resp.Z, tt.want)
			}
			if resp.Model != tt.model || len(resp.Images) != 1 {
				t.Fatalf("answer for model %s with %d images; want %s and one", resp.Model, len(resp.Images), tt.model)
			}
			// The PNG answer is the decoded edited latent.
			img := wantPNG(t, serveBy(srv, newJSONRequest(t, "/edit", tt.body)))
			dec := wantPNG(t, serveBy(srv, newJSONRequest(t, "/decode", map[string]any{"model": tt.model, "z": tt.want})))
			if d := maxDiff(t, img, dec); d > 1 {
				t.Errorf("edited image differs from /decode of the edited latent by %d", d)
			}
			if d := maxDiff(t, pngs(t, resp.Images)[0], img); d != 0 {
				t.Errorf("JSON image differs from the PNG answer by %d", d)
			}
		})
	}
}

// TestEditImage edits an uploaded image: its latent (as /encode gives it) moves by the
// direction, whatever form the request takes.
func TestEditImage(t *testing.T) {
	srv := newEditServer(t)
	var enc api.Encoding
	wantJSONBody(t, serveBy(srv, newFormRequest(t, "/encode", file("image", colourPNG))), &enc)
	want := latentOf(32, func(i int) float32 { return enc.Z[i] - 0.5 })
	for name, req := range map[string]func() *http.Request{
		"multipart": func() *http.Request {
			return newFormRequest(t, "/edit", file("image", colourPNG), text("attributes", `{"up": -1}`))
		},
		"JSON": func() *http.Request {
			return newJSONRequest(t, "/edit", map[string]any{"image": colourPNG, "attributes": map[string]float64{"up": -1}})
		},
	} {
		t.Run(name, func(t *testing.T) {
			var resp api.Images
			wantJSONBody(t, serveBy(srv, asJSON(req())), &resp)
			if len(resp.Z) != 1 || !near(resp.Z[0], want, 1e-5) {
				t.Fatalf("edited latent %v, want %v", resp.Z, want)
			}
			img := wantPNG(t, serveBy(srv, req()))
			if got := img.Bounds().Size(); got != image.Pt(32, 32) {
				t.Errorf("PNG is %v, want 32x32", got)
			}
		})
	}
}

func TestEditErrors(t *testing.T) {
	srv := newEditServer(t)
	gz := make([]float32, 32)
	tests := []struct {
		name string
		body string
		want string // in the error message
	}{
		{"unknown attribute lists the known", `{"z": [` + strings.Repeat("0,", 31) + `0], "attributes": {"smile": 1}}`, `unknown attribute "smile" for model vae/test-gaussian:v1 (its attributes: first, up)`},
		{"no attributes field", `{"z": [` + strings.Repeat("0,", 31) + `0]}`, "missing field attributes"},
		{"attributes not an object", `{"z": [` + strings.Repeat("0,", 31) + `0], "attributes": [1]}`, "field attributes: want a JSON object"},
		{"strength not a number", `{"z": [` + strings.Repeat("0,", 31) + `0], "attributes": {"up": "much"}}`, "field attributes: want a JSON object"},
		{"null strength", `{"z": [` + strings.Repeat("0,", 31) + `0], "attributes": {"up": null}}`, `the strength of "up" must be a finite number`},
		{"neither image nor latent", `{"attributes": {"up": 1}}`, "missing field image (an image) or z (a latent)"},
		{"both image and latent", fmt.Sprintf(`{"image": %s, "z": %s, "attributes": {"up": 1}}`, mustJSON(colourPNG), mustJSON(gz)), "not both"},
		{"two latents", fmt.Sprintf(`{"z": [%s, %s], "attributes": {"up": 1}}`, mustJSON(gz), mustJSON(gz)), "2 latents; /edit edits one"},
		{"latent of the wrong size", `{"z": [1, 2, 3], "attributes": {"up": 1}}`, "latent has 3 values, model vae/test-gaussian:v1 wants 32"},
		{"a field /edit does not use", `{"z": [1], "attributes": {"up": 1}, "steps": 3}`, "field steps is not used by /edit"},
		{"unknown decoder", fmt.Sprintf(`{"z": %s, "attributes": {"up": 1}, "decoder": "nope"}`, mustJSON(gz)), `unknown decoder "nope"`},
		{"sphere edit to the origin", `{"model": "sphere/test-colour:v1", "z": [1, 0, 0, 0, 0, 0, 0, 0], "attributes": {"north": -1}}`, "zero vector"},
		{"strength beyond float32", fmt.Sprintf(`{"z": %s, "attributes": {"up": 1e300}}`, mustJSON(gz)), "beyond float32's range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/edit", strings.NewReader(tt.body))
			r.Header.Set("Content-Type", "application/json")
			wantError(t, serveBy(srv, r), http.StatusBadRequest, tt.want)
		})
	}
	t.Run("NaN strength in a form", func(t *testing.T) {
		r := newFormRequest(t, "/edit", text("z", "0"), text("attributes", `{"up": NaN}`))
		wantError(t, serveBy(srv, r), http.StatusBadRequest, "field attributes: want a JSON object")
	})
	t.Run("model without attributes", func(t *testing.T) {
		// The shared test server's models have no directions.
		r := newJSONRequest(t, "/edit", map[string]any{"z": gz, "attributes": map[string]float64{"up": 1}})
		wantError(t, serve(r), http.StatusBadRequest, "model vae/test-gaussian:v1 has no attribute directions (add them with: latentzoo attributes vae/test-gaussian:v1)")
	})
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// wantError checks an error answer: its status, and a JSON body whose message holds want.
func wantError(t *testing.T, w *httptest.ResponseRecorder, status int, want string) {
	t.Helper()
	var body api.ErrorBody
	if w.Code != status || json.Unmarshal(w.Body.Bytes(), &body) != nil || !strings.Contains(body.Error, want) {
		t.Fatalf("got %d %s; want %d with an error saying %q", w.Code, w.Body, status, want)
	}
}

// TestModelsListAttributes checks that /models and /models/{name} list each model's
// attributes, classes first, and an empty list for a model without.
func TestModelsListAttributes(t *testing.T) {
	srv := newEditServer(t)
	var list struct{ Models []api.ModelSummary }
	wantJSONBody(t, serveBy(srv, httptest.NewRequest(http.MethodGet, "/models", nil)), &list)
	names := func(as []api.Attribute) []string {
		var out []string
		for _, a := range as {
			out = append(out, a.Kind+":"+a.Name)
		}
		return out
	}
	want := map[string][]string{gaussianName: {"class:first", "measure:up"}, sphereName: {"class:east", "class:north"}}
	for _, m := range list.Models {
		if got := names(m.Attributes); !slices.Equal(got, want[m.Name]) {
			t.Errorf("/models: %s has attributes %v, want %v", m.Name, got, want[m.Name])
		}
	}
	var detail api.ModelDetail
	wantJSONBody(t, serveBy(srv, httptest.NewRequest(http.MethodGet, "/models/"+gaussianName, nil)), &detail)
	if got := names(detail.Attributes); !slices.Equal(got, want[gaussianName]) {
		t.Errorf("/models/%s: attributes %v, want %v", gaussianName, got, want[gaussianName])
	}
	a := detail.Attributes[0]
	if a.With != 30 || a.Without != 270 || a.Norm != 2 || a.Description != "the first value up" {
		t.Errorf("attribute first: %+v", a)
	}
	var plain struct{ Models []map[string]any }
	wantJSONBody(t, serve(httptest.NewRequest(http.MethodGet, "/models", nil)), &plain)
	if got, ok := plain.Models[0]["attributes"].([]any); !ok || len(got) != 0 {
		t.Errorf("a model without attributes lists %v, want []", plain.Models[0]["attributes"])
	}
}
