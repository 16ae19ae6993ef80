package models

import (
	"fmt"
	"sort"
)

// Family describes a training method as data: the nets it trains, which of them are
// exported, and which exported graph reconstructs and samples.
type Family struct {
	Name        string
	Description string
	// Classifier marks the family whose one net classifies images (Backbone.Classifier)
	// rather than encoding and decoding them: it has no latent kind, encoder kind,
	// reconstruct or sample graph.
	Classifier bool
	Latent     LatentKind
	Encoder    EncoderKind
	// Exported lists the nets written to ONNX, by name ("encoder", "decoder", ...).
	Exported []string
	// Reconstruct and Sample name the exported decoder-like graph used for each.
	Reconstruct, Sample string
}

var families = map[string]Family{
	"vae": {
		Name:        "vae",
		Description: "Variational autoencoder (Kingma & Welling), beta-weighted KL",
		Latent:      Gaussian,
		Encoder:     Posterior,
		Exported:    []string{"encoder", "decoder"},
		Reconstruct: "decoder",
		Sample:      "decoder",
	},
	"wae": {
		Name:        "wae",
		Description: "Wasserstein autoencoder with an MMD penalty (Tolstikhin et al.), inverse multiquadratic kernels",
		Latent:      Gaussian,
		Encoder:     Deterministic,
		Exported:    []string{"encoder", "decoder"},
		Reconstruct: "decoder",
		Sample:      "decoder",
	},
	"moca": {
		Name:        "moca",
		Description: "Momentum contrastive autoencoder (Arora et al.): latents on the unit sphere, matched to its uniform distribution by a momentum encoder and a queue",
		Latent:      Sphere,
		Encoder:     Spherical,
		Exported:    []string{"encoder", "decoder"},
		Reconstruct: "decoder",
		Sample:      "decoder",
	},
	"introvae": {
		Name:        "introvae",
		Description: "IntroVAE (Huang et al.): the encoder is also the critic, pushing the KL of reconstructions and generations above a hard margin while the decoder pulls it down",
		Latent:      Gaussian,
		Encoder:     Posterior,
		Exported:    []string{"encoder", "decoder"},
		Reconstruct: "decoder",
		Sample:      "decoder",
	},
	"sintrovae": {
		Name:        "sintrovae",
		Description: "Soft-IntroVAE (Daniel & Tamar): introspective VAE whose encoder scores reconstructions and generations by soft exponentials of their ELBOs instead of a hard margin",
		Latent:      Gaussian,
		Encoder:     Posterior,
		Exported:    []string{"encoder", "decoder"},
		Reconstruct: "decoder",
		Sample:      "decoder",
	},
	"asintrovae": {
		Name:        "asintrovae",
		Description: "AS-IntroVAE (Lu et al.): Soft-IntroVAE with an adversarial similarity distance between the posteriors of reconstructions and generations, annealed into the KL; exports a moving average of the weights",
		Latent:      Gaussian,
		Encoder:     Posterior,
		Exported:    []string{"encoder", "decoder"},
		Reconstruct: "decoder",
		Sample:      "decoder",
	},
	"avae": {
		Name:        "avae",
		Description: "AVAE (Plumerault et al.): a beta-VAE with an x-independent learned sigma, and beside it a generator trained against a critic and through the encoder's latent; reconstruction and sampling use the generator",
		Latent:      Gaussian,
		Encoder:     SharedVariance,
		Exported:    []string{"encoder", "decoder", "generator"},
		Reconstruct: "generator",
		Sample:      "generator",
	},
	"classifier": {
		Name:        "classifier",
		Description: "An image classifier on the encoder's trunk, trained with cross-entropy on the data set's labels: the yardstick whose features eval measures FID, precision and recall on",
		Classifier:  true,
		Exported:    []string{ClassifierNet},
	},
	"dcvae": {
		Name:        "dcvae",
		Description: "DC-VAE (Parmar et al.): a VAE whose pixel reconstruction is replaced by an instance-level contrastive loss in a discriminator's embedding space (IELBO), trained with a set-level GAN loss on reconstructions and samples",
		Latent:      Gaussian,
		Encoder:     Posterior,
		Exported:    []string{"encoder", "decoder"},
		Reconstruct: "decoder",
		Sample:      "decoder",
	},
	"vaegan": {
		Name:        "vaegan",
		Description: "VAE/GAN (Larsen et al.): a VAE whose reconstruction error is measured in a discriminator's feature space, trained with a GAN loss on reconstructions and samples",
		Latent:      Gaussian,
		Encoder:     Posterior,
		Exported:    []string{"encoder", "decoder"},
		Reconstruct: "decoder",
		Sample:      "decoder",
	},
}

// Lookup returns the family called name.
func Lookup(name string) (Family, error) {
	f, ok := families[name]
	if !ok {
		return Family{}, fmt.Errorf("unknown family %q (known: %v)", name, Names())
	}
	return f, nil
}

// Names lists the known families in order.
func Names() []string {
	var ns []string
	for n := range families {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}

// Nets returns the exported nets of the family on backbone b, in Exported order.
func (f Family) Nets(b Backbone) []Net {
	var nets []Net
	for _, name := range f.Exported {
		if f.Classifier {
			nets = append(nets, b.Classifier())
		} else if name == "encoder" {
			nets = append(nets, b.Encoder(f.Encoder))
		} else {
			nets = append(nets, b.Decoder(name))
		}
	}
	return nets
}
