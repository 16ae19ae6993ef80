package latent

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/latentzoo/latentzoo/errkind"
)

func randomUnit(rng *rand.Rand, size int) []float32 {
	z := make([]float32, size)
	for i := range z {
		z[i] = float32(rng.NormFloat64())
	}
	Unit(z)
	return z
}

func TestSlerpStaysOnSphere(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 20 {
		a, b := randomUnit(rng, 32), randomUnit(rng, 32)
		for i := 0; i <= 10; i++ {
			z := Slerp(a, b, float64(i)/10)
			if n := Norm(z); math.Abs(n-1) > 1e-5 {
				t.Fatalf("trial %d: Slerp(a, b, %g) has norm %g, want 1", trial, float64(i)/10, n)
			}
		}
		// Equal steps along the arc: the angle from a grows linearly with t.
		total := Angle(a, b)
		for _, tt := range []float64{0.25, 0.5, 0.75} {
			if got := Angle(a, Slerp(a, b, tt)); math.Abs(got-tt*total) > 1e-4 {
				t.Errorf("trial %d: Angle(a, Slerp(a, b, %g)) = %g, want %g", trial, tt, got, tt*total)
			}
		}
	}
}

func TestSlerpNearlyParallelIsLinear(t *testing.T) {
	a := []float32{1, 0, 0}
	if got, want := Slerp(a, a, 0.3), Lerp(a, a, 0.3); !slices.Equal(got, want) {
		t.Errorf("Slerp(a, a) = %v, want %v", got, want)
	}
}

func TestInterpolate(t *testing.T) {
	za, zb := []float32{1, 0}, []float32{0, 1}
	tests := []struct {
		path  string
		steps int
		mid   []float32 // the latent in the middle, for odd steps
	}{
		{PathLinear, 2, nil},
		{PathLinear, 3, []float32{0.5, 0.5}},
		{PathSlerp, 3, []float32{float32(math.Sqrt(0.5)), float32(math.Sqrt(0.5))}},
		{PathSlerp, 64, nil},
	}
	for _, tt := range tests {
		zs, err := Interpolate(za, zb, tt.steps, tt.path)
		if err != nil {
			t.Fatalf("%s %d: %v", tt.path, tt.steps, err)
		}
		if len(zs) != tt.steps {
			t.Fatalf("%s %d: got %d latents", tt.path, tt.steps, len(zs))
		}
		if !slices.Equal(zs[0], za) || !slices.Equal(zs[tt.steps-1], zb) {
			t.Errorf("%s %d: ends %v, %v; want exactly %v, %v", tt.path, tt.steps, zs[0], zs[tt.steps-1], za, zb)
		}
		if tt.mid != nil {
			mid := zs[tt.steps/2]
			for i := range mid {
				if math.Abs(float64(mid[i]-tt.mid[i])) > 1e-6 {
					t.Errorf("%s %d: middle %v, want %v", tt.path, tt.steps, mid, tt.mid)
					break
				}
			}
		}
	}
	zs, err := Interpolate(za, zb, 3, PathLinear)
	if err != nil {
		t.Fatal(err)
	}
	zs[0][0] = 42
	if za[0] != 1 {
		t.Error("interpolate shares its ends with the caller's latents")
	}
}

func TestInterpolateOppositeEnds(t *testing.T) {
	za, zb := []float32{1, 0}, []float32{-1, 0}
	if _, err := Interpolate(za, zb, 5, PathSlerp); errkind.Of(err) != errkind.Invalid || !strings.Contains(err.Error(), "opposite") {
		t.Errorf("slerp between opposite latents: err = %v, want one saying they are opposite", err)
	}
	if _, err := Interpolate(za, zb, 5, PathLinear); err != nil {
		t.Errorf("linear between opposite latents: %v", err)
	}
}

func TestNormalize(t *testing.T) {
	z := []float32{3, 4}
	if err := Normalize("z", z); err != nil || !slices.Equal(z, []float32{0.6, 0.8}) {
		t.Errorf("Normalize([3 4]) = %v, %v; want [0.6 0.8]", z, err)
	}
	if err := Normalize("z", []float32{0, 0}); errkind.Of(err) != errkind.Invalid {
		t.Errorf("Normalize(0): %v, want an invalid-input error", err)
	}
}

func TestSampleLatents(t *testing.T) {
	const n, size = 64, 32
	for _, sphere := range []bool{false, true} {
		a, b := Sample(7, n, size, sphere), Sample(7, n, size, sphere)
		other := Sample(8, n, size, sphere)
		for i := range a {
			if !slices.Equal(a[i], b[i]) {
				t.Fatalf("sphere=%v: seed 7 gave different latent %d on a second draw", sphere, i)
			}
		}
		if slices.Equal(a[0], other[0]) {
			t.Errorf("sphere=%v: seeds 7 and 8 gave the same first latent", sphere)
		}
		if sphere {
			for i, z := range a {
				if d := math.Abs(Norm(z) - 1); d > 1e-6 {
					t.Fatalf("sphere latent %d has norm %g", i, Norm(z))
				}
			}
			continue
		}
		var sum, sq float64
		for _, z := range a {
			for _, v := range z {
				sum += float64(v)
				sq += float64(v) * float64(v)
			}
		}
		mean := sum / (n * size)
		variance := sq/(n*size) - mean*mean
		// 2048 standard normal draws: the mean's standard error is 0.022.
		if math.Abs(mean) > 0.1 || math.Abs(variance-1) > 0.15 {
			t.Errorf("Gaussian draws have mean %g and variance %g, want about 0 and 1", mean, variance)
		}
	}
}

func TestNorm(t *testing.T) {
	if got := Norm([]float32{3, 4}); got != 5 {
		t.Errorf("Norm([3 4] float32) = %g, want 5", got)
	}
	if got := Norm([]float64{-1, 0, 0}); got != 1 {
		t.Errorf("Norm([-1 0 0] float64) = %g, want 1", got)
	}
	if got := Norm([]float64{}); got != 0 {
		t.Errorf("Norm(empty) = %g, want 0", got)
	}
}
