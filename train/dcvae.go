package train

import (
	"flag"
	"fmt"
	"math/rand/v2"

	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // graph-building code reads better unqualified.

	"github.com/latentzoo/latentzoo/models"
)

// This file holds the two families trained against a discriminator D
// (models.Backbone.Discriminator): DC-VAE (Parmar et al.) and its baseline VAE/GAN
// (Larsen et al.). Every iteration runs two phases: D's (Eq. 4, and for DC-VAE the
// instance-level contrast), then the encoder's and decoder's, with D held fixed. Each
// phase sees the weights the earlier one left and draws its own noise.
//
// Departures, each for a reason stated where it is made:
//   - Eq. 9 reads min_{E,G} max_D of IELBO + GAN, but a D that maximised the contrastive
//     loss would make its embeddings useless; as the authors' code does, D minimises the
//     contrastive loss beside its GAN loss (the reconstructions detached).
//   - The queues hold detached embeddings of real images from D as it was when they went
//     in, as in MoCo; there is no momentum copy of D (the authors' code keeps one).
//   - The local-patch contrast has the other real images of the batch as its only
//     negatives (its vectors have D's channel count, not the embedding size, and a queue
//     of patches from other locations would mix locations).
//   - DC-VAE's D weighs each of its two fake sets by 1/2, as the authors' code does, where
//     Eq. 4 weighs them 1 each: with spectral norm D's logit margin is small, and at 1
//     each its bias settles where every image, real ones too, reads as fake, and D stops
//     shaping the reconstructions. VAE/GAN's D keeps Eq. 4 as written: at 1 each it leans
//     toward "fake" but still discriminates. docs/training-notes.md has the measurements.

// DCVAEOptions are DC-VAE's options.
type DCVAEOptions struct {
	// Beta weighs the KL term of the IELBO.
	Beta float64 `json:"beta"`
	// Temperature divides the similarities of the instance-level contrast.
	Temperature float64 `json:"temperature,omitempty"`
	// QueueSize is the number of real-image embeddings kept as negatives, in one queue
	// per contrastive head.
	QueueSize int `json:"queue_size,omitempty"`
	// NoGAN and NoContrastive switch the set-level (GAN) and instance-level
	// (contrastive) terms off, for the ablations of the paper's Table 1: with
	// NoContrastive the VAE's pixel reconstruction error (Config.Rec) replaces the
	// contrastive loss; with both, the run is a VAE. Always written, so that every run
	// says which row it is.
	NoGAN         bool `json:"no_gan"`
	NoContrastive bool `json:"no_contrastive"`
	// PatchAfter is the step from which the local-patch contrast is added (sec. 4.2).
	PatchAfter int `json:"patch_after,omitempty"`
}

// Validate checks the options against the run's batch size.
func (o *DCVAEOptions) Validate(c Config) error {
	switch {
	case o.Temperature <= 0:
		return fmt.Errorf("config: dcvae needs a positive temperature")
	case o.QueueSize < c.BatchSize:
		return fmt.Errorf("config: dcvae's queue (%d) must hold at least one batch (%d)", o.QueueSize, c.BatchSize)
	case o.PatchAfter < 0:
		return fmt.Errorf("config: patch_after must not be negative, got %d", o.PatchAfter)
	case o.Beta < 0:
		return fmt.Errorf("config: dcvae's beta must not be negative, got %g", o.Beta)
	}
	return nil
}

// Flags defines -beta, -temperature, -queue, -no-gan, -no-contrastive and -patch-after.
func (o *DCVAEOptions) Flags(fs *flag.FlagSet) {
	fs.Float64Var(&o.Beta, "beta", o.Beta, "weight of the KL term")
	fs.Float64Var(&o.Temperature, "temperature", o.Temperature, "temperature of the instance-level contrast")
	fs.IntVar(&o.QueueSize, "queue", o.QueueSize, "real-image embeddings kept as negatives, per contrastive head")
	fs.BoolVar(&o.NoGAN, "no-gan", o.NoGAN, "drop the set-level GAN term (an ablation)")
	fs.BoolVar(&o.NoContrastive, "no-contrastive", o.NoContrastive, "replace the instance-level contrast by the pixel reconstruction error (an ablation; with -no-gan, a VAE)")
	fs.IntVar(&o.PatchAfter, "patch-after", o.PatchAfter, "step from which the local-patch contrast is added")
}

// VAEGANOptions are VAE/GAN's options.
type VAEGANOptions struct {
	// Beta weighs the KL term of the encoder's loss.
	Beta float64 `json:"beta"`
	// Gamma weighs the feature reconstruction error in the decoder's loss (Larsen et
	// al.'s γ).
	Gamma float64 `json:"gamma,omitempty"`
}

// Validate checks that the weights are not negative.
func (o *VAEGANOptions) Validate(Config) error {
	if o.Gamma < 0 || o.Beta < 0 {
		return fmt.Errorf("config: vaegan's gamma and beta must not be negative")
	}
	return nil
}

// Flags defines -beta and -gamma.
func (o *VAEGANOptions) Flags(fs *flag.FlagSet) {
	fs.Float64Var(&o.Beta, "beta", o.Beta, "weight of the KL term")
	fs.Float64Var(&o.Gamma, "gamma", o.Gamma, "weight of the feature reconstruction error in the decoder's loss")
}

// ganDefaults are the settings DC-VAE's sec. 5.1 trains with: Adam lr 2e-4, betas (0,
// 0.9), batch 128. VAE/GAN is trained the same way for Table 1's comparison, on the same
// discriminator with spectral norm (the AutoGAN discriminator DC-VAE adapts has it).
func ganDefaults(c *Config) {
	c.LR, c.Beta1, c.Beta2, c.BatchSize = 2e-4, 0, 0.9, 128
	c.Backbone.SpectralNorm = true
}

func init() {
	noise := func(c Config) map[string]int {
		return map[string]int{"eps": c.Backbone.Latent, "z_p": c.Backbone.Latent}
	}
	register(family{
		name: "dcvae",
		defaults: func(c *Config) {
			ganDefaults(c)
			// A queue of 4096 negatives (the paper's 8096 is for CIFAR-10 on a GPU; supp.
			// A.3: more is better), local patches after 2000 steps (the paper says "after
			// certain iterations"). The paper states no temperature and weighs the KL by 1
			// (Eq. 8); the authors' code uses a temperature of 0.07 and weighs a batch's
			// summed KL by 1e-6, 1.3e-4 per image at batch 128. Both matter: at KL weight
			// 1 the latent collapses, and at temperature 1 the contrastive loss barely
			// falls (docs/training-notes.md).
			c.Options = &DCVAEOptions{Beta: 1e-4, Temperature: 0.07, QueueSize: 4096, PatchAfter: 2000}
		},
		nets:     ganNets,
		noise:    noise,
		state:    dcvaeState,
		schedule: patchSchedule,
		phases: []phase{
			{name: "discriminator", update: []string{"discriminator"}, metrics: []string{"d_acc", "d_real", "d_rec", "d_smp", "gan", "contrast"},
				loss: dcvaeDiscriminatorLoss,
				enabled: func(c Config) bool {
					o := optionsOf[*DCVAEOptions](c)
					return !o.NoGAN || !o.NoContrastive
				}},
			{name: "autoencoder", update: []string{"encoder", "decoder"}, metrics: []string{"contrast", "patch", "kl", "rec", "gan"},
				loss: dcvaeAutoencoderLoss},
		},
	})
	register(family{
		name: "vaegan",
		defaults: func(c *Config) {
			ganDefaults(c)
			// Larsen et al. give no γ for this setting: 1 weighs the feature error like
			// the encoder's.
			c.Options = &VAEGANOptions{Beta: 1, Gamma: 1}
		},
		nets:  ganNets,
		noise: noise,
		phases: []phase{
			{name: "discriminator", update: []string{"discriminator"}, metrics: []string{"d_acc", "d_real", "d_rec", "d_smp"}, loss: vaeganDiscriminatorLoss},
			{name: "autoencoder", update: []string{"encoder", "decoder"}, metrics: []string{"feature", "kl", "rec", "gan"},
				loss: vaeganAutoencoderLoss},
		},
	})
}

// ganNets are the encoder, the decoder and the discriminator.
func ganNets(c Config) []models.Net {
	b := c.Backbone
	return []models.Net{b.Encoder(models.Posterior), b.Decoder("decoder"), b.Discriminator()}
}

// queueMidName names DC-VAE's queue of the intermediate head's real-image embeddings;
// queueName holds the last head's.
const queueMidName = "queue_mid"

// dcvaeState is DC-VAE's two queues of QueueSize embeddings, random unit vectors at
// step 0 as in MoCo.
func dcvaeState(c Config) []stateVar {
	size := optionsOf[*DCVAEOptions](c).QueueSize
	var vs []stateVar
	for _, name := range []string{queueName, queueMidName} {
		vs = append(vs, stateVar{name: name, shape: []int{size, models.EmbedSize},
			init: func(_ map[string][]float32, r *rand.Rand) []float32 {
				return randomUnitRows(r, size, models.EmbedSize)
			}})
	}
	return vs
}

// patchSchedule gives, at a step, "patch_on", 1 from PatchAfter on and 0 before, and
// "patch_loc", the flat index (row·side + column) of the location on D's intermediate
// feature map that the step's local-patch contrast pairs: drawn from a stream seeded by
// the run's seed and the step alone, so that a resumed run draws the same.
func patchSchedule(c Config, step, _ int64) map[string]float64 {
	on := 0.0
	if step >= int64(optionsOf[*DCVAEOptions](c).PatchAfter) {
		on = 1
	}
	side := c.Backbone.MidSide()
	r := rand.New(rand.NewPCG(uint64(c.Seed), uint64(step)^0x9a7c4))
	return map[string]float64{"patch_on": on, "patch_loc": float64(r.IntN(side * side))}
}

// fakes are the decoder's images of one phase: reconstructions G(z_q) and samples G(z_p).
type fakes struct {
	enc, dec       netOutputs // the encoder's outputs, the decoder's on z_q
	recon, samples *Node
}

// decode runs the encoder and the decoder: in training mode with their batch-norm
// statistics recorded when train is set, detached and unrecorded otherwise.
func decode(s *stepGraph, train bool) fakes {
	run := func(net string, x *Node) netOutputs {
		if train {
			return s.forward(net, x)
		}
		return s.forwardWith(net, nil, x)
	}
	enc := run("encoder", s.images)
	z := reparameterize(enc.Out["mu"], enc.Out["logvar"], s.noise["eps"])
	dec := run("decoder", z)
	f := fakes{enc: enc, dec: dec, recon: dec.Out["image"], samples: s.forwardWith("decoder", nil, s.noise["z_p"]).Out["image"]}
	if !train {
		f.recon, f.samples = StopGradient(f.recon), StopGradient(f.samples)
	}
	return f
}

// discriminate runs D on x; when record is set its batch-norm statistics and
// power-iteration vectors are recorded (once per phase, on the real images).
func discriminate(s *stepGraph, x *Node, record bool) netOutputs {
	if record {
		return s.forward("discriminator", x)
	}
	return s.forwardWith("discriminator", nil, x)
}

// dcvaeDiscriminatorLoss is D's loss: the GAN loss of Eq. 4 on real images against
// both kinds of fake, each weighed 1/2, unless NoGAN, plus the instance-level contrast
// of the detached reconstructions, unless NoContrastive. It reports D's accuracies (0
// without the GAN term) and each term.
func dcvaeDiscriminatorLoss(s *stepGraph) (*Node, map[string]*Node) {
	o := optionsOf[*DCVAEOptions](s.cfg)
	f := decode(s, false)
	realOut := discriminate(s, s.images, true)
	rec := discriminate(s, f.recon, false)
	zero := ScalarZero(s.images.Graph(), s.images.DType())
	gan, contrast := zero, zero
	metrics := map[string]*Node{"d_acc": zero, "d_real": zero, "d_rec": zero, "d_smp": zero}
	if !o.NoGAN {
		smp := discriminate(s, f.samples, false)
		gan = ganDiscriminatorLoss(realOut.Out["logit"], 0.5, rec.Out["logit"], smp.Out["logit"])
		metrics = discriminatorAccuracies(realOut.Out["logit"], rec.Out["logit"], smp.Out["logit"])
	}
	if !o.NoContrastive {
		contrast, _ = instanceContrast(s, realOut, rec)
	}
	metrics["gan"], metrics["contrast"] = gan, contrast
	return Add(gan, contrast), metrics
}

// dcvaeAutoencoderLoss is the encoder's and decoder's loss (Eq. 9 with D fixed):
// IELBO = L_inst + beta·KL (Eq. 8), or with NoContrastive the VAE's rec + beta·KL, plus
// the generator side of Eq. 4 on G(z_q) and G(z_p), unless NoGAN. The batch's real
// embeddings go into the queues. It also reports the pixel reconstruction error.
func dcvaeAutoencoderLoss(s *stepGraph) (*Node, map[string]*Node) {
	o := optionsOf[*DCVAEOptions](s.cfg)
	f := decode(s, true)
	mu, logvar := f.enc.Out["mu"], f.enc.Out["logvar"]
	kl := ReduceAllMean(klDivergence(mu, logvar))
	rec := ReduceAllMean(reconstructionError(s.cfg.Rec, f.dec, "image", s.images))
	zero := ScalarZero(s.images.Graph(), s.images.DType())
	gan, contrast, patch := zero, zero, zero
	var realOut, recon netOutputs
	if !o.NoGAN || !o.NoContrastive {
		realOut, recon = discriminate(s, s.images, false), discriminate(s, f.recon, false)
	}
	fidelity := rec
	if !o.NoContrastive {
		contrast, patch = instanceContrast(s, realOut, recon)
		fidelity = contrast
		s.setState(queueName, enqueue(s.state[queueName], StopGradient(realOut.Out["embed"])))
		s.setState(queueMidName, enqueue(s.state[queueMidName], StopGradient(realOut.Out["embed_mid"])))
	}
	if !o.NoGAN {
		gan = ganGeneratorLoss(recon.Out["logit"], discriminate(s, f.samples, false).Out["logit"])
	}
	loss := Add(Add(fidelity, MulScalar(kl, o.Beta)), gan)
	return loss, map[string]*Node{"contrast": contrast, "patch": patch, "kl": kl, "rec": rec, "gan": gan}
}

// instanceContrast is DC-VAE's multi-scale instance-level loss L_inst (Eq. 6, sec. 4.2)
// from D's outputs on real images x and their reconstructions xr: the mean of InfoNCE at
// the last stage's and the intermediate stage's embedding heads (each against its
// queue), and, once the schedule's "patch_on" is 1, of the local-patch InfoNCE at the
// step's location "patch_loc". The authors weigh the heads equally (1/number of layers);
// the paper gives no weights. It also returns the patch term alone.
func instanceContrast(s *stepGraph, realOut, recon netOutputs) (loss, patch *Node) {
	t := optionsOf[*DCVAEOptions](s.cfg).Temperature
	last := instanceLoss(recon.Out["embed"], realOut.Out["embed"], s.state[queueName], t)
	mid := instanceLoss(recon.Out["embed_mid"], realOut.Out["embed_mid"], s.state[queueMidName], t)
	loc := s.scalars["patch_loc"]
	patch = instanceLoss(patchVectors(recon.Out["patch"], loc), patchVectors(realOut.Out["patch"], loc), nil, t)
	on := s.scalars["patch_on"]
	sum := Add(Add(last, mid), Mul(on, patch))
	return Div(sum, AddScalar(on, 2)), patch
}

// instanceLoss is Eq. 6 with cosine similarities of unit rows: for queries q [n, d]
// (reconstructions) and keys k [n, d] (their real images),
//
//	−mean_i log( exp(q_i·k_i/t) / (Σ_j exp(q_i·k_j/t) + Σ_m exp(q_i·Q_m/t)) ),
//
// j over the batch (the positive and the other real images) and m over the queue Q
// [K, d] of earlier real embeddings (none when queue is nil).
func instanceLoss(q, k, queue *Node, t float64) *Node {
	logits := []*Node{MatMul(q, Transpose(k, 0, 1))}
	if queue != nil {
		logits = append(logits, MatMul(q, Transpose(queue, 0, 1)))
	}
	all := MulScalar(Concatenate(logits, 1), 1/t)
	pos := MulScalar(ReduceAndKeep(Mul(q, k), ReduceSum, -1), 1/t)
	return ReduceAllMean(Sub(logSumExp(all), pos))
}

// patchVectors takes from feature maps [N, C, H, W] the 1x1xC vector at flat location
// loc (a scalar, row·W + column) of every image, L2-normalised: [N, C]. The epsilon goes
// under the square root: a location in the images' zero padding has an all-zero vector
// at initialisation (the biases start at 0), where the root's derivative is infinite and
// would turn D's gradients NaN even while the patch term is switched off (0·∞).
func patchVectors(maps, loc *Node) *Node {
	d := maps.Shape().Dimensions
	n, c, hw := d[0], d[1], d[2]*d[3]
	flat := Reshape(maps, n, c, hw)
	at := ConvertDType(Equal(Iota(maps.Graph(), shapes.Make(maps.DType(), hw), 0), ConvertDType(loc, maps.DType())), maps.DType())
	v := ReduceSum(Mul(flat, Reshape(at, 1, 1, hw)), -1)
	return Div(v, Sqrt(AddScalar(ReduceAndKeep(Square(v), ReduceSum, -1), models.SpectralEpsilon)))
}

// ganDiscriminatorLoss is D's side of Eq. 4 from its logits (positive: real), each
// [n, 1]: −mean log D(x) − w·Σ_f mean log(1 − D(f)) over the kinds of fake f, w the
// fakes' weight, with D = sigmoid: −log D = softplus(−l), −log(1 − D) = softplus(l).
func ganDiscriminatorLoss(realLogit *Node, fakeWeight float64, fakeLogits ...*Node) *Node {
	loss := ReduceAllMean(softplus(Neg(realLogit)))
	for _, f := range fakeLogits {
		loss = Add(loss, MulScalar(ReduceAllMean(softplus(f)), fakeWeight))
	}
	return loss
}

// ganGeneratorLoss is the non-saturating generator side of Eq. 4: Σ_f mean −log D(f)
// over the kinds of fake f.
func ganGeneratorLoss(fakeLogits ...*Node) *Node {
	var loss *Node
	for _, f := range fakeLogits {
		t := ReduceAllMean(softplus(Neg(f)))
		if loss == nil {
			loss = t
		} else {
			loss = Add(loss, t)
		}
	}
	return loss
}

// discriminatorAccuracy is the fraction of real images with a positive logit and of
// fakes with a negative one, over all of them (the critic's accuracy with its sign
// convention turned round).
func discriminatorAccuracy(realLogit *Node, fakeLogits ...*Node) *Node {
	return criticAccuracy(Neg(realLogit), Neg(Concatenate(fakeLogits, 0)))
}

// discriminatorAccuracies are D's accuracy over the three sets, "d_acc", and on each:
// "d_real" (real images with a positive logit), "d_rec" and "d_smp" (reconstructions and
// samples with a negative one). Where each fake set weighs like the real one (Eq. 4 as
// written), a D that cannot tell the sets apart settles at D = 1/3 everywhere: d_real 0,
// d_rec and d_smp 1, d_acc 2/3.
func discriminatorAccuracies(realLogit, recLogit, smpLogit *Node) map[string]*Node {
	zero := ScalarZero(realLogit.Graph(), realLogit.DType())
	share := func(above *Node) *Node { return ReduceAllMean(ConvertDType(above, realLogit.DType())) }
	return map[string]*Node{
		"d_acc":  discriminatorAccuracy(realLogit, recLogit, smpLogit),
		"d_real": share(GreaterThan(realLogit, zero)),
		"d_rec":  share(LessThan(recLogit, zero)),
		"d_smp":  share(LessThan(smpLogit, zero)),
	}
}

// vaeganDiscriminatorLoss is D's side of Eq. 4 on real images against G(z_q) and
// G(z_p), both detached; it reports D's accuracies.
func vaeganDiscriminatorLoss(s *stepGraph) (*Node, map[string]*Node) {
	f := decode(s, false)
	realLogit := discriminate(s, s.images, true).Out["logit"]
	rec := discriminate(s, f.recon, false).Out["logit"]
	smp := discriminate(s, f.samples, false).Out["logit"]
	return ganDiscriminatorLoss(realLogit, 1, rec, smp), discriminatorAccuracies(realLogit, rec, smp)
}

// vaeganAutoencoderLoss is VAE/GAN's encoder and decoder losses in one (Larsen et al.):
// the encoder minimises beta·KL + ‖F_D(x) − F_D(G(z_q))‖², the decoder γ·‖F_D(x) −
// F_D(G(z_q))‖² plus the generator side of Eq. 4 on G(z_q) and G(z_p). The two differ, so
// G(z_q) is decoded twice with the same values: once with the decoder's weights detached
// (its gradient reaches the encoder alone) and once from a detached z_q (the decoder
// alone). The feature error is summed over D's last feature map and averaged over the
// batch; the pixel error is reported beside it.
func vaeganAutoencoderLoss(s *stepGraph) (*Node, map[string]*Node) {
	o := optionsOf[*VAEGANOptions](s.cfg)
	enc := s.forward("encoder", s.images)
	mu, logvar := enc.Out["mu"], enc.Out["logvar"]
	z := reparameterize(mu, logvar, s.noise["eps"])
	frozen := map[string]*Node{}
	for _, p := range s.nets["decoder"].Params() {
		frozen[p.Name] = StopGradient(s.params[p.Name])
	}
	toEncoder := s.forwardWith("decoder", frozen, z).Out["image"]
	dec := s.forward("decoder", StopGradient(z))
	toDecoder := dec.Out["image"]
	samples := s.forwardWith("decoder", nil, s.noise["z_p"]).Out["image"]
	realFeatures := discriminate(s, s.images, false).Out["features"]
	recon := discriminate(s, toDecoder, false)
	featE := featureError(realFeatures, discriminate(s, toEncoder, false).Out["features"])
	featG := featureError(realFeatures, recon.Out["features"])
	gan := ganGeneratorLoss(recon.Out["logit"], discriminate(s, samples, false).Out["logit"])
	kl := ReduceAllMean(klDivergence(mu, logvar))
	loss := Add(Add(MulScalar(kl, o.Beta), featE), Add(MulScalar(featG, o.Gamma), gan))
	rec := ReduceAllMean(reconstructionError(s.cfg.Rec, dec, "image", s.images))
	return loss, map[string]*Node{"feature": featG, "kl": kl, "rec": rec, "gan": gan}
}

// featureError is ‖F_D(x) − F_D(G(z_q))‖² summed over features ([n, f] each) and
// averaged over the batch.
func featureError(real, recon *Node) *Node {
	return ReduceAllMean(ReduceSum(Square(Sub(real, recon)), -1))
}
