package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // graph-building code reads better unqualified.
	"github.com/gomlx/gomlx/core/tensors"
)

// refConv is ONNX Conv by definition, in plain loops.
func refConv(x []float64, n, c, h, w int, wt []float64, o, k, s, p int, b []float64) ([]float64, int, int) {
	ho, wo := (h+2*p-k)/s+1, (w+2*p-k)/s+1
	y := make([]float64, n*o*ho*wo)
	for in := 0; in < n; in++ {
		for oc := 0; oc < o; oc++ {
			for i := 0; i < ho; i++ {
				for j := 0; j < wo; j++ {
					sum := b[oc]
					for ic := 0; ic < c; ic++ {
						for ky := 0; ky < k; ky++ {
							for kx := 0; kx < k; kx++ {
								yy, xx := i*s-p+ky, j*s-p+kx
								if yy < 0 || yy >= h || xx < 0 || xx >= w {
									continue
								}
								sum += x[((in*c+ic)*h+yy)*w+xx] * wt[((oc*c+ic)*k+ky)*k+kx]
							}
						}
					}
					y[((in*o+oc)*ho+i)*wo+j] = sum
				}
			}
		}
	}
	return y, ho, wo
}

// refConvTranspose is ONNX ConvTranspose by definition (weight [C, O, K, K]), in plain loops.
func refConvTranspose(x []float64, n, c, h, w int, wt []float64, o, k, s, p int, b []float64) ([]float64, int, int) {
	ho, wo := (h-1)*s-2*p+k, (w-1)*s-2*p+k
	y := make([]float64, n*o*ho*wo)
	for in := 0; in < n; in++ {
		for oc := 0; oc < o; oc++ {
			for i := 0; i < ho*wo; i++ {
				y[(in*o+oc)*ho*wo+i] = b[oc]
			}
		}
		for ic := 0; ic < c; ic++ {
			for i := 0; i < h; i++ {
				for j := 0; j < w; j++ {
					v := x[((in*c+ic)*h+i)*w+j]
					for oc := 0; oc < o; oc++ {
						for ky := 0; ky < k; ky++ {
							for kx := 0; kx < k; kx++ {
								yy, xx := i*s-p+ky, j*s-p+kx
								if yy < 0 || yy >= ho || xx < 0 || xx >= wo {
									continue
								}
								y[((in*o+oc)*ho+yy)*wo+xx] += v * wt[((ic*o+oc)*k+ky)*k+kx]
							}
						}
					}
				}
			}
		}
	}
	return y, ho, wo
}

func randSlice(r *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = r.NormFloat64()
	}
	return v
}

type convCase struct {
	name          string
	transpose     bool
	n, c, h, w, o int
	k, s, p       int
}

var convCases = []convCase{
	{"conv k4 s2 p1", false, 2, 3, 8, 8, 4, 4, 2, 1},
	{"conv k4 s2 p1 odd size", false, 1, 2, 7, 9, 3, 4, 2, 1},
	{"conv k3 s1 p1", false, 2, 2, 5, 5, 3, 3, 1, 1},
	{"conv k1 s1 p0", false, 2, 4, 4, 4, 2, 1, 1, 0},
	{"conv k4 s2 p0", false, 1, 2, 6, 6, 2, 4, 2, 0},
	{"convT k4 s2 p1", true, 2, 3, 4, 4, 2, 4, 2, 1},
	{"convT k4 s2 p1 1x1", true, 1, 4, 1, 1, 3, 4, 2, 1},
	{"convT k3 s1 p1", true, 2, 2, 5, 5, 3, 3, 1, 1},
	{"convT k2 s2 p0", true, 1, 2, 3, 3, 2, 2, 2, 0},
}

func (tc convCase) wshape() []int {
	if tc.transpose {
		return []int{tc.c, tc.o, tc.k, tc.k}
	}
	return []int{tc.o, tc.c, tc.k, tc.k}
}

func (tc convCase) layer(x, w, b *Node) *Node {
	if tc.transpose {
		return toNCHW(convTranspose2d(toNHWC(x), w, b, tc.k, tc.s, tc.p))
	}
	return toNCHW(conv2d(toNHWC(x), w, b, tc.k, tc.s, tc.p))
}

func (tc convCase) ref(x, w, b []float64) ([]float64, int, int) {
	if tc.transpose {
		return refConvTranspose(x, tc.n, tc.c, tc.h, tc.w, w, tc.o, tc.k, tc.s, tc.p, b)
	}
	return refConv(x, tc.n, tc.c, tc.h, tc.w, w, tc.o, tc.k, tc.s, tc.p, b)
}

// TestConvForwardAndGradient checks the im2col convolution and the sub-pixel transposed
// convolution against their definitions, and their gradients (input, weight, bias)
// against central finite differences of the reference, in float64.
func TestConvForwardAndGradient(t *testing.T) {
	for _, be := range testBackends(t) {
		for _, tc := range convCases {
			t.Run(be.name+"/"+tc.name, func(t *testing.T) {
				r := rand.New(rand.NewPCG(1, uint64(len(tc.name))))
				xd, wd := []int{tc.n, tc.c, tc.h, tc.w}, tc.wshape()
				x, w, b := randSlice(r, prod(xd)), randSlice(r, prod(wd)), randSlice(r, tc.o)
				want, ho, wo := tc.ref(x, w, b)
				proj := randSlice(r, len(want))
				yd := []int{tc.n, tc.o, ho, wo}

				exec := MustNewExec(be.backend, func(x, w, b, proj *Node) []*Node {
					y := tc.layer(x, w, b)
					loss := ReduceAllSum(Mul(y, proj))
					return append([]*Node{y}, Gradient(loss, x, w, b)...)
				})
				defer exec.Finalize()
				outs := exec.MustExec(
					tensors.FromFlatDataAndDimensions(x, xd...),
					tensors.FromFlatDataAndDimensions(w, wd...),
					tensors.FromFlatDataAndDimensions(b, tc.o),
					tensors.FromFlatDataAndDimensions(proj, yd...))
				got := tensors.MustCopyFlatData[float64](outs[0])
				if gd := outs[0].Shape().Dimensions; fmt.Sprint(gd) != fmt.Sprint(yd) {
					t.Fatalf("output shape %v, want %v", gd, yd)
				}
				if d := maxAbsDiff(got, want); d > 1e-9 {
					t.Fatalf("forward differs from the definition by %g", d)
				}

				// Finite differences of the reference's projected loss.
				loss := func(x, w, b []float64) float64 {
					y, _, _ := tc.ref(x, w, b)
					s := 0.0
					for i := range y {
						s += y[i] * proj[i]
					}
					return s
				}
				const eps = 1e-5
				for gi, v := range [][]float64{x, w, b} {
					grad := tensors.MustCopyFlatData[float64](outs[1+gi])
					for i := range v {
						orig := v[i]
						v[i] = orig + eps
						up := loss(x, w, b)
						v[i] = orig - eps
						down := loss(x, w, b)
						v[i] = orig
						fd := (up - down) / (2 * eps)
						if math.Abs(fd-grad[i]) > 1e-5*(1+math.Abs(fd)) {
							t.Fatalf("gradient %d[%d] = %g, finite difference %g", gi, i, grad[i], fd)
						}
					}
				}
			})
		}
	}
}

// maxAbsDiff is the largest absolute difference of two slices, +Inf where either holds
// a NaN (math.Max would carry the NaN, and a NaN passes every "> tol").
func maxAbsDiff[T float32 | float64](a, b []T) float64 {
	d := 0.0
	for i := range a {
		e := math.Abs(float64(a[i]) - float64(b[i]))
		if math.IsNaN(e) {
			return math.Inf(1)
		}
		d = math.Max(d, e)
	}
	return d
}

type namedBackend struct {
	name    string
	backend compute.Backend
}

// testBackends creates every backend compiled into the test binary.
func testBackends(t *testing.T) []namedBackend {
	t.Helper()
	var bs []namedBackend
	for _, cfg := range Backends() {
		b, err := NewBackend(cfg)
		if err != nil {
			t.Fatalf("backend %s: %v", cfg, err)
		}
		bs = append(bs, namedBackend{cfg, b})
	}
	return bs
}
