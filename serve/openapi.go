package serve

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"sync"

	"github.com/latentzoo/latentzoo/api"
	"github.com/latentzoo/latentzoo/zoo"
)

// apiRoute documents one route of the server in its OpenAPI document.
type apiRoute struct {
	method, path string // the OpenAPI path: parameters in braces, a model name as {family}/{dataset}
	summary      string
	request      any // a value of the JSON body's type; nil for none
	query        []string
	response     any    // a value of the 200 answer's JSON type; nil when content says
	content      string // the 200 answer's media type when it is not JSON
	example      *routeExample
}

// routeExample is a request the document shows, and the status it is answered with; a
// test sends each.
type routeExample struct {
	body   string // JSON
	query  string
	status int
}

const jsonType = "application/json"

// apiRoutes is every route of the server, as the OpenAPI document describes it.
var apiRoutes = []apiRoute{
	{method: "POST", path: "/reconstruct", summary: "Encode an image and decode its latent: a PNG, or JSON when asked (Accept: application/json)", request: api.Request{}, response: api.Images{}, content: "image/png",
		example: &routeExample{body: `{"image": "` + examplePNG + `"}`, status: 200}},
	{method: "POST", path: "/encode", summary: "An image's latent (and posterior)", request: api.Request{}, response: api.Encoding{},
		example: &routeExample{body: `{"image": "` + examplePNG + `"}`, status: 200}},
	{method: "POST", path: "/decode", summary: "Decode one latent or a list of them", request: api.Request{}, response: api.Images{}, content: "image/png",
		example: &routeExample{body: `{"z": [1, 2]}`, status: 400}},
	{method: "POST", path: "/interpolate", summary: "Decode the path between two images or latents", request: api.Request{}, response: api.Images{}, content: "image/png",
		example: &routeExample{body: `{"a": "` + examplePNG + `", "b": "` + examplePNG + `", "steps": 3}`, status: 200}},
	{method: "POST", path: "/sample", summary: "Decode latents drawn from the prior", request: api.Request{}, query: []string{"n", "seed", "model", "decoder"}, response: api.Images{}, content: "image/png",
		example: &routeExample{body: `{"n": 4, "seed": 1}`, status: 200}},
	{method: "POST", path: "/edit", summary: "Move a latent along attribute directions and decode it", request: api.Request{}, response: api.Images{}, content: "image/png",
		example: &routeExample{body: `{"image": "` + examplePNG + `"}`, status: 400}},
	{method: "GET", path: "/models", summary: "The served models", response: api.ModelList{}, example: &routeExample{status: 200}},
	{method: "GET", path: "/models/{family}/{dataset}", summary: "A served model: summary, manifest, graphs", response: api.ModelDetail{}},
	{method: "GET", path: "/models/{family}/{dataset}/examples", summary: "Test images of the model's data set", query: []string{"n", "seed"}, response: api.Examples{}},
	{method: "GET", path: "/models/{family}/{dataset}/pictures/{picture}", summary: "A picture of the model's card: its sheet or its training curves", content: "image/png"},
	{method: "POST", path: "/models/{family}/{dataset}/load", summary: "Serve an entry of the store without a restart (admin: bearer token, or loopback)", response: api.Loaded{}},
	{method: "GET", path: "/zoo/v1/entries", summary: "The entries lent to other latentzoo processes", response: api.ZooEntries{}},
	{method: "GET", path: "/zoo/v1/entries/{family}/{dataset}/{tag}/manifest.json", summary: "An entry's manifest", response: zoo.Manifest{}},
	{method: "GET", path: "/zoo/v1/entries/{family}/{dataset}/{tag}/files/{path}", summary: "A file of an entry (Range requests answered)", content: "application/octet-stream"},
	{method: "GET", path: "/healthz", summary: "The process is up", response: api.Status{}, example: &routeExample{status: 200}},
	{method: "GET", path: "/readyz", summary: "The server takes requests (503 once shutdown begins)", response: api.Status{}, example: &routeExample{status: 200}},
	{method: "GET", path: "/metrics", summary: "Prometheus metrics", content: "text/plain", example: &routeExample{status: 200}},
	{method: "GET", path: "/debug/pprof/{profile}", summary: "The Go runtime's profiles, as net/http/pprof serves them (admin: bearer token, or loopback)", content: "application/octet-stream"},
	{method: "GET", path: "/openapi.json", summary: "This document", content: jsonType, example: &routeExample{status: 200}},
	{method: "GET", path: "/", summary: "The demo page", content: "text/html", example: &routeExample{status: 200}},
	{method: "GET", path: "/assets/{file}", summary: "The demo page's files", content: "application/octet-stream"},
	{method: "GET", path: "/v2", summary: "Open Inference Protocol: server metadata", response: api.OIPServerMetadata{}, example: &routeExample{status: 200}},
	{method: "GET", path: "/v2/health/live", summary: "Open Inference Protocol: live", response: api.OIPLive{}, example: &routeExample{status: 200}},
	{method: "GET", path: "/v2/health/ready", summary: "Open Inference Protocol: ready", response: api.OIPReady{}, example: &routeExample{status: 200}},
	{method: "GET", path: "/v2/models/{model}", summary: "Open Inference Protocol: model metadata", response: api.OIPModelMetadata{}},
	{method: "GET", path: "/v2/models/{model}/versions/{version}", summary: "Open Inference Protocol: model metadata of a version", response: api.OIPModelMetadata{}},
	{method: "GET", path: "/v2/models/{model}/ready", summary: "Open Inference Protocol: model ready", response: api.OIPModelReady{}},
	{method: "GET", path: "/v2/models/{model}/versions/{version}/ready", summary: "Open Inference Protocol: model version ready", response: api.OIPModelReady{}},
	{method: "POST", path: "/v2/models/{model}/infer", summary: "Open Inference Protocol: inference", request: api.OIPInferRequest{}, response: api.OIPInferResponse{}},
	{method: "POST", path: "/v2/models/{model}/versions/{version}/infer", summary: "Open Inference Protocol: inference on a version", request: api.OIPInferRequest{}, response: api.OIPInferResponse{}},
}

// examplePNG is a 2×2 grey PNG, base64.
const examplePNG = "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAAAAABX3VL4AAAADklEQVR4nGNoaGBoaAAABgYCASzBUNcAAAAASUVORK5CYII="

// openAPIDocument builds the server's OpenAPI 3 document from apiRoutes, the answers'
// schemas from the api package's types.
func openAPIDocument() map[string]any {
	schemas := map[string]any{}
	paths := map[string]any{}
	for _, rt := range apiRoutes {
		op := map[string]any{"summary": rt.summary, "operationId": strings.ToLower(rt.method) + strings.NewReplacer("/", "-", "{", "", "}", "", ".", "-").Replace(rt.path)}
		var params []any
		for _, seg := range strings.Split(rt.path, "/") {
			if strings.HasPrefix(seg, "{") {
				params = append(params, map[string]any{"name": strings.Trim(seg, "{}"), "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
			}
		}
		for _, q := range rt.query {
			params = append(params, map[string]any{"name": q, "in": "query", "schema": map[string]any{"type": "string"}})
		}
		if params != nil {
			op["parameters"] = params
		}
		if rt.request != nil {
			op["requestBody"] = map[string]any{"content": map[string]any{jsonType: map[string]any{"schema": schemaOf(reflect.TypeOf(rt.request), schemas)}}}
		}
		ok := map[string]any{}
		if rt.response != nil {
			ok[jsonType] = map[string]any{"schema": schemaOf(reflect.TypeOf(rt.response), schemas)}
		}
		if rt.content != "" && (rt.content != jsonType || rt.response == nil) {
			ok[rt.content] = map[string]any{} // a PNG, text, HTML, a file or this document: no schema
		}
		op["responses"] = map[string]any{
			"200":     map[string]any{"description": "OK", "content": ok},
			"default": map[string]any{"description": "An error: see API.md for the statuses", "content": map[string]any{jsonType: map[string]any{"schema": schemaOf(reflect.TypeOf(api.ErrorBody{}), schemas)}}},
		}
		if ex := rt.example; ex != nil && ex.body != "" {
			op["requestBody"].(map[string]any)["content"].(map[string]any)[jsonType].(map[string]any)["example"] = json.RawMessage(ex.body)
		}
		item, _ := paths[rt.path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[rt.path] = item
		}
		item[strings.ToLower(rt.method)] = op
	}
	return map[string]any{
		"openapi":    "3.0.3",
		"info":       map[string]any{"title": "latentzoo", "version": "1", "description": "latentzoo serve's HTTP API; serve/API.md documents every field and error."},
		"paths":      paths,
		"components": map[string]any{"schemas": schemas},
	}
}

// schemaOf is the OpenAPI schema of t: structs by reference to components, by their JSON
// field names.
func schemaOf(t reflect.Type, schemas map[string]any) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if t.Name() == "Time" {
			return map[string]any{"type": "string", "format": "date-time"}
		}
		name := t.Name()
		if _, ok := schemas[name]; !ok {
			schemas[name] = nil // a placeholder against recursion
			props := map[string]any{}
			for i := range t.NumField() {
				f := t.Field(i)
				if !f.IsExported() {
					continue
				}
				tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				if tag == "-" {
					continue
				}
				if f.Anonymous && tag == "" {
					// An embedded struct's fields are the outer object's.
					schemaOf(f.Type, schemas)
					embedded, _ := schemas[f.Type.Name()].(map[string]any)
					inner, _ := embedded["properties"].(map[string]any)
					for k, v := range inner {
						props[k] = v
					}
					continue
				}
				if tag == "" {
					tag = f.Name
				}
				props[tag] = schemaOf(f.Type, schemas)
			}
			schemas[name] = map[string]any{"type": "object", "properties": props}
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "format": "byte"}
		}
		return map[string]any{"type": "array", "items": schemaOf(t.Elem(), schemas)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem(), schemas)}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	}
	return map[string]any{} // any JSON (json.RawMessage, interfaces)
}

var (
	openAPIOnce sync.Once
	openAPIJSON []byte
)

// openAPI serves the OpenAPI document.
func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) {
	openAPIOnce.Do(func() { openAPIJSON, _ = json.MarshalIndent(openAPIDocument(), "", "  ") })
	w.Header().Set("Content-Type", jsonType)
	_, _ = w.Write(openAPIJSON) // a failed write is a client gone
}
