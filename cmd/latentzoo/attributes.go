package main

import (
	"flag"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/latentzoo/latentzoo/attributes"
	"github.com/latentzoo/latentzoo/dataset"
	"github.com/latentzoo/latentzoo/zoo"
)

func init() {
	register("attributes", "compute an entry's attribute directions for /edit and store them in the entry", runAttributes)
}

// runAttributes encodes images of the entry's data set, computes the directions of its
// classes and pixel measures (see package attributes), and rewrites the entry with one file
// per direction and an updated model card.
func runAttributes(args []string) error {
	fs := flag.NewFlagSet("attributes", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: latentzoo attributes NAME|ENTRY_FOLDER [flags]\n\nComputes the entry's attribute directions (a direction per class, and pixel\nmeasures: brightness, area and edges, or thickness and slant for MNIST) from its\ndata set and stores them in the entry, replacing those it had.\n\nflags:")
		fs.PrintDefaults()
	}
	split := fs.String("split", dataset.Train, "data split to compute on")
	limit := fs.Int("limit", 0, "use this many images, evenly spread through the split (0 = all)")
	fraction := fs.Float64("fraction", 0.1, "share of images (of each class) taken from the top and from the bottom of a measure")
	minImages := fs.Int("min", 20, "fewest images accepted on either side of an attribute")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return fmt.Errorf("need one entry name or folder")
	}
	w, err := openEntryWork(pos[0], *split, *limit)
	if err != nil {
		return err
	}
	defer w.model.Close()
	set, model, man := w.set, w.model, w.entry.Manifest()
	fmt.Fprintf(os.Stderr, "attributes: encoding %d %s images of %s\n", set.N, *split, man.Dataset)
	dirs, err := attributes.Compute(model, set, attributes.Options{Fraction: *fraction, MinImages: *minImages})
	if err != nil {
		return fmt.Errorf("attributes of %s: %w", man.Name, err)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ATTRIBUTE\tKIND\tWITH\tWITHOUT\tNORM")
	for _, d := range dirs {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.3f\n", d.Name, d.Kind, d.With, d.Without, d.Norm())
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	err = w.rewrite(func(m *zoo.Manifest, files map[string][]byte) error {
		return attributes.Attach(m, files, dirs)
	})
	if err != nil {
		return fmt.Errorf("store the attributes of %s: %w", man.Name, err)
	}
	fmt.Printf("stored %d attribute directions in %s\n", len(dirs), man.Name)
	return nil
}
