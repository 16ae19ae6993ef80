package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/latentzoo/latentzoo/dataset"
	"github.com/latentzoo/latentzoo/evaluate"
	"github.com/latentzoo/latentzoo/train"
)

func init() {
	register("train", "train a model family on a data set into a run folder (resumes)", runTrain)
}

// intList is a flag holding comma-separated integers.
type intList []int

func (l *intList) String() string {
	parts := make([]string, len(*l))
	for i, v := range *l {
		parts[i] = strconv.Itoa(v)
	}
	return strings.Join(parts, ",")
}

func (l *intList) Set(s string) error {
	var out []int
	for _, p := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return fmt.Errorf("not an integer list: %q", s)
		}
		out = append(out, v)
	}
	*l = out
	return nil
}

func runTrain(args []string) error {
	// The family's defaults are the flags' defaults, so -h shows them for -family: a
	// first pass reads -family and -dataset.
	var family, data string
	familyFlags := func(fs *flag.FlagSet) {
		fs.StringVar(&family, "family", "vae", "model family: "+strings.Join(train.Families(), ", ")+" (-h -family NAME lists its own flags)")
		fs.StringVar(&data, "dataset", "fashion-mnist", `data set: fashion-mnist, mnist, or a folder of images ("folder:/path")`)
	}
	pre := flag.NewFlagSet("train", flag.ContinueOnError)
	familyFlags(pre)
	prescan(pre, args)
	c := train.DefaultConfig(family, data)
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	familyFlags(fs)
	out := fs.String("out", "", "run folder (required); an existing run there resumes")
	widths := intList(c.Backbone.Widths)
	fs.IntVar(&c.Epochs, "epochs", c.Epochs, "epochs to train")
	fs.IntVar(&c.Steps, "steps", 0, "stop after this many steps in all (overrides -epochs when set)")
	fs.IntVar(&c.BatchSize, "batch", c.BatchSize, "batch size")
	fs.Float64Var(&c.LR, "lr", c.LR, "Adam learning rate")
	fs.StringVar(&c.LRSchedule, "lr-schedule", c.LRSchedule, `learning rate over the run: "" constant, "cosine" down to 0 along half a cosine`)
	fs.Float64Var(&c.Beta1, "adam-beta1", c.Beta1, "Adam beta1")
	fs.Float64Var(&c.Beta2, "adam-beta2", c.Beta2, "Adam beta2")
	fs.StringVar(&c.Rec, "rec", c.Rec, "reconstruction error: bce or mse (summed per image)")
	if c.Options != nil {
		// The family's own options, with its defaults; -h -family NAME lists them.
		c.Options.Flags(fs)
	}
	fs.BoolVar(&c.Backbone.SpectralNorm, "spectral-norm", c.Backbone.SpectralNorm, "spectral norm on the discriminator's layers (dcvae, vaegan)")
	fs.Int64Var(&c.Seed, "seed", c.Seed, "seed of initialisation, data order and noise")
	fs.IntVar(&c.CheckpointEvery, "checkpoint-every", c.CheckpointEvery, "steps between checkpoints")
	fs.IntVar(&c.LogEvery, "log-every", c.LogEvery, "steps between loss log lines")
	fs.StringVar(&c.Backend, "backend", "", "GoMLX backend (default "+train.DefaultBackend()+"; compiled in: "+strings.Join(slices.Concat(train.Backends(), train.GPUBackends()), ", ")+")")
	fs.IntVar(&c.Backbone.Resolution, "resolution", c.Backbone.Resolution, "image resolution")
	fs.IntVar(&c.Backbone.Channels, "channels", c.Backbone.Channels, "image channels: 1 or 3")
	fs.Var(&widths, "widths", "encoder channel widths, comma-separated")
	fs.IntVar(&c.Backbone.Latent, "latent", c.Backbone.Latent, "latent size")
	fs.BoolVar(&c.Backbone.BatchNorm, "batchnorm", c.Backbone.BatchNorm, "batch norm in encoder and decoder")
	fs.IntVar(&c.FIDEvery, "fid-every", c.FIDEvery, "score the samples' FID on the yardstick every this many steps and keep the best checkpoint (0: never)")
	fs.IntVar(&c.FIDSamples, "fid-samples", c.FIDSamples, fmt.Sprintf("prior samples per scoring (0: %d)", train.DefaultFIDSamples))
	ys := fs.String("yardstick", "", "classifier entry that scores the samples (default classifier/DATASET:v1)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *out == "" {
		fs.Usage()
		return fmt.Errorf("-out is required")
	}
	c.Family, c.Dataset, c.Backbone.Widths, c.CodeVersion = family, data, widths, version
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var judge train.Judge
	if c.FIDEvery > 0 {
		j, closeJudge, err := fidJudge(*ys, c)
		if err != nil {
			return err
		}
		defer closeJudge()
		judge = j
	}
	if err := train.RunWith(ctx, c, *out, os.Stderr, judge); err != nil {
		return fmt.Errorf("train %s on %s: %w", c.Family, c.Dataset, err)
	}
	fmt.Fprintf(os.Stderr, "run saved in %s\n", *out)
	return nil
}

// judgeImages is how many training images (evenly spread) the samples' FID compares with
// during training.
const judgeImages = 10_000

// fidJudge opens the yardstick called name (default classifier/DATASET:v1) and makes the
// judge of c's samples against training images on it; closeJudge releases the yardstick.
func fidJudge(name string, c train.Config) (_ train.Judge, closeJudge func(), err error) {
	net, err := openYardstick(name, c.Dataset)
	if err != nil {
		return nil, nil, err
	}
	if net == nil {
		return nil, nil, fmt.Errorf("-fid-every: no yardstick classifier/%s:v1 for data set %s (train and export one, or name one with -yardstick)", c.Dataset, c.Dataset)
	}
	defer func() {
		if err != nil {
			net.Close()
		}
	}()
	ref, err := dataset.Load(c.Dataset, dataset.Train, c.Backbone.Resolution, c.Backbone.Channels)
	if err != nil {
		return nil, nil, err
	}
	j, err := evaluate.NewFIDJudge(net, ref.Subset(judgeImages))
	if err != nil {
		return nil, nil, err
	}
	return j, func() { net.Close() }, nil
}
