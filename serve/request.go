package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/latentzoo/latentzoo/errkind"
)

// The request fields, named alike in JSON bodies, forms and (scalar fields) the query.
const (
	fieldModel   = "model"
	fieldImage   = "image"
	fieldA       = "a"
	fieldB       = "b"
	fieldZA      = "za"
	fieldZB      = "zb"
	fieldSteps   = "steps"
	fieldPath    = "path"
	fieldZ       = "z"
	fieldN       = "n"
	fieldSeed    = "seed"
	fieldDecoder = "decoder"
	// fieldAttributes is /edit's {name: strength} map; in forms, the same JSON object as text.
	fieldAttributes = "attributes"
)

// queryFields are the fields that may also be given as query parameters.
var queryFields = []string{fieldModel, fieldDecoder, fieldSteps, fieldPath, fieldN, fieldSeed}

// request holds the fields of one API request, whatever form they came in.
type request struct {
	present map[string]bool

	model, decoder, path string
	image, a, b          []byte // encoded images
	za, zb               []float64
	z                    [][]float64
	steps, n             int
	seed                 int64
	attributes           map[string]float64
}

// has reports whether the request gave the field.
func (q *request) has(field string) bool { return q.present[field] }

// jsonBody is the JSON form of a request. Pointers tell an absent field from a zero one.
type jsonBody struct {
	Model   *string         `json:"model"`
	Image   *string         `json:"image"`
	A       *string         `json:"a"`
	B       *string         `json:"b"`
	ZA      *numbers        `json:"za"`
	ZB      *numbers        `json:"zb"`
	Steps   *int            `json:"steps"`
	Path    *string         `json:"path"`
	Z       json.RawMessage `json:"z"`
	N       *int            `json:"n"`
	Seed    *int64          `json:"seed"`
	Decoder *string         `json:"decoder"`

	Attributes json.RawMessage `json:"attributes"`
}

// numbers is a JSON array of numbers. Unlike []float64 it refuses null elements, which
// encoding/json would leave as zeros.
type numbers []float64

// UnmarshalJSON decodes an array of numbers.
func (n *numbers) UnmarshalJSON(b []byte) error {
	var ps []*float64
	if err := json.Unmarshal(b, &ps); err != nil {
		return err
	}
	*n = make(numbers, len(ps))
	for i, p := range ps {
		if p == nil {
			return fmt.Errorf("latent value %d is null, not a number", i)
		}
		(*n)[i] = *p
	}
	return nil
}

// parseRequest reads the request's fields from its body (JSON, multipart form or URL-encoded
// form) and its query, and refuses fields that the route does not use. A field in the body
// takes precedence over the same field in the query. The body must already be limited.
func parseRequest(r *http.Request, route string, allowed ...string) (*request, error) {
	q := &request{present: map[string]bool{}}
	if err := q.readBody(r); err != nil {
		return nil, err
	}
	query := r.URL.Query()
	for name, vs := range query {
		if !slices.Contains(queryFields, name) {
			return nil, badRequest("unknown query parameter %q (query parameters: %s)", name, strings.Join(queryFields, ", "))
		}
		if len(vs) > 1 {
			return nil, badRequest("query parameter %s given %d times", name, len(vs))
		}
		if q.has(name) {
			continue
		}
		if err := q.setText(name, vs[0]); err != nil {
			return nil, err
		}
	}
	for name := range q.present {
		if !slices.Contains(allowed, name) {
			return nil, badRequest("field %s is not used by %s (its fields: %s)", name, route, strings.Join(allowed, ", "))
		}
	}
	return q, nil
}

// readBody parses the body according to its Content-Type.
func (q *request) readBody(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		if r.ContentLength == 0 {
			return nil
		}
		return errkind.New(errkind.Unsupported, "a request body needs a Content-Type: application/json, multipart/form-data or application/x-www-form-urlencoded")
	}
	mediaType, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return badRequest("bad Content-Type %q: %v", ct, err)
	}
	switch mediaType {
	case "application/json":
		return q.readJSON(r.Body)
	case "multipart/form-data":
		return q.readMultipart(r)
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return formError(err)
		}
		for name, vs := range r.PostForm {
			for _, v := range vs {
				if err := q.setText(name, v); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return errkind.New(errkind.Unsupported, "unsupported Content-Type %q: send application/json, multipart/form-data or application/x-www-form-urlencoded", mediaType)
}

// formError passes a body over the limit through and reports anything else as a bad form.
func formError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return fmt.Errorf("read form: %w", err)
	}
	return badRequest("bad form body: %v", err)
}

func (q *request) readJSON(body io.Reader) error {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	var b jsonBody
	err := dec.Decode(&b)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			err = errors.New("data after the JSON object")
		}
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return fmt.Errorf("read JSON body: %w", err)
	case errors.Is(err, io.EOF):
		return badRequest("bad JSON body: empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("bad JSON body: it ends too early")
	case err != nil:
		return badRequest("bad JSON body: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	for name, v := range map[string]*string{fieldModel: b.Model, fieldPath: b.Path, fieldDecoder: b.Decoder, fieldImage: b.Image, fieldA: b.A, fieldB: b.B} {
		if v == nil {
			continue
		}
		if err := q.setText(name, *v); err != nil {
			return err
		}
	}
	for name, v := range map[string]*int{fieldSteps: b.Steps, fieldN: b.N} {
		if v != nil {
			q.setInt(name, *v)
		}
	}
	if b.Seed != nil {
		q.seed = *b.Seed
		q.present[fieldSeed] = true
	}
	if b.ZA != nil {
		q.za, q.present[fieldZA] = *b.ZA, true
	}
	if b.ZB != nil {
		q.zb, q.present[fieldZB] = *b.ZB, true
	}
	if len(b.Attributes) > 0 && !bytes.Equal(b.Attributes, []byte("null")) {
		if err := q.setAttributes(b.Attributes); err != nil {
			return err
		}
	}
	if len(b.Z) > 0 && !bytes.Equal(b.Z, []byte("null")) {
		var one numbers
		var many []numbers
		if json.Unmarshal(b.Z, &one) == nil {
			q.z = [][]float64{one}
		} else if err := json.Unmarshal(b.Z, &many); err == nil {
			for _, z := range many {
				q.z = append(q.z, z)
			}
		} else {
			return badRequest("field z: want a latent (array of numbers) or a list of latents (array of arrays of numbers)")
		}
		q.present[fieldZ] = true
	}
	return nil
}

func (q *request) readMultipart(r *http.Request) error {
	mr, err := r.MultipartReader()
	if err != nil {
		return badRequest("bad multipart body: %v", err)
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return formError(err)
		}
		name := part.FormName()
		if name == "" {
			return badRequest("bad multipart body: a part has no form field name")
		}
		data, err := io.ReadAll(part)
		if err != nil {
			return formError(err)
		}
		if part.FileName() != "" && isImageField(name) {
			if err := q.setImage(name, data); err != nil {
				return err
			}
			continue
		}
		if err := q.setText(name, string(data)); err != nil {
			return err
		}
	}
}

func isImageField(name string) bool {
	return name == fieldImage || name == fieldA || name == fieldB
}

// once marks the field present and refuses a second value, except for z, which may repeat
// (one latent each).
func (q *request) once(name string) error {
	if q.present[name] && name != fieldZ {
		return badRequest("field %s given more than once", name)
	}
	q.present[name] = true
	return nil
}

// setImage sets an image field from the encoded image bytes.
func (q *request) setImage(name string, data []byte) error {
	if err := q.once(name); err != nil {
		return err
	}
	switch name {
	case fieldImage:
		q.image = data
	case fieldA:
		q.a = data
	case fieldB:
		q.b = data
	}
	return nil
}

func (q *request) setInt(name string, v int) {
	q.present[name] = true
	if name == fieldSteps {
		q.steps = v
	} else {
		q.n = v
	}
}

// setText sets a field from its text form: images as base64 or data URLs, latents as
// numbers separated by commas or spaces (optionally in brackets), integers in decimal.
func (q *request) setText(name, v string) error {
	switch name {
	case fieldImage, fieldA, fieldB:
		data, err := decodeBase64(name, v)
		if err != nil {
			return err
		}
		return q.setImage(name, data)
	case fieldAttributes:
		return q.setAttributes([]byte(v))
	case fieldModel, fieldDecoder, fieldPath, fieldSteps, fieldN, fieldSeed, fieldZA, fieldZB, fieldZ:
	default:
		return badRequest("unknown field %q", name)
	}
	if err := q.once(name); err != nil {
		return err
	}
	v = strings.TrimSpace(v)
	switch name {
	case fieldModel:
		q.model = v
	case fieldDecoder:
		q.decoder = v
	case fieldPath:
		q.path = v
	case fieldSteps, fieldN:
		i, err := strconv.Atoi(v)
		if err != nil {
			return badRequest("field %s: %q is not an integer", name, v)
		}
		q.setInt(name, i)
	case fieldSeed:
		s, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return badRequest("field seed: %q is not a 64-bit integer", v)
		}
		q.seed = s
	default: // latents
		z, err := parseNumbers(name, v)
		if err != nil {
			return err
		}
		switch name {
		case fieldZA:
			q.za = z
		case fieldZB:
			q.zb = z
		default:
			q.z = append(q.z, z)
		}
	}
	return nil
}

// parseNumbers parses a latent written as numbers separated by commas or white space,
// optionally enclosed in brackets.
func parseNumbers(field, s string) ([]float64, error) {
	s = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(s), "["), "]")
	words := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' })
	z := make([]float64, len(words))
	for i, w := range words {
		v, err := strconv.ParseFloat(w, 64)
		if errors.Is(err, strconv.ErrRange) {
			return nil, badRequest("field %s: value %d, %s, is out of range", field, i, w)
		}
		if err != nil {
			return nil, badRequest("field %s: value %d, %q, is not a number", field, i, w)
		}
		z[i] = v
	}
	return z, nil
}

// setAttributes sets /edit's attributes from a JSON object of names to finite numbers.
func (q *request) setAttributes(b []byte) error {
	if err := q.once(fieldAttributes); err != nil {
		return err
	}
	var raw map[string]*float64
	if err := json.Unmarshal(b, &raw); err != nil || raw == nil {
		return badRequest("field attributes: want a JSON object of attribute names to strengths, e.g. {\"sneaker\": 1.5}")
	}
	q.attributes = make(map[string]float64, len(raw))
	for name, v := range raw {
		if v == nil || math.IsNaN(*v) || math.IsInf(*v, 0) {
			return badRequest("field attributes: the strength of %q must be a finite number", name)
		}
		q.attributes[name] = *v
	}
	return nil
}
