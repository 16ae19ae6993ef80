package yardstick

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// blockRows is how many rows of one set meet all rows of the other at a time in the
// pairwise distances, which bounds the memory to blockRows × rows float64s.
const blockRows = 512

// PrecisionRecall returns the improved precision and recall of the generated features
// against the real ones (Kynkäänniemi et al. 2019) with k nearest neighbours: each feature
// vector stands for the ball around it reaching its k-th nearest neighbour in its own set,
// their union approximates the set's manifold; precision is the fraction of generated
// vectors inside the real manifold, recall the fraction of real vectors inside the
// generated one.
func PrecisionRecall(real, gen *Features, k int) (precision, recall float64, err error) {
	if real.Dim != gen.Dim {
		return 0, 0, fmt.Errorf("yardstick: features of %d and %d values", real.Dim, gen.Dim)
	}
	if k < 1 || real.Rows <= k || gen.Rows <= k {
		return 0, 0, fmt.Errorf("yardstick: %d nearest neighbours among %d real and %d generated features", k, real.Rows, gen.Rows)
	}
	realRadii := kthNeighbour(real, k)
	genRadii := kthNeighbour(gen, k)
	precision = covered(gen, real, realRadii)
	recall = covered(real, gen, genRadii)
	return precision, recall, nil
}

// squaredNorms are the squared lengths of f's rows.
func squaredNorms(f *Features) []float64 {
	out := make([]float64, f.Rows)
	for i := range out {
		for _, v := range f.Row(i) {
			out[i] += v * v
		}
	}
	return out
}

// distances calls visit with each block of rows of a, starting at row lo, and the squared
// distances from those rows to every row of b (block row i, column j: |a_lo+i − b_j|²).
func distances(a, b *Features, visit func(lo int, d *mat.Dense)) {
	na, nb := squaredNorms(a), squaredNorms(b)
	bm := mat.NewDense(b.Rows, b.Dim, b.Data)
	var d mat.Dense
	for lo := 0; lo < a.Rows; lo += blockRows {
		hi := min(lo+blockRows, a.Rows)
		am := mat.NewDense(hi-lo, a.Dim, a.Data[lo*a.Dim:hi*a.Dim])
		d.Reset()
		d.Mul(am, bm.T())
		d.Apply(func(i, j int, dot float64) float64 { return max(0, na[lo+i]+nb[j]-2*dot) }, &d)
		visit(lo, &d)
	}
}

// kthNeighbour is, for each row of f, the distance to its k-th nearest other row.
func kthNeighbour(f *Features, k int) []float64 {
	radii := make([]float64, f.Rows)
	nearest := make([]float64, 0, k+1)
	distances(f, f, func(lo int, d *mat.Dense) {
		rows, cols := d.Dims()
		for i := range rows {
			nearest = nearest[:0]
			for j := range cols {
				if j == lo+i {
					continue
				}
				v := d.At(i, j)
				if len(nearest) == k && v >= nearest[k-1] {
					continue
				}
				at, _ := slices.BinarySearch(nearest, v)
				nearest = slices.Insert(nearest, at, v)
				if len(nearest) > k {
					nearest = nearest[:k]
				}
			}
			radii[lo+i] = math.Sqrt(nearest[k-1])
		}
	})
	return radii
}

// covered is the fraction of rows of a that lie inside the ball of radius radii[j] around
// some row j of b.
func covered(a, b *Features, radii []float64) float64 {
	sq := make([]float64, len(radii))
	for j, r := range radii {
		sq[j] = r * r
	}
	in := 0
	distances(a, b, func(_ int, d *mat.Dense) {
		rows, cols := d.Dims()
		for i := range rows {
			for j := range cols {
				if d.At(i, j) <= sq[j] {
					in++
					break
				}
			}
		}
	})
	return float64(in) / float64(a.Rows)
}
