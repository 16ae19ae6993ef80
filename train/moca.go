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

// This file holds the two WAE-style families: WAE-MMD (Tolstikhin et al.) and MoCA
// (Arora et al.), whose contrastive term matches the latents to the uniform
// distribution on the sphere through a momentum encoder and a queue of keys.

// WAEOptions are WAE-MMD's options.
type WAEOptions struct {
	// Lambda weighs the MMD between the latents and the prior.
	Lambda float64 `json:"lambda,omitempty"`
}

// Validate checks that the MMD's weight is not negative.
func (o *WAEOptions) Validate(Config) error {
	if o.Lambda < 0 {
		return fmt.Errorf("config: lambda must not be negative")
	}
	return nil
}

// Flags defines -lambda.
func (o *WAEOptions) Flags(fs *flag.FlagSet) {
	fs.Float64Var(&o.Lambda, "lambda", o.Lambda, "weight of the MMD between the latents and the prior")
}

// MoCAOptions are MoCA's options.
type MoCAOptions struct {
	// Lambda weighs the contrastive term L_c.
	Lambda float64 `json:"lambda,omitempty"`
	// Temperature divides the similarities of the contrastive term.
	Temperature float64 `json:"temperature,omitempty"`
	// QueueSize is the number of recent keys kept as negatives (the dictionary).
	QueueSize int `json:"queue_size,omitempty"`
	// Momentum is the base momentum of the momentum encoder, raised to 1 along a cosine
	// schedule.
	Momentum float64 `json:"momentum,omitempty"`
}

// Validate checks the options against the run's batch size.
func (o *MoCAOptions) Validate(c Config) error {
	switch {
	case o.Lambda < 0:
		return fmt.Errorf("config: lambda must not be negative")
	case o.Temperature <= 0:
		return fmt.Errorf("config: moca needs a positive temperature")
	case o.QueueSize < c.BatchSize:
		return fmt.Errorf("config: moca's queue (%d) must hold at least one batch (%d)", o.QueueSize, c.BatchSize)
	case o.Momentum < 0 || o.Momentum >= 1:
		return fmt.Errorf("config: momentum must be in [0, 1), got %g", o.Momentum)
	}
	return nil
}

// Flags defines -lambda, -temperature, -queue and -momentum.
func (o *MoCAOptions) Flags(fs *flag.FlagSet) {
	fs.Float64Var(&o.Lambda, "lambda", o.Lambda, "weight of the contrastive term")
	fs.Float64Var(&o.Temperature, "temperature", o.Temperature, "temperature of the contrastive term")
	fs.IntVar(&o.QueueSize, "queue", o.QueueSize, "keys kept as negatives (the dictionary size)")
	fs.Float64Var(&o.Momentum, "momentum", o.Momentum, "base momentum of the momentum encoder, raised to 1 on a cosine schedule")
}

func init() {
	register(family{
		name: "wae",
		defaults: func(c *Config) {
			// Tolstikhin et al.'s MNIST setting: squared error, lambda 10.
			c.Rec = "mse"
			c.Options = &WAEOptions{Lambda: 10}
		},
		nets: func(c Config) []models.Net {
			return []models.Net{c.Backbone.Encoder(models.Deterministic), c.Backbone.Decoder("decoder")}
		},
		noise:  func(c Config) map[string]int { return map[string]int{"z_p": c.Backbone.Latent} },
		phases: []phase{{name: "wae", update: []string{"encoder", "decoder"}, metrics: []string{"mmd", "rec"}, loss: waeLoss}},
	})
	register(family{
		name: "moca",
		defaults: func(c *Config) {
			// Arora et al.: squared error, a temperature well under 1, a dictionary in the
			// thousands, base momentum 0.99, lambda proportional to the pixel count.
			c.Rec = "mse"
			pixels := float64(c.Backbone.Resolution * c.Backbone.Resolution * c.Backbone.Channels)
			c.Options = &MoCAOptions{Lambda: pixels / 100, Temperature: 0.1, QueueSize: 8192, Momentum: 0.99}
		},
		nets: func(c Config) []models.Net {
			return []models.Net{c.Backbone.Encoder(models.Spherical), c.Backbone.Decoder("decoder")}
		},
		noise: func(Config) map[string]int { return nil },
		state: mocaState,
		schedule: func(c Config, step, total int64) map[string]float64 {
			return map[string]float64{"momentum": cosineMomentum(optionsOf[*MoCAOptions](c).Momentum, step, total)}
		},
		phases: []phase{{name: "moca", update: []string{"encoder", "decoder"}, metrics: []string{"contrast", "rec", "positive"},
			loss: mocaLoss, after: mocaAfter}},
	})
}

// imqScales are the scales s of WAE-MMD's inverse multiquadratic kernels, C = 2·d·s.
var imqScales = []float64{0.1, 0.2, 0.5, 1, 2, 5, 10}

// waeLoss is rec(x, G(E(x))) + lambda·MMD(E(x), z_p), averaged over the batch.
func waeLoss(s *stepGraph) (*Node, map[string]*Node) {
	z := s.forward("encoder", s.images).Out["z"]
	rec := ReduceAllMean(reconstructionError(s.cfg.Rec, s.forward("decoder", z), "image", s.images))
	mmd := mmdIMQ(z, s.noise["z_p"], imqScales)
	return Add(rec, MulScalar(mmd, optionsOf[*WAEOptions](s.cfg).Lambda)), map[string]*Node{"mmd": mmd, "rec": rec}
}

// imqKernel is Σ_s C_s/(C_s + ‖a_i − b_j‖²), C_s = 2·d·s, for every pair of rows: [n, m].
func imqKernel(a, b *Node, scales []float64) *Node {
	d := float64(a.Shape().Dimensions[1])
	sq := squaredDistances(a, b)
	var k *Node
	for _, sc := range scales {
		c := 2 * d * sc
		t := Reciprocal(AddScalar(MulScalar(sq, 1/c), 1)) // C/(C+x) = 1/(1+x/C)
		if k == nil {
			k = t
		} else {
			k = Add(k, t)
		}
	}
	return k
}

// squaredDistances is ‖a_i − b_j‖² for every pair of rows: [n, m].
func squaredDistances(a, b *Node) *Node {
	na := ReduceSum(Square(a), -1)
	nb := ReduceSum(Square(b), -1)
	ab := MatMul(a, Transpose(b, 0, 1))
	return Max(Sub(Add(ExpandAxes(na, -1), ExpandAxes(nb, 0)), MulScalar(ab, 2)), ScalarZero(a.Graph(), a.DType()))
}

// mmdIMQ is the unbiased estimate of MMD² between samples z and p (both [n, d]) under the
// multi-scale inverse multiquadratic kernel: the means of k over distinct pairs within z
// and within p, minus twice the mean of k over all pairs across.
func mmdIMQ(z, p *Node, scales []float64) *Node {
	n := z.Shape().Dimensions[0]
	offDiag := func(k *Node) *Node {
		// The diagonal of a kernel matrix of a sample with itself is k(a, a) = len(scales).
		return MulScalar(AddScalar(ReduceAllSum(k), -float64(n*len(scales))), 1/float64(n*(n-1)))
	}
	within := Add(offDiag(imqKernel(z, z, scales)), offDiag(imqKernel(p, p, scales)))
	return Sub(within, MulScalar(ReduceAllMean(imqKernel(z, p, scales)), 2))
}

// Names of MoCA's state: the momentum encoder's weights and the queue of keys.
const (
	emaPrefix = "ema/"
	queueName = "queue"
)

// mocaState is MoCA's momentum encoder (a copy of the encoder's trainable weights at
// step 0) and its queue of QueueSize keys (random unit vectors at step 0, as in MoCo).
func mocaState(c Config) []stateVar {
	size := optionsOf[*MoCAOptions](c).QueueSize
	enc := c.Backbone.Encoder(models.Spherical)
	var vs []stateVar
	for _, p := range enc.Params() {
		if !p.Trainable() {
			continue
		}
		name := p.Name
		vs = append(vs, stateVar{name: emaPrefix + name, shape: p.Shape,
			init: func(params map[string][]float32, _ *rand.Rand) []float32 {
				return append([]float32(nil), params[name]...)
			}})
	}
	d := c.Backbone.Latent
	vs = append(vs, stateVar{name: queueName, shape: []int{size, d}, init: func(_ map[string][]float32, r *rand.Rand) []float32 {
		return randomUnitRows(r, size, d)
	}})
	return vs
}

// randomUnitRows draws n rows of size d uniformly on the unit sphere.
func randomUnitRows(r *rand.Rand, n, d int) []float32 {
	v := make([]float32, n*d)
	for i := range n {
		row := v[i*d : (i+1)*d]
		var ss float64
		for j := range row {
			x := r.NormFloat64()
			row[j] = float32(x)
			ss += x * x
		}
		inv := 1 / math.Sqrt(ss)
		for j := range row {
			row[j] = float32(float64(row[j]) * inv)
		}
	}
	return v
}

// cosineMomentum is the momentum of the moving average at step (of total): from base at
// the start to 1 at the end along a half cosine (BYOL's schedule, which MoCA follows).
func cosineMomentum(base float64, step, total int64) float64 {
	if total <= 0 {
		return base
	}
	return 1 - (1-base)*(math.Cos(math.Pi*float64(step)/float64(total))+1)/2
}

// emaParams maps each trainable encoder parameter to its moving average in s's state.
func emaParams(s *stepGraph) map[string]*Node {
	out := map[string]*Node{}
	for name, v := range s.state {
		if p, ok := strings.CutPrefix(name, emaPrefix); ok {
			out[p] = v
		}
	}
	return out
}

// mocaLoss is ‖x − G(z)‖² + lambda·L_c, with z = E(x) on the sphere, the keys z' = E'(x)
// of the momentum encoder as positives and the queue as negatives. The batch's keys go
// into the queue.
func mocaLoss(s *stepGraph) (*Node, map[string]*Node) {
	o := optionsOf[*MoCAOptions](s.cfg)
	z := s.forward("encoder", s.images).Out["z"]
	keys := StopGradient(s.forwardWith("encoder", emaParams(s), s.images).Out["z"])
	queue := s.state[queueName]
	rec := ReduceAllMean(reconstructionError(s.cfg.Rec, s.forward("decoder", z), "image", s.images))
	lc := contrastiveLoss(z, keys, queue, o.Temperature)
	s.setState(queueName, enqueue(queue, keys))
	positive := ReduceAllMean(ReduceSum(Mul(z, keys), -1))
	return Add(rec, MulScalar(lc, o.Lambda)), map[string]*Node{"contrast": lc, "rec": rec, "positive": positive}
}

// mocaAfter moves the momentum encoder towards the encoder's new weights.
func mocaAfter(s *stepGraph, params map[string]*Node) {
	m := s.scalars["momentum"]
	for p, avg := range emaParams(s) {
		s.setState(emaPrefix+p, movingAverage(avg, params[p], m))
	}
}

// movingAverage is m·avg + (1−m)·x.
func movingAverage(avg, x, m *Node) *Node {
	return Add(Mul(avg, m), Mul(x, OneMinus(m)))
}

// contrastiveLoss is InfoNCE: −mean_i log(exp(z_i·k_i/t) / (exp(z_i·k_i/t) + Σ_q exp(z_i·q/t)))
// for queries z and keys k [n, d] and a queue of negatives [K, d].
func contrastiveLoss(z, keys, queue *Node, t float64) *Node {
	pos := ReduceAndKeep(Mul(z, keys), ReduceSum, -1) // [n, 1]
	neg := MatMul(z, Transpose(queue, 0, 1))
	logits := MulScalar(Concatenate([]*Node{pos, neg}, 1), 1/t)
	return ReduceAllMean(Sub(logSumExp(logits), SliceAxis(logits, 1, AxisElem(0))))
}

// logSumExp is log Σ_j exp(x_ij) over the last axis, kept as [n, 1], computed around the
// row's maximum so that it neither overflows nor underflows.
func logSumExp(x *Node) *Node {
	m := StopGradient(ReduceAndKeep(x, ReduceMax, -1))
	return Add(m, Log(ReduceAndKeep(Exp(Sub(x, m)), ReduceSum, -1)))
}

// enqueue puts keys [n, d] at the front of queue [K, d] (newest first) and drops its
// oldest n rows.
func enqueue(queue, keys *Node) *Node {
	k := queue.Shape().Dimensions[0]
	n := keys.Shape().Dimensions[0]
	return Concatenate([]*Node{keys, SliceAxis(queue, 0, AxisRange(0, k-n))}, 0)
}
