package train

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // graph-building code reads better unqualified.
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/latentzoo/latentzoo/dataset"
	"github.com/latentzoo/latentzoo/evaluate"
	"github.com/latentzoo/latentzoo/models"
)

// TestContrastiveLossByHand checks InfoNCE on two queries with known positives and a queue
// of three negatives, at temperature 0.5.
func TestContrastiveLossByHand(t *testing.T) {
	z := matrix([]float64{1, 0}, []float64{0, 1})
	keys := matrix([]float64{0.6, 0.8}, []float64{0, 1})
	queue := matrix([]float64{1, 0}, []float64{-1, 0}, []float64{0, -1})
	// Query 0: positive 0.6, negatives 1, -1, 0; logits /0.5 = 1.2 | 2, -2, 0.
	l0 := math.Log(math.Exp(1.2)+math.Exp(2)+math.Exp(-2)+math.Exp(0)) - 1.2
	// Query 1: positive 1, negatives 0, 0, -1; logits /0.5 = 2 | 0, 0, -2.
	l1 := math.Log(math.Exp(2)+1+1+math.Exp(-2)) - 2
	checkGraph(t, []float64{(l0 + l1) / 2}, 1e-12, func(in []*Node) *Node {
		return contrastiveLoss(in[0], in[1], in[2], 0.5)
	}, z, keys, queue)
}

// TestContrastiveLossIsStable feeds logits of ±1000 (temperature 1e-3): the loss must be
// finite and equal to its limit.
func TestContrastiveLossIsStable(t *testing.T) {
	z := matrix([]float64{1, 0})
	keys := matrix([]float64{1, 0})
	queue := matrix([]float64{-1, 0}, []float64{0, 1})
	// Logits 1000 | -1000, 0: the loss is log(1 + e^-1000 + e^-2000) ≈ 0.
	checkGraph(t, []float64{0}, 1e-12, func(in []*Node) *Node {
		return contrastiveLoss(in[0], in[1], in[2], 1e-3)
	}, z, keys, queue)
	// The positive far below a negative: loss = 1000 - (-1000) + log(1 + ...) = 2000.
	checkGraph(t, []float64{2000}, 1e-9, func(in []*Node) *Node {
		return contrastiveLoss(in[0], in[1], in[2], 1e-3)
	}, z, matrix([]float64{-1, 0}), matrix([]float64{1, 0}, []float64{-1, 0}))
}

// TestMMDByHand checks the unbiased IMQ MMD on 1-d samples {0, 1} and {0, 2}.
func TestMMDByHand(t *testing.T) {
	z := matrix([]float64{0}, []float64{1})
	p := matrix([]float64{0}, []float64{2})
	for _, tc := range []struct {
		name   string
		scales []float64
		want   float64
	}{
		// Scale 1: C = 2·d·s = 2, k = 2/(2+x²). Within z: k(0,1) = 2/3. Within p: k(0,2) = 1/3.
		// Across: k(0,0), k(0,2), k(1,0), k(1,2) = 1, 1/3, 2/3, 2/3; mean 2/3.
		{"one scale", []float64{1}, 2.0/3 + 1.0/3 - 2*(2.0/3)},
		// Scale 0.5 adds C = 1, k = 1/(1+x²): within z 1/2, within p 1/5, across mean 0.55.
		{"two scales", []float64{1, 0.5}, (2.0/3 + 0.5) + (1.0/3 + 0.2) - 2*(2.0/3+0.55)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkGraph(t, []float64{tc.want}, 1e-12, func(in []*Node) *Node {
				return mmdIMQ(in[0], in[1], tc.scales)
			}, z, p)
		})
	}
}

// TestMMDSeparatesDistributions: the MMD of two independent samples of N(0, I) is near
// zero, of N(0, I) against N(0, I) shifted by 3 clearly positive.
func TestMMDSeparatesDistributions(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	gauss := func(shift float64) *tensors.Tensor {
		rows := make([][]float64, 128)
		for i := range rows {
			rows[i] = []float64{r.NormFloat64() + shift, r.NormFloat64()}
		}
		return matrix(rows...)
	}
	mmd := func(a, b *tensors.Tensor) float64 {
		var v float64
		for _, got := range evalGraph(t, func(in []*Node) *Node { return mmdIMQ(in[0], in[1], imqScales) }, a, b) {
			v = got[0]
		}
		return v
	}
	near, far := mmd(gauss(0), gauss(0)), mmd(gauss(0), gauss(3))
	t.Logf("MMD of two N(0, I) samples %.4f, of N(0, I) against a shifted one %.4f", near, far)
	if math.Abs(near) > 0.05 || far < 1 {
		t.Fatalf("MMD of two samples of one distribution %g, of shifted ones %g", near, far)
	}
}

// TestEnqueue puts the newest keys first and drops the oldest rows.
func TestEnqueue(t *testing.T) {
	queue := matrix([]float64{1, -1}, []float64{2, -2}, []float64{3, -3}, []float64{4, -4})
	keys := matrix([]float64{9, -9}, []float64{8, -8})
	checkGraph(t, []float64{9, -9, 8, -8, 1, -1, 2, -2}, 0, func(in []*Node) *Node { return enqueue(in[0], in[1]) }, queue, keys)
}

// TestMovingAverage is m·avg + (1−m)·x.
func TestMovingAverage(t *testing.T) {
	checkGraph(t, []float64{1.5, -0.75}, 1e-15, func(in []*Node) *Node {
		return movingAverage(in[0], in[1], Scalar(in[0].Graph(), in[0].DType(), 0.75))
	}, matrix([]float64{1, -1}), matrix([]float64{3, 0}))
}

// TestCosineMomentum follows the schedule from the base value to 1.
func TestCosineMomentum(t *testing.T) {
	for _, tc := range []struct {
		step, total int64
		want        float64
	}{
		{0, 1000, 0.99},
		{250, 1000, 1 - 0.01*(math.Cos(math.Pi/4)+1)/2},
		{500, 1000, 0.995},
		{1000, 1000, 1},
	} {
		if got := cosineMomentum(0.99, tc.step, tc.total); math.Abs(got-tc.want) > 1e-15 {
			t.Errorf("step %d of %d: %v, want %v", tc.step, tc.total, got, tc.want)
		}
	}
}

// TestMocaStepUpdatesState runs one real MoCA step and checks its state against the
// method: the momentum encoder is m·(its old weights) + (1−m)·(the encoder's new ones),
// and the queue holds the batch's keys (the momentum encoder's latents, newest first)
// followed by its old rows less the oldest.
func TestMocaStepUpdatesState(t *testing.T) {
	cfg := shortFamilyConfig("moca", 10)
	data, err := dataset.Load(cfg.Dataset, dataset.Train, cfg.Backbone.Resolution, cfg.Backbone.Channels)
	if err != nil {
		t.Fatal(err)
	}
	tr := freshTrainer(t, cfg, data)
	start := tr.initialCheckpoint()
	if _, err := tr.trainStep(); err != nil {
		t.Fatal(err)
	}
	after, err := tr.checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	m := cosineMomentum(optionsOf[*MoCAOptions](cfg).Momentum, 0, tr.totalSteps())
	enc := cfg.Backbone.Encoder(models.Spherical)
	for _, p := range enc.Params() {
		if !p.Trainable() {
			continue
		}
		old, avg, now := start.Tensors[p.Name], after.Tensors[statePrefix+emaPrefix+p.Name], after.Tensors[p.Name]
		for i := range avg {
			want := m*float64(old[i]) + (1-m)*float64(now[i])
			if math.Abs(float64(avg[i])-want) > 1e-6 {
				t.Fatalf("%s[%d]: moving average %v, want %v", p.Name, i, avg[i], want)
			}
		}
	}

	// The step's keys: the momentum encoder (still the step-0 weights) on batch 0.
	b, d, k := cfg.BatchSize, cfg.Backbone.Latent, optionsOf[*MoCAOptions](cfg).QueueSize
	batch := make([]float32, b*data.ImageSize())
	data.Batch(data.Permutation(cfg.Seed, 0)[:b], batch)
	model := &Model{Nets: []models.Net{enc}, Params: start.Tensors}
	keys, err := model.Forward(tr.backend, "encoder", batch, b)
	if err != nil {
		t.Fatal(err)
	}
	oldQ, newQ := start.Tensors[statePrefix+queueName], after.Tensors[statePrefix+queueName]
	if len(newQ) != k*d {
		t.Fatalf("queue has %d values, want %d×%d", len(newQ), k, d)
	}
	for i := range b * d {
		if math.Abs(float64(newQ[i]-keys["z"][i])) > 1e-5 {
			t.Fatalf("queue row %d: %v, want the key %v", i/d, newQ[i], keys["z"][i])
		}
	}
	for i := b * d; i < k*d; i++ {
		if newQ[i] != oldQ[i-b*d] {
			t.Fatalf("queue row %d is not the old row %d", i/d, i/d-b)
		}
	}
}

// testMocaSpreadsLatents, MoCA's short run in TestShortRuns, trains MoCA briefly on
// Fashion-MNIST and measures the isotropy of the latents of 1,000 test images (MoCA sec.
// 4.2): the ratio of their largest to smallest singular value must fall from the untrained
// encoder's.
func testMocaSpreadsLatents(t *testing.T) {
	cfg := DefaultConfig("moca", "fashion-mnist")
	cfg.Steps, cfg.LogEvery, cfg.CheckpointEvery = 200, 50, 1000
	dir := t.TempDir()
	if err := run(context.Background(), cfg, dir, io.Discard, nil, 1); err != nil {
		t.Fatal(err)
	}
	spread := func() float64 {
		m, err := LoadModel(dir)
		if err != nil {
			t.Fatal(err)
		}
		test, err := dataset.Load(cfg.Dataset, dataset.Test, 32, 1)
		if err != nil {
			t.Fatal(err)
		}
		test = test.Subset(1000)
		backend, err := NewBackend(cfg.Backend)
		if err != nil {
			t.Fatal(err)
		}
		defer backend.Finalize()
		z, err := m.Forward(backend, "encoder", test.Images, test.N)
		if err != nil {
			t.Fatal(err)
		}
		rows := make([][]float32, test.N)
		for i := range rows {
			rows[i] = z["z"][i*cfg.Backbone.Latent : (i+1)*cfg.Backbone.Latent]
		}
		return evaluate.Spread(evaluate.SingularValues(rows))
	}
	before := spread()
	if err := Run(context.Background(), cfg, dir, io.Discard); err != nil {
		t.Fatal(err)
	}
	after := spread()
	t.Logf("singular-value spread of 1,000 test latents: %.2f after 1 step, %.2f after %d", before, after, cfg.Steps)
	if !(after < before) {
		t.Errorf("spread went from %.2f to %.2f: the latents did not spread over the sphere", before, after)
	}
	first, last := logMetric(t, dir, "contrast")
	if !(last < first) {
		t.Errorf("contrastive loss went from %.3f to %.3f", first, last)
	}
}

// logMetric returns a metric's first and last values in a run's loss log.
func logMetric(t *testing.T, dir, name string) (first, last float64) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, logFile))
	if err != nil {
		t.Fatal(err)
	}
	var seen bool
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var rec LogRecord
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		v, ok := rec.Metrics[name]
		if !ok {
			t.Fatalf("log line at step %d lacks %s", rec.Step, name)
		}
		if !seen {
			first, seen = v, true
		}
		last = v
	}
	return first, last
}
