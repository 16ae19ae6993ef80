// Package evaluate measures how well a model reconstructs a data set's test split: mean
// squared error, PSNR and SSIM over pixels in [0,1].
package evaluate

import (
	"fmt"
	"math"

	"github.com/latentzoo/latentzoo/dataset"
)

// Reconstructor maps a batch of n NCHW images to their reconstructions.
type Reconstructor interface {
	Reconstruct(images []float32, n int) ([]float32, error)
}

// Metrics are the reconstruction metrics of a data set, averaged over its images.
type Metrics struct {
	Images int
	// MSE is the mean squared pixel error.
	MSE float64
	// PSNR is the mean over images of 10·log10(1/MSE_image), in dB.
	PSNR float64
	// SSIM is the mean structural similarity (Gaussian window σ 1.5, size 11, per channel).
	SSIM float64
}

// Map returns the metrics by the names the manifests use.
func (m Metrics) Map(prefix string) map[string]float64 {
	return map[string]float64{prefix + "mse": m.MSE, prefix + "psnr": m.PSNR, prefix + "ssim": m.SSIM}
}

// Reconstruction runs r over every image of set in batches and measures the result.
// progress, when not nil, hears the number of images done after each batch.
func Reconstruction(r Reconstructor, set *dataset.Set, batch int, progress func(done int)) (Metrics, error) {
	if batch <= 0 {
		batch = 256
	}
	size := set.ImageSize()
	var sse, psnr, ssim float64
	for start := 0; start < set.N; start += batch {
		n := min(batch, set.N-start)
		in := set.Images[start*size : (start+n)*size]
		out, err := r.Reconstruct(in, n)
		if err != nil {
			return Metrics{}, fmt.Errorf("images %d-%d: %w", start, start+n, err)
		}
		if len(out) != len(in) {
			return Metrics{}, fmt.Errorf("images %d-%d: %d values back, want %d", start, start+n, len(out), len(in))
		}
		for i := 0; i < n; i++ {
			a, b := in[i*size:(i+1)*size], out[i*size:(i+1)*size]
			e := MSE(a, b)
			sse += e * float64(size)
			psnr += PSNR(e)
			ssim += SSIM(a, b, set.C, set.H, set.W)
		}
		if progress != nil {
			progress(start + n)
		}
	}
	return Metrics{Images: set.N, MSE: sse / float64(set.N*size), PSNR: psnr / float64(set.N), SSIM: ssim / float64(set.N)}, nil
}

// MSE is the mean squared difference of a and b.
func MSE(a, b []float32) float64 {
	s := 0.0
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += d * d
	}
	return s / float64(len(a))
}

// PSNR is the peak signal-to-noise ratio in dB of an image with mean squared error mse,
// for pixels in [0,1]; it is capped at 100 dB for identical images.
func PSNR(mse float64) float64 {
	if mse <= 1e-10 {
		return 100
	}
	return -10 * math.Log10(mse)
}

// SSIM is the mean structural similarity of two CHW images in [0,1] (Wang et al. 2004:
// Gaussian window of size 11 and σ 1.5, K1 0.01, K2 0.03, valid positions only), averaged
// over channels.
func SSIM(a, b []float32, c, h, w int) float64 {
	const size, sigma = 11, 1.5
	const c1, c2 = 0.01 * 0.01, 0.03 * 0.03
	win := gaussianWindow(size, sigma)
	if h < size || w < size {
		return math.NaN()
	}
	total, count := 0.0, 0
	for ch := 0; ch < c; ch++ {
		pa, pb := a[ch*h*w:(ch+1)*h*w], b[ch*h*w:(ch+1)*h*w]
		for y := 0; y+size <= h; y++ {
			for x := 0; x+size <= w; x++ {
				var ma, mb, saa, sbb, sab float64
				for dy := 0; dy < size; dy++ {
					for dx := 0; dx < size; dx++ {
						g := win[dy*size+dx]
						va, vb := float64(pa[(y+dy)*w+x+dx]), float64(pb[(y+dy)*w+x+dx])
						ma += g * va
						mb += g * vb
						saa += g * va * va
						sbb += g * vb * vb
						sab += g * va * vb
					}
				}
				va, vb, cov := saa-ma*ma, sbb-mb*mb, sab-ma*mb
				total += ((2*ma*mb + c1) * (2*cov + c2)) / ((ma*ma + mb*mb + c1) * (va + vb + c2))
				count++
			}
		}
	}
	return total / float64(count)
}

func gaussianWindow(size int, sigma float64) []float64 {
	w := make([]float64, size*size)
	sum := 0.0
	c := float64(size-1) / 2
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			v := math.Exp(-((float64(x)-c)*(float64(x)-c) + (float64(y)-c)*(float64(y)-c)) / (2 * sigma * sigma))
			w[y*size+x] = v
			sum += v
		}
	}
	for i := range w {
		w[i] /= sum
	}
	return w
}
