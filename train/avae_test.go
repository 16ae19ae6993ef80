package train

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // graph-building code reads better unqualified.
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/latentzoo/latentzoo/dataset"
	"github.com/latentzoo/latentzoo/models"
)

// TestLatentLossByHand checks L_Z^b (Eq. 16) on two examples in two dimensions.
func TestLatentLossByHand(t *testing.T) {
	// Example 1: sigma² = 1/4, so sqrt(1 − sigma²) = √3/2: with mu (1, 0) and z (2, 0),
	// (mu − √3/2·z)/sigma = (2 − 2√3, 0) and L = 1/2·(2 − 2√3)² = 8 − 4√3.
	// Example 2: sigma² = 1 and 4, the root clamped to 0: (0.5/1, 2/2), L = 1/2·1.25.
	mu := matrix([]float64{1, 0}, []float64{0.5, 2})
	logvar := matrix([]float64{math.Log(0.25), math.Log(0.25)}, []float64{0, math.Log(4)})
	z := matrix([]float64{2, 0}, []float64{1, -1})
	checkGraph(t, []float64{8 - 4*math.Sqrt(3), 0.625}, 1e-12, func(in []*Node) *Node {
		return latentLoss(in[0], in[1], in[2])
	}, mu, logvar, z)
}

// TestCriticLossByHand checks Eq. 13 and the critic's accuracy on two real and two fake
// logits.
func TestCriticLossByHand(t *testing.T) {
	// Real logits 0 and ln 3: C = 1/2 and 3/4, −log(1 − C) = ln 2 and ln 4. Fake logits
	// ln 3 and −ln 3: C = 3/4 and 1/4, −log C = ln(4/3) and ln 4. Only the first fake is
	// classified right (a logit of exactly 0 counts as fake): accuracy 1/4.
	ln := math.Log
	realLogit := matrix([]float64{0}, []float64{ln(3)})
	fakeLogit := matrix([]float64{ln(3)}, []float64{-ln(3)})
	want := (ln(2)+ln(4))/2 + (ln(4.0/3)+ln(4))/2
	checkGraph(t, []float64{want, 0.25}, 1e-12, func(in []*Node) *Node {
		return Concatenate([]*Node{Reshape(criticLoss(in[0], in[1]), 1), Reshape(criticAccuracy(in[0], in[1]), 1)}, 0)
	}, realLogit, fakeLogit)
}

// TestBroadcastLayer checks the Broadcast layer's output, the same learned vector for
// every example whatever the input, and its gradient against central finite differences
// of a weighted sum of its output.
func TestBroadcastLayer(t *testing.T) {
	l := models.Layer{Op: models.Broadcast, Name: "b", Out: 3}
	apply := func(x, bias *Node) *Node {
		return applyLayer("net", l, map[string]*Node{"net/b/bias": bias}, x, true, nil)
	}
	x := matrix([]float64{5, -1}, []float64{0, 2})
	bias := tensors.FromFlatDataAndDimensions([]float64{0.5, -2, 3}, 3)
	checkGraph(t, []float64{0.5, -2, 3, 0.5, -2, 3}, 0, func(in []*Node) *Node {
		return Reshape(apply(in[0], in[1]), -1)
	}, x, bias)

	w := matrix([]float64{1, -2, 0.5}, []float64{3, 0.25, -1})
	loss := func(in []*Node) *Node { return ReduceAllSum(Mul(apply(in[0], in[1]), in[2])) }
	grads := evalGraph(t, func(in []*Node) *Node { return Gradient(loss(in), in[1])[0] }, x, bias, w)
	b := tensors.MustCopyFlatData[float64](bias)
	const h = 1e-6
	var want []float64
	for i := range b {
		at := func(delta float64) float64 {
			shifted := append([]float64(nil), b...)
			shifted[i] += delta
			v := evalGraph(t, loss, x, tensors.FromFlatDataAndDimensions(shifted, 3), w)
			for _, got := range v {
				return got[0]
			}
			return 0
		}
		want = append(want, (at(h)-at(-h))/(2*h))
	}
	for be, got := range grads {
		if d := maxAbsDiff(got, want); d > 1e-8 {
			t.Errorf("%s: gradient %v, finite differences %v (off by %g)", be, got, want, d)
		}
	}
}

// TestAVAEPhasesUpdateTheirNets runs one real step of each AVAE phase alone, with batch
// norm: each must change some weights of the nets it updates and leave every other net's
// weights and Adam moments exactly as they were; in particular the generator's loss,
// which passes through the encoder and the critic, updates neither.
func TestAVAEPhasesUpdateTheirNets(t *testing.T) {
	data, err := dataset.Load("fashion-mnist", dataset.Train, 32, 1)
	if err != nil {
		t.Fatal(err)
	}
	cfg := shortFamilyConfig("avae", 2)
	cfg.Backbone.BatchNorm = true
	tr := freshTrainer(t, cfg, data)
	// The nets each phase may change, as the paper has it (not read from the method, so
	// that a wrong update list fails here).
	owns := map[string][]string{"vae": {"encoder", "decoder"}, "critic": {"critic"}, "generator": {"generator"}}
	if len(tr.plans) != len(owns) {
		t.Fatalf("%d phases, want %d", len(tr.plans), len(owns))
	}
	for pi, plan := range tr.plans {
		before, after := stepPhase(t, tr, pi)
		updates := map[string]bool{}
		for _, n := range owns[plan.phase.name] {
			updates[n] = true
		}
		changed := changedWeights(tr, before, after)
		for net, names := range changed {
			if !updates[net] {
				t.Errorf("phase %s changed %v", plan.phase.name, names)
			}
		}
		for net := range updates {
			if len(changed[net]) == 0 {
				t.Errorf("phase %s changed none of %s's weights", plan.phase.name, net)
			}
		}
	}
}

// testAVAEShortRun, AVAE's short run in TestShortRuns, trains AVAE 100 steps at batch 32
// on the default backend: no loss may turn NaN or infinite (the trainer stops on one), the
// VAE's reconstruction error must fall, and the critic's accuracy must rise above chance
// without being perfect over every log window after the first (the generator fools it on
// some images).
func testAVAEShortRun(t *testing.T) {
	cfg := DefaultConfig("avae", "fashion-mnist")
	cfg.Steps, cfg.BatchSize, cfg.LogEvery, cfg.CheckpointEvery = 100, 32, 10, 1000
	_, recs, took := shortRun(t, cfg)
	first, last := recs[0], recs[len(recs)-1]
	// Accuracies are window means; the first window starts from the initial weights.
	var accs []float64
	lo, hi := 1.0, 0.0
	for i, r := range recs {
		a := r.Metrics["critic/critic_acc"]
		accs = append(accs, a)
		hi = math.Max(hi, a)
		if i > 0 {
			lo = math.Min(lo, a)
		}
	}
	t.Logf("%d steps in %s, %.0f img/s; VAE rec %.1f → %.1f, sigma %.4f → %.4f, L_Z %.3f → %.3f, L_M %.3f → %.3f; critic accuracy %.3v",
		cfg.Steps, took.Round(time.Second), last.ImgPerS, first.Metrics["vae/rec"], last.Metrics["vae/rec"],
		first.Metrics["vae/sigma"], last.Metrics["vae/sigma"], first.Metrics["generator/lz"], last.Metrics["generator/lz"],
		first.Metrics["generator/lm"], last.Metrics["generator/lm"], accs)
	if !(last.Metrics["vae/rec"] < 0.8*first.Metrics["vae/rec"]) {
		t.Errorf("reconstruction error went from %.1f to %.1f", first.Metrics["vae/rec"], last.Metrics["vae/rec"])
	}
	if hi <= 0.55 {
		t.Errorf("critic accuracy %.3v never rose above chance", accs)
	}
	if lo >= 1 {
		t.Errorf("critic accuracy %.3v: perfect in every window after the first", accs)
	}
}

// TestAVAEGeneratorNoise trains AVAE a few steps with an extra noise input ξ of 3 and
// checks the generator as exported: it takes z alone, and on it gives what the trained
// generator gives on z with ξ = 0. The trained generator must read ξ (a draw of it
// changes the images), or the comparison would hold for any weights.
func TestAVAEGeneratorNoise(t *testing.T) {
	cfg := shortFamilyConfig("avae", 4)
	noise := 3
	optionsOf[*AVAEOptions](cfg).Xi = noise
	dir, _, _ := shortRun(t, cfg)
	exported, err := LoadModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	gen, err := exported.Net("generator")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := gen.InShape[0], cfg.Backbone.Latent; got != want {
		t.Fatalf("exported generator takes %d inputs, want %d", got, want)
	}
	ck, err := LoadCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	noisy := cfg.Backbone.NoisyDecoder("generator", noise)
	params, err := ck.Params(noisy)
	if err != nil {
		t.Fatal(err)
	}
	trained := &Model{Config: cfg, Nets: []models.Net{noisy}, Params: params, execs: map[string]*Exec{}}
	backend, err := NewBackend("")
	if err != nil {
		t.Fatal(err)
	}
	const n = 4
	r := rand.New(rand.NewPCG(5, 6))
	z := make([]float32, n*cfg.Backbone.Latent)
	for i := range z {
		z[i] = float32(r.NormFloat64())
	}
	withNoise := func(xi func() float32) []float32 {
		var in []float32
		for i := range n {
			in = append(in, z[i*cfg.Backbone.Latent:(i+1)*cfg.Backbone.Latent]...)
			for range noise {
				in = append(in, xi())
			}
		}
		return in
	}
	forward := func(m *Model, in []float32) []float32 {
		out, err := m.Forward(backend, "generator", in, n)
		if err != nil {
			t.Fatal(err)
		}
		return out["image"]
	}
	got := forward(exported, z)
	atZero := forward(trained, withNoise(func() float32 { return 0 }))
	drawn := forward(trained, withNoise(func() float32 { return float32(r.NormFloat64()) }))
	if d := maxAbsDiff(got, atZero); d > 1e-6 {
		t.Errorf("exported generator differs from the trained one at ξ = 0 by %g", d)
	}
	if d := maxAbsDiff(atZero, drawn); d < 1e-4 {
		t.Errorf("a draw of ξ changes the trained generator's images by only %g", d)
	}
}
