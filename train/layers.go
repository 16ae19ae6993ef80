package train

import (
	"fmt"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // graph-building code reads better unqualified.
)

// The layers here use only ops whose gradients are right in GoMLX v0.28.8 and that the
// ONNX Runtime backend implements. Convolve's input gradient is wrong for even kernels
// (in GoMLX's graph code, so on every backend) and is built with input dilation, which
// ONNX Conv lacks; the gradient of a strided Slice uses interior padding, which ONNX Pad
// lacks. So convolutions are written as im2col with plain (unit-stride) slices,
// concatenation and one matrix product.

// Inside training graphs images are NHWC, so that every tap of an im2col copies whole
// channel vectors; nets convert from and to the NCHW of the ONNX contract at their ends.

// padSpatial zero-pads axes 1 and 2 of an NHWC tensor. Every axis gets a PadAxis, since
// GoMLX's Pad gradient has the wrong shape otherwise.
func padSpatial(x *Node, top, bottom, left, right int) *Node {
	if top == 0 && bottom == 0 && left == 0 && right == 0 {
		return x
	}
	return Pad(x, ScalarZero(x.Graph(), x.DType()),
		compute.PadAxis{}, compute.PadAxis{Start: top, End: bottom},
		compute.PadAxis{Start: left, End: right}, compute.PadAxis{})
}

// conv2d is ONNX Conv on NHWC input x with the ONNX weight w [O, C, K, K], bias b [O],
// square stride s and padding p. It is written as space-to-depth followed by a stride-1
// convolution with ceil(K/s)² taps, each a plain slice of whole s·s·C vectors, and the
// output is the sum of one matrix product per tap: no patch matrix is assembled, so
// neither the forward pass nor the gradient copies the taps a second time.
func conv2d(x, w, b *Node, k, s, p int) *Node {
	dims := x.Shape().Dimensions
	n, h, wd, c := dims[0], dims[1], dims[2], dims[3]
	o := w.Shape().Dimensions[0]
	ho, wo := (h+2*p-k)/s+1, (wd+2*p-k)/s+1
	kq := (k + s - 1) / s
	// Pad to s·(kq-1+ho) rows so that every tap's window exists; rows past the ONNX
	// padding only ever meet zero weights.
	hx, wx := s*(kq-1+ho), s*(kq-1+wo)
	xp := padSpatial(x, p, max(0, hx-h-p), p, max(0, wx-wd-p))
	if xp.Shape().Dimensions[1] != hx || xp.Shape().Dimensions[2] != wx {
		xp = Slice(xp, AxisRange(), AxisRange(0, hx), AxisRange(0, wx), AxisRange())
	}
	// Space to depth: sd[n, i, j, (a, b, c)] = xp[n, s·i+a, s·j+b, c].
	sd := xp
	if s > 1 {
		sd = Reshape(TransposeAllDims(Reshape(xp, n, hx/s, s, wx/s, s, c), 0, 1, 3, 2, 4, 5), n, hx/s, wx/s, s*s*c)
	}
	cs := s * s * c
	// Weights per tap: kernel row ky = s·qy + a, column kx = s·qx + b.
	wk := w
	if kq*s != k {
		wk = Pad(w, ScalarZero(w.Graph(), w.DType()), compute.PadAxis{}, compute.PadAxis{},
			compute.PadAxis{End: kq*s - k}, compute.PadAxis{End: kq*s - k})
	}
	wm := Reshape(TransposeAllDims(Reshape(wk, o, c, kq, s, kq, s), 2, 4, 3, 5, 1, 0), kq*kq, cs, o)
	var y *Node
	for qy := 0; qy < kq; qy++ {
		for qx := 0; qx < kq; qx++ {
			t := sd
			if kq > 1 {
				t = Slice(sd, AxisRange(), AxisRange(qy, qy+ho), AxisRange(qx, qx+wo), AxisRange())
			}
			wt := Reshape(Slice(wm, AxisElem(qy*kq+qx), AxisRange(), AxisRange()), cs, o)
			yt := Dot(Reshape(t, n*ho*wo, cs), wt).Product()
			if y == nil {
				y = yt
			} else {
				y = Add(y, yt)
			}
		}
	}
	y = Add(y, ExpandAxes(b, 0))
	return Reshape(y, n, ho, wo, o)
}

// convTranspose2d is ONNX ConvTranspose on NHWC input x with the ONNX weight w [C, O, K, K],
// bias b [O], square stride s and padding p, written in sub-pixel form: output phase
// (a, b) of the s×s phases is an ordinary correlation of x with the kernel taps that land
// on it, the sum of one matrix product per tap over a window of x that the phases share.
// It needs the output size, (H-1)·s - 2p + K, to be a multiple of s.
func convTranspose2d(x, w, b *Node, k, s, p int) *Node {
	dims := x.Shape().Dimensions
	n, h, wd, c := dims[0], dims[1], dims[2], dims[3]
	o := w.Shape().Dimensions[1]
	hout, wout := (h-1)*s-2*p+k, (wd-1)*s-2*p+k
	if hout%s != 0 || wout%s != 0 {
		panic(fmt.Sprintf("convTranspose2d: output %dx%d is not a multiple of stride %d", hout, wout, s))
	}
	hq, wq := hout/s, wout/s
	// For output row s·m+a, tap ky contributes input row m+d with d = (a+p-ky)/s whenever
	// that division is exact.
	type tap struct{ k, d int }
	phaseTaps := make([][]tap, s)
	lo, hi := 0, 0
	for a := 0; a < s; a++ {
		for kk := 0; kk < k; kk++ {
			if (a+p-kk)%s == 0 {
				d := (a + p - kk) / s
				phaseTaps[a] = append(phaseTaps[a], tap{kk, d})
				lo, hi = min(lo, d), max(hi, d)
			}
		}
	}
	// Pad so that rows m+d for m in [0, hq) and every d exist.
	padLo := -lo
	xp := padSpatial(x, padLo, max(0, hq+hi-h), padLo, max(0, wq+hi-wd))
	wt := Reshape(TransposeAllDims(w, 2, 3, 0, 1), k*k, c, o) // [(ky, kx), C, O]
	// Phases share their input windows: slice each offset once.
	windows := map[[2]int]*Node{}
	window := func(dy, dx int) *Node {
		if t, ok := windows[[2]int{dy, dx}]; ok {
			return t
		}
		t := xp
		if xp.Shape().Dimensions[1] != hq || xp.Shape().Dimensions[2] != wq {
			t = Slice(xp, AxisRange(), AxisRange(padLo+dy, padLo+dy+hq), AxisRange(padLo+dx, padLo+dx+wq), AxisRange())
		}
		t = Reshape(t, n*hq*wq, c)
		windows[[2]int{dy, dx}] = t
		return t
	}
	phases := make([]*Node, 0, s*s)
	for a := 0; a < s; a++ {
		for bb := 0; bb < s; bb++ {
			var y *Node
			for _, ty := range phaseTaps[a] {
				for _, tx := range phaseTaps[bb] {
					wk := Reshape(Slice(wt, AxisElem(ty.k*k+tx.k), AxisRange(), AxisRange()), c, o)
					yt := Dot(window(ty.d, tx.d), wk).Product()
					if y == nil {
						y = yt
					} else {
						y = Add(y, yt)
					}
				}
			}
			phases = append(phases, Reshape(y, 1, n, hq, wq, o))
		}
	}
	// Depth to space: y[n, s·m+a, s·l+b, o] = phase (a, b) at [n, m, l, o].
	y := Reshape(Concatenate(phases, 0), s, s, n, hq, wq, o)
	y = Reshape(TransposeAllDims(y, 2, 3, 0, 4, 1, 5), n, hout, wout, o)
	return Add(y, Reshape(b, 1, 1, 1, o))
}

// prod is the number of elements of a shape.
func prod(d []int) int {
	n := 1
	for _, v := range d {
		n *= v
	}
	return n
}

// dense is x·W + b with W [in, out].
func dense(x, w, b *Node) *Node {
	return Add(Dot(x, w).Product(), ExpandAxes(b, 0))
}

// toNHWC and toNCHW convert image layouts.
func toNHWC(x *Node) *Node { return TransposeAllDims(x, 0, 2, 3, 1) }
func toNCHW(x *Node) *Node { return TransposeAllDims(x, 0, 3, 1, 2) }

// leakyReLU is max(x, alpha·x) for 0 < alpha < 1.
func leakyReLU(x *Node, alpha float32) *Node {
	return Max(x, MulScalar(x, float64(alpha)))
}

// softplus is log(1+exp(x)) written without IsFinite, which the ONNX Runtime backend lacks.
func softplus(x *Node) *Node {
	return Add(Max(x, ScalarZero(x.Graph(), x.DType())), Log1p(Exp(Neg(Abs(x)))))
}
