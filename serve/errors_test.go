package serve

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/latentzoo/latentzoo/api"
)

func TestBadRequests(t *testing.T) {
	b64 := func(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
	latent32 := make([]float32, 32)
	latent32[0] = 1
	tooBig := bytes.Repeat([]byte{0}, testBodyLimit+1)
	tests := []struct {
		name   string
		req    func() *http.Request
		status int
		err    string // a substring of the error message
	}{
		{"not an image", func() *http.Request {
			return newFormRequest(t, "/reconstruct", file("image", []byte("hello, world")))
		}, 400, "not a readable image"},
		{"truncated PNG", func() *http.Request {
			return newFormRequest(t, "/reconstruct", file("image", colourPNG[:len(colourPNG)-40]))
		}, 400, "corrupt or truncated"},
		{"PNG header claiming 30000x30000", func() *http.Request {
			return newJSONRequest(t, "/encode", map[string]any{"image": b64(pngHeader(30000, 30000))})
		}, 400, "30000x30000"},
		{"image b not an image", func() *http.Request {
			return newFormRequest(t, "/interpolate", file("a", greyPNG), file("b", []byte("GIF89a")))
		}, 400, "field b"},
		{"wrong latent length", func() *http.Request {
			return newJSONRequest(t, "/decode", map[string]any{"z": []float32{1, 2, 3}})
		}, 400, "latent has 3 values, model vae/test-gaussian:v1 wants 32"},
		{"wrong length in a list", func() *http.Request {
			return newJSONRequest(t, "/decode", map[string]any{"z": [][]float32{latent32, {1}}})
		}, 400, "field z[1]: latent has 1 values"},
		{"NaN in a latent", func() *http.Request {
			return newFormRequest(t, "/decode", text("z", "NaN"+strings.Repeat(",0", 31)))
		}, 400, "value 0 is NaN; latents must be finite"},
		{"Inf in a latent", func() *http.Request {
			return newFormRequest(t, "/interpolate", text("za", "0,-Inf"+strings.Repeat(",0", 30)), file("b", greyPNG))
		}, 400, "field za: value 1 is -Inf"},
		{"latent overflowing float32", func() *http.Request {
			return newJSONRequest(t, "/interpolate", map[string]any{"za": latent32, "zb": append([]float64{1e39}, make([]float64, 31)...)})
		}, 400, "field zb: value 0 is 1e+39"},
		{"zero latent on the sphere", func() *http.Request {
			return newJSONRequest(t, "/decode", map[string]any{"model": sphereName, "z": make([]float32, 8)})
		}, 400, "too short to put on the unit sphere"},
		{"opposite ends for slerp", func() *http.Request {
			return newJSONRequest(t, "/interpolate", map[string]any{"model": sphereName, "za": []float32{1, 0, 0, 0, 0, 0, 0, 0}, "zb": []float32{-1, 0, 0, 0, 0, 0, 0, 0}})
		}, 400, "opposite directions"},
		{"linear through the origin on the sphere", func() *http.Request {
			return newJSONRequest(t, "/interpolate", map[string]any{"model": sphereName, "path": "linear", "steps": 3, "za": []float32{1, 0, 0, 0, 0, 0, 0, 0}, "zb": []float32{-1, 0, 0, 0, 0, 0, 0, 0}})
		}, 400, "passes through the origin"},
		{"unknown model", func() *http.Request {
			return newJSONRequest(t, "/decode", map[string]any{"model": "vae/nope:v1", "z": latent32})
		}, 404, `unknown model "vae/nope:v1"`},
		{"unknown model in the query", func() *http.Request {
			return httptest.NewRequest(http.MethodPost, "/sample?model=nope", nil)
		}, 404, "unknown model"},
		{"body over the limit", func() *http.Request {
			return newFormRequest(t, "/reconstruct", file("image", tooBig))
		}, 413, "over the limit of 1048576 bytes"},
		{"JSON body over the limit", func() *http.Request {
			return newJSONRequest(t, "/reconstruct", map[string]any{"image": b64(tooBig)})
		}, 413, "over the limit"},
		{"steps too few", func() *http.Request {
			return newJSONRequest(t, "/interpolate", map[string]any{"za": latent32, "zb": latent32, "steps": 1})
		}, 400, "field steps: 1 is out of range"},
		{"steps too many", func() *http.Request {
			return newJSONRequest(t, "/interpolate?steps=65", map[string]any{"za": latent32, "zb": latent32})
		}, 400, "field steps: 65 is out of range"},
		{"n zero", func() *http.Request {
			return httptest.NewRequest(http.MethodPost, "/sample?n=0", nil)
		}, 400, "field n: 0 is out of range 1 to 64"},
		{"n too many", func() *http.Request {
			return newJSONRequest(t, "/sample", map[string]any{"n": 1000000})
		}, 400, "field n: 1000000 is out of range"},
		{"too many latents", func() *http.Request {
			zs := make([][]float32, 65)
			for i := range zs {
				zs[i] = latent32
			}
			return newJSONRequest(t, "/decode", map[string]any{"z": zs})
		}, 400, "65 latents; at most 64"},
		{"bad JSON", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/decode", strings.NewReader(`{"z": [1, 2`))
			r.Header.Set("Content-Type", "application/json")
			return r
		}, 400, "bad JSON body"},
		{"missing image", func() *http.Request {
			return newJSONRequest(t, "/reconstruct", map[string]any{"model": gaussianName})
		}, 400, "missing field image"},
		{"missing z", func() *http.Request {
			return newJSONRequest(t, "/decode", map[string]any{})
		}, 400, "missing field z"},
		{"missing b", func() *http.Request {
			return newFormRequest(t, "/interpolate", file("a", greyPNG))
		}, 400, "missing field b (an image) or zb (a latent)"},
		{"both a and za", func() *http.Request {
			return newJSONRequest(t, "/interpolate", map[string]any{"a": b64(greyPNG), "za": latent32, "zb": latent32})
		}, 400, "give field a (an image) or za (a latent), not both"},
		{"unknown path", func() *http.Request {
			return newJSONRequest(t, "/interpolate", map[string]any{"za": latent32, "zb": latent32, "path": "curvy"})
		}, 400, `field path: "curvy"`},
		{"unknown decoder", func() *http.Request {
			return newJSONRequest(t, "/decode", map[string]any{"z": latent32, "decoder": "generator"})
		}, 400, `unknown decoder "generator" for model vae/test-gaussian:v1 (decoders: decoder)`},
		{"graph that is no decoder", func() *http.Request {
			return httptest.NewRequest(http.MethodPost, "/sample?model="+sphereName+"&decoder=critic", nil)
		}, 400, `unknown decoder "critic"`},
		{"field another endpoint uses", func() *http.Request {
			return newJSONRequest(t, "/reconstruct", map[string]any{"image": b64(greyPNG), "steps": 3})
		}, 400, "field steps is not used by /reconstruct"},
		{"unknown JSON field", func() *http.Request {
			return newJSONRequest(t, "/sample", map[string]any{"count": 3})
		}, 400, `unknown field "count"`},
		{"unsupported media type", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/reconstruct", bytes.NewReader(greyPNG))
			r.Header.Set("Content-Type", "image/png")
			return r
		}, 415, "unsupported Content-Type"},
		{"unknown route", func() *http.Request {
			return httptest.NewRequest(http.MethodGet, "/nowhere", nil)
		}, 404, "no route GET /nowhere"},
		{"unknown model page", func() *http.Request {
			return httptest.NewRequest(http.MethodGet, "/models/vae/nope:v1", nil)
		}, 404, `unknown model "vae/nope:v1"`},
		{"GET on a POST route", func() *http.Request {
			return httptest.NewRequest(http.MethodGet, "/reconstruct", nil)
		}, 405, "method GET not allowed on /reconstruct (allowed: POST)"},
		{"POST on a GET route", func() *http.Request {
			return httptest.NewRequest(http.MethodPost, "/models", nil)
		}, 405, "allowed: GET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := serve(tt.req())
			if w.Code != tt.status {
				t.Errorf("status %d, want %d; body %s", w.Code, tt.status, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			var body api.ErrorBody
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q is no JSON error: %v", w.Body, err)
			}
			if !strings.Contains(body.Error, tt.err) {
				t.Errorf("error %q, want it to contain %q", body.Error, tt.err)
			}
		})
	}
}

func TestMethodNotAllowedSaysAllow(t *testing.T) {
	for target, want := range map[string]string{"/reconstruct": "POST", "/metrics": "GET"} {
		w := serve(httptest.NewRequest(http.MethodPut, target, nil))
		if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != want {
			t.Errorf("PUT %s: %d, Allow %q; want 405 and Allow %q", target, w.Code, w.Header().Get("Allow"), want)
		}
	}
}

func TestRecoverPanics(t *testing.T) {
	s := &Server{log: testServer.log, metrics: newMetrics()}
	h := s.instrument(s.recoverPanics(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		var m map[string]int
		m["boom"]++ // a nil map write panics
	})))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/x", nil))
	if w.Code != http.StatusInternalServerError || !strings.Contains(w.Body.String(), `"error":"internal error"`) {
		t.Errorf("panicking handler gave %d %s, want 500 and a JSON error", w.Code, w.Body)
	}
	var b strings.Builder
	s.metrics.writeTo(&b)
	if !strings.Contains(b.String(), `status="500"} 1`) {
		t.Errorf("the 500 is not counted:\n%s", b.String())
	}
}
