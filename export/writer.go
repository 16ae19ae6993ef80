// Package export writes latentzoo nets as ONNX models.
//
// The writer reads the architecture from a models.Net and the weights from named float32
// parameters, and emits one idiomatic ONNX node per layer (Conv, ConvTranspose, Gemm,
// BatchNormalization, LeakyRelu, ...) with the parameters as initializers under their own
// names. The batch dimension of the input and outputs is the symbolic "N", so a written
// model runs at any batch size.
package export

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/latentzoo/latentzoo/atomicfile"
	"github.com/latentzoo/latentzoo/export/onnxpb"
	"github.com/latentzoo/latentzoo/models"
)

// Versions of the files the writer emits.
const (
	// IRVersion is the ONNX IR version of written models.
	IRVersion = 8
	// Opset is the version of the default ONNX operator set written models import.
	Opset = 17
)

// BatchDim names the dynamic batch dimension of inputs and outputs.
const BatchDim = "N"

// ProducerName is written into every model's producer_name.
const ProducerName = "latentzoo"

// Model builds the ONNX model of net with the given parameters, keyed by models.Param.Name
// and laid out as net's layers give their shapes. Parameters the net does not use are
// ignored, so one map may hold several nets' parameters.
func Model(net models.Net, params map[string][]float32) (*onnxpb.ModelProto, error) {
	if err := net.Validate(); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	if err := checkParams(net, params); err != nil {
		return nil, err
	}
	g, err := build(net, params)
	if err != nil {
		return nil, err
	}
	return &onnxpb.ModelProto{
		IrVersion:    proto.Int64(IRVersion),
		ProducerName: proto.String(ProducerName),
		OpsetImport:  []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(Opset)}},
		DocString:    proto.String(signature(g)),
		Graph:        g,
	}, nil
}

// Marshal encodes the ONNX model of net, as Model builds it, in the protobuf wire format.
// The encoding is deterministic: the same net and parameters give the same bytes.
func Marshal(net models.Net, params map[string][]float32) ([]byte, error) {
	m, err := Model(net, params)
	if err != nil {
		return nil, err
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("export: encode %s: %w", net.Name, err)
	}
	return b, nil
}

// WriteNet writes the ONNX model of net to path. It writes a temporary file beside path and
// renames it, so path never holds half a model.
func WriteNet(path string, net models.Net, params map[string][]float32) error {
	b, err := Marshal(net, params)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

// checkParams reports the first parameter of net that params lacks or holds with the wrong
// number of values.
func checkParams(net models.Net, params map[string][]float32) error {
	for _, p := range net.Params() {
		v, ok := params[p.Name]
		if !ok {
			return fmt.Errorf("export: net %s: missing parameter %q (shape %v)", net.Name, p.Name, p.Shape)
		}
		if len(v) != p.Size() {
			return fmt.Errorf("export: net %s: parameter %q has %d values, want %d for shape %v", net.Name, p.Name, len(v), p.Size(), p.Shape)
		}
	}
	return nil
}

// signature describes a graph's inputs and outputs for the model's doc string, e.g.
// "encoder: image [N,1,32,32] -> mu [N,32], logvar [N,32]".
func signature(g *onnxpb.GraphProto) string {
	describe := func(vs []*onnxpb.ValueInfoProto) string {
		var parts []string
		for _, v := range vs {
			var dims []string
			for _, d := range v.GetType().GetTensorType().GetShape().GetDim() {
				if d.GetDimParam() != "" {
					dims = append(dims, d.GetDimParam())
				} else {
					dims = append(dims, fmt.Sprint(d.GetDimValue()))
				}
			}
			parts = append(parts, fmt.Sprintf("%s [%s]", v.GetName(), strings.Join(dims, ",")))
		}
		return strings.Join(parts, ", ")
	}
	return fmt.Sprintf("%s: %s -> %s", g.GetName(), describe(g.Input), describe(g.Output))
}
