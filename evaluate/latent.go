package evaluate

import (
	"fmt"
	"math"
	"sort"

	"github.com/latentzoo/latentzoo/dataset"
)

// Encoder maps a batch of n NCHW images to their latents.
type Encoder interface {
	Encode(images []float32, n int) ([][]float32, error)
}

// Latents encodes every image of set in batches.
func Latents(e Encoder, set *dataset.Set, batch int) ([][]float32, error) {
	if batch <= 0 {
		batch = 256
	}
	size := set.ImageSize()
	var out [][]float32
	for start := 0; start < set.N; start += batch {
		n := min(batch, set.N-start)
		z, err := e.Encode(set.Images[start*size:(start+n)*size], n)
		if err != nil {
			return nil, fmt.Errorf("images %d-%d: %w", start, start+n, err)
		}
		if len(z) != n {
			return nil, fmt.Errorf("images %d-%d: %d latents back", start, start+n, len(z))
		}
		out = append(out, z...)
	}
	return out, nil
}

// SingularValues returns the singular values of the matrix whose rows are z, largest
// first: the square roots of the eigenvalues of zᵀz, found by cyclic Jacobi rotations.
func SingularValues(z [][]float32) []float64 {
	if len(z) == 0 {
		return nil
	}
	d := len(z[0])
	a := make([][]float64, d)
	for i := range a {
		a[i] = make([]float64, d)
	}
	for _, row := range z {
		for i := range d {
			for j := range d {
				a[i][j] += float64(row[i]) * float64(row[j])
			}
		}
	}
	for sweep := 0; sweep < 100; sweep++ {
		off := 0.0
		for i := range d {
			for j := i + 1; j < d; j++ {
				off += a[i][j] * a[i][j]
			}
		}
		if off < 1e-22*(1+trace(a)*trace(a)) {
			break
		}
		for p := range d {
			for q := p + 1; q < d; q++ {
				if a[p][q] == 0 {
					continue
				}
				theta := (a[q][q] - a[p][p]) / (2 * a[p][q])
				t := math.Copysign(1, theta) / (math.Abs(theta) + math.Sqrt(theta*theta+1))
				c := 1 / math.Sqrt(t*t+1)
				s := t * c
				for k := range d {
					akp, akq := a[k][p], a[k][q]
					a[k][p], a[k][q] = c*akp-s*akq, s*akp+c*akq
				}
				for k := range d {
					apk, aqk := a[p][k], a[q][k]
					a[p][k], a[q][k] = c*apk-s*aqk, s*apk+c*aqk
				}
			}
		}
	}
	sv := make([]float64, d)
	for i := range d {
		sv[i] = math.Sqrt(math.Max(a[i][i], 0))
	}
	sort.Sort(sort.Reverse(sort.Float64Slice(sv)))
	return sv
}

func trace(a [][]float64) float64 {
	t := 0.0
	for i := range a {
		t += a[i][i]
	}
	return t
}

// Spread is the ratio of the largest singular value to the smallest: 1 for latents spread
// evenly over every direction (isotropic), large when they crowd into fewer. It is the
// isotropy measure of MoCA's section 4.2 in one number.
func Spread(sv []float64) float64 {
	if len(sv) == 0 || sv[len(sv)-1] == 0 {
		return math.Inf(1)
	}
	return sv[0] / sv[len(sv)-1]
}
