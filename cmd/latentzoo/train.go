package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/latentzoo/latentzoo/models"
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
		fs.StringVar(&family, "family", "vae", "model family: "+strings.Join(models.Names(), ", "))
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
	fs.Float64Var(&c.Beta1, "adam-beta1", c.Beta1, "Adam beta1")
	fs.Float64Var(&c.Beta2, "adam-beta2", c.Beta2, "Adam beta2")
	fs.Float64Var(&c.Beta, "beta", c.Beta, "weight of the KL term (beta-VAE; the introspective families' beta_kl)")
	fs.StringVar(&c.Rec, "rec", c.Rec, "reconstruction error: bce or mse (summed per image)")
	fs.Float64Var(&c.Lambda, "lambda", c.Lambda, "weight of the latent regulariser (wae: MMD; moca: contrastive term)")
	fs.Float64Var(&c.Temperature, "temperature", c.Temperature, "temperature of the contrastive term (moca, dcvae)")
	fs.IntVar(&c.QueueSize, "queue", c.QueueSize, "keys kept as negatives (moca's dictionary size; dcvae's queue of real-image embeddings)")
	fs.Float64Var(&c.Momentum, "momentum", c.Momentum, "base momentum of the momentum encoder, raised to 1 on a cosine schedule (moca)")
	fs.Float64Var(&c.BetaRec, "beta-rec", c.BetaRec, "weight of the reconstruction errors (introvae, sintrovae, asintrovae)")
	fs.Float64Var(&c.BetaNeg, "beta-neg", c.BetaNeg, "weight of the fakes' KL in the adversarial terms (introvae: hinges and decoder; sintrovae, asintrovae: inside the exponentials)")
	fs.Float64Var(&c.Margin, "margin", c.Margin, "hard margin on the fakes' KL (introvae)")
	fs.Float64Var(&c.Alpha, "alpha", c.Alpha, "exponent of the encoder's soft exponential terms (sintrovae, asintrovae)")
	fs.Float64Var(&c.Gamma, "gamma", c.Gamma, "weight of the fakes' terms in the decoder loss (sintrovae, asintrovae); of the feature reconstruction error in the decoder loss (vaegan)")
	fs.Float64Var(&c.GammaR, "gamma-r", c.GammaR, "further weight of the fakes' reconstruction errors in the decoder loss (sintrovae, asintrovae)")
	fs.Float64Var(&c.EMADecay, "ema-decay", c.EMADecay, "decay of the exported moving average of the weights (asintrovae)")
	fs.BoolVar(&c.NoGAN, "no-gan", c.NoGAN, "drop the set-level GAN term (dcvae's ablation)")
	fs.BoolVar(&c.NoContrastive, "no-contrastive", c.NoContrastive, "replace the instance-level contrast by the pixel reconstruction error (dcvae's ablation; with -no-gan, a VAE)")
	fs.IntVar(&c.PatchAfter, "patch-after", c.PatchAfter, "step from which the local-patch contrast is added (dcvae)")
	fs.IntVar(&c.Xi, "xi", c.Xi, "size of the generator's extra noise input, 0 for none; exported at zero (avae)")
	fs.BoolVar(&c.Backbone.SpectralNorm, "spectral-norm", c.Backbone.SpectralNorm, "spectral norm on the discriminator's layers (dcvae, vaegan)")
	fs.Int64Var(&c.Seed, "seed", c.Seed, "seed of initialisation, data order and noise")
	fs.IntVar(&c.CheckpointEvery, "checkpoint-every", c.CheckpointEvery, "steps between checkpoints")
	fs.IntVar(&c.LogEvery, "log-every", c.LogEvery, "steps between loss log lines")
	fs.StringVar(&c.Backend, "backend", "", "GoMLX backend (default "+train.DefaultBackend()+"; compiled in: "+strings.Join(train.Backends(), ", ")+")")
	fs.IntVar(&c.Backbone.Resolution, "resolution", c.Backbone.Resolution, "image resolution")
	fs.IntVar(&c.Backbone.Channels, "channels", c.Backbone.Channels, "image channels: 1 or 3")
	fs.Var(&widths, "widths", "encoder channel widths, comma-separated")
	fs.IntVar(&c.Backbone.Latent, "latent", c.Backbone.Latent, "latent size")
	fs.BoolVar(&c.Backbone.BatchNorm, "batchnorm", c.Backbone.BatchNorm, "batch norm in encoder and decoder")
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
	if err := train.Run(ctx, c, *out, os.Stderr); err != nil {
		return fmt.Errorf("train %s on %s: %w", c.Family, c.Dataset, err)
	}
	fmt.Fprintf(os.Stderr, "run saved in %s\n", *out)
	return nil
}
