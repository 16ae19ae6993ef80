package main

import (
	"flag"
	"fmt"
	"image/png"
	"os"

	"github.com/latentzoo/latentzoo/autoencoder"
	"github.com/latentzoo/latentzoo/dataset"
	"github.com/latentzoo/latentzoo/figure"
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
			row, err := figure.ImageRow("test images", inputs, *n, set.C, set.H, set.W)
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
		more, err := figure.EntryRows(model, man.Name, figure.GraphRoles(man.Graphs), inputs, *n, *seed, set.C, set.H, set.W)
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
