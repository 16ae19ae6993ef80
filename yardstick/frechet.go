// Package yardstick measures how much a model's images look like a data set's, on the
// features of a feature network (a classifier's penultimate layer): the Fréchet distance
// between the two feature distributions (FID when the network is Inception; here it is
// latentzoo's own classifier, so numbers compare within latentzoo and not with papers),
// and precision and recall (Kynkäänniemi et al. 2019), which say apart how many samples
// land on the data's manifold and how much of it they cover.
package yardstick

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
)

// Stats are the mean and covariance of a set of features, in float64.
type Stats struct {
	Mean []float64
	Cov  *mat.SymDense
	N    int
}

// Features is a set of feature vectors, one row each, in float64.
type Features struct {
	Dim  int
	Rows int
	Data []float64 // Rows × Dim, row-major
}

// NewFeatures copies n float32 feature vectors of dim values laid end to end.
func NewFeatures(data []float32, n, dim int) (*Features, error) {
	if n <= 0 || dim <= 0 || len(data) != n*dim {
		return nil, fmt.Errorf("yardstick: %d values for %d features of %d", len(data), n, dim)
	}
	f := &Features{Dim: dim, Rows: n, Data: make([]float64, len(data))}
	for i, v := range data {
		f.Data[i] = float64(v)
	}
	return f, nil
}

// Row is feature vector i.
func (f *Features) Row(i int) []float64 { return f.Data[i*f.Dim : (i+1)*f.Dim] }

// Stats returns the features' mean and covariance (unbiased, as numpy.cov): the statistics
// that the Fréchet distance compares. It needs two features at least.
func (f *Features) Stats() (Stats, error) {
	if f.Rows < 2 {
		return Stats{}, fmt.Errorf("yardstick: %d features; a covariance needs 2 at least", f.Rows)
	}
	x := mat.NewDense(f.Rows, f.Dim, f.Data)
	cov := mat.NewSymDense(f.Dim, nil)
	stat.CovarianceMatrix(cov, x, nil)
	mean := make([]float64, f.Dim)
	for j := range mean {
		mean[j] = stat.Mean(mat.Col(nil, j, x), nil)
	}
	return Stats{Mean: mean, Cov: cov, N: f.Rows}, nil
}

// Frechet is the Fréchet distance between Gaussians with the statistics a and b:
//
//	|μa − μb|² + Tr(Σa + Σb − 2 (Σa Σb)^½).
//
// The trace of the square root is taken as Tr((Σa^½ Σb Σa^½)^½), whose matrix is
// symmetric, through two symmetric eigendecompositions; eigenvalues that rounding makes
// slightly negative count as 0.
func Frechet(a, b Stats) (float64, error) {
	d := len(a.Mean)
	if len(b.Mean) != d {
		return 0, fmt.Errorf("yardstick: features of %d and %d values", d, len(b.Mean))
	}
	var diff float64
	for i := range a.Mean {
		diff += (a.Mean[i] - b.Mean[i]) * (a.Mean[i] - b.Mean[i])
	}
	sqrtA, err := sqrtSym(a.Cov)
	if err != nil {
		return 0, err
	}
	var m mat.Dense
	m.Mul(sqrtA, b.Cov)
	m.Mul(&m, sqrtA)
	sym := mat.NewSymDense(d, nil)
	for i := range d {
		for j := i; j < d; j++ {
			sym.SetSym(i, j, (m.At(i, j)+m.At(j, i))/2)
		}
	}
	vals, err := eigenvalues(sym)
	if err != nil {
		return 0, err
	}
	var trSqrt float64
	for _, v := range vals {
		trSqrt += math.Sqrt(max(v, 0))
	}
	return diff + mat.Trace(a.Cov) + mat.Trace(b.Cov) - 2*trSqrt, nil
}

// sqrtSym is the symmetric square root of a positive semi-definite matrix.
func sqrtSym(s *mat.SymDense) (*mat.Dense, error) {
	var eig mat.EigenSym
	if !eig.Factorize(s, true) {
		return nil, errors.New("yardstick: eigendecomposition of a covariance failed")
	}
	vals := eig.Values(nil)
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	n := len(vals)
	scaled := mat.NewDense(n, n, nil)
	for j, v := range vals {
		r := math.Sqrt(max(v, 0))
		for i := range n {
			scaled.Set(i, j, vecs.At(i, j)*r)
		}
	}
	var out mat.Dense
	out.Mul(scaled, vecs.T())
	return &out, nil
}

func eigenvalues(s *mat.SymDense) ([]float64, error) {
	var eig mat.EigenSym
	if !eig.Factorize(s, false) {
		return nil, errors.New("yardstick: eigendecomposition failed")
	}
	return eig.Values(nil), nil
}
