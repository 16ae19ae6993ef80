package serve

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/latentzoo/latentzoo/errkind"
)

// FuzzParseRequest feeds the request parser arbitrary bodies under each content type and
// query: it must answer a request or an error of a kind with a status, never panic.
func FuzzParseRequest(f *testing.F) {
	f.Add(0, `{"model": "vae/mnist", "z": [[1, 2], [3]], "steps": 3}`, "n=2")
	f.Add(1, "image=aGVsbG8=&model=x&z=1,2", "")
	f.Add(2, "--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n\r\n\x89PNG\r\n--b--\r\n", "seed=1")
	f.Add(0, `{"attributes": {"sneaker": 1e309}}`, "")
	f.Add(0, `{"z": null, "za": [null]}`, "path=slerp&path=linear")
	types := []string{"application/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=b", "", "text/plain"}
	f.Fuzz(func(t *testing.T, kind int, body, query string) {
		ct := types[(kind%len(types)+len(types))%len(types)]
		r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(body))
		if q, err := parseQuery(query); err == nil {
			r.URL.RawQuery = q
		}
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 1<<16)
		q, err := parseRequest(r, "/x", allFields...)
		if err == nil && q == nil {
			t.Fatal("no request and no error")
		}
		if err != nil {
			if _, ok := statusOf[errkind.Of(err)]; !ok && !strings.Contains(err.Error(), "request body too large") {
				t.Fatalf("error of no kind: %v", err)
			}
		}
	})
}

// parseQuery keeps a fuzzed query only if it is one a client could send.
func parseQuery(q string) (string, error) {
	r, err := http.NewRequest(http.MethodGet, "/x?"+q, nil)
	if err != nil {
		return "", err
	}
	return r.URL.RawQuery, nil
}

// FuzzDecodeImage feeds the image decoder arbitrary bytes: an image within the limits or a
// 400, never a panic, and never more pixels than the limits.
func FuzzDecodeImage(f *testing.F) {
	f.Add(mustPNG(checker(8, 8, false)))
	f.Add(mustJPEG(checker(9, 7, true)))
	f.Add(mustGIF(checker(5, 5, false)))
	f.Add(pngHeader(30000, 30000))
	f.Add([]byte("GIF89a"))
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := decodeImage("image", data, 64, 2048)
		if err != nil {
			if errkind.Of(err) != errkind.Invalid {
				t.Fatalf("error of kind %v: %v", errkind.Of(err), err)
			}
			return
		}
		b := img.Bounds()
		if b.Dx() > 64 || b.Dy() > 64 || b.Dx()*b.Dy() > 2048 {
			t.Fatalf("decoded a %v image past the limits", b)
		}
	})
}

// FuzzParseNumbers feeds the latent parser arbitrary text.
func FuzzParseNumbers(f *testing.F) {
	f.Add("[1, 2.5e3, -0]")
	f.Add("1e400 NaN inf")
	f.Add("  ,, ,")
	f.Fuzz(func(t *testing.T, s string) {
		if _, err := parseNumbers("z", s); err != nil && errkind.Of(err) != errkind.Invalid {
			t.Fatalf("error of kind %v: %v", errkind.Of(err), err)
		}
	})
}

// FuzzOIPTensorData feeds the OIP tensor reader arbitrary JSON: values that are all finite
// FP32 numbers, at most the limit, or an error.
func FuzzOIPTensorData(f *testing.F) {
	f.Add([]byte(`[[1, 2], [3, 4]]`), 4)
	f.Add([]byte(`[1, "2", true, null]`), 4)
	f.Add([]byte(`[[[[]]]]`), 1)
	f.Add([]byte(`{"a": [1]}`), 1)
	f.Add([]byte(`[1e39, -1e-46]`), 2)
	f.Fuzz(func(t *testing.T, raw []byte, limit int) {
		limit = limit%1000 + 1
		if limit < 1 {
			limit += 1000
		}
		vals, err := flatNumbers(json.RawMessage(raw), limit)
		if err != nil {
			return
		}
		if len(vals) > limit {
			t.Fatalf("%d values past the limit %d", len(vals), limit)
		}
		for _, v := range vals {
			if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
				t.Fatalf("value %v is not finite", v)
			}
		}
		if !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("[")) {
			t.Fatalf("accepted %q, which is not an array", raw)
		}
	})
}
