package serve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/latentzoo/latentzoo/api"
	"github.com/latentzoo/latentzoo/latent"
)

// oipSpec is the OIP v2 OpenAPI document beside the project (../shared/specs).
const oipSpec = "../../shared/specs/oip-v2-open_inference_rest.yaml"

// openAPISchemas reads the components' schemas of the OIP OpenAPI document.
func openAPISchemas(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile(oipSpec)
	if err != nil {
		t.Fatalf("the OIP OpenAPI document: %v", err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]any `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Components.Schemas
}

// conform checks a decoded JSON value against an OpenAPI schema: $ref, type (object,
// array, string, integer, number, boolean), required properties, the properties' and
// items' schemas, anyOf. It returns what does not conform.
func conform(v any, schema map[string]any, schemas map[string]any, path string) []string {
	if ref, ok := schema["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/components/schemas/")
		s, ok := schemas[name].(map[string]any)
		if !ok {
			return []string{path + ": unknown schema " + ref}
		}
		return conform(v, s, schemas, path)
	}
	if alts, ok := schema["anyOf"].([]any); ok {
		for _, alt := range alts {
			if len(conform(v, alt.(map[string]any), schemas, path)) == 0 {
				return nil
			}
		}
		return []string{fmt.Sprintf("%s: %v fits none of anyOf", path, v)}
	}
	var errs []string
	switch schema["type"] {
	case "object":
		obj, ok := v.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %T, want an object", path, v)}
		}
		for _, r := range asList(schema["required"]) {
			if _, ok := obj[r.(string)]; !ok {
				errs = append(errs, fmt.Sprintf("%s: required %q missing", path, r))
			}
		}
		props, _ := schema["properties"].(map[string]any)
		for k, pv := range obj {
			if ps, ok := props[k].(map[string]any); ok {
				errs = append(errs, conform(pv, ps, schemas, path+"."+k)...)
			}
		}
	case "array":
		arr, ok := v.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %T, want an array", path, v)}
		}
		if items, ok := schema["items"].(map[string]any); ok {
			for i, e := range arr {
				errs = append(errs, conform(e, items, schemas, fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
	case "string":
		if _, ok := v.(string); !ok {
			errs = append(errs, fmt.Sprintf("%s: %T, want a string", path, v))
		}
	case "integer":
		if f, ok := v.(float64); !ok || f != math.Trunc(f) {
			errs = append(errs, fmt.Sprintf("%s: %v, want an integer", path, v))
		}
	case "number":
		if _, ok := v.(float64); !ok {
			errs = append(errs, fmt.Sprintf("%s: %T, want a number", path, v))
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			errs = append(errs, fmt.Sprintf("%s: %T, want a boolean", path, v))
		}
	}
	return errs
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// mustConform checks body, JSON, against the named schema of the OIP document.
func mustConform(t *testing.T, schemas map[string]any, name string, body []byte) {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%s: not JSON: %v: %s", name, err, body)
	}
	if errs := conform(v, map[string]any{"$ref": "#/components/schemas/" + name}, schemas, name); len(errs) > 0 {
		t.Errorf("answer does not conform to %s: %v\n%s", name, errs, body)
	}
}

// oip sends a request to the test server: GET when body is nil, else a POST of its JSON.
func oip(t *testing.T, target string, body any) *httptest.ResponseRecorder {
	t.Helper()
	if body == nil {
		return serve(httptest.NewRequest(http.MethodGet, target, nil))
	}
	b, ok := body.([]byte)
	if !ok {
		var err error
		if b, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
	}
	r := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(b))
	r.Header.Set("Content-Type", "application/json")
	return serve(r)
}

const (
	oipDecoder     = "vae_test-gaussian_decoder"
	oipEncoder     = "vae_test-gaussian_encoder"
	oipReconstruct = "vae_test-gaussian_reconstruct"
)

func TestOIPServerAndHealth(t *testing.T) {
	schemas := openAPISchemas(t)
	w := oip(t, "/v2", nil)
	if w.Code != 200 {
		t.Fatalf("GET /v2: %d %s", w.Code, w.Body)
	}
	mustConform(t, schemas, "metadata_server_response", w.Body.Bytes())
	for target, want := range map[string]string{"/v2/health/live": `"live":true`, "/v2/health/ready": `"ready":true`} {
		if w := oip(t, target, nil); w.Code != 200 || !strings.Contains(w.Body.String(), want) {
			t.Errorf("GET %s: %d %s, want 200 with %s", target, w.Code, w.Body, want)
		}
	}
}

func TestOIPModelMetadata(t *testing.T) {
	schemas := openAPISchemas(t)
	tests := []struct {
		target, platform, input, output string
		inShape                         []int64
	}{
		{"/v2/models/" + oipEncoder, "onnx_onnxv1", "image", "mu", []int64{-1, 1, 32, 32}},
		{"/v2/models/" + oipDecoder + "/versions/v1", "onnx_onnxv1", "z", "image", []int64{-1, 32}},
		{"/v2/models/" + oipReconstruct, "ensemble", "image", "image", []int64{-1, 1, 32, 32}},
		{"/v2/models/sphere_test-colour_generator", "onnx_onnxv1", "z", "image", []int64{-1, 8}},
	}
	for _, tt := range tests {
		w := oip(t, tt.target, nil)
		if w.Code != 200 {
			t.Errorf("GET %s: %d %s", tt.target, w.Code, w.Body)
			continue
		}
		mustConform(t, schemas, "metadata_model_response", w.Body.Bytes())
		var md api.OIPModelMetadata
		json.Unmarshal(w.Body.Bytes(), &md)
		if md.Platform != tt.platform || md.Inputs[0].Name != tt.input || md.Inputs[0].Datatype != "FP32" ||
			!slices.Equal(md.Inputs[0].Shape[1:], tt.inShape[1:]) || md.Outputs[0].Name != tt.output || !slices.Equal(md.Versions, []string{"v1"}) {
			t.Errorf("GET %s: %+v", tt.target, md)
		}
		if w := oip(t, tt.target+"/ready", nil); w.Code != 200 || !strings.Contains(w.Body.String(), `"ready":true`) {
			t.Errorf("GET %s/ready: %d %s", tt.target, w.Code, w.Body)
		}
	}
	for target, want := range map[string]string{
		"/v2/models/vae_nothing_decoder":                  "unknown model",
		"/v2/models/" + oipDecoder + "/versions/v9":       `no version "v9"`,
		"/v2/models/vae_test-gaussian_critic/ready":       "unknown model",
		"/v2/models/" + oipDecoder + "/versions/v9/ready": `no version "v9"`,
	} {
		if w := oip(t, target, nil); w.Code != 404 || !strings.Contains(errorOf(w), want) {
			t.Errorf("GET %s: %d %s, want 404 saying %q", target, w.Code, w.Body, want)
		}
	}
}

// zeros is a latent of the test Gaussian model, flat.
func oipLatents(n int) ([]float32, [][]float32) {
	zs := latent.Sample(5, n, 32, false)
	return slices.Concat(zs...), zs
}

func TestOIPInfer(t *testing.T) {
	schemas := openAPISchemas(t)
	m := testServer.lookup(gaussianName)
	flat, zs := oipLatents(3)
	want, err := m.Decode("", zs)
	if err != nil {
		t.Fatal(err)
	}
	nested := make([][]float32, 3)
	for i := range nested {
		nested[i] = zs[i]
	}
	for _, data := range []any{flat, nested} {
		req := api.OIPInferRequest{ID: "req-1", Inputs: []api.OIPRequestInput{{Name: "z", Shape: []int64{3, 32}, Datatype: "FP32"}}}
		req.Inputs[0].Data, _ = json.Marshal(data)
		body, _ := json.Marshal(req)
		mustConform(t, schemas, "inference_request", body)
		w := oip(t, "/v2/models/"+oipDecoder+"/versions/v1/infer", body)
		if w.Code != 200 {
			t.Fatalf("infer: %d %s", w.Code, w.Body)
		}
		mustConform(t, schemas, "inference_response", w.Body.Bytes())
		var resp api.OIPInferResponse
		json.Unmarshal(w.Body.Bytes(), &resp)
		if resp.ID != "req-1" || resp.ModelName != oipDecoder || resp.ModelVersion != "v1" || len(resp.Outputs) != 1 {
			t.Fatalf("answer %+v", resp)
		}
		out := resp.Outputs[0]
		if out.Name != "image" || !slices.Equal(out.Shape, []int64{3, 1, 32, 32}) || out.Datatype != "FP32" {
			t.Errorf("output %s %v %s", out.Name, out.Shape, out.Datatype)
		}
		if !slices.Equal(out.Data, want) {
			t.Error("OIP decoder's image is not the model's decode")
		}
	}
	// The encoder, with one of its outputs asked for; the reconstruction of its input.
	img, _, err := m.Sample("", 2, 9)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := m.Posterior(img, 2)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(img)
	req := api.OIPInferRequest{Inputs: []api.OIPRequestInput{{Name: "image", Shape: []int64{2, 1, 32, 32}, Datatype: "FP32", Data: data}},
		Outputs: []api.OIPRequestOutput{{Name: "logvar"}}}
	w := oip(t, "/v2/models/"+oipEncoder+"/infer", req)
	var resp api.OIPInferResponse
	json.Unmarshal(w.Body.Bytes(), &resp)
	if w.Code != 200 || len(resp.Outputs) != 1 || resp.Outputs[0].Name != "logvar" || !slices.Equal(resp.Outputs[0].Data, slices.Concat(enc.LogVar...)) {
		t.Errorf("encoder infer asking for logvar: %d %+v", w.Code, resp)
	}
	rec, _, err := m.Reconstruct("", img, 2)
	if err != nil {
		t.Fatal(err)
	}
	req.Outputs = nil
	w = oip(t, "/v2/models/"+oipReconstruct+"/infer", req)
	json.Unmarshal(w.Body.Bytes(), &resp)
	if w.Code != 200 || len(resp.Outputs) != 1 || !slices.Equal(resp.Outputs[0].Data, rec) {
		t.Errorf("reconstruct infer: %d, want the model's reconstruction", w.Code)
	}
}

func TestOIPInferErrors(t *testing.T) {
	schemas := openAPISchemas(t)
	flat, _ := oipLatents(1)
	good := func() map[string]any {
		return map[string]any{"inputs": []any{map[string]any{"name": "z", "shape": []int{1, 32}, "datatype": "FP32", "data": flat}}}
	}
	with := func(change func(in map[string]any)) map[string]any {
		req := good()
		change(req["inputs"].([]any)[0].(map[string]any))
		return req
	}
	over := make([]float32, 65*32)
	tests := []struct {
		name   string
		model  string
		body   any
		status int
		saying string
	}{
		{"wrong datatype", oipDecoder, with(func(in map[string]any) { in["datatype"] = "INT32" }), 400, `datatype "INT32"`},
		{"shape disagrees with data", oipDecoder, with(func(in map[string]any) { in["shape"] = []int{2, 32} }), 400, "holds 64 values, data has 32"},
		{"more data than the shape", oipDecoder, with(func(in map[string]any) { in["data"] = append(flat, 1) }), 400, "more than the 32 values"},
		{"unknown tensor", oipDecoder, with(func(in map[string]any) { in["name"] = "latent" }), 400, `unknown input "latent"`},
		{"NaN as a string", oipDecoder, with(func(in map[string]any) {
			d := slices.Clone(flat)
			in["data"] = append([]any{"NaN"}, anySlice(d[1:])...)
		}), 400, "not a number"},
		{"NaN literal", oipDecoder, []byte(`{"inputs": [{"name": "z", "shape": [1, 1], "datatype": "FP32", "data": [NaN]}]}`), 400, "bad inference request"},
		{"beyond FP32", oipDecoder, with(func(in map[string]any) { d := anySlice(flat); d[0] = 1e39; in["data"] = d }), 400, "not a finite FP32 number"},
		{"batch over the limit", oipDecoder, with(func(in map[string]any) { in["shape"] = []int{65, 32}; in["data"] = over }), 400, "a batch of 65"},
		{"wrong rank", oipDecoder, with(func(in map[string]any) { in["shape"] = []int{32} }), 400, "has rank 1"},
		{"wrong fixed dimension", oipDecoder, with(func(in map[string]any) { in["shape"] = []int{1, 31} }), 400, "does not fit"},
		{"data not an array", oipDecoder, with(func(in map[string]any) { in["data"] = map[string]int{"a": 1} }), 400, "not an object"},
		{"unknown output", oipDecoder, map[string]any{"inputs": good()["inputs"], "outputs": []any{map[string]any{"name": "logits"}}}, 400, `unknown output "logits"`},
		{"two inputs", oipDecoder, map[string]any{"inputs": append(good()["inputs"].([]any), good()["inputs"].([]any)...)}, 400, "takes 1 input(s)"},
		{"unknown field", oipDecoder, map[string]any{"inputs": good()["inputs"], "model": "x"}, 400, "unknown field"},
		{"empty body", oipDecoder, []byte(""), 400, "empty body"},
		{"unknown model", "vae_nothing_decoder", good(), 404, "unknown model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := oip(t, "/v2/models/"+tt.model+"/infer", tt.body)
			if w.Code != tt.status || !strings.Contains(errorOf(w), tt.saying) {
				t.Errorf("%d %s, want %d saying %q", w.Code, w.Body, tt.status, tt.saying)
			}
			mustConform(t, schemas, "inference_error_response", w.Body.Bytes())
		})
	}
}

func anySlice(v []float32) []any {
	out := make([]any, len(v))
	for i, x := range v {
		out[i] = x
	}
	return out
}

// errorOf is the message of an error answer.
func errorOf(w *httptest.ResponseRecorder) string {
	var e api.ErrorBody
	json.Unmarshal(w.Body.Bytes(), &e)
	return e.Error
}
