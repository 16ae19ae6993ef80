package serve

import (
	"encoding/json"
	"image"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/latentzoo/latentzoo/api"
	"github.com/latentzoo/latentzoo/dataset"
	"github.com/latentzoo/latentzoo/pixels"
)

// TestExamples asks the edit server's Fashion-MNIST model for test images and checks each
// against the data set itself.
func TestExamples(t *testing.T) {
	srv := newEditServer(t)
	test, err := dataset.Load(dataset.FashionMNIST, dataset.Test, 32, 1)
	if err != nil {
		t.Fatal(err)
	}
	get := func(t *testing.T, query string) api.Examples {
		t.Helper()
		var resp api.Examples
		wantJSONBody(t, serveBy(srv, httptest.NewRequest(http.MethodGet, "/models/"+gaussianName+"/examples"+query, nil)), &resp)
		return resp
	}
	indices := func(r api.Examples) []int {
		var out []int
		for _, e := range r.Examples {
			out = append(out, e.Index)
		}
		return out
	}
	tests := []struct {
		name  string
		query string
		n     int
		want  []int // the test-split indices, where fixed
	}{
		{"default", "", defaultExamples, []int{0, 976, 1992, 2968, 3984, 5000, 5976, 6992, 7968, 8984}}, // evenly through the pool of 256
		{"n", "?n=4", 4, []int{0, 2500, 5000, 7500}},
		{"seed", "?n=5&seed=7", 5, nil},
		{"more than the pool", "?n=64", 64, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := get(t, tt.query)
			if resp.Model != gaussianName || resp.Dataset != dataset.FashionMNIST || resp.Split != dataset.Test || len(resp.Examples) != tt.n {
				t.Fatalf("answer %s %s %s with %d examples; want %s fashion-mnist test with %d", resp.Model, resp.Dataset, resp.Split, len(resp.Examples), gaussianName, tt.n)
			}
			if tt.want != nil && !slices.Equal(indices(resp), tt.want) {
				t.Errorf("indices %v, want %v", indices(resp), tt.want)
			}
			var b64 []string
			for _, e := range resp.Examples {
				b64 = append(b64, e.Image)
			}
			for i, img := range pngs(t, b64) {
				e := resp.Examples[i]
				if img.Bounds().Size() != image.Pt(32, 32) {
					t.Fatalf("example %d is %v, want 32x32", i, img.Bounds().Size())
				}
				if want := dataset.FashionMNISTClasses[test.Labels[e.Index]]; e.Label != want {
					t.Errorf("example %d (test image %d) labelled %q, want %q", i, e.Index, e.Label, want)
				}
				if d := maxDiff(t, img, pixels.Grid(test.Image(e.Index), 1, 1, 32, 32, 1)); d != 0 {
					t.Errorf("example %d differs from test image %d by %d", i, e.Index, d)
				}
			}
		})
	}
	t.Run("a seed picks the same images again, another seed others", func(t *testing.T) {
		a, b, c := get(t, "?n=8&seed=1"), get(t, "?n=8&seed=1"), get(t, "?n=8&seed=2")
		if !slices.Equal(indices(a), indices(b)) || slices.Equal(indices(a), indices(c)) {
			t.Errorf("seed 1 gave %v then %v, seed 2 %v", indices(a), indices(b), indices(c))
		}
	})
}

func TestExamplesErrors(t *testing.T) {
	srv := newEditServer(t)
	tests := []struct {
		name, path string
		status     int
		want       string
	}{
		{"n zero", "/models/" + gaussianName + "/examples?n=0", 400, `query parameter n: "0" is not an integer from 1 to 64`},
		{"n over the batch limit", "/models/" + gaussianName + "/examples?n=65", 400, "from 1 to 64"},
		{"bad seed", "/models/" + gaussianName + "/examples?seed=x", 400, `query parameter seed: "x"`},
		{"unknown parameter", "/models/" + gaussianName + "/examples?count=3", 400, `unknown query parameter "count"`},
		{"repeated parameter", "/models/" + gaussianName + "/examples?n=1&n=2", 400, "given 2 times"},
		{"unknown model", "/models/vae/nothing:v1/examples", 404, `unknown model "vae/nothing:v1"`},
		{"data set not on this server", "/models/" + sphereName + "/examples", 404, "no test images for model sphere/test-colour:v1: its data set random is not available on this server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, serveBy(srv, httptest.NewRequest(http.MethodGet, tt.path, nil)), tt.status, tt.want)
		})
	}
}

// TestPictures serves the pictures the entries carry, and 404s for those they do not.
func TestPictures(t *testing.T) {
	_, serve := newServer(t, Config{})
	sheet := testModels()[0].sheet
	tests := []struct {
		name, path string
		status     int
		want       string // the body, or a part of the error
	}{
		{"the sheet", "/models/" + gaussianName + "/pictures/sheet", 200, string(sheet)},
		{"a picture the entry lacks", "/models/" + gaussianName + "/pictures/curves", 404, `has no picture "curves" (it has: sheet`},
		{"an entry without pictures", "/models/" + sphereName + "/pictures/sheet", 404, `has no picture "sheet" (it has: none`},
		{"an unknown model", "/models/vae/nothing/pictures/sheet", 404, "unknown model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := serve(httptest.NewRequest(http.MethodGet, tt.path, nil))
			if w.Code != tt.status {
				t.Fatalf("status %d (%s), want %d", w.Code, w.Body, tt.status)
			}
			if tt.status == 200 {
				if ct := w.Header().Get("Content-Type"); ct != "image/png" || w.Body.String() != tt.want {
					t.Errorf("answer %s of %d bytes, want the entry's %d-byte PNG", ct, w.Body.Len(), len(tt.want))
				}
				return
			}
			var body api.ErrorBody
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || !strings.Contains(body.Error, tt.want) {
				t.Errorf("body %s (%v), want an error saying %q", w.Body, err, tt.want)
			}
		})
	}
}
