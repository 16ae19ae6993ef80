package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/latentzoo/latentzoo/dataset"
	"github.com/latentzoo/latentzoo/evaluate"
	"github.com/latentzoo/latentzoo/progress"
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
	decoder := fs.String("decoder", "", "graph to reconstruct with, e.g. an AVAE's VAE `decoder` beside its generator (default: the manifest's reconstruct graph; another is not recorded)")
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
	role := man.Reconstruct
	if *decoder != "" {
		role = *decoder
	}
	if *record && role != man.Reconstruct {
		return fmt.Errorf("only the manifest's reconstruct graph (%s) is recorded (use -record=false)", man.Reconstruct)
	}
	bar := progress.New(os.Stderr, int64(set.N), progress.Options{Description: "eval", Unit: "images", Every: 5 * time.Second,
		Line: func(s progress.State) string {
			if s.Event == progress.Begin {
				return ""
			}
			return fmt.Sprintf("eval: %d/%d images", s.N, s.Total)
		},
	})
	m, err := evaluate.Reconstruction(model.Reconstructor(role), set, 256, func(done int) { bar.Set(int64(done)) })
	if err == nil {
		bar.Finish()
	}
	bar.Close()
	if err != nil {
		return fmt.Errorf("evaluate %s through %s: %w", man.Name, role, err)
	}
	fmt.Printf("%s through %s on %s %s (%d images): MSE %.5f  PSNR %.2f dB  SSIM %.4f\n", man.Name, role, man.Dataset, *split, m.Images, m.MSE, m.PSNR, m.SSIM)
	z, err := evaluate.Latents(model, set, 256)
	if err != nil {
		return fmt.Errorf("encode %s: %w", man.Name, err)
	}
	sv := evaluate.SingularValues(z)
	spread := evaluate.Spread(sv)
	fmt.Printf("latents: singular values %.1f (largest) to %.1f (smallest), spread %.2f\n", sv[0], sv[len(sv)-1], spread)
	if !*record {
		return nil
	}
	if *limit > 0 || *split != dataset.Test {
		return fmt.Errorf("only a full test-split evaluation is recorded (use -record=false)")
	}
	err = w.rewrite(func(updated *zoo.Manifest, _ map[string][]byte) error {
		updated.Metrics = map[string]float64{"test_images": float64(m.Images)}
		for k, v := range m.Map("test_") {
			updated.Metrics[k] = v
		}
		updated.Metrics["test_latent_spread"] = spread
		return nil
	})
	if err != nil {
		return fmt.Errorf("record metrics in %s: %w", man.Name, err)
	}
	fmt.Printf("recorded in %s\n", man.Name)
	return nil
}
