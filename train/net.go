package train

import (
	"fmt"

	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // graph-building code reads better unqualified.

	"github.com/latentzoo/latentzoo/models"
)

// netOutputs is what one forward pass of a models.Net gives.
type netOutputs struct {
	// Out holds each Output by name.
	Out map[string]*Node
	// Logits holds, for outputs whose last layer is a sigmoid, the value before it, so
	// that losses can use numerically stable forms.
	Logits map[string]*Node
	// Stats holds new running statistics of batch norm layers by parameter name, in
	// training mode.
	Stats map[string]*Node
}

// forward builds net on input x (NCHW images or [N, features]); outputs are in the same
// layouts. params maps every models.Param name to its node. In training mode batch norm
// uses batch statistics and reports updated running ones.
func forward(net models.Net, params map[string]*Node, x *Node, training bool) netOutputs {
	res := netOutputs{Out: map[string]*Node{}, Logits: map[string]*Node{}, Stats: map[string]*Node{}}
	// Between layers, images are NHWC (see layers.go).
	contract := func(h *Node) *Node {
		if h.Rank() == 4 {
			return toNCHW(h)
		}
		return h
	}
	// Each trunk layer's result, by name, for heads that read one (Output.From).
	trunk := map[string]*Node{}
	run := func(h *Node, layers []models.Layer, out string) *Node {
		for i, l := range layers {
			if l.Op == models.Sigmoid && i == len(layers)-1 && out != "" {
				res.Logits[out] = contract(h)
			}
			h = applyLayer(net.Name, l, params, h, training, res.Stats)
			if out == "" {
				trunk[l.Name] = h
			}
		}
		return h
	}
	if x.Rank() == 4 {
		x = toNHWC(x)
	}
	h := run(x, net.Trunk, "")
	for _, o := range net.Outputs {
		in := h
		if o.From != "" {
			in = trunk[o.From]
		}
		res.Out[o.Name] = contract(run(in, o.Layers, o.Name))
	}
	return res
}

func applyLayer(prefix string, l models.Layer, params map[string]*Node, h *Node, training bool, stats map[string]*Node) *Node {
	p := func(name string) *Node {
		full := prefix + "/" + l.Name + "/" + name
		n, ok := params[full]
		if !ok {
			panic(fmt.Sprintf("train: parameter %q missing", full))
		}
		return n
	}
	weight := func() *Node {
		w := p("weight")
		if !l.SpectralNorm {
			return w
		}
		wn, u := spectralNormalize(l, w, p("u"))
		if training {
			stats[prefix+"/"+l.Name+"/u"] = u
		}
		return wn
	}
	switch l.Op {
	case models.Conv:
		return conv2d(h, weight(), p("bias"), l.Kernel, l.Stride, l.Pad)
	case models.ConvTranspose:
		return convTranspose2d(h, p("weight"), p("bias"), l.Kernel, l.Stride, l.Pad)
	case models.Dense:
		return dense(h, weight(), p("bias"))
	case models.BatchNorm:
		return batchNorm(prefix+"/"+l.Name+"/", l, p, h, training, stats)
	case models.LeakyReLU:
		return leakyReLU(h, l.Alpha)
	case models.ReLU:
		return Max(h, ScalarZero(h.Graph(), h.DType()))
	case models.Sigmoid:
		return Logistic(h)
	case models.Flatten:
		// ONNX flattens NCHW.
		return Reshape(toNCHW(h), h.Shape().Dimensions[0], -1)
	case models.Unflatten:
		return toNHWC(Reshape(h, append([]int{h.Shape().Dimensions[0]}, l.Shape...)...))
	case models.L2Normalize:
		return Div(h, ExpandAxes(Sqrt(ReduceSum(Square(h), -1)), -1))
	case models.Broadcast:
		return BroadcastToDims(ExpandAxes(p("bias"), 0), h.Shape().Dimensions[0], l.Out)
	}
	panic(fmt.Sprintf("train: layer %s: unknown op %q", l.Name, l.Op))
}

// batchNorm normalises per channel: the last axis of NHWC or of [N, features].
func batchNorm(base string, l models.Layer, p func(string) *Node, h *Node, training bool, stats map[string]*Node) *Node {
	rank := h.Rank()
	axes := make([]int, rank-1)
	bshape := make([]int, rank)
	for i := range axes {
		axes[i] = i
		bshape[i] = 1
	}
	bshape[rank-1] = l.Out
	bc := func(v *Node) *Node { return Reshape(v, bshape...) }
	var mean, variance *Node
	if training {
		mean = ReduceMean(h, axes...)
		variance = ReduceMean(Square(Sub(h, bc(mean))), axes...)
		m := float64(l.Momentum)
		stats[base+"mean"] = Add(MulScalar(p("mean"), m), MulScalar(StopGradient(mean), 1-m))
		stats[base+"var"] = Add(MulScalar(p("var"), m), MulScalar(StopGradient(variance), 1-m))
	} else {
		mean, variance = p("mean"), p("var")
	}
	// 1/sqrt rather than Rsqrt, which the ONNX Runtime backend lacks.
	norm := Div(Sub(h, bc(mean)), Sqrt(AddScalar(bc(variance), float64(l.Epsilon))))
	return Add(Mul(norm, bc(p("scale"))), bc(p("bias")))
}

// spectralNormalize is models.SpectralNormalize in the graph: w divided by sigma =
// u'ᵀ·M·v, from one step of power iteration v = normalise(Mᵀu), u' = normalise(M·v),
// M the weight as a matrix of Out rows. As in Miyato et al. (and PyTorch), u' and v are
// constants to the gradient, which flows through M alone. It returns the normalised
// weight and u', the running vector's next value.
func spectralNormalize(l models.Layer, w, u *Node) (*Node, *Node) {
	m := w
	if l.Op == models.Dense {
		m = Transpose(w, 0, 1) // [In, Out] → [Out, In]
	} else {
		m = Reshape(w, l.Out, -1)
	}
	m0 := StopGradient(m)
	v := StopGradient(unitVector(Dot(ExpandAxes(u, 0), m0).Product()))      // [1, cols]
	next := StopGradient(unitVector(Dot(m0, Transpose(v, 0, 1)).Product())) // [rows, 1]
	sigma := ReduceAllSum(Mul(next, Dot(m, Transpose(v, 0, 1)).Product()))
	return Div(w, sigma), Reshape(next, l.Out)
}

// unitVector divides x by its Euclidean norm plus models.SpectralEpsilon.
func unitVector(x *Node) *Node {
	return Div(x, AddScalar(Sqrt(ReduceAllSum(Square(x))), models.SpectralEpsilon))
}
