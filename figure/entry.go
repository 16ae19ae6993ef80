package figure

import (
	"fmt"
	"image"
	"slices"

	"github.com/latentzoo/latentzoo/autoencoder"
	"github.com/latentzoo/latentzoo/dataset"
	"github.com/latentzoo/latentzoo/pixels"
)

// EntrySheet draws an entry's sheet: n test images of set, then the model's rows
// (EntryRows), each image enlarged scale times. It is the picture on an entry's card.
func EntrySheet(m *autoencoder.Model, name string, graphs map[string]string, set *dataset.Set, n int, seed int64, scale int) (image.Image, error) {
	if set.N < 2 || n < 2 {
		return nil, fmt.Errorf("figure: a sheet needs 2 test images at least, have %d of %d", n, set.N)
	}
	sub := set.Subset(n)
	first, err := ImageRow("test images", sub.Images, sub.N, sub.C, sub.H, sub.W)
	if err != nil {
		return nil, err
	}
	rows, err := EntryRows(m, name, GraphRoles(graphs), sub.Images, sub.N, seed, sub.C, sub.H, sub.W)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return Sheet(append([]Row{first}, rows...), scale), nil
}

// GraphRoles lists the decoder-like graphs of an entry (every graph but the encoder).
func GraphRoles(graphs map[string]string) []string {
	var roles []string
	for r := range graphs {
		if r != "encoder" {
			roles = append(roles, r)
		}
	}
	slices.Sort(roles)
	return roles
}

// EntryRows are one entry's rows: reconstructions of inputs through each decoder graph,
// samples, and the interpolation between the first two inputs.
func EntryRows(m *autoencoder.Model, name string, roles []string, inputs []float32, n int, seed int64, c, h, w int) ([]Row, error) {
	var rows []Row
	add := func(label string, pix []float32, err error) error {
		if err != nil {
			return fmt.Errorf("%s: %w", label, err)
		}
		row, err := ImageRow(label, pix, n, c, h, w)
		rows = append(rows, row)
		return err
	}
	for _, role := range roles {
		label := name + " rec"
		if len(roles) > 1 {
			label += " (" + role + ")"
		}
		rec, _, err := m.Reconstruct(role, inputs, n)
		if err := add(label, rec, err); err != nil {
			return nil, err
		}
	}
	samples, _, err := m.Sample("", n, seed)
	if err := add(name+" samples", samples, err); err != nil {
		return nil, err
	}
	size := c * h * w
	interp, err := interpolateImages(m, inputs[:size], inputs[size:2*size], n)
	if err := add(name+" interp", interp, err); err != nil {
		return nil, err
	}
	return rows, nil
}

// ImageRow turns n CHW images laid end to end into a labelled row.
func ImageRow(label string, pix []float32, n, c, h, w int) (Row, error) {
	row := Row{Label: label}
	size := c * h * w
	if len(pix) != n*size {
		return row, fmt.Errorf("%s: %d values for %d images", label, len(pix), n)
	}
	for i := range n {
		im, err := pixels.ToImage(pix[i*size:(i+1)*size], c, h, w)
		if err != nil {
			return row, err
		}
		row.Images = append(row.Images, im)
	}
	return row, nil
}

// interpolateImages encodes images a and b (CHW each) and decodes steps latents from one
// to the other, both ends included, along the model's default path, as POST /interpolate
// does.
func interpolateImages(m *autoencoder.Model, a, b []float32, steps int) ([]float32, error) {
	zs, err := m.Encode(slices.Concat(a, b), 2)
	if err != nil {
		return nil, err
	}
	out, _, err := m.Interpolate("", zs[0], zs[1], steps, m.DefaultPath())
	return out, err
}
