package export

import (
	"encoding/binary"
	"fmt"
	"math"

	"google.golang.org/protobuf/proto"

	"github.com/latentzoo/latentzoo/export/onnxpb"
	"github.com/latentzoo/latentzoo/models"
)

// value is a tensor of the graph being built: its name and its per-example shape, the
// shape without the batch dimension.
type value struct {
	name  string
	shape []int
}

// graphBuilder emits the nodes and initializers of one net's graph.
type graphBuilder struct {
	net    models.Net
	params map[string][]float32
	g      *onnxpb.GraphProto
}

// build emits the graph of net: the trunk once, then each output's head on the trunk's
// result. Every node is named after its layer, net.Name + "/" + layer name, and so is the
// tensor it gives, except the last of each head, which takes the output's name.
func build(net models.Net, params map[string][]float32) (*onnxpb.GraphProto, error) {
	if net.Input == "" {
		return nil, fmt.Errorf("export: net %s: no input name", net.Name)
	}
	if len(net.InShape) == 0 || !positive(net.InShape) {
		return nil, fmt.Errorf("export: net %s: input shape %v must have positive dimensions", net.Name, net.InShape)
	}
	b := &graphBuilder{net: net, params: params, g: &onnxpb.GraphProto{Name: proto.String(net.Name)}}
	b.g.Input = []*onnxpb.ValueInfoProto{valueInfo(net.Input, net.InShape)}
	trunk := value{name: net.Input, shape: net.InShape}
	// Each trunk layer's result, for heads that read one (Output.From).
	results := map[string]value{}
	for _, l := range net.Trunk {
		var err error
		if trunk, err = b.layer(l, trunk, ""); err != nil {
			return nil, err
		}
		results[l.Name] = trunk
	}
	names := map[string]bool{net.Input: true}
	for _, o := range net.Outputs {
		if o.Name == "" || names[o.Name] {
			return nil, fmt.Errorf("export: net %s: output name %q is empty or taken", net.Name, o.Name)
		}
		names[o.Name] = true
		y := trunk
		if o.From != "" {
			y = results[o.From]
		}
		if len(o.Layers) == 0 {
			b.node("Identity", net.Name+"/"+o.Name, "", []string{y.name}, o.Name)
			y.name = o.Name
		}
		for i, l := range o.Layers {
			out := ""
			if i == len(o.Layers)-1 {
				out = o.Name
			}
			var err error
			if y, err = b.layer(l, y, out); err != nil {
				return nil, err
			}
		}
		b.g.Output = append(b.g.Output, valueInfo(o.Name, y.shape))
	}
	return b.g, nil
}

// layer emits the node of l applied to x and returns its result, named out when out is
// not empty.
func (b *graphBuilder) layer(l models.Layer, x value, out string) (value, error) {
	name := b.net.Name + "/" + l.Name
	if out == "" {
		out = name
	}
	y := value{name: out, shape: x.shape}
	bad := func(format string, args ...any) (value, error) {
		return value{}, fmt.Errorf("export: net %s: layer %s (%s) on input shape %v: %s", b.net.Name, l.Name, l.Op, x.shape, fmt.Sprintf(format, args...))
	}
	params := l.Params(b.net.Name)
	inputs := []string{x.name}
	for _, p := range params {
		switch {
		case p.Role == models.PowerIteration:
			// Spent on the weight below; the graph does not read it.
			continue
		case p.Role == models.Weight && l.SpectralNorm:
			// The weight training used: divided by its spectral norm.
			w, _ := models.SpectralNormalize(l, b.params[p.Name], b.params[b.net.Name+"/"+l.Name+"/u"])
			b.initializerData(p, w)
		default:
			b.initializer(p)
		}
		inputs = append(inputs, p.Name)
	}
	switch l.Op {
	case models.Conv, models.ConvTranspose:
		if len(x.shape) != 3 || x.shape[0] != l.In {
			return bad("want [%d, H, W]", l.In)
		}
		if l.Kernel <= 0 || l.Stride <= 0 || l.Pad < 0 {
			return bad("kernel %d, stride %d, pad %d: kernel and stride must be positive, pad not negative", l.Kernel, l.Stride, l.Pad)
		}
		side := func(n int) int { return (n+2*l.Pad-l.Kernel)/l.Stride + 1 }
		if l.Op == models.ConvTranspose {
			side = func(n int) int { return (n-1)*l.Stride - 2*l.Pad + l.Kernel }
		}
		y.shape = []int{l.Out, side(x.shape[1]), side(x.shape[2])}
		if y.shape[1] <= 0 || y.shape[2] <= 0 {
			return bad("output shape %v is empty", y.shape)
		}
		op := "Conv"
		if l.Op == models.ConvTranspose {
			op = "ConvTranspose"
		}
		doc := fmt.Sprintf("%d -> %d channels, %dx%d kernel, stride %d, pad %d", l.In, l.Out, l.Kernel, l.Kernel, l.Stride, l.Pad)
		b.node(op, name, doc, inputs, out,
			intsAttr("kernel_shape", l.Kernel, l.Kernel),
			intsAttr("strides", l.Stride, l.Stride),
			intsAttr("pads", l.Pad, l.Pad, l.Pad, l.Pad))
	case models.Dense:
		if len(x.shape) != 1 || x.shape[0] != l.In {
			return bad("want [%d]", l.In)
		}
		y.shape = []int{l.Out}
		b.node("Gemm", name, fmt.Sprintf("dense %d -> %d: x·W + b", l.In, l.Out), inputs, out)
	case models.BatchNorm:
		if len(x.shape) == 0 || x.shape[0] != l.Out {
			return bad("want %d channels first", l.Out)
		}
		b.node("BatchNormalization", name, "inference form: running mean and variance", inputs, out,
			floatAttr("epsilon", l.Epsilon))
	case models.LeakyReLU:
		b.node("LeakyRelu", name, "", inputs, out, floatAttr("alpha", l.Alpha))
	case models.ReLU:
		b.node("Relu", name, "", inputs, out)
	case models.Sigmoid:
		b.node("Sigmoid", name, "", inputs, out)
	case models.Flatten:
		y.shape = []int{size(x.shape)}
		b.node("Flatten", name, "", inputs, out, intAttr("axis", 1))
	case models.Unflatten:
		if len(x.shape) != 1 || len(l.Shape) == 0 || !positive(l.Shape) || size(l.Shape) != x.shape[0] {
			return bad("cannot unflatten to %v", l.Shape)
		}
		y.shape = l.Shape
		// The leading 0 copies the batch dimension from the input (allowzero is 0).
		target := append([]int64{0}, int64s(l.Shape)...)
		b.g.Initializer = append(b.g.Initializer, int64Tensor(name+"/shape", target))
		b.node("Reshape", name, fmt.Sprintf("to %v per example, batch kept", l.Shape), append(inputs, name+"/shape"), out)
	case models.L2Normalize:
		if len(x.shape) != 1 {
			return bad("want a vector per example")
		}
		b.node("LpNormalization", name, "x / ||x||_2 per example", inputs, out, intAttr("axis", 1), intAttr("p", 2))
	case models.Broadcast:
		if l.Out <= 0 {
			return bad("want a positive size, got %d", l.Out)
		}
		y.shape = []int{l.Out}
		// The target shape [N, Out] takes N from the input; the input's values are unused.
		b.g.Initializer = append(b.g.Initializer, int64Tensor(name+"/size", []int64{int64(l.Out)}))
		b.node("Shape", name+"/batch", "the batch size", []string{x.name}, name+"/batch", intAttr("start", 0), intAttr("end", 1))
		b.node("Concat", name+"/shape", "", []string{name + "/batch", name + "/size"}, name+"/shape", intAttr("axis", 0))
		b.node("Expand", name, "the learned vector for every example", []string{params[0].Name, name + "/shape"}, out)
	default:
		return bad("unsupported op")
	}
	return y, nil
}

// node appends a node to the graph.
func (b *graphBuilder) node(op, name, doc string, inputs []string, output string, attrs ...*onnxpb.AttributeProto) {
	n := &onnxpb.NodeProto{
		Name:      proto.String(name),
		OpType:    proto.String(op),
		Input:     inputs,
		Output:    []string{output},
		Attribute: attrs,
	}
	if doc != "" {
		n.DocString = proto.String(doc)
	}
	b.g.Node = append(b.g.Node, n)
}

// initializer adds parameter p, whose values checkParams has checked, as a float32
// initializer.
func (b *graphBuilder) initializer(p models.Param) {
	b.initializerData(p, b.params[p.Name])
}

// initializerData adds parameter p with the given values as a float32 initializer.
func (b *graphBuilder) initializerData(p models.Param, data []float32) {
	raw := make([]byte, 0, 4*len(data))
	for _, v := range data {
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(v))
	}
	b.g.Initializer = append(b.g.Initializer, &onnxpb.TensorProto{
		Name:     proto.String(p.Name),
		DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)),
		Dims:     int64s(p.Shape),
		RawData:  raw,
	})
}

// int64Tensor is a rank-1 int64 initializer.
func int64Tensor(name string, values []int64) *onnxpb.TensorProto {
	raw := make([]byte, 0, 8*len(values))
	for _, v := range values {
		raw = binary.LittleEndian.AppendUint64(raw, uint64(v))
	}
	return &onnxpb.TensorProto{
		Name:     proto.String(name),
		DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)),
		Dims:     []int64{int64(len(values))},
		RawData:  raw,
	}
}

// valueInfo describes a float32 graph input or output of the given per-example shape,
// with the dynamic batch dimension first.
func valueInfo(name string, shape []int) *onnxpb.ValueInfoProto {
	dims := []*onnxpb.TensorShapeProto_Dimension{{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: BatchDim}}}
	for _, d := range shape {
		dims = append(dims, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}})
	}
	return &onnxpb.ValueInfoProto{
		Name: proto.String(name),
		Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
			ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)),
			Shape:    &onnxpb.TensorShapeProto{Dim: dims},
		}}},
	}
}

func intAttr(name string, v int) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(int64(v))}
}

func intsAttr(name string, vs ...int) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: int64s(vs)}
}

func floatAttr(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

func int64s(vs []int) []int64 {
	out := make([]int64, len(vs))
	for i, v := range vs {
		out[i] = int64(v)
	}
	return out
}

func size(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

func positive(shape []int) bool {
	for _, d := range shape {
		if d <= 0 {
			return false
		}
	}
	return true
}
