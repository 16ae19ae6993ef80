package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/png"
	"os"
	"time"

	"github.com/latentzoo/latentzoo/dataset"
	"github.com/latentzoo/latentzoo/evaluate"
	"github.com/latentzoo/latentzoo/export"
	"github.com/latentzoo/latentzoo/figure"
	"github.com/latentzoo/latentzoo/infer"
	"github.com/latentzoo/latentzoo/progress"
	"github.com/latentzoo/latentzoo/yardstick"
	"github.com/latentzoo/latentzoo/zoo"
)

func init() {
	register("eval", "measure an entry on its data set's test split (reconstructions, and samples on a yardstick) and record the metrics", runEval)
}

// floorImages is how many training images a yardstick's floor compares with the test split.
const floorImages = 10_000

// evalFlags are eval's settings.
type evalFlags struct {
	split, decoder, yardstick string
	limit, samples            int
	seed                      int64
	record                    bool
}

func runEval(args []string) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: latentzoo eval NAME|ENTRY_FOLDER [flags]")
		fs.PrintDefaults()
	}
	var f evalFlags
	fs.StringVar(&f.split, "split", dataset.Test, "data split to measure on")
	fs.IntVar(&f.limit, "limit", 0, "measure on this many images only (evenly spread; 0 = all)")
	fs.BoolVar(&f.record, "record", true, "write the metrics into the entry's manifest and model card")
	fs.StringVar(&f.decoder, "decoder", "", "graph to reconstruct with, e.g. an AVAE's VAE `decoder` beside its generator (default: the manifest's reconstruct graph; another is not recorded)")
	fs.StringVar(&f.yardstick, "yardstick", "", "classifier entry whose features measure FID, precision and recall (default: classifier/DATASET:v1, where there is one)")
	fs.IntVar(&f.samples, "samples", 10_000, fmt.Sprintf("prior samples for FID, precision and recall (%d to %d)", evaluate.MinSamples, evaluate.MaxSamples))
	fs.Int64Var(&f.seed, "seed", 1, "seed of the prior samples")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return fmt.Errorf("need one entry name or folder")
	}
	if f.samples < evaluate.MinSamples || f.samples > evaluate.MaxSamples {
		return fmt.Errorf("-samples %d: FID needs %d to %d", f.samples, evaluate.MinSamples, evaluate.MaxSamples)
	}
	if f.record && (f.limit > 0 || f.split != dataset.Test) {
		return fmt.Errorf("only a full test-split evaluation is recorded (use -record=false)")
	}
	e, err := openEntry(pos[0])
	if err != nil {
		return err
	}
	if e.Manifest().IsClassifier() {
		return evalYardstick(pos[0], f)
	}
	return evalAutoencoder(pos[0], f)
}

// bar is eval's progress through n items of a stage.
func bar(stage string, n int) *progress.Bar {
	return progress.New(os.Stderr, int64(n), progress.Options{Description: "eval: " + stage, Unit: "images", Every: 5 * time.Second,
		Line: func(s progress.State) string {
			if s.Event == progress.Begin {
				return ""
			}
			return fmt.Sprintf("eval: %s %d/%d", stage, s.N, s.Total)
		},
	})
}

// openYardstick opens the yardstick called name, or by default the built-in one of the
// data set (classifier/DATASET:v1); with no name and no such entry it returns nil.
func openYardstick(name, dataset string) (*yardstick.Network, error) {
	explicit := name != ""
	if !explicit {
		name = "classifier/" + dataset + ":v1"
	}
	e, err := resolveEntry(name)
	if errors.Is(err, zoo.ErrNotFound) && !explicit {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("yardstick %s: %w", name, err)
	}
	return yardstick.Open(e, infer.Options{})
}

func evalAutoencoder(arg string, f evalFlags) error {
	w, err := openEntryWork(arg, f.split, f.limit)
	if err != nil {
		return err
	}
	defer w.model.Close()
	set, model, man := w.set, w.model, w.entry.Manifest()
	role := man.Reconstruct
	if f.decoder != "" {
		role = f.decoder
	}
	if f.record && role != man.Reconstruct {
		return fmt.Errorf("only the manifest's reconstruct graph (%s) is recorded (use -record=false)", man.Reconstruct)
	}
	net, err := openYardstick(f.yardstick, man.Dataset)
	if err != nil {
		return err
	}
	if net != nil {
		defer net.Close()
		if err := net.Fits(man.Dataset, man.Resolution, man.Channels); err != nil {
			return err
		}
	}
	b := bar("reconstructions", set.N)
	m, err := evaluate.Reconstruction(model.Reconstructor(role), set, 256, func(done int) { b.Set(int64(done)) })
	if err == nil {
		b.Finish()
	}
	b.Close()
	if err != nil {
		return fmt.Errorf("evaluate %s through %s: %w", man.Name, role, err)
	}
	fmt.Printf("%s through %s on %s %s (%d images): MSE %.5f  PSNR %.2f dB  SSIM %.4f\n", man.Name, role, man.Dataset, f.split, m.Images, m.MSE, m.PSNR, m.SSIM)
	z, err := evaluate.Latents(model, set, 256)
	if err != nil {
		return fmt.Errorf("encode %s: %w", man.Name, err)
	}
	sv := evaluate.SingularValues(z)
	spread := evaluate.Spread(sv)
	fmt.Printf("latents: singular values %.1f (largest) to %.1f (smallest), spread %.2f\n", sv[0], sv[len(sv)-1], spread)
	var q *evaluate.Quality
	if net == nil {
		fmt.Printf("no FID, precision or recall: no yardstick for data set %s (train one with: latentzoo train --family classifier --dataset %s, export it as classifier/%s:v1, or name one with -yardstick)\n", man.Dataset, man.Dataset, man.Dataset)
	} else {
		if q, err = measureQuality(net, model.Reconstructor(role), set, f); err != nil {
			return fmt.Errorf("evaluate %s on %s: %w", man.Name, net.Manifest().Name, err)
		}
		fmt.Printf("on yardstick %s (%s), %d samples with seed %d: FID samples %.3f  FID reconstructions %.3f  precision %.4f  recall %.4f  accuracy on reconstructions %.4f (on originals %.4f)\n",
			q.Yardstick, net.Ref().Digest, q.Samples, f.seed, q.FIDSamples, q.FIDReconstructions, q.Precision, q.Recall, q.AccuracyReconstructions, q.AccuracyOriginals)
	}
	if !f.record {
		return nil
	}
	sheet, err := figure.EntrySheet(model, man.Name, man.Graphs, set, sheetImages, f.seed, 2)
	if err != nil {
		return fmt.Errorf("draw the sheet of %s: %w", man.Name, err)
	}
	err = w.rewrite(func(updated *zoo.Manifest, files map[string][]byte) error {
		if err := addPictures(updated, files, sheet); err != nil {
			return err
		}
		updated.Metrics = map[string]float64{"test_images": float64(m.Images)}
		for k, v := range m.Map("test_") {
			updated.Metrics[k] = v
		}
		updated.Metrics["test_latent_spread"] = spread
		updated.Yardstick = nil
		if q != nil {
			for k, v := range q.Map() {
				updated.Metrics[k] = v
			}
			ref := net.Ref()
			updated.Yardstick = &ref
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record metrics in %s: %w", man.Name, err)
	}
	fmt.Printf("recorded in %s\n", man.Name)
	return nil
}

// measureQuality runs evaluate.MeasureQuality with a progress bar per stage.
func measureQuality(net *yardstick.Network, g evaluate.Generator, set *dataset.Set, f evalFlags) (*evaluate.Quality, error) {
	var b *progress.Bar
	var at evaluate.Stage
	q, err := evaluate.MeasureQuality(net, g, set, f.samples, f.seed, 256, func(s evaluate.Stage, done, total int) {
		if s != at {
			if b != nil {
				b.Finish()
				b.Close()
			}
			b, at = bar(string(s), total), s
		}
		b.Set(int64(done))
	})
	if b != nil {
		if err == nil {
			b.Finish()
		}
		b.Close()
	}
	if err != nil {
		return nil, err
	}
	return &q, nil
}

// evalYardstick measures a classifier entry: its accuracy on the test split, and the
// floor of its FID, the distance of training images to the test split.
func evalYardstick(arg string, f evalFlags) error {
	e, write, err := openWritableEntry(arg)
	if err != nil {
		return err
	}
	man := e.Manifest()
	net, err := yardstick.Open(e, infer.Options{})
	if err != nil {
		return err
	}
	defer net.Close()
	test, err := dataset.Load(man.Dataset, f.split, man.Resolution, man.Channels)
	if err != nil {
		return err
	}
	if f.limit > 0 && f.limit < test.N {
		test = test.Subset(f.limit)
	}
	_, predicted, err := net.Run(test.Images, test.N, 256)
	if err != nil {
		return err
	}
	acc := yardstick.Accuracy(predicted, test.Labels)
	fmt.Printf("%s on %s %s (%d images): accuracy %.4f\n", man.Name, man.Dataset, f.split, test.N, acc)
	train, err := dataset.Load(man.Dataset, dataset.Train, man.Resolution, man.Channels)
	if err != nil {
		return err
	}
	n := min(floorImages, train.N)
	floor, err := evaluate.Floor(net, train, test, n, 256)
	if err != nil {
		return fmt.Errorf("floor of %s: %w", man.Name, err)
	}
	fmt.Printf("floor: FID of %d training images against the test split %.4f\n", n, floor)
	if !f.record {
		return nil
	}
	w := &entryWork{entry: e, write: write}
	err = w.rewrite(func(updated *zoo.Manifest, files map[string][]byte) error {
		updated.Metrics = map[string]float64{"test_images": float64(test.N), "test_accuracy": acc, "fid_floor": floor, "floor_images": float64(n)}
		return addPictures(updated, files, nil)
	})
	if err != nil {
		return fmt.Errorf("record metrics in %s: %w", man.Name, err)
	}
	fmt.Printf("recorded in %s\n", man.Name)
	return nil
}

// sheetImages is the number of test images on an entry's sheet.
const sheetImages = 10

// Files of an entry's pictures.
const (
	sheetFile  = "sheet.png"
	curvesFile = "curves.png"
)

// addPictures puts an entry's pictures into it as eval records them: the sheet, when
// given, and the curves of the training log the entry carries, when it carries one.
func addPictures(m *zoo.Manifest, files map[string][]byte, sheet image.Image) error {
	pics := map[string]string{}
	if sheet != nil {
		var buf bytes.Buffer
		if err := png.Encode(&buf, sheet); err != nil {
			return fmt.Errorf("sheet: %w", err)
		}
		files[sheetFile] = buf.Bytes()
		pics[zoo.PictureSheet] = sheetFile
	}
	if log, ok := files[export.LogFile]; ok {
		b, err := figure.Curves(log, m.Name)
		if err != nil {
			return err
		}
		files[curvesFile] = b
		pics[zoo.PictureCurves] = curvesFile
	}
	m.Pictures = nil
	if len(pics) > 0 {
		m.Pictures = pics
	}
	return nil
}
