package serve

import (
	"cmp"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/latentzoo/latentzoo/attributes"
)

// attributeSummary describes one of a model's attribute directions in /models.
type attributeSummary struct {
	Name        string  `json:"name"`
	Kind        string  `json:"kind"`
	Description string  `json:"description"`
	With        int     `json:"with"`
	Without     int     `json:"without"`
	Norm        float64 `json:"norm"`
}

// attributeSummaries lists the model's attributes sorted by kind (classes first), then
// name; an empty list when it has none.
func (m *model) attributeSummaries() []attributeSummary {
	list := make([]attributeSummary, 0, len(m.attributes))
	for _, d := range m.attributes {
		list = append(list, attributeSummary{Name: d.Name, Kind: d.Kind, Description: d.Description, With: d.With, Without: d.Without, Norm: d.Norm()})
	}
	slices.SortFunc(list, func(a, b attributeSummary) int {
		return cmp.Or(strings.Compare(a.Kind, b.Kind), strings.Compare(a.Name, b.Name))
	})
	return list
}

// attributeNames lists the model's attribute names, sorted.
func (m *model) attributeNames() []string {
	names := make([]string, 0, len(m.attributes))
	for name := range m.attributes {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// edit moves one latent, given or encoded from an image, along attribute directions and
// decodes it.
func (s *Server) edit(w http.ResponseWriter, r *http.Request, q *request, m *model) error {
	if !q.has(fieldAttributes) {
		return missing(fieldAttributes, `attribute names to strengths, e.g. {"sneaker": 1.5}`)
	}
	if len(m.attributes) == 0 {
		return badRequest("model %s has no attribute directions (add them with: latentzoo attributes %s)", m.name(), m.name())
	}
	// Check every name before any work, in a fixed order, so the answer does not depend on
	// map order.
	names := make([]string, 0, len(q.attributes))
	for name := range q.attributes {
		names = append(names, name)
	}
	slices.Sort(names)
	edits := make([]attributes.Edit, len(names))
	for i, name := range names {
		d := m.attributes[name]
		if d == nil {
			return badRequest("field attributes: unknown attribute %q for model %s (its attributes: %s)", name, m.name(), strings.Join(m.attributeNames(), ", "))
		}
		edits[i] = attributes.Edit{Direction: d, Strength: q.attributes[name]}
	}
	g, err := decoder(m, q, m.manifest.Reconstruct)
	if err != nil {
		return err
	}
	var z []float32
	switch {
	case q.has(fieldImage) && q.has(fieldZ):
		return badRequest("give field %s (an image) or %s (a latent), not both", fieldImage, fieldZ)
	case q.has(fieldImage):
		x, err := s.tensors(m, upload{fieldImage, q.image})
		if err != nil {
			return err
		}
		enc, err := m.encode(x, 1)
		if err != nil {
			return err
		}
		z = enc.z[0]
	case q.has(fieldZ):
		if len(q.z) != 1 {
			return badRequest("field z: %d latents; /edit edits one", len(q.z))
		}
		if z, err = latent(m, fieldZ, q.z[0]); err != nil {
			return err
		}
	default:
		return badRequest("missing field %s (an image) or %s (a latent)", fieldImage, fieldZ)
	}
	edited, err := attributes.Apply(z, edits, m.sphere)
	if errors.Is(err, attributes.ErrNoDirection) || errors.Is(err, attributes.ErrOutOfRange) {
		return badRequest("%v: use other strengths", err)
	}
	if err != nil {
		return err
	}
	out, err := m.decode(g, [][]float32{edited})
	if err != nil {
		return err
	}
	return respondImages(w, r, m, out, 1, imagesResponse{Decoder: g.role, Z: [][]float32{edited}})
}

// Encode runs the encoder on n CHW images laid end to end and returns their latents: the
// posterior mean for Gaussian encoders, the unit latent for sphere ones. It makes Model an
// attributes.Encoder.
func (m *Model) Encode(images []float32, n int) ([][]float32, error) {
	enc, err := m.m.encode(images, n)
	if err != nil {
		return nil, err
	}
	return enc.z, nil
}
