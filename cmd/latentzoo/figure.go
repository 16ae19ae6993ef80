package main

import (
	"flag"
	"fmt"
	"image/png"
	"os"
	"slices"

	"github.com/latentzoo/latentzoo/autoencoder"
	"github.com/latentzoo/latentzoo/dataset"
	"github.com/latentzoo/latentzoo/figure"
	"github.com/latentzoo/latentzoo/pixels"
)

func init() {
	register("figure", "draw test images with entries' reconstructions, samples and interpolations side by side (PNG)", runFigure)
}

func runFigure(args []string) error {
	fs := flag.NewFlagSet("figure", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: latentzoo figure -out FILE.png NAME|ENTRY_FOLDER... [flags]")
		fmt.Fprintln(fs.Output(), "Rows: n test images of the first entry's data set; then per entry its reconstructions (one row per decoder graph), samples and an interpolation between the first two test images.")
		fs.PrintDefaults()
	}
	out := fs.String("out", "", "PNG file to write (required)")
	n := fs.Int("n", 10, "images per row")
	seed := fs.Int64("seed", 1, "seed of the samples")
	scale := fs.Int("scale", 2, "enlargement of each image (nearest neighbour)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 || *out == "" || *n < 2 {
		fs.Usage()
		return fmt.Errorf("need -out, n ≥ 2 and at least one entry")
	}
	var rows []figure.Row
	var inputs []float32
	var set *dataset.Set
	for _, arg := range pos {
		entry, err := openEntry(arg)
		if err != nil {
			return err
		}
		man := entry.Manifest()
		if set == nil {
			if set, err = dataset.Load(man.Dataset, dataset.Test, man.Resolution, man.Channels); err != nil {
				return err
			}
			set = set.Subset(*n)
			inputs = set.Images
			row, err := imageRow("test images", inputs, *n, set.C, set.H, set.W)
			if err != nil {
				return err
			}
			rows = append(rows, row)
		}
		if man.Resolution != set.H || man.Channels != set.C {
			return fmt.Errorf("%s is %d×%d×%d, the first entry's images are %d×%d×%d", man.Name, man.Channels, man.Resolution, man.Resolution, set.C, set.H, set.W)
		}
		model, err := autoencoder.Open(entry, autoencoder.Options{})
		if err != nil {
			return err
		}
		more, err := entryRows(model, man.Name, graphRoles(man.Graphs), inputs, *n, *seed, set)
		model.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", man.Name, err)
		}
		rows = append(rows, more...)
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	if err := png.Encode(f, figure.Sheet(rows, *scale)); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", *out, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s\n", *out)
	return nil
}

// graphRoles lists the decoder-like graphs of an entry (every graph but the encoder).
func graphRoles(graphs map[string]string) []string {
	var roles []string
	for r := range graphs {
		if r != "encoder" {
			roles = append(roles, r)
		}
	}
	slices.Sort(roles)
	return roles
}

// entryRows are one entry's rows: reconstructions of inputs through each decoder graph,
// samples, and the interpolation between the first two inputs.
func entryRows(m *autoencoder.Model, name string, roles []string, inputs []float32, n int, seed int64, set *dataset.Set) ([]figure.Row, error) {
	var rows []figure.Row
	add := func(label string, pix []float32, err error) error {
		if err != nil {
			return fmt.Errorf("%s: %w", label, err)
		}
		row, err := imageRow(label, pix, n, set.C, set.H, set.W)
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
	size := set.ImageSize()
	interp, err := interpolateImages(m, inputs[:size], inputs[size:2*size], n)
	if err := add(name+" interp", interp, err); err != nil {
		return nil, err
	}
	return rows, nil
}

// imageRow turns n CHW images laid end to end into a labelled row.
func imageRow(label string, pix []float32, n, c, h, w int) (figure.Row, error) {
	row := figure.Row{Label: label}
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
