package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/latentzoo/latentzoo/dataset"
	"github.com/latentzoo/latentzoo/evaluate"
	"github.com/latentzoo/latentzoo/infer"
	"github.com/latentzoo/latentzoo/serve"
	"github.com/latentzoo/latentzoo/zoo"
)

func init() {
	register("eval", "measure an entry's reconstructions on its data set's test split and record the metrics", runEval)
}

func runEval(args []string) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: latentzoo eval NAME|ENTRY_FOLDER [flags]")
		fs.PrintDefaults()
	}
	split := fs.String("split", dataset.Test, "data split to measure on")
	limit := fs.Int("limit", 0, "measure on this many images only (evenly spread; 0 = all)")
	record := fs.Bool("record", true, "write the metrics into the entry's manifest and model card")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return fmt.Errorf("need one entry name or folder")
	}
	entry, write, err := openWritableEntry(pos[0])
	if err != nil {
		return err
	}
	man := entry.Manifest()
	set, err := dataset.Load(man.Dataset, *split, man.Resolution, man.Channels)
	if err != nil {
		return err
	}
	if *limit > 0 && *limit < set.N {
		set = set.Subset(*limit)
	}
	model, err := serve.OpenModel(entry, infer.Options{})
	if err != nil {
		return err
	}
	defer model.Close()
	m, err := evaluate.Reconstruction(model, set, 256, os.Stderr)
	if err != nil {
		return fmt.Errorf("evaluate %s: %w", man.Name, err)
	}
	fmt.Printf("%s on %s %s (%d images): MSE %.5f  PSNR %.2f dB  SSIM %.4f\n", man.Name, man.Dataset, *split, m.Images, m.MSE, m.PSNR, m.SSIM)
	if !*record {
		return nil
	}
	if *limit > 0 || *split != dataset.Test {
		return fmt.Errorf("only a full test-split evaluation is recorded (use -record=false)")
	}
	files := map[string][]byte{}
	for _, f := range man.Files {
		if files[f.Path], err = entry.ReadFile(f.Path); err != nil {
			return err
		}
	}
	updated := *man
	updated.Metrics = map[string]float64{"test_images": float64(m.Images)}
	for k, v := range m.Map("test_") {
		updated.Metrics[k] = v
	}
	files["README.md"] = zoo.ModelCard(&updated)
	if err := write(&updated, files); err != nil {
		return fmt.Errorf("record metrics in %s: %w", man.Name, err)
	}
	fmt.Printf("recorded in %s\n", man.Name)
	return nil
}

// openWritableEntry opens an entry given as a folder or a name in the local store, with a
// function that rewrites it in place.
func openWritableEntry(arg string) (zoo.Entry, func(*zoo.Manifest, map[string][]byte) error, error) {
	if st, err := os.Stat(arg); err == nil && st.IsDir() {
		e, err := zoo.OpenDir(arg)
		if err != nil {
			return nil, nil, err
		}
		return e, func(m *zoo.Manifest, files map[string][]byte) error { return zoo.WriteEntry(arg, m, files) }, nil
	}
	name, err := zoo.ParseName(arg)
	if err != nil {
		return nil, nil, err
	}
	store, err := openStore()
	if err != nil {
		return nil, nil, err
	}
	e, err := store.Get(name)
	if err != nil {
		return nil, nil, fmt.Errorf("%w (eval records into the local store or a folder; built-in entries are read-only: give their folder)", err)
	}
	return e, func(m *zoo.Manifest, files map[string][]byte) error { _, err := store.Write(m, files); return err }, nil
}
