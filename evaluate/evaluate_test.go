package evaluate

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/latentzoo/latentzoo/dataset"
)

func TestMetricsByHand(t *testing.T) {
	a := []float32{0, 0.5, 1, 0.25}
	b := []float32{0.5, 0.5, 0.5, 0.25}
	if got, want := MSE(a, b), (0.25+0+0.25+0)/4.0; math.Abs(got-want) > 1e-12 {
		t.Errorf("MSE = %v, want %v", got, want)
	}
	for _, tc := range []struct{ mse, want float64 }{{0.01, 20}, {0.001, 30}, {1, 0}, {0, 100}} {
		if got := PSNR(tc.mse); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("PSNR(%v) = %v, want %v", tc.mse, got, tc.want)
		}
	}
}

func TestSSIM(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const h, w = 16, 16
	img := make([]float32, h*w)
	for i := range img {
		img[i] = r.Float32()
	}
	if s := SSIM(img, img, 1, h, w); math.Abs(s-1) > 1e-9 {
		t.Errorf("SSIM of an image with itself = %v, want 1", s)
	}
	noisy := make([]float32, len(img))
	inverted := make([]float32, len(img))
	for i, v := range img {
		noisy[i] = min(1, max(0, v+float32(r.NormFloat64()*0.1)))
		inverted[i] = 1 - v
	}
	sn, si := SSIM(img, noisy, 1, h, w), SSIM(img, inverted, 1, h, w)
	if !(sn < 1 && sn > 0.5) {
		t.Errorf("SSIM with mild noise = %v, want in (0.5, 1)", sn)
	}
	if !(si < 0) {
		t.Errorf("SSIM with the inverted image = %v, want negative", si)
	}
}

// identity reconstructs perfectly; blur averages each image to its mean.
type identity struct{}

func (identity) Reconstruct(x []float32, n int) ([]float32, error) {
	return append([]float32(nil), x...), nil
}

type flat struct{ size int }

func (f flat) Reconstruct(x []float32, n int) ([]float32, error) {
	out := make([]float32, len(x))
	for i := 0; i < n; i++ {
		s := float32(0)
		for _, v := range x[i*f.size : (i+1)*f.size] {
			s += v
		}
		for j := range f.size {
			out[i*f.size+j] = s / float32(f.size)
		}
	}
	return out, nil
}

func TestReconstructionOnRealData(t *testing.T) {
	set, err := dataset.Load(dataset.FashionMNIST, dataset.Test, 32, 1)
	if err != nil {
		t.Fatal(err)
	}
	set = set.Subset(300)
	perfect, err := Reconstruction(identity{}, set, 64, nil)
	if err != nil {
		t.Fatal(err)
	}
	if perfect.MSE != 0 || perfect.PSNR != 100 || math.Abs(perfect.SSIM-1) > 1e-9 || perfect.Images != 300 {
		t.Errorf("identity: %+v", perfect)
	}
	poor, err := Reconstruction(flat{set.ImageSize()}, set, 64, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !(poor.MSE > 0.02 && poor.PSNR < 20 && poor.SSIM < 0.5) {
		t.Errorf("mean-colour reconstruction scored too well: %+v", poor)
	}
}

// TestSingularValues checks the Jacobi solver against matrices with known singular values.
func TestSingularValues(t *testing.T) {
	for _, tc := range []struct {
		name string
		z    [][]float32
		want []float64
	}{
		{"diagonal", [][]float32{{3, 0}, {0, 4}}, []float64{4, 3}},
		// Rows of a rotation scaled by 2 and 1: singular values 2 and 1.
		{"rotated", [][]float32{{2 * 0.6, 2 * 0.8}, {-0.8, 0.6}}, []float64{2, 1}},
		// [[1,1],[1,1]] has rank one: singular values 2 and 0.
		{"rank one", [][]float32{{1, 1}, {1, 1}}, []float64{2, 0}},
		// The 3x3 identity repeated four times: every singular value is 2.
		{"isotropic", [][]float32{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 0, 0}, {0, 1, 0}, {0, 0, 1}}, []float64{2, 2, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := SingularValues(tc.z)
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if math.Abs(got[i]-tc.want[i]) > 1e-5 {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
	if s := Spread([]float64{4, 2}); s != 2 {
		t.Errorf("Spread(4, 2) = %g, want 2", s)
	}
	if s := Spread([]float64{4, 0}); !math.IsInf(s, 1) {
		t.Errorf("Spread(4, 0) = %g, want +Inf", s)
	}
}
