package train

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // graph-building code reads better unqualified.

	"github.com/latentzoo/latentzoo/models"
)

// This file holds the introspective family, in which the encoder is also the critic:
// IntroVAE (Huang et al.), Soft-IntroVAE (Daniel & Tamar) and AS-IntroVAE (Lu et al.).
// Every iteration an encoder phase fits the real images and pushes the posteriors of two
// kinds of fakes, reconstructions G(z_q) and generations G(z_p), detached, away from the
// prior; then a decoder phase fits the real images and pulls the fakes' posteriors back,
// its gradient passing through the (fixed) encoder into the decoder.
//
// The decoder phase encodes the batch again with the encoder as the encoder phase left
// it and draws its own noise; the reference implementations reuse the encoder phase's
// latents and prior samples.

// IntroVAEOptions are IntroVAE's options.
type IntroVAEOptions struct {
	// Beta weighs the real images' KL (β_kl).
	Beta float64 `json:"beta"`
	// BetaRec weighs the reconstruction errors (β_rec).
	BetaRec float64 `json:"beta_rec,omitempty"`
	// BetaNeg weighs the fakes' KL in the encoder's hinge terms and in the decoder's loss
	// (Huang et al.'s α).
	BetaNeg float64 `json:"beta_neg,omitempty"`
	// Margin is the hard margin m on the fakes' KL.
	Margin float64 `json:"margin,omitempty"`
}

// Validate checks that β_rec is positive and the other weights and the margin not
// negative.
func (o *IntroVAEOptions) Validate(c Config) error {
	switch {
	case o.BetaRec <= 0:
		return fmt.Errorf("config: %s needs a positive beta_rec", c.Family)
	case o.Beta < 0 || o.BetaNeg < 0 || o.Margin < 0:
		return fmt.Errorf("config: %s's weights and margin must not be negative", c.Family)
	}
	return nil
}

// Flags defines -beta, -beta-rec, -beta-neg and -margin.
func (o *IntroVAEOptions) Flags(fs *flag.FlagSet) {
	fs.Float64Var(&o.Beta, "beta", o.Beta, "weight of the real images' KL (beta_kl)")
	fs.Float64Var(&o.BetaRec, "beta-rec", o.BetaRec, "weight of the reconstruction errors")
	fs.Float64Var(&o.BetaNeg, "beta-neg", o.BetaNeg, "weight of the fakes' KL in the encoder's hinges and in the decoder's loss")
	fs.Float64Var(&o.Margin, "margin", o.Margin, "hard margin on the fakes' KL")
}

// SoftIntroVAEOptions are Soft-IntroVAE's options, which AS-IntroVAE's include.
type SoftIntroVAEOptions struct {
	// Beta weighs the real images' KL (β_kl), and the fakes' in the decoder's loss.
	Beta float64 `json:"beta"`
	// BetaRec weighs the reconstruction errors (β_rec).
	BetaRec float64 `json:"beta_rec,omitempty"`
	// BetaNeg weighs the fakes' KL inside the encoder's exponential terms (β_neg).
	BetaNeg float64 `json:"beta_neg,omitempty"`
	// Alpha is the exponent of the encoder's terms 1/(2α)·exp(−α·s·ELBO-loss(x_s)),
	// s = 1/(C·H·W).
	Alpha float64 `json:"alpha,omitempty"`
	// Gamma weighs the fakes' terms in the decoder's loss (γ).
	Gamma float64 `json:"gamma,omitempty"`
	// GammaR further weighs the fakes' reconstruction errors in that loss (γ_r).
	GammaR float64 `json:"gamma_r,omitempty"`
}

// Validate checks that β_rec and α are positive and the other weights not negative.
func (o *SoftIntroVAEOptions) Validate(c Config) error {
	switch {
	case o.BetaRec <= 0:
		return fmt.Errorf("config: %s needs a positive beta_rec", c.Family)
	case o.Beta < 0 || o.BetaNeg < 0 || o.Gamma < 0 || o.GammaR < 0:
		return fmt.Errorf("config: %s's weights and margin must not be negative", c.Family)
	case o.Alpha <= 0:
		return fmt.Errorf("config: %s needs a positive alpha", c.Family)
	}
	return nil
}

// Flags defines -beta, -beta-rec, -beta-neg, -alpha, -gamma and -gamma-r.
func (o *SoftIntroVAEOptions) Flags(fs *flag.FlagSet) {
	fs.Float64Var(&o.Beta, "beta", o.Beta, "weight of the KL terms (beta_kl)")
	fs.Float64Var(&o.BetaRec, "beta-rec", o.BetaRec, "weight of the reconstruction errors")
	fs.Float64Var(&o.BetaNeg, "beta-neg", o.BetaNeg, "weight of the fakes' KL inside the encoder's exponentials")
	fs.Float64Var(&o.Alpha, "alpha", o.Alpha, "exponent of the encoder's soft exponential terms")
	fs.Float64Var(&o.Gamma, "gamma", o.Gamma, "weight of the fakes' terms in the decoder's loss")
	fs.Float64Var(&o.GammaR, "gamma-r", o.GammaR, "further weight of the fakes' reconstruction errors in the decoder's loss")
}

// ASIntroVAEOptions are AS-IntroVAE's options: Soft-IntroVAE's and the decay of the
// moving average it exports.
type ASIntroVAEOptions struct {
	SoftIntroVAEOptions
	// EMADecay is the decay of the moving average of the weights that the family
	// exports, reached after a warm-up of min(decay, (1+step)/(10+step)).
	EMADecay float64 `json:"ema_decay,omitempty"`
}

// Validate checks Soft-IntroVAE's options and that the decay is in [0, 1).
func (o *ASIntroVAEOptions) Validate(c Config) error {
	if err := o.SoftIntroVAEOptions.Validate(c); err != nil {
		return err
	}
	if o.EMADecay < 0 || o.EMADecay >= 1 {
		return fmt.Errorf("config: ema_decay must be in [0, 1), got %g", o.EMADecay)
	}
	return nil
}

// Flags defines Soft-IntroVAE's flags and -ema-decay.
func (o *ASIntroVAEOptions) Flags(fs *flag.FlagSet) {
	o.SoftIntroVAEOptions.Flags(fs)
	fs.Float64Var(&o.EMADecay, "ema-decay", o.EMADecay, "decay of the exported moving average of the weights")
}

// softOptions are the options of a soft family's run: Soft-IntroVAE's, or those within
// AS-IntroVAE's.
func softOptions(c Config) *SoftIntroVAEOptions {
	if o, ok := c.Options.(*ASIntroVAEOptions); ok {
		return &o.SoftIntroVAEOptions
	}
	return optionsOf[*SoftIntroVAEOptions](c)
}

// introDefaults are the settings of the introspective papers: Adam (lr 2e-4, default
// betas) and summed squared error; on Fashion-MNIST and MNIST, Soft-IntroVAE's preset
// for both (β_rec 1, β_kl 1, β_neg 256, latent 32) trains on batches of 128.
func introDefaults(c *Config) {
	c.LR, c.Rec = 2e-4, "mse"
	if c.Dataset == "fashion-mnist" || c.Dataset == "mnist" {
		c.BatchSize = 128
	}
}

// softDefaults are Soft-IntroVAE's defaults, which AS-IntroVAE inherits (its α 2, γ 1).
func softDefaults() SoftIntroVAEOptions {
	return SoftIntroVAEOptions{Beta: 1, BetaRec: 1, BetaNeg: 256, Alpha: 2, Gamma: 1, GammaR: 1e-8}
}

func init() {
	register(family{
		name: "introvae",
		defaults: func(c *Config) {
			introDefaults(c)
			// Huang et al.'s α = 0.25 on the fakes' KL, and a margin well above the real
			// images' KL (docs/training-notes.md).
			c.Options = &IntroVAEOptions{Beta: 1, BetaRec: 1, BetaNeg: 0.25, Margin: 40}
		},
		nets:  introNets,
		noise: introNoise(false),
		phases: []phase{
			{name: "encoder", update: []string{"encoder"}, metrics: introMetrics(), loss: introLoss("encoder", introEncoderLoss)},
			{name: "decoder", update: []string{"decoder"}, metrics: introMetrics(), loss: introLoss("decoder", introDecoderLoss)},
		},
	})
	register(family{
		name: "sintrovae",
		defaults: func(c *Config) {
			introDefaults(c)
			o := softDefaults()
			c.Options = &o
		},
		nets:  introNets,
		noise: introNoise(true),
		phases: []phase{
			{name: "encoder", update: []string{"encoder"}, metrics: introMetrics("exp_rec", "exp_gen"), loss: softLoss("encoder", fakeKL)},
			{name: "decoder", update: []string{"decoder"}, metrics: introMetrics(), loss: softLoss("decoder", fakeKL)},
		},
	})
	register(family{
		name: "asintrovae",
		defaults: func(c *Config) {
			introDefaults(c)
			// A moving average of decay 0.999: the paper names none; its code uses 0.999.
			c.Options = &ASIntroVAEOptions{SoftIntroVAEOptions: softDefaults(), EMADecay: 0.999}
		},
		nets:  introNets,
		noise: introNoise(true),
		state: averageState,
		schedule: func(c Config, step, total int64) map[string]float64 {
			return map[string]float64{"c": annealing(step, total), "ema_decay": averageDecay(optionsOf[*ASIntroVAEOptions](c).EMADecay, step)}
		},
		exportAverage: true,
		phases: []phase{
			{name: "encoder", update: []string{"encoder"}, metrics: introMetrics("as", "as_log_scale", "exp_rec", "exp_gen"),
				loss: softLoss("encoder", annealedKL), after: averageAfter("encoder")},
			{name: "decoder", update: []string{"decoder"}, metrics: introMetrics("as", "as_log_scale"),
				loss: softLoss("decoder", annealedKL), after: averageAfter("decoder")},
		},
	})
}

// introNets are the nets of every introspective family: a posterior encoder and a decoder.
func introNets(c Config) []models.Net {
	return []models.Net{c.Backbone.Encoder(models.Posterior), c.Backbone.Decoder("decoder")}
}

// fakeEps names the noise that reparameterises the posteriors of each kind of fake,
// reconstructions and generations, when the soft families decode them again.
var fakeEps = [2]string{"eps_rec", "eps_gen"}

// introNoise declares the noise of a family: the real images' reparameterisation, the
// prior samples and, when fakeRec, each kind of fake's reparameterisation.
func introNoise(fakeRec bool) func(Config) map[string]int {
	return func(c Config) map[string]int {
		d := c.Backbone.Latent
		n := map[string]int{"eps": d, "z_p": d}
		if fakeRec {
			n[fakeEps[0]], n[fakeEps[1]] = d, d
		}
		return n
	}
}

// introMetrics names the metrics of an introspective phase: those every phase reports
// (the real images' reconstruction error and KL, the KL of reconstructions and of
// generations), then extra.
func introMetrics(extra ...string) []string {
	return append([]string{"rec", "kl", "kl_rec", "kl_gen"}, extra...)
}

// introTerms are the per-image terms ([n] each) of one introspective phase.
type introTerms struct {
	rec, kl *Node // the real images': rec(x, G(z_q)) and KL(x)
	// Of the fakes, reconstructions first, then generations: their posteriors, their KL,
	// and (soft families) their reconstruction error rec(sg(x_s), G(z_s)).
	fakeMu, fakeLogvar, fakeKL, fakeRec [2]*Node
}

// introBatch computes the terms of the phase that updates net ("encoder" or "decoder").
// In the encoder phase the fakes are detached before they are encoded. In the decoder
// phase the real images' latents are detached, and so are the fakes' latents before they
// are decoded again, so that the fakes' reconstruction errors reach the decoder only
// through that second decoding. Batch-norm statistics are those of the real images' pass.
func introBatch(s *stepGraph, net string, fakeRec bool) introTerms {
	encoderPhase := net == "encoder"
	enc := s.forward("encoder", s.images)
	mu, logvar := enc.Out["mu"], enc.Out["logvar"]
	z := reparameterize(mu, logvar, s.noise["eps"])
	if !encoderPhase {
		z = StopGradient(z)
	}
	dec := s.forward("decoder", z)
	t := introTerms{rec: reconstructionError(s.cfg.Rec, dec, "image", s.images), kl: klDivergence(mu, logvar)}
	fakes := [2]*Node{dec.Out["image"], s.forwardWith("decoder", nil, s.noise["z_p"]).Out["image"]}
	for i, x := range fakes {
		if encoderPhase {
			x = StopGradient(x)
		}
		e := s.forwardWith("encoder", nil, x)
		t.fakeMu[i], t.fakeLogvar[i] = e.Out["mu"], e.Out["logvar"]
		t.fakeKL[i] = klDivergence(t.fakeMu[i], t.fakeLogvar[i])
		if fakeRec {
			zs := reparameterize(t.fakeMu[i], t.fakeLogvar[i], s.noise[fakeEps[i]])
			if !encoderPhase {
				zs = StopGradient(zs)
			}
			t.fakeRec[i] = reconstructionError(s.cfg.Rec, s.forwardWith("decoder", nil, zs), "image", StopGradient(x))
		}
	}
	return t
}

// metrics are the batch means of the terms every introspective phase reports.
func (t introTerms) metrics() map[string]*Node {
	return map[string]*Node{"rec": ReduceAllMean(t.rec), "kl": ReduceAllMean(t.kl),
		"kl_rec": ReduceAllMean(t.fakeKL[0]), "kl_gen": ReduceAllMean(t.fakeKL[1])}
}

// introLoss is IntroVAE's loss function of the phase of net, combining its terms with loss.
func introLoss(net string, loss func(*IntroVAEOptions, introTerms) *Node) func(*stepGraph) (*Node, map[string]*Node) {
	return func(s *stepGraph) (*Node, map[string]*Node) {
		t := introBatch(s, net, false)
		return loss(optionsOf[*IntroVAEOptions](s.cfg), t), t.metrics()
	}
}

// realLoss is β_rec·rec(x) + β_kl·KL(x), averaged over the batch.
func realLoss(betaRec, betaKL float64, t introTerms) *Node {
	return Add(MulScalar(ReduceAllMean(t.rec), betaRec), MulScalar(ReduceAllMean(t.kl), betaKL))
}

// introEncoderLoss is IntroVAE's encoder loss (Huang et al.'s L_E, AS-IntroVAE's Eq. 3):
// β_rec·rec(x) + β_kl·KL(x) + β_neg·Σ_s [m − KL(x_s)]⁺, averaged over the batch, the
// hinge taken per image.
func introEncoderLoss(c *IntroVAEOptions, t introTerms) *Node {
	loss := realLoss(c.BetaRec, c.Beta, t)
	for _, kl := range t.fakeKL {
		hinge := Max(AddScalar(Neg(kl), c.Margin), ScalarZero(kl.Graph(), kl.DType()))
		loss = Add(loss, MulScalar(ReduceAllMean(hinge), c.BetaNeg))
	}
	return loss
}

// introDecoderLoss is IntroVAE's decoder loss (Huang et al.'s L_G): β_rec·rec(x) +
// β_neg·Σ_s KL(x_s), averaged over the batch. AS-IntroVAE's Eq. 3 leaves out the
// reconstruction term, without which the decoder never learns to reconstruct.
func introDecoderLoss(c *IntroVAEOptions, t introTerms) *Node {
	loss := MulScalar(ReduceAllMean(t.rec), c.BetaRec)
	for _, kl := range t.fakeKL {
		loss = Add(loss, MulScalar(ReduceAllMean(kl), c.BetaNeg))
	}
	return loss
}

// imageScale is Soft-IntroVAE's scale 1/(C·H·W), which makes its losses per-pixel.
func imageScale(c Config) float64 {
	return 1 / float64(c.Backbone.Channels*c.Backbone.Resolution*c.Backbone.Resolution)
}

// fakeKL gives Soft-IntroVAE's KL terms of the fakes: their KL, and no further metrics.
func fakeKL(_ *stepGraph, t introTerms) ([2]*Node, map[string]*Node) {
	return t.fakeKL, nil
}

// annealedKL gives AS-IntroVAE's KL-like terms of the fakes (Eq. 9): c·KL(x_s) +
// (1−c)·D(x_r, x_g), with c the annealing weight and D the AS distance between the
// posteriors of reconstructions and generations, in its self-normalised form (see
// asDistance).
//
// As in the authors' code, D sees the posteriors' means and log-variances through tanh,
// which bounds how far apart the encoder can push the two sets. Without it the encoder
// buys distance by tightening every posterior and the run never learns to reconstruct
// (TestASIntroKeepsItsPosteriors; docs/training-notes.md has the measurements).
func annealedKL(s *stepGraph, t introTerms) ([2]*Node, map[string]*Node) {
	d, logScale := asDistance(Tanh(t.fakeMu[0]), Tanh(t.fakeLogvar[0]), Tanh(t.fakeMu[1]), Tanh(t.fakeLogvar[1]))
	c := s.scalars["c"]
	return [2]*Node{anneal(t.fakeKL[0], d, c), anneal(t.fakeKL[1], d, c)},
		map[string]*Node{"as": d, "as_log_scale": logScale}
}

// anneal is c·kl + (1−c)·d for per-image kl, and scalars d and c.
func anneal(kl, d, c *Node) *Node {
	return Add(Mul(kl, c), Mul(d, OneMinus(c)))
}

// softLoss is the loss function of a phase of net in the soft families: fakeKL gives the
// fakes' KL-like terms K_s and any metrics besides the common ones.
func softLoss(net string, fakeKL func(*stepGraph, introTerms) ([2]*Node, map[string]*Node)) func(*stepGraph) (*Node, map[string]*Node) {
	return func(s *stepGraph) (*Node, map[string]*Node) {
		t := introBatch(s, net, true)
		k, extra := fakeKL(s, t)
		metrics := t.metrics()
		for name, v := range extra {
			metrics[name] = v
		}
		if net == "decoder" {
			return softDecoderLoss(s.cfg, t, k), metrics
		}
		loss, exps := softEncoderLoss(s.cfg, t, k)
		metrics["exp_rec"], metrics["exp_gen"] = exps[0], exps[1]
		return loss, metrics
	}
}

// softEncoderLoss is the encoder's loss of the soft families (Soft-IntroVAE Eq. 4 in its
// reference implementation's scaled form, AS-IntroVAE Eq. 9), with s = 1/(C·H·W):
//
//	s·(β_rec·rec(x) + β_kl·KL(x)) + 1/(2α)·Σ_s mean exp(−α·s·(β_rec·rec_s + β_neg·K_s))
//
// for fakes' KL-like terms K_s. It also returns the two exponential terms.
func softEncoderLoss(cfg Config, t introTerms, k [2]*Node) (*Node, [2]*Node) {
	c := softOptions(cfg)
	scale := imageScale(cfg)
	loss := MulScalar(realLoss(c.BetaRec, c.Beta, t), scale)
	var exps [2]*Node
	for i := range exps {
		elbo := Add(MulScalar(t.fakeRec[i], c.BetaRec), MulScalar(k[i], c.BetaNeg))
		exps[i] = expELBO(elbo, c.Alpha*scale)
		loss = Add(loss, MulScalar(exps[i], 1/(2*c.Alpha)))
	}
	return loss, exps
}

// expELBO is mean_i exp(−a·e_i) for per-image ELBO losses e_i ≥ 0 and a > 0. The
// exponent is never positive, so the exponential cannot overflow; at extreme losses it
// underflows to zero, and so does its gradient.
func expELBO(e *Node, a float64) *Node {
	return ReduceAllMean(Exp(MulScalar(e, -a)))
}

// softDecoderLoss is the decoder's loss of the soft families, with s = 1/(C·H·W):
//
//	s·(β_rec·rec(x) + γ/2·Σ_s (β_kl·K_s + γ_r·β_rec·rec_s))
//
// averaged over the batch, for fakes' KL-like terms K_s.
func softDecoderLoss(cfg Config, t introTerms, k [2]*Node) *Node {
	c := softOptions(cfg)
	loss := MulScalar(ReduceAllMean(t.rec), c.BetaRec)
	for i := range k {
		fake := Add(MulScalar(ReduceAllMean(k[i]), c.Beta), MulScalar(ReduceAllMean(t.fakeRec[i]), c.GammaR*c.BetaRec))
		loss = Add(loss, MulScalar(fake, c.Gamma/2))
	}
	return MulScalar(loss, imageScale(cfg))
}

// annealing is AS-IntroVAE's weight c = min(5·i/T, 1) of the fakes' KL against the AS
// distance at step i of T (Eq. 9).
func annealing(step, total int64) float64 {
	if total <= 0 {
		return 1
	}
	return min(5*float64(step)/float64(total), 1)
}

// asLogKernel is log k(a_i, b_j) for every pair of rows of two sets of diagonal
// Gaussians N(mu, exp(logvar)) ([n, d] and [m, d]), as [n, m]: the log of their overlap
// ∫ q_i·q_j = N(mu_a,i; mu_b,j, diag(var_a,i + var_b,j)) (AS-IntroVAE Eq. 8). It works
// from log-variances, log(var_a + var_b) = max + log1p(exp(−|Δ|)), so that neither the
// variances nor the product over d leave the floating-point range; written as
// (a+b)/2 + |a−b|/2 + log1p(exp(−|a−b|)) its gradient is right at ties (the diagonal).
func asLogKernel(muA, lvA, muB, lvB *Node) *Node {
	d := muA.Shape().Dimensions[1]
	a, b := ExpandAxes(lvA, 1), ExpandAxes(lvB, 0) // [n, 1, d], [1, m, d]
	gap := Abs(Sub(a, b))
	logVar := Add(MulScalar(Add(Add(a, b), gap), 0.5), Log1p(Exp(Neg(gap))))
	quad := Mul(Square(Sub(ExpandAxes(muA, 1), ExpandAxes(muB, 0))), Exp(Neg(logVar)))
	return AddScalar(MulScalar(ReduceSum(Add(logVar, quad), -1), -0.5), -0.5*float64(d)*math.Log(2*math.Pi))
}

// logMeanExp is log(mean exp(x)) over every element of x, as a scalar, computed around
// the largest element so that it neither overflows nor underflows. (Reducing a [1, n]
// reshape with logSumExp instead builds a gradient that the ONNX Runtime backend cannot
// compile.)
func logMeanExp(x *Node) *Node {
	m := StopGradient(ReduceAllMax(x))
	return Add(m, AddScalar(Log(ReduceAllSum(Exp(Sub(x, m)))), -math.Log(float64(x.Shape().Size()))))
}

// asDistance is AS-IntroVAE's adversarial similarity distance (Eq. 7) between the
// posteriors of two sets r and g, given by their means and log-variances ([n, d] each):
//
//	D = mean_ij k(r_i, r_j) + mean_ij k(g_i, g_j) − 2·mean_ij k(r_i, g_j)
//
// over all pairs, with k the overlap of asLogKernel. D is ‖mean_i q_r,i − mean_j q_g,j‖²
// in L², so it is non-negative, symmetric and zero for identical sets.
//
// Over d dimensions the kernel's means span tens of orders of magnitude (at d = 32, about
// e^-40 for posteriors near the prior, beyond e^+40 for tight ones), so D is returned as
// D = exp(logScale)·rel: logScale is the log of the largest of the three means, without
// gradient, and rel = D/exp(logScale) lies in [0, 2]. All three means are computed in log
// space (log-sum-exp), so neither part overflows or underflows. Since logScale carries no
// gradient, rel's gradient is D's, rescaled by a positive factor: the losses use rel, the
// self-normalised distance, which keeps the AS term's gradient on the scale of the others
// instead of vanishing early in training and swamping the rest (and Adam's second
// moments) once the fakes' posteriors tighten.
func asDistance(muR, lvR, muG, lvG *Node) (rel, logScale *Node) {
	rr := logMeanExp(asLogKernel(muR, lvR, muR, lvR))
	gg := logMeanExp(asLogKernel(muG, lvG, muG, lvG))
	rg := logMeanExp(asLogKernel(muR, lvR, muG, lvG))
	logScale = StopGradient(Max(Max(rr, gg), rg))
	rel = Sub(Add(Exp(Sub(rr, logScale)), Exp(Sub(gg, logScale))), MulScalar(Exp(Sub(rg, logScale)), 2))
	// D ≥ 0; rounding can leave a hair below zero when the sets nearly agree.
	return Max(rel, ScalarZero(rel.Graph(), rel.DType())), logScale
}

// averageState is AS-IntroVAE's moving average of every trainable weight of encoder and
// decoder (sec. 5.1), starting from the initial weights; the family exports it.
func averageState(c Config) []stateVar {
	var vs []stateVar
	for _, net := range introNets(c) {
		for _, p := range net.Params() {
			if !p.Trainable() {
				continue
			}
			name := p.Name
			vs = append(vs, stateVar{name: emaPrefix + name, shape: p.Shape,
				init: func(params map[string][]float32, _ *rand.Rand) []float32 {
					return append([]float32(nil), params[name]...)
				}})
		}
	}
	return vs
}

// averageDecay is the decay of the moving average at step: EMADecay, warmed up as
// TensorFlow's ExponentialMovingAverage does with its number of updates, min(decay,
// (1+step)/(10+step)), so that the average of a short run is not mostly its initial
// weights (at 0.999 from the start, 74% of it would still be after 300 steps).
func averageDecay(decay float64, step int64) float64 {
	return min(decay, float64(1+step)/float64(10+step))
}

// averageAfter is the after hook of the phase that updates net: it moves the moving
// averages of net's weights towards their new values, with the step's decay.
func averageAfter(net string) func(*stepGraph, map[string]*Node) {
	return func(s *stepGraph, params map[string]*Node) {
		decay := s.scalars["ema_decay"]
		for p, avg := range emaParams(s) {
			if strings.HasPrefix(p, net+"/") {
				s.setState(emaPrefix+p, movingAverage(avg, params[p], decay))
			}
		}
	}
}
