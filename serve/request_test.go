package serve

import (
	"bytes"
	"errors"
	"math"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/latentzoo/latentzoo/errkind"
)

// multipartBody builds a multipart form: fields as text parts, files as file parts, in the
// order given (name, value pairs).
func multipartBody(t testing.TB, fields, files []string) (body *bytes.Buffer, contentType string) {
	t.Helper()
	body = &bytes.Buffer{}
	mw := multipart.NewWriter(body)
	for i := 0; i < len(fields); i += 2 {
		if err := mw.WriteField(fields[i], fields[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < len(files); i += 2 {
		fw, err := mw.CreateFormFile(files[i], files[i]+".png")
		if err != nil {
			t.Fatal(err)
		}
		fw.Write([]byte(files[i+1]))
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return body, mw.FormDataContentType()
}

var allFields = []string{fieldModel, fieldImage, fieldA, fieldB, fieldZA, fieldZB, fieldSteps, fieldPath, fieldZ, fieldN, fieldSeed, fieldDecoder}

func TestParseRequest(t *testing.T) {
	mp, mpType := multipartBody(t,
		[]string{"model", "m1", "z", "1,2", "z", "[3 4]", "steps", "5", "seed", "-9"},
		[]string{"image", "IMG"})
	tests := []struct {
		name        string
		target      string
		contentType string
		body        string
		want        request
	}{
		{"no body", "/x?model=q&n=3&seed=4&steps=2&path=slerp&decoder=gen", "", "",
			request{model: "q", n: 3, seed: 4, steps: 2, path: "slerp", decoder: "gen"}},
		{"json", "/x", "application/json",
			`{"model":"m","image":"SU1H","a":"QQ==","b":"data:image/png;base64,Qg","za":[1,2],"zb":[3],"steps":4,"path":"linear","n":2,"seed":9,"decoder":"d"}`,
			request{model: "m", image: []byte("IMG"), a: []byte("A"), b: []byte("B"), za: []float64{1, 2}, zb: []float64{3}, steps: 4, path: "linear", n: 2, seed: 9, decoder: "d"}},
		{"json one latent", "/x", "application/json; charset=utf-8", `{"z":[1,2.5]}`, request{z: [][]float64{{1, 2.5}}}},
		{"json latents", "/x", "application/json", `{"z":[[1],[2]]}`, request{z: [][]float64{{1}, {2}}}},
		{"json null is absent", "/x", "application/json", `{"z":null,"model":null}`, request{}},
		{"body beats query", "/x?model=fromquery&n=1", "application/json", `{"model":"frombody"}`, request{model: "frombody", n: 1}},
		{"multipart", "/x", mpType, mp.String(),
			request{model: "m1", z: [][]float64{{1, 2}, {3, 4}}, steps: 5, seed: -9, image: []byte("IMG")}},
		{"urlencoded", "/x", "application/x-www-form-urlencoded", url.Values{"za": {"1e-3, -2"}, "image": {"SU1H"}}.Encode(),
			request{za: []float64{1e-3, -2}, image: []byte("IMG")}},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodPost, tt.target, strings.NewReader(tt.body))
		if tt.contentType != "" {
			r.Header.Set("Content-Type", tt.contentType)
		}
		got, err := parseRequest(r, "/x", allFields...)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		got.present = nil
		if !reflect.DeepEqual(*got, tt.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.name, *got, tt.want)
		}
	}
}

func TestParseRequestErrors(t *testing.T) {
	dup, dupType := multipartBody(t, []string{"model", "a", "model", "b"}, nil)
	unknownPart, unknownType := multipartBody(t, []string{"colour", "red"}, nil)
	tests := []struct {
		name        string
		target      string
		contentType string
		body        string
		status      int
		err         string
	}{
		{"bad JSON", "/x", "application/json", `{"model":`, 400, "bad JSON body"},
		{"empty JSON", "/x", "application/json", ``, 400, "bad JSON body: empty"},
		{"JSON array", "/x", "application/json", `[1]`, 400, "bad JSON body"},
		{"JSON unknown field", "/x", "application/json", `{"modle":"m"}`, 400, `unknown field "modle"`},
		{"JSON wrong type", "/x", "application/json", `{"steps":"many"}`, 400, "steps"},
		{"JSON trailing data", "/x", "application/json", `{} {}`, 400, "data after the JSON object"},
		{"JSON bad z", "/x", "application/json", `{"z":"1,2"}`, 400, "field z: want a latent"},
		{"JSON null in z", "/x", "application/json", `{"z":[1,null]}`, 400, "field z: want a latent"},
		{"JSON null in za", "/x", "application/json", `{"za":[null]}`, 400, "latent value 0 is null"},
		{"JSON latent overflows float64", "/x", "application/json", `{"za":[1e999]}`, 400, "bad JSON body"},
		{"not base64", "/x", "application/json", `{"image":"!!"}`, 400, "field image: not valid base64"},
		{"field not used", "/x", "application/json", `{"n":3}`, 400, "field n is not used by /x"},
		{"no content type", "/x", "", "hello", 415, "needs a Content-Type"},
		{"unsupported content type", "/x", "text/plain", "hello", 415, `unsupported Content-Type "text/plain"`},
		{"malformed content type", "/x", "application/", "x", 400, "bad Content-Type"},
		{"broken multipart", "/x", "multipart/form-data; boundary=zzz", "--zzz\r\nnonsense", 400, "bad"},
		{"multipart without boundary", "/x", "multipart/form-data", "", 400, "bad multipart body"},
		{"duplicate field", "/x", dupType, dup.String(), 400, "field model given more than once"},
		{"unknown form field", "/x", unknownType, unknownPart.String(), 400, `unknown field "colour"`},
		{"unknown query parameter", "/x?colour=red", "", "", 400, `unknown query parameter "colour"`},
		{"repeated query parameter", "/x?n=1&n=2", "", "", 400, "query parameter n given 2 times"},
		{"not an integer", "/x?steps=3.5", "", "", 400, `field steps: "3.5" is not an integer`},
		{"seed not an integer", "/x?seed=abc", "", "", 400, "field seed"},
		{"latent word", "/x", "application/x-www-form-urlencoded", "za=1,two", 400, `field za: value 1, "two", is not a number`},
		{"latent out of range", "/x", "application/x-www-form-urlencoded", "zb=1e400", 400, "field zb: value 0, 1e400, is out of range"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodPost, tt.target, strings.NewReader(tt.body))
		if tt.contentType != "" {
			r.Header.Set("Content-Type", tt.contentType)
		}
		allowed := allFields
		if tt.name == "field not used" {
			allowed = []string{fieldModel}
		}
		_, err := parseRequest(r, "/x", allowed...)
		status, ok := statusOf[errkind.Of(err)]
		if !ok {
			t.Errorf("%s: err = %v, want an error of a kind with a status", tt.name, err)
			continue
		}
		if msg := errkind.Message(err); status != tt.status || !strings.Contains(msg, tt.err) {
			t.Errorf("%s: %d %q, want %d and a message containing %q", tt.name, status, msg, tt.status, tt.err)
		}
	}
}

func TestParseRequestBodyLimit(t *testing.T) {
	big := `{"image":"` + strings.Repeat("A", 2000) + `"}`
	mp, mpType := multipartBody(t, nil, []string{"image", strings.Repeat("x", 2000)})
	for _, tt := range []struct{ contentType, body string }{
		{"application/json", big},
		{mpType, mp.String()},
		{"application/x-www-form-urlencoded", "image=" + strings.Repeat("A", 2000)},
	} {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(tt.body))
		r.Header.Set("Content-Type", tt.contentType)
		r.Body = http.MaxBytesReader(w, r.Body, 1000)
		_, err := parseRequest(r, "/x", allFields...)
		var tooBig *http.MaxBytesError
		if !errors.As(err, &tooBig) {
			t.Errorf("%s: err = %v, want a MaxBytesError", tt.contentType, err)
		}
	}
}

func TestParseNumbers(t *testing.T) {
	got, err := parseNumbers("z", " [1, -2.5e1\t3\nNaN,Inf] ")
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{1, -25, 3, math.NaN(), math.Inf(1)}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] && !(math.IsNaN(got[i]) && math.IsNaN(want[i])) {
			t.Errorf("value %d = %g, want %g", i, got[i], want[i])
		}
	}
}
