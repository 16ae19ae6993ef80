package models

import "fmt"

// LatentKind says where latents live and how the prior is sampled.
type LatentKind string

// The latent kinds.
const (
	// Gaussian latents have the prior N(0, I).
	Gaussian LatentKind = "gaussian"
	// Sphere latents have unit norm; the prior is a normalised N(0, I) draw.
	Sphere LatentKind = "sphere"
)

// EncoderKind says what the encoder's head gives.
type EncoderKind string

// The encoder kinds.
const (
	// Posterior encoders give "mu" and "logvar" of a diagonal Gaussian.
	Posterior EncoderKind = "posterior"
	// SharedVariance encoders give "mu" and "logvar" of a diagonal Gaussian whose
	// log-variance is learned but the same for every input (AVAE's sigma_E).
	SharedVariance EncoderKind = "shared-variance"
	// Deterministic encoders give "z" directly.
	Deterministic EncoderKind = "deterministic"
	// Spherical encoders give "z" normalised to the unit sphere.
	Spherical EncoderKind = "spherical"
)

// Backbone configures the DCGAN-style convolutional backbone: an encoder of stride-2 k4
// convolutions and a decoder of stride-2 k4 transposed convolutions, mirror images.
type Backbone struct {
	Resolution int   `json:"resolution"` // input height and width, a multiple of 2^len(Widths)
	Channels   int   `json:"channels"`   // 1 (grey) or 3 (RGB)
	Widths     []int `json:"widths"`     // channels after each encoder stage, e.g. [32, 64, 128]
	Latent     int   `json:"latent"`     // latent size
	BatchNorm  bool  `json:"batch_norm"` // batch norm after every conv but the first and last
	// Classes is the number of classes of a classifier's head; autoencoders leave it 0.
	// A classifier's Latent is the width of its features, the layer before the head.
	Classes int `json:"classes,omitempty"`
	// SpectralNorm puts spectral normalisation on every conv and dense layer of the
	// discriminator (not on the encoder, decoder or critic).
	SpectralNorm bool `json:"spectral_norm,omitempty"`
}

// DefaultBackbone is the 32×32 grey backbone of the built-in models.
func DefaultBackbone() Backbone {
	return Backbone{Resolution: 32, Channels: 1, Widths: []int{32, 64, 128}, Latent: 32}
}

// Validate checks that the backbone's sizes fit together.
func (b Backbone) Validate() error {
	if b.Channels != 1 && b.Channels != 3 {
		return fmt.Errorf("backbone: channels must be 1 or 3, got %d", b.Channels)
	}
	if len(b.Widths) == 0 || b.Latent <= 0 {
		return fmt.Errorf("backbone: need at least one width and a positive latent size")
	}
	for _, w := range b.Widths {
		if w <= 0 {
			return fmt.Errorf("backbone: widths must be positive, got %v", b.Widths)
		}
	}
	if b.Resolution <= 0 || b.Resolution%(1<<len(b.Widths)) != 0 {
		return fmt.Errorf("backbone: resolution %d is not a multiple of %d", b.Resolution, 1<<len(b.Widths))
	}
	return nil
}

// bottom is the spatial size after the last encoder stage.
func (b Backbone) bottom() int { return b.Resolution >> len(b.Widths) }

func (b Backbone) bn(name string, ch int) []Layer {
	if !b.BatchNorm {
		return nil
	}
	return []Layer{{Op: BatchNorm, Name: name, In: ch, Out: ch, Epsilon: 1e-5, Momentum: 0.9}}
}

// convTrunk is the encoder's convolutional trunk, flattened: stride-2 convolutions with
// leaky ReLUs, batch norm after all but the first where the backbone has it. It returns
// the layers and the number of features they give.
func (b Backbone) convTrunk() ([]Layer, int) {
	var trunk []Layer
	in := b.Channels
	for i, w := range b.Widths {
		trunk = append(trunk, Layer{Op: Conv, Name: fmt.Sprintf("conv%d", i), In: in, Out: w, Kernel: 4, Stride: 2, Pad: 1})
		if i > 0 {
			trunk = append(trunk, b.bn(fmt.Sprintf("bn%d", i), w)...)
		}
		trunk = append(trunk, Layer{Op: LeakyReLU, Name: fmt.Sprintf("act%d", i), Alpha: 0.2})
		in = w
	}
	trunk = append(trunk, Layer{Op: Flatten, Name: "flatten"})
	return trunk, in * b.bottom() * b.bottom()
}

// Encoder describes the encoder net with the given head.
func (b Backbone) Encoder(kind EncoderKind) Net {
	trunk, feat := b.convTrunk()
	head := func(name string) Layer {
		return Layer{Op: Dense, Name: name, In: feat, Out: b.Latent}
	}
	var outs []Output
	switch kind {
	case Posterior:
		outs = []Output{{Name: "mu", Layers: []Layer{head("mu")}}, {Name: "logvar", Layers: []Layer{head("logvar")}}}
	case SharedVariance:
		outs = []Output{{Name: "mu", Layers: []Layer{head("mu")}},
			{Name: "logvar", Layers: []Layer{{Op: Broadcast, Name: "logvar", Out: b.Latent}}}}
	case Deterministic:
		outs = []Output{{Name: "z", Layers: []Layer{head("z")}}}
	case Spherical:
		outs = []Output{{Name: "z", Layers: []Layer{head("z"), {Op: L2Normalize, Name: "normalize"}}}}
	default:
		panic(fmt.Sprintf("models: unknown encoder kind %q", kind))
	}
	return Net{Name: "encoder", Input: "image", InShape: []int{b.Channels, b.Resolution, b.Resolution}, Trunk: trunk, Outputs: outs}
}

// ClassifierNet is the name of a classifier's one net, and of its exported graph.
const ClassifierNet = "classifier"

// Classifier describes a classifier on the encoder's convolutional trunk: a dense layer to
// Latent features with a leaky ReLU, output as "features", and a dense head from them to
// Classes "logits". The features are what the yardstick's measures compare.
func (b Backbone) Classifier() Net {
	trunk, feat := b.convTrunk()
	trunk = append(trunk,
		Layer{Op: Dense, Name: "fc", In: feat, Out: b.Latent},
		Layer{Op: LeakyReLU, Name: "fc_act", Alpha: 0.2})
	return Net{Name: ClassifierNet, Input: "image", InShape: []int{b.Channels, b.Resolution, b.Resolution}, Trunk: trunk,
		Outputs: []Output{
			{Name: "features"},
			{Name: "logits", Layers: []Layer{{Op: Dense, Name: "logits", In: b.Latent, Out: b.Classes}}},
		}}
}

// Critic describes the critic net, which training reads and export does not write: the
// encoder's convolutional trunk, then a dense layer to one logit per image, "logit",
// positive where the critic takes the image for a fake.
func (b Backbone) Critic() Net {
	trunk, feat := b.convTrunk()
	return Net{Name: "critic", Input: "image", InShape: []int{b.Channels, b.Resolution, b.Resolution}, Trunk: trunk,
		Outputs: []Output{{Name: "logit", Layers: []Layer{{Op: Dense, Name: "logit", In: feat, Out: 1}}}}}
}

// Decoder describes a decoder (or generator) net called name: latent z to an image in [0,1].
func (b Backbone) Decoder(name string) Net {
	n := len(b.Widths)
	top := b.Widths[n-1]
	trunk := []Layer{
		{Op: Dense, Name: "fc", In: b.Latent, Out: top * b.bottom() * b.bottom()},
		{Op: Unflatten, Name: "unflatten", Shape: []int{top, b.bottom(), b.bottom()}},
	}
	trunk = append(trunk, b.bn("bn_fc", top)...)
	trunk = append(trunk, Layer{Op: ReLU, Name: "act_fc"})
	in := top
	for i := n - 2; i >= -1; i-- {
		out := b.Channels
		if i >= 0 {
			out = b.Widths[i]
		}
		stage := n - 2 - i
		trunk = append(trunk, Layer{Op: ConvTranspose, Name: fmt.Sprintf("deconv%d", stage), In: in, Out: out, Kernel: 4, Stride: 2, Pad: 1})
		if i >= 0 {
			trunk = append(trunk, b.bn(fmt.Sprintf("bn%d", stage), out)...)
			trunk = append(trunk, Layer{Op: ReLU, Name: fmt.Sprintf("act%d", stage)})
		}
		in = out
	}
	return Net{Name: name, Input: "z", InShape: []int{b.Latent}, Trunk: trunk,
		Outputs: []Output{{Name: "image", Layers: []Layer{{Op: Sigmoid, Name: "sigmoid"}}}}}
}

// NoisyDecoder describes a decoder called name whose input is z followed by noise more
// features (AVAE's generator with its extra noise ξ): Decoder(name) with a wider first
// layer. With noise 0 it is Decoder(name).
func (b Backbone) NoisyDecoder(name string, noise int) Net {
	n := b.Decoder(name)
	n.InShape = []int{b.Latent + noise}
	n.Trunk[0].In += noise
	return n
}

// DropNoise turns the parameters of NoisyDecoder(name, noise) in params into those of
// Decoder(name) with the noise fixed at zero, its mean: the first layer keeps the rows of
// its weight that read z.
func (b Backbone) DropNoise(name string, noise int, params map[string][]float32) error {
	fc := b.NoisyDecoder(name, noise).Trunk[0]
	weight := fc.Params(name)[0]
	w := params[weight.Name]
	if len(w) != weight.Size() {
		return fmt.Errorf("%s has %d values, want %d", weight.Name, len(w), weight.Size())
	}
	params[weight.Name] = w[:b.Latent*fc.Out]
	return nil
}

// EmbedSize is the dimension of the discriminator's contrastive embeddings (DC-VAE's 16).
const EmbedSize = 16

// MidStage is the encoder stage whose output the discriminator's intermediate heads
// read: the second to last (the last when there is one stage).
func (b Backbone) MidStage() int { return max(len(b.Widths)-2, 0) }

// MidSide is the height and width of the discriminator's intermediate feature map.
func (b Backbone) MidSide() int { return b.Resolution >> (b.MidStage() + 1) }

// Discriminator describes DC-VAE's (and VAE/GAN's) discriminator, which training reads
// and export does not write: the encoder's convolutional trunk, spectrally normalised
// where the backbone says so, with five heads:
//   - "logit": a dense layer to one logit per image, positive where D takes the image
//     for real;
//   - "features": the last stage's feature map, flattened (VAE/GAN's F_D);
//   - "embed": the contrastive embedding of the last stage: a 1x1 convolution that
//     reduces channels fourfold, a dense layer to EmbedSize, L2 normalisation;
//   - "embed_mid": the same head on the intermediate stage (MidStage; deep supervision);
//   - "patch": the intermediate stage's feature map itself [C, H, W], whose 1x1xC vectors
//     the local-patch contrast pairs.
func (b Backbone) Discriminator() Net {
	trunk, feat := b.convTrunk()
	trunk = trunk[:len(trunk)-1] // the heads flatten where they need to
	sn := func(ls ...Layer) []Layer {
		for i := range ls {
			ls[i].SpectralNorm = b.SpectralNorm && (ls[i].Op == Conv || ls[i].Op == Dense)
		}
		return ls
	}
	sn(trunk...)
	embed := func(prefix string, stage int) []Layer {
		ch := b.Widths[stage]
		side := b.Resolution >> (stage + 1)
		red := max(ch/4, 1)
		return sn(
			Layer{Op: Conv, Name: prefix + "_reduce", In: ch, Out: red, Kernel: 1, Stride: 1},
			Layer{Op: Flatten, Name: prefix + "_flatten"},
			Layer{Op: Dense, Name: prefix + "_linear", In: red * side * side, Out: EmbedSize},
			Layer{Op: L2Normalize, Name: prefix + "_normalize"},
		)
	}
	mid := fmt.Sprintf("act%d", b.MidStage())
	return Net{Name: "discriminator", Input: "image", InShape: []int{b.Channels, b.Resolution, b.Resolution}, Trunk: trunk,
		Outputs: []Output{
			{Name: "logit", Layers: sn(Layer{Op: Flatten, Name: "flatten"}, Layer{Op: Dense, Name: "logit", In: feat, Out: 1})},
			{Name: "features", Layers: []Layer{{Op: Flatten, Name: "features"}}},
			{Name: "embed", Layers: embed("embed", len(b.Widths)-1)},
			{Name: "embed_mid", From: mid, Layers: embed("embed_mid", b.MidStage())},
			{Name: "patch", From: mid},
		}}
}
