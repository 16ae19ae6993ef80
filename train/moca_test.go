package train

import (
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // graph-building code reads better unqualified.
	"github.com/gomlx/gomlx/core/tensors"
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
