// Package train trains latentzoo's model families with GoMLX: the graph of each net built
// from its models description, the losses of each family, Adam, checkpoints that resume
// exactly, progress and a loss log.
package train

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/latentzoo/latentzoo/atomicfile"
	"github.com/latentzoo/latentzoo/models"
)

// Config is a training run's configuration, kept as config.json in the run folder.
type Config struct {
	Family   string          `json:"family"`
	Dataset  string          `json:"dataset"`
	Backbone models.Backbone `json:"backbone"`
	Epochs   int             `json:"epochs"`
	// Steps, when positive, stops the run after that many steps in all (for short runs).
	Steps     int     `json:"steps,omitempty"`
	BatchSize int     `json:"batch_size"`
	LR        float64 `json:"lr"`
	Beta1     float64 `json:"beta1"`
	Beta2     float64 `json:"beta2"`
	// Beta weighs the KL term (beta-VAE); 1 is the plain VAE.
	Beta float64 `json:"beta"`
	// Rec is the per-image reconstruction error: "bce" (summed binary cross-entropy) or
	// "mse" (summed squared error).
	Rec string `json:"rec"`
	// Lambda weighs the latent regulariser: WAE's MMD, MoCA's contrastive term.
	Lambda float64 `json:"lambda,omitempty"`
	// Temperature divides the similarities of a contrastive term.
	Temperature float64 `json:"temperature,omitempty"`
	// QueueSize is the number of recent keys kept as negatives (MoCA's dictionary;
	// DC-VAE's queue of real-image embeddings, one per contrastive head).
	QueueSize int `json:"queue_size,omitempty"`
	// Momentum is the base momentum of a moving average of weights, raised to 1 along a
	// cosine schedule (MoCA's momentum encoder).
	Momentum float64 `json:"momentum,omitempty"`
	// BetaRec weighs the reconstruction errors of the introspective families (β_rec).
	// Their real images' KL weight β_kl is Beta.
	BetaRec float64 `json:"beta_rec,omitempty"`
	// BetaNeg weighs the fakes' KL in the introspective families' adversarial terms: the
	// hinge terms of IntroVAE (and the fakes' KL in its decoder loss: Huang et al.'s α),
	// the KL inside the exponential terms of the soft families (β_neg).
	BetaNeg float64 `json:"beta_neg,omitempty"`
	// Margin is IntroVAE's hard margin m on the fakes' KL.
	Margin float64 `json:"margin,omitempty"`
	// Alpha is the soft families' exponent: the encoder's exponential terms are
	// 1/(2α)·exp(−α·s·ELBO-loss(x_s)), s = 1/(C·H·W).
	Alpha float64 `json:"alpha,omitempty"`
	// Gamma weighs the fakes' terms in the soft families' decoder loss (γ), and VAE/GAN's
	// feature reconstruction error in its decoder loss (Larsen et al.'s γ).
	Gamma float64 `json:"gamma,omitempty"`
	// GammaR further weighs the fakes' reconstruction errors in that loss (γ_r).
	GammaR float64 `json:"gamma_r,omitempty"`
	// EMADecay is the decay of the moving average of the weights that AS-IntroVAE
	// exports, reached after a warm-up of min(decay, (1+step)/(10+step)).
	EMADecay float64 `json:"ema_decay,omitempty"`
	// NoGAN and NoContrastive switch DC-VAE's set-level (GAN) and instance-level
	// (contrastive) terms off, for the ablations of its Table 1: with NoContrastive the
	// VAE's pixel reconstruction error (Rec) replaces the contrastive loss; with both, the
	// run is a VAE. Always written, so that every run says which row it is.
	NoGAN         bool `json:"no_gan"`
	NoContrastive bool `json:"no_contrastive"`
	// PatchAfter is the step from which DC-VAE adds its local-patch contrast (sec. 4.2).
	PatchAfter int `json:"patch_after,omitempty"`
	// Xi is the size of AVAE's extra noise input ξ ~ N(0, I), concatenated to the
	// generator's z in training; 0 (the paper's best row) leaves it out. The generator is
	// exported at ξ = 0, taking z alone like every decoder.
	Xi int `json:"xi,omitempty"`

	Seed            int64 `json:"seed"`
	CheckpointEvery int   `json:"checkpoint_every"`
	LogEvery        int   `json:"log_every"`
	// Backend is the GoMLX backend ("go:ops_sequential", "onnx:cpu"); empty picks the default.
	Backend string `json:"backend,omitempty"`
	// CodeVersion names the code that started (or last resumed) the run.
	CodeVersion string `json:"code_version,omitempty"`
}

// DefaultConfig is the configuration of a family on a data set before flags change it.
func DefaultConfig(family, dataset string) Config {
	c := Config{
		Family:          family,
		Dataset:         dataset,
		Backbone:        models.DefaultBackbone(),
		Epochs:          10,
		BatchSize:       64,
		LR:              1e-3,
		Beta1:           0.9,
		Beta2:           0.999,
		Beta:            1,
		Rec:             "bce",
		Seed:            1,
		CheckpointEvery: 500,
		LogEvery:        50,
	}
	pixels := float64(c.Backbone.Resolution * c.Backbone.Resolution * c.Backbone.Channels)
	switch family {
	case "wae":
		// Tolstikhin et al.'s MNIST setting: squared error, lambda 10.
		c.Rec, c.Lambda = "mse", 10
	case "moca":
		// Arora et al.: squared error, a temperature well under 1, a dictionary in the
		// thousands, base momentum 0.99, lambda proportional to the pixel count.
		c.Rec, c.Temperature, c.QueueSize, c.Momentum = "mse", 0.1, 8192, 0.99
		c.Lambda = pixels / 100
	case "avae":
		// Plumerault et al. train with DCGAN's Adam (lr 2e-4, beta1 0.5) at batch 64, and
		// weigh the KL by beta 4 to 20 against 1/2·‖x − x̂‖² on images in [−1, 1]. On
		// [0, 1] that reconstruction term is twice the summed squared error used here, so
		// their beta b is b/2 here: 2.5 is their CelebA setting, 5.
		c.LR, c.Beta1, c.Rec, c.Beta = 2e-4, 0.5, "mse", 2.5
	case "dcvae", "vaegan":
		// DC-VAE's sec. 5.1: Adam lr 2e-4, betas (0, 0.9), batch 128; VAE/GAN is trained
		// the same way for Table 1's comparison, on the same discriminator with spectral
		// norm (the AutoGAN discriminator DC-VAE adapts has it). DC-VAE: a queue of 4096
		// negatives (the paper's 8096 is for CIFAR-10 on a GPU; supp. A.3: more is
		// better), local patches after 2000 steps (the paper says "after certain
		// iterations"). The paper states no temperature and weighs the KL by 1 (Eq. 8);
		// the authors' code uses a temperature of 0.07 and weighs a batch's summed KL by
		// 1e-6, 1.3e-4 per image at batch 128. Both matter on Fashion-MNIST (300-step
		// trials): at KL weight 1 the latent collapsed (KL 0.01 nats, temperature 1 or
		// 0.1), and at temperature 1 the contrastive loss stayed near its starting 7.5
		// (it reached 1.9 at 0.07). VAE/GAN: γ 1 (not given in METHODS.md).
		c.LR, c.Beta1, c.Beta2, c.BatchSize = 2e-4, 0, 0.9, 128
		c.Backbone.SpectralNorm = true
		if family == "dcvae" {
			c.Temperature, c.QueueSize, c.PatchAfter, c.Beta = 0.07, 4096, 2000, 1e-4
		} else {
			c.Gamma = 1
		}
	case "introvae", "sintrovae", "asintrovae":
		// The papers' Adam (lr 2e-4, default betas) and summed squared error. IntroVAE:
		// Huang et al.'s α = 0.25 on the fakes' KL, and a margin well above the real
		// images' KL (15 to 20 on Fashion-MNIST at latent 32). The soft families:
		// Soft-IntroVAE's defaults, which AS-IntroVAE inherits, with its α 2 and γ 1,
		// and a moving average of decay 0.999 (the paper names none; its code uses 0.999).
		c.LR, c.Rec, c.BetaRec = 2e-4, "mse", 1
		if family == "introvae" {
			c.BetaNeg, c.Margin = 0.25, 40
		} else {
			c.BetaNeg, c.Alpha, c.Gamma, c.GammaR = 256, 2, 1, 1e-8
		}
		if family == "asintrovae" {
			c.EMADecay = 0.999
		}
		if dataset == "fashion-mnist" || dataset == "mnist" {
			// Soft-IntroVAE's preset for both (β_rec 1, β_kl 1, β_neg 256, latent 32):
			// batches of 128.
			c.BatchSize = 128
		}
	}
	return c
}

// Validate checks the configuration before a run starts.
func (c Config) Validate() error {
	if _, err := models.Lookup(c.Family); err != nil {
		return err
	}
	if err := c.Backbone.Validate(); err != nil {
		return err
	}
	switch {
	case c.Epochs <= 0 && c.Steps <= 0:
		return fmt.Errorf("config: need epochs or steps")
	case c.BatchSize <= 0:
		return fmt.Errorf("config: batch size must be positive")
	case c.LR <= 0:
		return fmt.Errorf("config: learning rate must be positive")
	case c.Rec != "bce" && c.Rec != "mse":
		return fmt.Errorf("config: rec must be bce or mse, got %q", c.Rec)
	case c.CheckpointEvery <= 0 || c.LogEvery <= 0:
		return fmt.Errorf("config: checkpoint and log intervals must be positive")
	case c.Lambda < 0:
		return fmt.Errorf("config: lambda must not be negative")
	case (c.NoGAN || c.NoContrastive) && c.Family != "dcvae":
		return fmt.Errorf("config: no_gan and no_contrastive are dcvae's ablations, not %s's", c.Family)
	case c.Xi < 0:
		return fmt.Errorf("config: xi must not be negative, got %d", c.Xi)
	case c.Xi > 0 && c.Family != "avae":
		return fmt.Errorf("config: xi is avae's generator noise, not %s's", c.Family)
	}
	if c.Family == "moca" {
		switch {
		case c.Temperature <= 0:
			return fmt.Errorf("config: moca needs a positive temperature")
		case c.QueueSize < c.BatchSize:
			return fmt.Errorf("config: moca's queue (%d) must hold at least one batch (%d)", c.QueueSize, c.BatchSize)
		case c.Momentum < 0 || c.Momentum >= 1:
			return fmt.Errorf("config: momentum must be in [0, 1), got %g", c.Momentum)
		}
	}
	switch c.Family {
	case "dcvae":
		switch {
		case c.Temperature <= 0:
			return fmt.Errorf("config: dcvae needs a positive temperature")
		case c.QueueSize < c.BatchSize:
			return fmt.Errorf("config: dcvae's queue (%d) must hold at least one batch (%d)", c.QueueSize, c.BatchSize)
		case c.PatchAfter < 0:
			return fmt.Errorf("config: patch_after must not be negative, got %d", c.PatchAfter)
		case c.Beta < 0:
			return fmt.Errorf("config: dcvae's beta must not be negative, got %g", c.Beta)
		}
	case "vaegan":
		if c.Gamma < 0 || c.Beta < 0 {
			return fmt.Errorf("config: vaegan's gamma and beta must not be negative")
		}
	case "avae":
		if c.Beta <= 0 {
			return fmt.Errorf("config: avae needs a positive beta, got %g", c.Beta)
		}
	case "introvae", "sintrovae", "asintrovae":
		switch {
		case c.BetaRec <= 0:
			return fmt.Errorf("config: %s needs a positive beta_rec", c.Family)
		case c.Beta < 0 || c.BetaNeg < 0 || c.Margin < 0 || c.Gamma < 0 || c.GammaR < 0:
			return fmt.Errorf("config: %s's weights and margin must not be negative", c.Family)
		case c.Family != "introvae" && c.Alpha <= 0:
			return fmt.Errorf("config: %s needs a positive alpha", c.Family)
		case c.Family == "asintrovae" && (c.EMADecay < 0 || c.EMADecay >= 1):
			return fmt.Errorf("config: ema_decay must be in [0, 1), got %g", c.EMADecay)
		}
	}
	return nil
}

const configFile = "config.json"

// LoadConfig reads the config.json of a run folder.
func LoadConfig(runDir string) (Config, error) {
	var c Config
	data, err := os.ReadFile(filepath.Join(runDir, configFile))
	if err != nil {
		return c, fmt.Errorf("read run config: %w", err)
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return c, fmt.Errorf("parse %s: %w", filepath.Join(runDir, configFile), err)
	}
	return c, nil
}

func writeConfig(runDir string, c Config) error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(runDir, configFile), append(data, '\n'), 0o600)
}
