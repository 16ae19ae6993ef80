package train

import (
	"flag"

	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // graph-building code reads better unqualified.

	"github.com/latentzoo/latentzoo/models"
)

// This file holds the VAE (Kingma & Welling), with its KL weighed by beta (beta-VAE).

// VAEOptions are the VAE's options.
type VAEOptions struct {
	// Beta weighs the KL term (beta-VAE); 1 is the plain VAE.
	Beta float64 `json:"beta"`
}

// Validate accepts every VAE option.
func (o *VAEOptions) Validate(Config) error { return nil }

// Flags defines -beta.
func (o *VAEOptions) Flags(fs *flag.FlagSet) {
	fs.Float64Var(&o.Beta, "beta", o.Beta, "weight of the KL term (beta-VAE)")
}

func init() {
	register(family{
		name:     "vae",
		defaults: func(c *Config) { c.Options = &VAEOptions{Beta: 1} },
		nets: func(c Config) []models.Net {
			return []models.Net{c.Backbone.Encoder(models.Posterior), c.Backbone.Decoder("decoder")}
		},
		noise: func(c Config) map[string]int { return map[string]int{"eps": c.Backbone.Latent} },
		phases: []phase{{name: "vae", update: []string{"encoder", "decoder"}, metrics: []string{"kl", "rec"},
			loss: func(s *stepGraph) (*Node, map[string]*Node) { return vaeLoss(s, optionsOf[*VAEOptions](s.cfg).Beta) }}},
	})
}

// vaeLoss is rec(x, G(z_q)) + beta·KL(x), averaged over the batch.
func vaeLoss(s *stepGraph, beta float64) (*Node, map[string]*Node) {
	enc := s.forward("encoder", s.images)
	mu, logvar := enc.Out["mu"], enc.Out["logvar"]
	z := reparameterize(mu, logvar, s.noise["eps"])
	dec := s.forward("decoder", z)
	rec := ReduceAllMean(reconstructionError(s.cfg.Rec, dec, "image", s.images))
	kl := ReduceAllMean(klDivergence(mu, logvar))
	loss := Add(rec, MulScalar(kl, beta))
	return loss, map[string]*Node{"rec": rec, "kl": kl}
}
