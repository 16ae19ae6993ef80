package train

import (
	"flag"
	"fmt"

	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // graph-building code reads better unqualified.

	"github.com/latentzoo/latentzoo/models"
)

// This file holds AVAE (Plumerault et al.): a beta-VAE whose encoder has an x-independent
// learned sigma_E, and beside it a generator of the decoder's architecture, trained
// against a critic and through the encoder's latent (Fig. 4). Every iteration runs three
// phases: the VAE (encoder and decoder), the critic (Eq. 13), then the generator
// (L_Z^b + L_M, Eq. 15 and 16), whose loss reaches neither the encoder nor the critic.
//
// Each phase sees the parameters the earlier ones left, where the paper's algorithm
// updates all four nets from one forward pass; the critic and generator phases each draw
// their own prior samples z_p (noise is per phase).

// AVAEOptions are AVAE's options.
type AVAEOptions struct {
	// Beta weighs the VAE's KL term.
	Beta float64 `json:"beta"`
	// Xi is the size of the extra noise input ξ ~ N(0, I), concatenated to the
	// generator's z in training; 0 (the paper's best row) leaves it out. The generator is
	// exported at ξ = 0, taking z alone like every decoder.
	Xi int `json:"xi,omitempty"`
}

// Validate checks that beta is positive and the noise size not negative.
func (o *AVAEOptions) Validate(Config) error {
	switch {
	case o.Xi < 0:
		return fmt.Errorf("config: xi must not be negative, got %d", o.Xi)
	case o.Beta <= 0:
		return fmt.Errorf("config: avae needs a positive beta, got %g", o.Beta)
	}
	return nil
}

// Flags defines -beta and -xi.
func (o *AVAEOptions) Flags(fs *flag.FlagSet) {
	fs.Float64Var(&o.Beta, "beta", o.Beta, "weight of the VAE's KL term")
	fs.IntVar(&o.Xi, "xi", o.Xi, "size of the generator's extra noise input, 0 for none; exported at zero")
}

func init() {
	register(family{
		name: "avae",
		defaults: func(c *Config) {
			// Plumerault et al. train with DCGAN's Adam (lr 2e-4, beta1 0.5) at batch 64, and
			// weigh the KL by beta 4 to 20 against 1/2·‖x − x̂‖² on images in [−1, 1]. On
			// [0, 1] that reconstruction term is twice the summed squared error used here, so
			// their beta b is b/2 here: 2.5 is their CelebA setting, 5.
			c.LR, c.Beta1, c.Rec = 2e-4, 0.5, "mse"
			c.Options = &AVAEOptions{Beta: 2.5}
		},
		nets: avaeNets,
		noise: func(c Config) map[string]int {
			n := map[string]int{"eps": c.Backbone.Latent, "z_p": c.Backbone.Latent}
			if xi := optionsOf[*AVAEOptions](c).Xi; xi > 0 {
				n["xi"] = xi
			}
			return n
		},
		exported: avaeExported,
		phases: []phase{
			{name: "vae", update: []string{"encoder", "decoder"}, metrics: []string{"rec", "kl", "sigma"}, loss: avaeVAELoss},
			{name: "critic", update: []string{"critic"}, metrics: []string{"critic_acc"}, loss: avaeCriticLoss},
			{name: "generator", update: []string{"generator"}, metrics: []string{"lz", "lm"}, loss: avaeGeneratorLoss},
		},
	})
}

// avaeNets are AVAE's four nets: the shared-variance encoder, the VAE decoder, the
// generator (taking z and, with Xi, its extra noise ξ) and the critic.
func avaeNets(c Config) []models.Net {
	b := c.Backbone
	return []models.Net{b.Encoder(models.SharedVariance), b.Decoder("decoder"), b.NoisyDecoder("generator", optionsOf[*AVAEOptions](c).Xi), b.Critic()}
}

// avaeExported turns trained parameters into the exported nets' (Backbone.Decoder, z
// alone): with Xi, the generator is exported at ξ = 0, its mean, so that it keeps the
// decoders' contract; its first layer keeps the rows that read z.
func avaeExported(c Config, params map[string][]float32) error {
	xi := optionsOf[*AVAEOptions](c).Xi
	if xi == 0 {
		return nil
	}
	return c.Backbone.DropNoise("generator", xi, params)
}

// generate runs the generator on latents z: Gen(z, ξ) with the phase's own draw of ξ when
// Xi is set, Gen(z) otherwise. record says whether its batch-norm statistics are
// recorded (once per phase).
func generate(s *stepGraph, z *Node, record bool) netOutputs {
	in := z
	if optionsOf[*AVAEOptions](s.cfg).Xi > 0 {
		in = Concatenate([]*Node{z, s.noise["xi"]}, -1)
	}
	if record {
		return s.forward("generator", in)
	}
	return s.forwardWith("generator", nil, in)
}

// avaeVAELoss is the VAE's loss, rec(x, Dec(z_q)) + beta·KL(x); it also reports sigma_E,
// averaged over the latent's dimensions.
func avaeVAELoss(s *stepGraph) (*Node, map[string]*Node) {
	loss, metrics := vaeLoss(s, optionsOf[*AVAEOptions](s.cfg).Beta)
	metrics["sigma"] = ReduceAllMean(Exp(MulScalar(s.params["encoder/logvar/bias"], 0.5)))
	return loss, metrics
}

// avaeCriticLoss is the critic's cross-entropy (Eq. 13), C the probability that an image
// is fake: −mean log(1 − C(x)) − mean log C(Gen(z_p)), the fakes detached. It also
// reports the critic's accuracy over the real and the fake images together.
func avaeCriticLoss(s *stepGraph) (*Node, map[string]*Node) {
	fake := StopGradient(generate(s, s.noise["z_p"], false).Out["image"])
	realLogit := s.forward("critic", s.images).Out["logit"]
	fakeLogit := s.forwardWith("critic", nil, fake).Out["logit"]
	return criticLoss(realLogit, fakeLogit), map[string]*Node{"critic_acc": criticAccuracy(realLogit, fakeLogit)}
}

// criticLoss is Eq. 13 from the critic's logits l ([n, 1] each), with C = sigmoid(l):
// −log(1 − C) = softplus(l) and −log C = softplus(−l).
func criticLoss(realLogit, fakeLogit *Node) *Node {
	return Add(ReduceAllMean(softplus(realLogit)), ReduceAllMean(softplus(Neg(fakeLogit))))
}

// criticAccuracy is the fraction of real images with a negative logit and of fakes with a
// positive one, over both sets.
func criticAccuracy(realLogit, fakeLogit *Node) *Node {
	zero := ScalarZero(realLogit.Graph(), realLogit.DType())
	right := Add(ReduceAllSum(ConvertDType(LessThan(realLogit, zero), realLogit.DType())),
		ReduceAllSum(ConvertDType(GreaterThan(fakeLogit, zero), fakeLogit.DType())))
	return DivScalar(right, float64(realLogit.Shape().Size()+fakeLogit.Shape().Size()))
}

// avaeGeneratorLoss is the generator's loss L_G = L_Z^b + L_M (Eq. 15, 16) on x =
// Gen(z_p): L_Z^b through the encoder, L_M = logit C(x) through the critic, both
// averaged over the batch. Only the generator is updated: the encoder and the critic
// pass the gradient through and keep their weights, and sigma_E is held fixed.
func avaeGeneratorLoss(s *stepGraph) (*Node, map[string]*Node) {
	zp := s.noise["z_p"]
	x := generate(s, zp, true).Out["image"]
	enc := s.forwardWith("encoder", nil, x)
	lz := ReduceAllMean(latentLoss(enc.Out["mu"], StopGradient(enc.Out["logvar"]), zp))
	lm := ReduceAllMean(s.forwardWith("critic", nil, x).Out["logit"])
	return Add(lz, lm), map[string]*Node{"lz": lz, "lm": lm}
}

// latentLoss is L_Z^b (Eq. 16) per example ([n, d] inputs, [n] result):
//
//	1/2 ‖(mu − sqrt(1 − sigma²)·z) / sigma‖²,  sigma² = exp(logvar),
//
// with 1 − sigma² clamped at zero, where a sigma above 1 would leave the root undefined.
func latentLoss(mu, logvar, z *Node) *Node {
	keep := Sqrt(Max(OneMinus(Exp(logvar)), ScalarZero(logvar.Graph(), logvar.DType())))
	r := Mul(Sub(mu, Mul(keep, z)), Exp(MulScalar(logvar, -0.5)))
	return MulScalar(ReduceSum(Square(r), -1), 0.5)
}
