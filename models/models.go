// Package models describes the networks of latentzoo as data: backbones (encoder, decoder)
// and families (which nets a method trains, which graphs reconstruct and sample).
//
// One description feeds both the GoMLX training graph (package train) and the ONNX writer
// (package export), so no architecture is written twice. Tensors are NCHW; parameters are
// stored in the layout ONNX uses for the corresponding operator, so export copies them as
// they are.
package models

import (
	"fmt"
	"maps"
	"slices"

	"github.com/latentzoo/latentzoo/latent"
)

// Op names a layer's operation.
type Op string

// The layer operations a Net may use.
const (
	// Conv is a 2-D convolution. Params: weight [Out, In, K, K], bias [Out].
	Conv Op = "conv"
	// ConvTranspose is a 2-D transposed convolution (ONNX ConvTranspose semantics).
	// Params: weight [In, Out, K, K], bias [Out].
	ConvTranspose Op = "convtranspose"
	// Dense is a fully connected layer y = x·W + b. Params: weight [In, Out], bias [Out].
	Dense Op = "dense"
	// BatchNorm normalises over N, H, W per channel (or over N per feature for rank-2 input).
	// Params: scale, bias, mean, var, each [Out]; mean and var are running statistics.
	BatchNorm Op = "batchnorm"
	// LeakyReLU is max(x, Alpha·x).
	LeakyReLU Op = "leakyrelu"
	// ReLU is max(x, 0).
	ReLU Op = "relu"
	// Sigmoid is 1/(1+exp(-x)).
	Sigmoid Op = "sigmoid"
	// Flatten reshapes [N, C, H, W] to [N, C·H·W].
	Flatten Op = "flatten"
	// Unflatten reshapes [N, C·H·W] to [N, Shape...].
	Unflatten Op = "unflatten"
	// L2Normalize divides each row by its Euclidean norm (spherical latents).
	L2Normalize Op = "l2normalize"
	// Broadcast ignores its input's values and gives a learned vector of Out features for
	// every example: y[n] = b (a posterior log-variance that does not depend on x).
	// Params: bias [Out].
	Broadcast Op = "broadcast"
)

// Layer is one step of a Net.
type Layer struct {
	Op   Op
	Name string // unique within the Net; parameter names are Net.Name + "/" + Name + "/" + param
	// In and Out are channels (conv, batch norm) or features (dense).
	In, Out int
	// Kernel, Stride and Pad describe square convolutions.
	Kernel, Stride, Pad int
	// Alpha is the negative slope of LeakyReLU.
	Alpha float32
	// Shape is the per-example target shape of Unflatten, e.g. [128, 4, 4].
	Shape []int
	// Epsilon and Momentum configure BatchNorm (running = Momentum·running + (1-Momentum)·batch).
	Epsilon, Momentum float32
	// SpectralNorm divides a Conv's or Dense's weight by its largest singular value, as
	// estimated by one step of power iteration from the vector u (Miyato et al.), the
	// weight seen as a matrix of Out rows. u is a parameter of role PowerIteration; the
	// exported weight is the normalised one (see SpectralNormalize).
	SpectralNorm bool `json:",omitempty"`
}

// Role says how a parameter is initialised and whether it is trained by gradient.
type Role string

// The parameter roles.
const (
	Weight      Role = "weight"       // trained; random initialisation
	Bias        Role = "bias"         // trained; zeros
	Scale       Role = "scale"        // trained; ones
	RunningMean Role = "running_mean" // not trained by gradient; zeros
	RunningVar  Role = "running_var"  // not trained by gradient; ones
	// PowerIteration is spectral norm's vector u: not trained by gradient, updated by each
	// training forward pass; a random unit vector at first.
	PowerIteration Role = "power_iteration"
)

// Param is one named parameter tensor.
type Param struct {
	Name  string
	Shape []int
	Role  Role
	// FanIn is the number of inputs feeding one output, for weight initialisation.
	FanIn int
}

// Size is the number of elements of the parameter.
func (p Param) Size() int {
	n := 1
	for _, d := range p.Shape {
		n *= d
	}
	return n
}

// Trainable reports whether the parameter is updated by the optimiser.
func (p Param) Trainable() bool {
	return p.Role != RunningMean && p.Role != RunningVar && p.Role != PowerIteration
}

// Params lists the parameters of the layer, named under prefix.
func (l Layer) Params(prefix string) []Param {
	base := prefix + "/" + l.Name + "/"
	var sn []Param
	if l.SpectralNorm && (l.Op == Conv || l.Op == Dense) {
		sn = []Param{{Name: base + "u", Shape: []int{l.Out}, Role: PowerIteration}}
	}
	switch l.Op {
	case Conv:
		return append([]Param{
			{Name: base + "weight", Shape: []int{l.Out, l.In, l.Kernel, l.Kernel}, Role: Weight, FanIn: l.In * l.Kernel * l.Kernel},
			{Name: base + "bias", Shape: []int{l.Out}, Role: Bias},
		}, sn...)
	case ConvTranspose:
		// Each output pixel of a stride-s transposed conv sees In·(K/s)² inputs.
		taps := l.Kernel / max(l.Stride, 1)
		return []Param{
			{Name: base + "weight", Shape: []int{l.In, l.Out, l.Kernel, l.Kernel}, Role: Weight, FanIn: l.In * taps * taps},
			{Name: base + "bias", Shape: []int{l.Out}, Role: Bias},
		}
	case Dense:
		return append([]Param{
			{Name: base + "weight", Shape: []int{l.In, l.Out}, Role: Weight, FanIn: l.In},
			{Name: base + "bias", Shape: []int{l.Out}, Role: Bias},
		}, sn...)
	case Broadcast:
		return []Param{{Name: base + "bias", Shape: []int{l.Out}, Role: Bias}}
	case BatchNorm:
		return []Param{
			{Name: base + "scale", Shape: []int{l.Out}, Role: Scale},
			{Name: base + "bias", Shape: []int{l.Out}, Role: Bias},
			{Name: base + "mean", Shape: []int{l.Out}, Role: RunningMean},
			{Name: base + "var", Shape: []int{l.Out}, Role: RunningVar},
		}
	}
	return nil
}

// Output is a named output of a Net: the trunk's features passed through Layers.
type Output struct {
	Name   string // tensor name of the graphs' contract: "mu", "logvar", "z", "image"
	Layers []Layer
	// From, when set, names the trunk layer whose result the head reads instead of the
	// trunk's end (a head on an intermediate layer: deep supervision).
	From string `json:",omitempty"`
}

// Net is a feed-forward network: one input, a shared trunk, one or more output heads.
type Net struct {
	Name    string // "encoder", "decoder", "generator", ...
	Input   string // input tensor name: "image" or "z"
	InShape []int  // per-example input shape: [C, H, W] or [latent]
	Trunk   []Layer
	Outputs []Output
}

// Params lists every parameter of the Net in a stable order.
func (n Net) Params() []Param {
	var ps []Param
	for _, l := range n.Trunk {
		ps = append(ps, l.Params(n.Name)...)
	}
	for _, o := range n.Outputs {
		for _, l := range o.Layers {
			ps = append(ps, l.Params(n.Name)...)
		}
	}
	return ps
}

// Validate checks that layer names are unique, that output heads read known trunk
// layers, and that shapes chain: every layer's In (and a batch norm's Out) matches the
// per-example shape it is given, from InShape on.
func (n Net) Validate() error {
	seen := map[string]bool{}
	check := func(l Layer) error {
		if seen[l.Name] {
			return fmt.Errorf("net %s: duplicate layer name %q", n.Name, l.Name)
		}
		seen[l.Name] = true
		return nil
	}
	for _, l := range n.Trunk {
		if err := check(l); err != nil {
			return err
		}
	}
	trunk := maps.Clone(seen)
	for _, o := range n.Outputs {
		if o.From != "" && !trunk[o.From] {
			return fmt.Errorf("net %s: output %s reads unknown trunk layer %q", n.Name, o.Name, o.From)
		}
		for _, l := range o.Layers {
			if err := check(l); err != nil {
				return err
			}
		}
	}
	if len(n.Outputs) == 0 {
		return fmt.Errorf("net %s: no outputs", n.Name)
	}
	_, err := n.OutShapes()
	return err
}

// OutShapes gives the per-example shape of each output of the net, by name, following
// the shapes from InShape through every layer; it fails where a layer does not fit the
// shape it is given.
func (n Net) OutShapes() (map[string][]int, error) {
	shape := slices.Clone(n.InShape)
	at := map[string][]int{}
	var err error
	for _, l := range n.Trunk {
		if shape, err = l.OutShape(shape); err != nil {
			return nil, fmt.Errorf("net %s: %w", n.Name, err)
		}
		at[l.Name] = shape
	}
	outs := map[string][]int{}
	for _, o := range n.Outputs {
		s := shape
		if o.From != "" {
			s = at[o.From]
		}
		for _, l := range o.Layers {
			if s, err = l.OutShape(s); err != nil {
				return nil, fmt.Errorf("net %s output %s: %w", n.Name, o.Name, err)
			}
		}
		outs[o.Name] = s
	}
	return outs, nil
}

// OutShape is the per-example shape the layer gives for input shape in, or an error
// when the layer does not fit it.
func (l Layer) OutShape(in []int) ([]int, error) {
	size := 1
	for _, d := range in {
		size *= d
	}
	mismatch := func(want string) error {
		return fmt.Errorf("layer %s (%s): input %v, want %s", l.Name, l.Op, in, want)
	}
	switch l.Op {
	case Conv, ConvTranspose:
		if len(in) != 3 || in[0] != l.In {
			return nil, mismatch(fmt.Sprintf("[%d, H, W]", l.In))
		}
		side := func(x int) int {
			if l.Op == Conv {
				return (x+2*l.Pad-l.Kernel)/max(l.Stride, 1) + 1
			}
			return (x-1)*l.Stride - 2*l.Pad + l.Kernel
		}
		h, w := side(in[1]), side(in[2])
		if h <= 0 || w <= 0 {
			return nil, mismatch("a map the kernel fits")
		}
		return []int{l.Out, h, w}, nil
	case Dense:
		if len(in) != 1 || in[0] != l.In {
			return nil, mismatch(fmt.Sprintf("[%d]", l.In))
		}
		return []int{l.Out}, nil
	case BatchNorm:
		if len(in) == 0 || in[0] != l.Out || l.In != l.Out {
			return nil, mismatch(fmt.Sprintf("%d channels", l.Out))
		}
		return in, nil
	case LeakyReLU, ReLU, Sigmoid:
		return in, nil
	case Flatten:
		return []int{size}, nil
	case Unflatten:
		want := 1
		for _, d := range l.Shape {
			want *= d
		}
		if size != want {
			return nil, mismatch(fmt.Sprintf("%d values for %v", want, l.Shape))
		}
		return slices.Clone(l.Shape), nil
	case L2Normalize:
		if len(in) != 1 {
			return nil, mismatch("a vector")
		}
		return in, nil
	case Broadcast:
		return []int{l.Out}, nil
	}
	return nil, fmt.Errorf("layer %s: unknown op %q", l.Name, l.Op)
}

// SpectralNormalize is the weight w of a layer with SpectralNorm (its ONNX layout, Out
// rows first for Conv; [In, Out] for Dense) divided by its spectral norm as one step of
// power iteration from u estimates it: v = normalise(Mᵀu), u' = normalise(M·v),
// sigma = u'ᵀ·M·v, with M the weight as a matrix of Out rows. The training graph computes
// the same, so the exported weight is the one training used; it also returns u'.
func SpectralNormalize(l Layer, w, u []float32) (normalised, next []float32) {
	rows := l.Out
	cols := len(w) / rows
	at := func(i, j int) float64 { // M[i][j]
		if l.Op == Dense {
			return float64(w[j*rows+i]) // w is [In, Out]: M = wᵀ
		}
		return float64(w[i*cols+j])
	}
	v := make([]float64, cols)
	for j := range v {
		for i := range rows {
			v[j] += at(i, j) * float64(u[i])
		}
	}
	normalize(v)
	mv := make([]float64, rows)
	for i := range mv {
		for j := range v {
			mv[i] += at(i, j) * v[j]
		}
	}
	un := append([]float64(nil), mv...)
	normalize(un)
	var sigma float64
	for i := range un {
		sigma += un[i] * mv[i]
	}
	normalised = make([]float32, len(w))
	for i, x := range w {
		normalised[i] = float32(float64(x) / sigma)
	}
	next = make([]float32, rows)
	for i, x := range un {
		next[i] = float32(x)
	}
	return normalised, next
}

// normalize divides v by its Euclidean norm, plus a small epsilon as in the training graph.
func normalize(v []float64) {
	n := latent.Norm(v) + SpectralEpsilon
	for i := range v {
		v[i] /= n
	}
}

// SpectralEpsilon is added to norms in power iteration, so that a zero vector stays finite.
const SpectralEpsilon = 1e-12
