package evaluate

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/disintegration/imaging"

	"github.com/latentzoo/latentzoo/autoencoder"
	"github.com/latentzoo/latentzoo/dataset"
	"github.com/latentzoo/latentzoo/infer"
	"github.com/latentzoo/latentzoo/pixels"
	"github.com/latentzoo/latentzoo/yardstick"
	"github.com/latentzoo/latentzoo/zoo"
)

// builtin opens the built-in entry called name.
func builtin(t *testing.T, name string) zoo.Entry {
	t.Helper()
	entries, err := zoo.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Manifest().Name == name {
			return e
		}
	}
	t.Fatalf("no built-in entry %s", name)
	return nil
}

// fashionYardstick opens the built-in Fashion-MNIST yardstick and the first n test images.
func fashionYardstick(t *testing.T, n int) (*yardstick.Network, *dataset.Set) {
	t.Helper()
	net, err := yardstick.Open(builtin(t, "classifier/fashion-mnist:v1"), infer.Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { net.Close() })
	test, err := dataset.Load(dataset.FashionMNIST, dataset.Test, 32, 1)
	if err != nil {
		t.Fatal(err)
	}
	return net, test.Subset(n)
}

// features runs images through the yardstick.
func features(t *testing.T, net *yardstick.Network, images []float32, n int) *yardstick.Features {
	t.Helper()
	f, _, err := net.Run(images, n, 256)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := yardstick.NewFeatures(f, n, net.FeatureSize())
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func frechet(t *testing.T, a, b *yardstick.Features) float64 {
	t.Helper()
	sa, err := a.Stats()
	if err != nil {
		t.Fatal(err)
	}
	sb, err := b.Stats()
	if err != nil {
		t.Fatal(err)
	}
	d, err := yardstick.Frechet(sa, sb)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// distort applies f to every image of set and returns the results end to end.
func distort(t *testing.T, set *dataset.Set, f func(i int, img []float32) []float32) []float32 {
	t.Helper()
	out := make([]float32, 0, len(set.Images))
	for i := range set.N {
		out = append(out, f(i, set.Image(i))...)
	}
	return out
}

// TestYardstickSeesDistortion requires the FID between the test images and distorted
// copies of them to rise strictly over four increasing levels of Gaussian blur and of
// additive Gaussian noise.
func TestYardstickSeesDistortion(t *testing.T) {
	const n = 2000
	net, test := fashionYardstick(t, n)
	real := features(t, net, test.Images, n)
	if d := frechet(t, real, real); math.Abs(d) > 1e-6 {
		t.Errorf("FID of the test features with themselves is %g, want 0", d)
	}
	blur := func(sigma float64) func(int, []float32) []float32 {
		return func(_ int, img []float32) []float32 {
			im, err := pixels.ToImage(img, 1, 32, 32)
			if err != nil {
				t.Fatal(err)
			}
			out := make([]float32, len(img))
			if err := pixels.FromImage(imaging.Blur(im, sigma), 32, 1, out); err != nil {
				t.Fatal(err)
			}
			return out
		}
	}
	noise := func(sigma float64) func(int, []float32) []float32 {
		return func(i int, img []float32) []float32 {
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			out := make([]float32, len(img))
			for j, v := range img {
				out[j] = float32(min(1, max(0, float64(v)+sigma*rng.NormFloat64())))
			}
			return out
		}
	}
	for _, tt := range []struct {
		name   string
		levels []float64
		make   func(float64) func(int, []float32) []float32
	}{
		{"blur", []float64{0.5, 1, 1.5, 2}, blur},
		{"noise", []float64{0.05, 0.1, 0.2, 0.4}, noise},
	} {
		prev := 0.0
		for _, level := range tt.levels {
			d := frechet(t, real, features(t, net, distort(t, test, tt.make(level)), n))
			t.Logf("%s %g: FID %.3f", tt.name, level, d)
			if !(d > prev) {
				t.Errorf("%s %g: FID %.4f, not above %.4f at the level before", tt.name, level, d, prev)
			}
			prev = d
		}
	}
}

// TestYardstickPrecisionRecall requires the test split against itself to have precision
// and recall 1, and uniform noise images to have precision near 0.
func TestYardstickPrecisionRecall(t *testing.T) {
	const n = 2000
	net, test := fashionYardstick(t, n)
	real := features(t, net, test.Images, n)
	p, r, err := yardstick.PrecisionRecall(real, real, NearestNeighbours)
	if err != nil {
		t.Fatal(err)
	}
	if p != 1 || r != 1 {
		t.Errorf("test split against itself: precision %g, recall %g, want 1 and 1", p, r)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	noise := make([]float32, len(test.Images))
	for i := range noise {
		noise[i] = rng.Float32()
	}
	p, r, err = yardstick.PrecisionRecall(real, features(t, net, noise, n), NearestNeighbours)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("uniform noise: precision %.4f, recall %.4f", p, r)
	if p > 0.05 {
		t.Errorf("uniform noise images have precision %.4f, want near 0", p)
	}
}

// TestQualityIsSeeded requires a model's samples drawn with the same seed to give the same
// FID, and another seed another one.
func TestQualityIsSeeded(t *testing.T) {
	net, test := fashionYardstick(t, 1000)
	m, err := autoencoder.Open(builtin(t, "vae/fashion-mnist:v1"), autoencoder.Options{Runtime: infer.Options{IntraOpThreads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var fids []float64
	for _, seed := range []int64{3, 3, 4} {
		q, err := MeasureQuality(net, m.Reconstructor(""), test, 500, seed, 256, nil)
		if err != nil {
			t.Fatal(err)
		}
		fids = append(fids, q.FIDSamples)
	}
	if fids[0] != fids[1] || fids[0] == fids[2] {
		t.Errorf("FIDs with seeds 3, 3, 4: %v; want the first two equal and the third other", fids)
	}
}

// TestQualityBadInput requires a clear error for sample counts out of range and for a
// yardstick of another data set.
func TestQualityBadInput(t *testing.T) {
	net, test := fashionYardstick(t, 100)
	m, err := autoencoder.Open(builtin(t, "vae/fashion-mnist:v1"), autoencoder.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, n := range []int{1, MaxSamples + 1} {
		if _, err := MeasureQuality(net, m.Reconstructor(""), test, n, 1, 256, nil); err == nil {
			t.Errorf("%d samples: no error", n)
		}
	}
	other := *test
	other.Name = dataset.MNIST
	if _, err := MeasureQuality(net, m.Reconstructor(""), &other, 10, 1, 256, nil); err == nil {
		t.Error("a Fashion-MNIST yardstick measured MNIST images")
	}
}

// BenchmarkEval is what latentzoo eval measures of the built-in VAE: the reconstruction
// metrics over the 10,000 Fashion-MNIST test images, then their reconstructions' and
// 10,000 prior samples' features on the built-in yardstick, FID, precision and recall.
func BenchmarkEval(b *testing.B) {
	entries, err := zoo.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	var vae, ys zoo.Entry
	for _, e := range entries {
		switch e.Manifest().Name {
		case "vae/fashion-mnist:v1":
			vae = e
		case "classifier/fashion-mnist:v1":
			ys = e
		}
	}
	if vae == nil || ys == nil {
		b.Fatal("the built-in VAE or Fashion-MNIST yardstick is missing")
	}
	net, err := yardstick.Open(ys, infer.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer net.Close()
	m, err := autoencoder.Open(vae, autoencoder.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	test, err := dataset.Load(dataset.FashionMNIST, dataset.Test, 32, 1)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Reconstruction(m.Reconstructor(""), test, 256, nil); err != nil {
			b.Fatal(err)
		}
		if _, err := MeasureQuality(net, m.Reconstructor(""), test, 10_000, 1, 256, nil); err != nil {
			b.Fatal(err)
		}
	}
}
