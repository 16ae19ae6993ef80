package autoencoder

import (
	"cmp"
	"errors"
	"maps"
	"slices"
	"strings"

	"github.com/latentzoo/latentzoo/attributes"
	"github.com/latentzoo/latentzoo/errkind"
)

// Attributes lists the model's attribute directions sorted by kind (classes first), then
// name; none when it has none.
func (m *Model) Attributes() []*attributes.Direction {
	list := slices.Collect(maps.Values(m.attributes))
	slices.SortFunc(list, func(a, b *attributes.Direction) int {
		return cmp.Or(strings.Compare(a.Kind, b.Kind), strings.Compare(a.Name, b.Name))
	})
	return list
}

// Edits turns attribute names and strengths into the edits Edit applies, in name order so
// that the result does not depend on map order. A model without directions, or a name it
// does not have, is an errkind.Invalid error.
func (m *Model) Edits(strengths map[string]float64) ([]attributes.Edit, error) {
	if len(m.attributes) == 0 {
		return nil, errkind.New(errkind.Invalid, "model %s has no attribute directions (add them with: latentzoo attributes %s)", m.Name(), m.Name())
	}
	names := slices.Sorted(maps.Keys(strengths))
	edits := make([]attributes.Edit, len(names))
	for i, name := range names {
		d := m.attributes[name]
		if d == nil {
			return nil, errkind.New(errkind.Invalid, "field attributes: unknown attribute %q for model %s (its attributes: %s)", name, m.Name(), strings.Join(slices.Sorted(maps.Keys(m.attributes)), ", "))
		}
		edits[i] = attributes.Edit{Direction: d, Strength: strengths[name]}
	}
	return edits, nil
}

// Edit moves the latent z along the edits' directions (attributes.Apply) and decodes it
// with the graph called role ("" for the manifest's reconstruct graph); it returns the image
// and the edited latent. Strengths that leave no valid latent are an errkind.Invalid error.
func (m *Model) Edit(role string, z []float32, edits []attributes.Edit) ([]float32, []float32, error) {
	g, err := m.decoder(role, m.manifest.Reconstruct)
	if err != nil {
		return nil, nil, err
	}
	edited, err := attributes.Apply(z, edits, m.sphere)
	if errors.Is(err, attributes.ErrNoDirection) || errors.Is(err, attributes.ErrOutOfRange) {
		return nil, nil, errkind.New(errkind.Invalid, "%w: use other strengths", err)
	}
	if err != nil {
		return nil, nil, err
	}
	out, err := m.decode(g, [][]float32{edited})
	return out, edited, err
}
