package export

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/latentzoo/latentzoo/models/modeltest"

	"github.com/latentzoo/latentzoo/infer"
	"github.com/latentzoo/latentzoo/models"
)

// testNet is a net the writer must handle, with what its outputs must look like.
type testNet struct {
	name string
	net  models.Net
	// outputs maps each output to its per-example shape.
	outputs map[string][]int64
	// image says the outputs are images in [0,1]; sphere, that they have unit norm;
	// shared, that the net is a shared-variance encoder, whose logvar is a Broadcast.
	image, sphere, shared bool
}

// testNets covers the default backbone and its variants, each as every encoder kind, as
// a decoder and as a critic.
func testNets() []testNet {
	bn := models.DefaultBackbone()
	bn.BatchNorm = true
	rgb := models.DefaultBackbone()
	rgb.Channels = 3
	small := models.DefaultBackbone()
	small.Latent = 16
	backbones := []struct {
		name string
		b    models.Backbone
	}{
		{"default", models.DefaultBackbone()},
		{"batchnorm", bn},
		{"rgb", rgb},
		{"latent16", small},
	}
	var nets []testNet
	for _, bb := range backbones {
		if err := bb.b.Validate(); err != nil {
			panic(err)
		}
		z := []int64{int64(bb.b.Latent)}
		image := []int64{int64(bb.b.Channels), int64(bb.b.Resolution), int64(bb.b.Resolution)}
		nets = append(nets,
			testNet{name: bb.name + "/posterior", net: bb.b.Encoder(models.Posterior), outputs: map[string][]int64{"mu": z, "logvar": z}},
			testNet{name: bb.name + "/deterministic", net: bb.b.Encoder(models.Deterministic), outputs: map[string][]int64{"z": z}},
			testNet{name: bb.name + "/spherical", net: bb.b.Encoder(models.Spherical), outputs: map[string][]int64{"z": z}, sphere: true},
			testNet{name: bb.name + "/shared-variance", net: bb.b.Encoder(models.SharedVariance), outputs: map[string][]int64{"mu": z, "logvar": z}, shared: true},
			testNet{name: bb.name + "/decoder", net: bb.b.Decoder("decoder"), outputs: map[string][]int64{"image": image}, image: true},
			testNet{name: bb.name + "/critic", net: bb.b.Critic(), outputs: map[string][]int64{"logit": {1}}},
		)
	}
	return nets
}

// randomInput is a batch of n inputs for net: pixels in [0,1] or standard normal latents.
func randomInput(net models.Net, n int, seed uint64) infer.Tensor {
	rng := rand.New(rand.NewPCG(seed, 2))
	shape := []int64{int64(n)}
	for _, d := range net.InShape {
		shape = append(shape, int64(d))
	}
	data := make([]float32, n*size(net.InShape))
	for i := range data {
		if len(net.InShape) == 3 {
			data[i] = rng.Float32()
		} else {
			data[i] = float32(rng.NormFloat64())
		}
	}
	return infer.Tensor{Shape: shape, Data: data}
}

// marshal writes tn's net with seeded random parameters.
func (tn testNet) marshal(t *testing.T) []byte {
	t.Helper()
	b, err := Marshal(tn.net, modeltest.RandomParams(tn.net, 7))
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	return b
}

func TestORTRunsWrittenNets(t *testing.T) {
	for _, tn := range testNets() {
		t.Run(tn.name, func(t *testing.T) {
			s, err := infer.Open(tn.marshal(t), infer.Options{})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer s.Close()
			wantIn := append([]int64{-1}, int64s(tn.net.InShape)...)
			if in := s.Inputs(); len(in) != 1 || in[0].Name != tn.net.Input || !slices.Equal(in[0].Shape, wantIn) {
				t.Fatalf("inputs %v, want %s %v", in, tn.net.Input, wantIn)
			}
			if outs := s.Outputs(); len(outs) != len(tn.outputs) {
				t.Fatalf("outputs %v, want %v", outs, tn.outputs)
			}
			for _, o := range s.Outputs() {
				if want := append([]int64{-1}, tn.outputs[o.Name]...); !slices.Equal(o.Shape, want) {
					t.Errorf("output %s declared %v, want %v", o.Name, o.Shape, want)
				}
			}
			batch5 := randomInput(tn.net, 5, 3)
			first := infer.Tensor{Shape: append([]int64{1}, batch5.Shape[1:]...), Data: batch5.Data[:len(batch5.Data)/5]}
			res1 := run(t, s, tn, first)
			res5 := run(t, s, tn, batch5)
			// The first example gives the same result alone and in a batch.
			for name, got := range res1 {
				if d := maxDiff(got.Data, res5[name].Data[:len(got.Data)]); d > 1e-5 {
					t.Errorf("%s: example 0 differs by %g between batch 1 and batch 5", name, d)
				}
			}
		})
	}
}

// run runs s on in and checks the outputs' names, shapes and ranges against tn.
func run(t *testing.T, s *infer.Session, tn testNet, in infer.Tensor) map[string]infer.Tensor {
	t.Helper()
	res, err := s.Run(map[string]infer.Tensor{tn.net.Input: in})
	if err != nil {
		t.Fatalf("Run at batch %d: %v", in.Shape[0], err)
	}
	if len(res) != len(tn.outputs) {
		t.Fatalf("got %d outputs, want %d", len(res), len(tn.outputs))
	}
	for name, per := range tn.outputs {
		got, ok := res[name]
		if !ok {
			t.Fatalf("no output %q", name)
		}
		if want := append([]int64{in.Shape[0]}, per...); !slices.Equal(got.Shape, want) {
			t.Fatalf("output %s has shape %v, want %v", name, got.Shape, want)
		}
		for i, v := range got.Data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || tn.image && (v < 0 || v > 1) {
				t.Fatalf("output %s[%d] = %g out of range", name, i, v)
			}
		}
		if tn.sphere {
			for _, norm := range rowNorms(got.Data, int(per[0])) {
				if math.Abs(norm-1) > 1e-5 {
					t.Fatalf("output %s has a row of norm %g, want 1", name, norm)
				}
			}
		}
	}
	return res
}

func rowNorms(data []float32, width int) []float64 {
	var norms []float64
	for row := range slices.Chunk(data, width) {
		var ss float64
		for _, v := range row {
			ss += float64(v) * float64(v)
		}
		norms = append(norms, math.Sqrt(ss))
	}
	return norms
}

func maxDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var d float64
	for i := range a {
		d = max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

func TestBadInput(t *testing.T) {
	b := models.Backbone{Resolution: 8, Channels: 1, Widths: []int{2}, Latent: 2, BatchNorm: true}
	enc := b.Encoder(models.Posterior)
	dec := b.Decoder("decoder")
	without := func(net models.Net, name string) map[string][]float32 {
		p := modeltest.RandomParams(net, 1)
		delete(p, name)
		return p
	}
	resized := func(net models.Net, name string, n int) map[string][]float32 {
		p := modeltest.RandomParams(net, 1)
		p[name] = make([]float32, n)
		return p
	}
	misfit := b.Encoder(models.Posterior)
	misfit.Outputs[0].Layers[0].In = 7 // the head no longer fits the trunk
	unflat := b.Decoder("decoder")
	unflat.Trunk[1].Shape = []int{3, 4, 4}
	duplicate := b.Encoder(models.Posterior)
	duplicate.Outputs[1].Name = "mu"
	unknown := b.Decoder("decoder")
	unknown.Trunk = append(unknown.Trunk, models.Layer{Op: "maxpool", Name: "pool"})
	for _, tc := range []struct {
		name   string
		net    models.Net
		params map[string][]float32
		want   string
	}{
		{"missing weight", enc, without(enc, "encoder/conv0/weight"), `missing parameter "encoder/conv0/weight"`},
		{"missing running var", dec, without(dec, "decoder/bn_fc/var"), `missing parameter "decoder/bn_fc/var"`},
		{"short weight", enc, resized(enc, "encoder/mu/weight", 31), `"encoder/mu/weight" has 31 values, want 64`},
		{"long bias", dec, resized(dec, "decoder/deconv0/bias", 2), `"decoder/deconv0/bias" has 2 values, want 1`},
		{"nil params", enc, nil, "missing parameter"},
		{"head misfit", misfit, modeltest.RandomParams(misfit, 1), "layer mu (dense): input [32], want [7]"},
		{"bad unflatten", unflat, modeltest.RandomParams(unflat, 1), "want 48 values for [3 4 4]"},
		{"duplicate output", duplicate, modeltest.RandomParams(duplicate, 1), `output name "mu" is empty or taken`},
		{"unknown op", unknown, modeltest.RandomParams(unknown, 1), `unknown op "maxpool"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Marshal(tc.net, tc.params)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Marshal error %v, want one containing %q", err, tc.want)
			}
			if err := WriteNet(t.TempDir()+"/net.onnx", tc.net, tc.params); err == nil {
				t.Fatalf("WriteNet wrote a bad net")
			}
		})
	}
}

func TestWriteNetMatchesMarshal(t *testing.T) {
	b := models.Backbone{Resolution: 8, Channels: 1, Widths: []int{2}, Latent: 2}
	net := b.Decoder("decoder")
	params := modeltest.RandomParams(net, 4)
	path := t.TempDir() + "/decoder.onnx"
	if err := WriteNet(path, net, params); err != nil {
		t.Fatalf("WriteNet: %v", err)
	}
	want, err := Marshal(net, params)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	got := readFile(t, path)
	if !slices.Equal(got, want) {
		t.Fatalf("WriteNet wrote %d bytes that differ from Marshal's %d", len(got), len(want))
	}
	if err := WriteNet(t.TempDir()+"/missing/dir/decoder.onnx", net, params); err == nil {
		t.Fatalf("WriteNet into a missing directory succeeded")
	}
}

// TestModelHeader checks what the graph declares: versions, producer, names, batch
// dimension and the parameters as initializers.
func TestModelHeader(t *testing.T) {
	net := models.DefaultBackbone().Encoder(models.Spherical)
	m, err := Model(net, modeltest.RandomParams(net, 1))
	if err != nil {
		t.Fatalf("Model: %v", err)
	}
	if m.GetIrVersion() != IRVersion || m.GetProducerName() != ProducerName || len(m.OpsetImport) != 1 || m.OpsetImport[0].GetVersion() != Opset || m.OpsetImport[0].GetDomain() != "" {
		t.Errorf("header: ir %d producer %q opsets %v", m.GetIrVersion(), m.GetProducerName(), m.OpsetImport)
	}
	if got, want := m.GetDocString(), "encoder: image [N,1,32,32] -> z [N,32]"; got != want {
		t.Errorf("doc string %q, want %q", got, want)
	}
	g := m.GetGraph()
	var inits []string
	for _, init := range g.Initializer {
		inits = append(inits, init.GetName())
	}
	var params []string
	for _, p := range net.Params() {
		params = append(params, p.Name)
	}
	if !slices.Equal(inits, params) {
		t.Errorf("initializers %v, want the parameters %v", inits, params)
	}
	var ops []string
	for _, n := range g.Node {
		ops = append(ops, fmt.Sprintf("%s:%s", n.GetName(), n.GetOpType()))
	}
	want := []string{
		"encoder/conv0:Conv", "encoder/act0:LeakyRelu", "encoder/conv1:Conv", "encoder/act1:LeakyRelu",
		"encoder/conv2:Conv", "encoder/act2:LeakyRelu", "encoder/flatten:Flatten", "encoder/z:Gemm", "encoder/normalize:LpNormalization",
	}
	if !slices.Equal(ops, want) {
		t.Errorf("nodes %v, want %v", ops, want)
	}
}
