package train

import (
	"fmt"
	"math/rand/v2"

	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // graph-building code reads better unqualified.

	"github.com/latentzoo/latentzoo/models"
)

// method is a family's training procedure: the nets it trains, the noise it draws per
// step, and the optimiser phases of one iteration, each minimising a loss over some nets.
type method struct {
	nets  func(c Config) []models.Net
	noise func(c Config) map[string]int // noise tensor name → per-example size
	// state, when set, lists named tensors beyond parameters, running statistics and
	// Adam's moments that the phases read and write (a momentum encoder's weights, a
	// queue of keys). They are checkpointed with the rest.
	state func(c Config) []stateVar
	// schedule, when set, gives the scalars the phases read at a step (a momentum, an
	// annealing weight) from the step about to run and the run's length in steps. It
	// returns the same names at every step.
	schedule func(c Config, step, total int64) map[string]float64
	// exportAverage says that the trained weights to use, and export, are the moving
	// averages the method keeps in its state, named emaPrefix + the parameter's name.
	exportAverage bool
	// exported, when set, turns the trained parameters (after any averaging) into those
	// of the family's exported nets, where a trained net takes more inputs than its
	// exported form (AVAE's generator with its extra noise).
	exported func(c Config, params map[string][]float32) error
	// phases run in order every iteration.
	phases []phase
}

// stateVar is one named state tensor of a method.
type stateVar struct {
	name  string
	shape []int
	// init gives its value at step 0 from the initial parameters and a source seeded by
	// the run's seed and the state's name.
	init func(params map[string][]float32, r *rand.Rand) []float32
}

// phase is one optimiser step: loss is minimised over the parameters of the nets in update.
type phase struct {
	name    string
	update  []string
	metrics []string // names of the scalar metrics loss reports besides the loss
	loss    func(s *stepGraph) (loss *Node, metrics map[string]*Node)
	// after, when set, runs once the phase's optimiser step is built, with every
	// parameter as the step leaves it, to write state that follows the new weights.
	after func(s *stepGraph, params map[string]*Node)
	// enabled, when set, says whether the phase runs at all under a configuration (an
	// ablation that leaves a net without a loss).
	enabled func(c Config) bool
}

var methods = map[string]method{
	"vae": {
		nets: func(c Config) []models.Net {
			return []models.Net{c.Backbone.Encoder(models.Posterior), c.Backbone.Decoder("decoder")}
		},
		noise:  func(c Config) map[string]int { return map[string]int{"eps": c.Backbone.Latent} },
		phases: []phase{{name: "vae", update: []string{"encoder", "decoder"}, metrics: []string{"kl", "rec"}, loss: vaeLoss}},
	},
}

func lookupMethod(family string) (method, error) {
	m, ok := methods[family]
	if !ok {
		return method{}, fmt.Errorf("family %q has no training method", family)
	}
	return m, nil
}

// vaeLoss is rec(x, G(z_q)) + beta·KL(x), averaged over the batch.
func vaeLoss(s *stepGraph) (*Node, map[string]*Node) {
	enc := s.forward("encoder", s.images)
	mu, logvar := enc.Out["mu"], enc.Out["logvar"]
	z := reparameterize(mu, logvar, s.noise["eps"])
	dec := s.forward("decoder", z)
	rec := ReduceAllMean(reconstructionError(s.cfg.Rec, dec, "image", s.images))
	kl := ReduceAllMean(klDivergence(mu, logvar))
	loss := Add(rec, MulScalar(kl, s.cfg.Beta))
	return loss, map[string]*Node{"rec": rec, "kl": kl}
}

// reparameterize draws z = mu + exp(logvar/2)·eps.
func reparameterize(mu, logvar, eps *Node) *Node {
	return Add(mu, Mul(Exp(MulScalar(logvar, 0.5)), eps))
}

// klDivergence is KL(N(mu, exp(logvar)) || N(0, I)) per example: -1/2 Σ(1 + logvar - mu² - exp(logvar)).
func klDivergence(mu, logvar *Node) *Node {
	t := Sub(Sub(OnePlus(logvar), Square(mu)), Exp(logvar))
	return MulScalar(ReduceSum(t, -1), -0.5)
}

// reconstructionError is the per-example error between the net's output and target x:
// summed binary cross-entropy (from the output's logits) or summed squared error.
func reconstructionError(kind string, out netOutputs, name string, x *Node) *Node {
	axes := make([]int, x.Rank()-1)
	for i := range axes {
		axes[i] = i + 1
	}
	switch kind {
	case "bce":
		logits, ok := out.Logits[name]
		if !ok {
			panic(fmt.Sprintf("train: output %q has no logits for bce", name))
		}
		// BCE(x, sigmoid(l)) = softplus(l) - x·l.
		return ReduceSum(Sub(softplus(logits), Mul(x, logits)), axes...)
	case "mse":
		return ReduceSum(Square(Sub(out.Out[name], x)), axes...)
	}
	panic(fmt.Sprintf("train: unknown reconstruction error %q", kind))
}
