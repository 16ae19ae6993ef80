package export

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/latentzoo/latentzoo/models/modeltest"

	onnx "github.com/owulveryck/onnx-go"
	"github.com/owulveryck/onnx-go/backend/x/gorgonnx"
	"gorgonia.org/tensor"

	"github.com/latentzoo/latentzoo/infer"
	"github.com/latentzoo/latentzoo/models"
)

// TestOnnxGoDecodes decodes every written net with github.com/owulveryck/onnx-go, an
// independent reader of the ONNX format. This test binary links onnx-go's protobuf types
// beside package onnxpb: that it starts at all shows the renamed proto package keeps the
// two from colliding in the protobuf registry.
func TestOnnxGoDecodes(t *testing.T) {
	for _, tn := range testNets() {
		t.Run(tn.name, func(t *testing.T) {
			m := onnx.NewModel(gorgonnx.NewGraph())
			if err := m.UnmarshalBinary(tn.marshal(t)); err != nil {
				t.Fatalf("onnx-go cannot decode: %v", err)
			}
			if len(m.Input) != 1 || len(m.Output) != len(tn.outputs) {
				t.Fatalf("onnx-go sees %d inputs and %d outputs, want 1 and %d", len(m.Input), len(m.Output), len(tn.outputs))
			}
			for name := range tn.outputs {
				if _, ok := m.GetNodeByName(name); !ok {
					t.Errorf("onnx-go has no node %q", name)
				}
			}
		})
	}
}

// TestGorgonnxMatchesORT runs written nets in onnx-go's gorgonnx backend and in ONNX
// Runtime on the same batch. gorgonnx lacks ops the writer emits, so three kinds of net
// are checked through a part of themselves, with the same parameters:
//   - a spherical encoder through its deterministic twin, which stops before the
//     LpNormalization: gorgonnx runs the twin, and its rows, normalised here, must match
//     ONNX Runtime's spherical output;
//   - a decoder through its layers before the first ConvTranspose (Gemm, Reshape,
//     BatchNormalization, Relu), run by both;
//   - a shared-variance encoder through its mu alone, without the Broadcast of its
//     logvar (Shape, Concat, Expand).
func TestGorgonnxMatchesORT(t *testing.T) {
	for _, tn := range testNets() {
		t.Run(tn.name, func(t *testing.T) {
			params := modeltest.RandomParams(tn.net, 7)
			gnet, onet := tn.net, tn.net
			switch {
			case tn.sphere:
				gnet = withoutNormalize(tn.net)
			case tn.image:
				gnet = beforeConvTranspose(tn.net)
				onet = gnet
			case tn.shared:
				gnet = withoutOutput(tn.net, "logvar")
			}
			// Batch 3: at batch 1 gorgonnx's Gemm adds into its bias initializer in place.
			in := randomInput(tn.net, 3, 5)
			got := runGorgonnx(t, gnet, params, in)
			if tn.sphere {
				normalizeRows(got["z"].Data, int(tn.outputs["z"][0]))
			}
			b, err := Marshal(onet, params)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			s, err := infer.Open(b, infer.Options{})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer s.Close()
			want, err := s.Run(map[string]infer.Tensor{tn.net.Input: in})
			if err != nil {
				t.Fatalf("ORT Run: %v", err)
			}
			for name, g := range got {
				w := want[name]
				if !slices.Equal(g.Shape, w.Shape) {
					t.Fatalf("%s: gorgonnx shape %v, ORT %v", name, g.Shape, w.Shape)
				}
				if d := maxDiff(g.Data, w.Data); d > 1e-4 {
					t.Errorf("%s: gorgonnx and ORT differ by %g", name, d)
				}
			}
		})
	}
}

// withoutNormalize is a spherical encoder without its final L2 normalisation.
func withoutNormalize(net models.Net) models.Net {
	twin := net
	twin.Outputs = slices.Clone(net.Outputs)
	for i, o := range twin.Outputs {
		o.Layers = slices.DeleteFunc(slices.Clone(o.Layers), func(l models.Layer) bool { return l.Op == models.L2Normalize })
		twin.Outputs[i] = o
	}
	return twin
}

// withoutOutput is net without its output called name.
func withoutOutput(net models.Net, name string) models.Net {
	part := net
	part.Outputs = slices.DeleteFunc(slices.Clone(net.Outputs), func(o models.Output) bool { return o.Name == name })
	return part
}

// beforeConvTranspose is the part of net before its first ConvTranspose, with one output,
// "features", the trunk's result there.
func beforeConvTranspose(net models.Net) models.Net {
	part := net
	cut := slices.IndexFunc(net.Trunk, func(l models.Layer) bool { return l.Op == models.ConvTranspose })
	part.Trunk = net.Trunk[:cut]
	part.Outputs = []models.Output{{Name: "features"}}
	return part
}

func normalizeRows(data []float32, width int) {
	norms := rowNorms(data, width)
	for i := range data {
		data[i] /= float32(norms[i/width])
	}
}

// runGorgonnx runs net, written with params, in the gorgonnx backend.
func runGorgonnx(t *testing.T, net models.Net, params map[string][]float32, in infer.Tensor) map[string]infer.Tensor {
	t.Helper()
	b, err := Marshal(net, params)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	backend := gorgonnx.NewGraph()
	m := onnx.NewModel(backend)
	if err := m.UnmarshalBinary(b); err != nil {
		t.Fatalf("onnx-go decode: %v", err)
	}
	shape := make([]int, len(in.Shape))
	for i, d := range in.Shape {
		shape[i] = int(d)
	}
	x := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(slices.Clone(in.Data)))
	if err := m.SetInput(0, x); err != nil {
		t.Fatalf("gorgonnx SetInput: %v", err)
	}
	if err := backend.Run(); err != nil {
		t.Fatalf("gorgonnx Run: %v", err)
	}
	outs, err := m.GetOutputTensors()
	if err != nil {
		t.Fatalf("gorgonnx outputs: %v", err)
	}
	res := map[string]infer.Tensor{}
	for i, o := range net.Outputs {
		data, ok := outs[i].Data().([]float32)
		if !ok {
			t.Fatalf("gorgonnx output %s holds %T, want []float32", o.Name, outs[i].Data())
		}
		var shape []int64
		for _, d := range outs[i].Shape() {
			shape = append(shape, int64(d))
		}
		res[o.Name] = infer.Tensor{Shape: shape, Data: slices.Clone(data)}
	}
	return res
}

// pythonONNX is the system Python with the onnx package (Debian python3-onnx).
const pythonONNX = "/usr/bin/python3"

// TestONNXChecker runs onnx.checker.check_model with full_check (shape inference
// included) on every written net.
func TestONNXChecker(t *testing.T) {
	if err := exec.Command(pythonONNX, "-c", "import onnx").Run(); err != nil {
		t.Skipf("%s cannot import onnx (install python3-onnx): %v", pythonONNX, err)
	}
	dir := t.TempDir()
	var paths []string
	for _, tn := range testNets() {
		path := filepath.Join(dir, strings.ReplaceAll(tn.name, "/", "_")+".onnx")
		if err := os.WriteFile(path, tn.marshal(t), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, path)
	}
	for _, golden := range []string{"tiny_encoder.onnx", "tiny_decoder.onnx"} {
		paths = append(paths, filepath.Join("testdata", golden))
	}
	const script = `
import sys, onnx
failed = 0
for path in sys.argv[1:]:
    try:
        onnx.checker.check_model(onnx.load(path), full_check=True)
    except Exception as e:
        failed += 1
        print(path, e)
sys.exit(1 if failed else 0)
`
	out, err := exec.Command(pythonONNX, append([]string{"-c", script}, paths...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("onnx.checker rejects written nets (%v):\n%s", err, out)
	}
}
