package yardstick

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/latentzoo/latentzoo/errkind"
	"github.com/latentzoo/latentzoo/infer"
	"github.com/latentzoo/latentzoo/zoo"
)

// gaussianFeatures draws n features of dim values with mean shift and a fixed random
// linear mixing times scale, so that the covariance is full and not diagonal; the seed
// picks the draws, not the distribution.
func gaussianFeatures(seed uint64, n, dim int, shift, scale float64) *Features {
	mixing := rand.New(rand.NewPCG(uint64(dim), 2))
	mix := make([]float64, dim*dim)
	for i := range mix {
		mix[i] = mixing.NormFloat64() * scale / math.Sqrt(float64(dim))
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	f := &Features{Dim: dim, Rows: n, Data: make([]float64, n*dim)}
	x := make([]float64, dim)
	for r := range n {
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		row := f.Row(r)
		for i := range dim {
			row[i] = shift
			for j := range dim {
				row[i] += mix[i*dim+j] * x[j]
			}
		}
	}
	return f
}

func mustStats(t *testing.T, f *Features) Stats {
	t.Helper()
	s, err := f.Stats()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestFrechetOfItselfIsZero(t *testing.T) {
	s := mustStats(t, gaussianFeatures(1, 2000, 64, 0.5, 3))
	d, err := Frechet(s, s)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(d) > 1e-6 {
		t.Errorf("Fréchet distance of a feature set with itself is %g, want 0 within 1e-6", d)
	}
}

func TestFrechetRisesWithShift(t *testing.T) {
	ref := mustStats(t, gaussianFeatures(1, 3000, 16, 0, 1))
	prev := -1.0
	for _, shift := range []float64{0, 0.25, 0.5, 1, 2} {
		d, err := Frechet(ref, mustStats(t, gaussianFeatures(2, 3000, 16, shift, 1)))
		if err != nil {
			t.Fatal(err)
		}
		if d <= prev {
			t.Errorf("shift %g: distance %g, not above %g at the smaller shift", shift, d, prev)
		}
		prev = d
	}
}

// systemPython is Debian's Python, which has python3-scipy where the test setup installed
// it.
const systemPython = "/usr/bin/python3"

// writeFloats writes f as little-endian float64s.
func writeFloats(t *testing.T, path string, f *Features) {
	t.Helper()
	b := make([]byte, 8*len(f.Data))
	for i, v := range f.Data {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(v))
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// scipyFrechet is the usual FID formula (as pytorch-fid computes it, with
// scipy.linalg.sqrtm) on two feature files.
const scipyFrechet = `
import sys
import numpy as np
from scipy import linalg
dim = int(sys.argv[3])
a = np.fromfile(sys.argv[1], dtype='<f8').reshape(-1, dim)
b = np.fromfile(sys.argv[2], dtype='<f8').reshape(-1, dim)
mu1, mu2 = a.mean(axis=0), b.mean(axis=0)
s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
covmean, _ = linalg.sqrtm(s1.dot(s2), disp=False)
covmean = covmean.real
d = mu1 - mu2
print(repr(float(d.dot(d) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))))
`

func TestFrechetAgreesWithSciPy(t *testing.T) {
	if err := exec.Command(systemPython, "-c", "import scipy.linalg, numpy").Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s cannot import scipy (the test setup installs python3-scipy): %v", systemPython, err)
		}
		t.Skipf("%s cannot import scipy (install python3-scipy, or run make deps): %v", systemPython, err)
	}
	dir := t.TempDir()
	for _, tt := range []struct {
		name string
		a, b *Features
	}{
		{"shifted and rescaled", gaussianFeatures(1, 1500, 32, 0, 1), gaussianFeatures(2, 1200, 32, 0.3, 1.5)},
		{"close", gaussianFeatures(3, 2000, 64, 0, 1), gaussianFeatures(4, 2000, 64, 0, 1)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pa, pb := filepath.Join(dir, "a.f64"), filepath.Join(dir, "b.f64")
			writeFloats(t, pa, tt.a)
			writeFloats(t, pb, tt.b)
			out, err := exec.Command(systemPython, "-c", scipyFrechet, pa, pb, strconv.Itoa(tt.a.Dim)).CombinedOutput()
			if err != nil {
				t.Fatalf("scipy: %v\n%s", err, out)
			}
			want, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
			if err != nil {
				t.Fatalf("scipy printed %q", out)
			}
			got, err := Frechet(mustStats(t, tt.a), mustStats(t, tt.b))
			if err != nil {
				t.Fatal(err)
			}
			if rel := math.Abs(got-want) / math.Abs(want); rel > 1e-6 {
				t.Errorf("Fréchet distance %.12g, scipy %.12g: relative difference %.3g, want at most 1e-6", got, want, rel)
			}
		})
	}
}

func TestPrecisionRecall(t *testing.T) {
	real := gaussianFeatures(1, 1500, 8, 0, 1)
	tests := []struct {
		name       string
		gen        *Features
		minP, maxP float64
		minR, maxR float64
	}{
		{"itself", real, 1, 1, 1, 1},
		{"another draw of the same", gaussianFeatures(2, 1500, 8, 0, 1), 0.6, 1, 0.6, 1},
		{"far away", gaussianFeatures(3, 1500, 8, 100, 1), 0, 0, 0, 0},
		// Samples on a small part of the data: all on the manifold, covering little of it.
		{"collapsed", gaussianFeatures(4, 1500, 8, 0, 0.05), 0.95, 1, 0, 0.3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, r, err := PrecisionRecall(real, tt.gen, 3)
			if err != nil {
				t.Fatal(err)
			}
			if p < tt.minP || p > tt.maxP || r < tt.minR || r > tt.maxR {
				t.Errorf("precision %.3f, recall %.3f; want precision in [%g, %g], recall in [%g, %g]", p, r, tt.minP, tt.maxP, tt.minR, tt.maxR)
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	if _, err := NewFeatures(make([]float32, 5), 2, 3); err == nil {
		t.Error("NewFeatures took 5 values for 2 features of 3")
	}
	one := gaussianFeatures(1, 1, 4, 0, 1)
	if _, err := one.Stats(); err == nil {
		t.Error("Stats of one feature vector gave no error")
	}
	a, b := gaussianFeatures(1, 10, 4, 0, 1), gaussianFeatures(1, 10, 5, 0, 1)
	if _, err := Frechet(mustStats(t, a), mustStats(t, b)); err == nil {
		t.Error("Frechet of features of 4 and 5 values gave no error")
	}
	if _, _, err := PrecisionRecall(a, b, 3); err == nil {
		t.Error("PrecisionRecall of features of 4 and 5 values gave no error")
	}
	if _, _, err := PrecisionRecall(a, a, 10); err == nil {
		t.Error("PrecisionRecall with k = 10 among 10 features gave no error")
	}
}

// BenchmarkPrecisionRecall measures precision and recall at eval's size: 10,000 samples
// against 10,000 test images, 128 features each.
func BenchmarkPrecisionRecall(b *testing.B) {
	real, gen := gaussianFeatures(1, 10000, 128, 0, 1), gaussianFeatures(2, 10000, 128, 0.1, 1)
	for b.Loop() {
		if _, _, err := PrecisionRecall(real, gen, 3); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFrechet measures the statistics of 10,000 features of 128 values and the
// distance between two such sets.
func BenchmarkFrechet(b *testing.B) {
	real, gen := gaussianFeatures(1, 10000, 128, 0, 1), gaussianFeatures(2, 10000, 128, 0.1, 1)
	for b.Loop() {
		sr, err := real.Stats()
		if err != nil {
			b.Fatal(err)
		}
		sg, err := gen.Stats()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Frechet(sr, sg); err != nil {
			b.Fatal(err)
		}
	}
}

// TestOpenRefusesAutoencoder requires an autoencoder entry to be refused as a yardstick.
func TestOpenRefusesAutoencoder(t *testing.T) {
	entries, err := zoo.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Manifest().IsClassifier() {
			continue
		}
		if n, err := Open(e, infer.Options{}); errkind.Of(err) != errkind.Unprocessable || !strings.Contains(err.Error(), "not a classifier") {
			if n != nil {
				n.Close()
			}
			t.Errorf("%s as a yardstick: %v, want an unprocessable-entry error", e.Manifest().Name, err)
		}
	}
}
