package triton

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/prototext"

	"github.com/latentzoo/latentzoo/infer"
	"github.com/latentzoo/latentzoo/triton/modelconfig"
	"github.com/latentzoo/latentzoo/zoo"
)

// readConfig parses a written config.pbtxt back.
func readConfig(t *testing.T, dir, name string) *modelconfig.ModelConfig {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, name, ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	var cfg modelconfig.ModelConfig
	if err := prototext.Unmarshal(data, &cfg); err != nil {
		t.Fatalf("%s: config.pbtxt does not parse: %v", name, err)
	}
	return &cfg
}

// TestRepository writes the built-in autoencoders as a Triton repository, parses every
// config back, and holds each graph model's tensors to what ONNX Runtime reads of its
// model.onnx, and each ensemble's steps to the models and tensors beside it.
func TestRepository(t *testing.T) {
	all, err := zoo.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	entries := zoo.Autoencoders(all)
	dir := filepath.Join(t.TempDir(), "repo")
	names, err := Write(dir, entries, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, e := range entries {
		want += len(e.Manifest().Graphs) + 1
	}
	if len(names) != want {
		t.Errorf("%d models (%v), want %d: one per graph and a reconstruct ensemble per entry", len(names), names, want)
	}
	configs := map[string]*modelconfig.ModelConfig{}
	for _, name := range names {
		cfg := readConfig(t, dir, name)
		configs[name] = cfg
		if cfg.Name != name || cfg.MaxBatchSize != 64 {
			t.Errorf("%s: name %q, max_batch_size %d", name, cfg.Name, cfg.MaxBatchSize)
		}
		if cfg.Platform == "ensemble" {
			continue
		}
		if cfg.Platform != "onnxruntime_onnx" || cfg.GetDynamicBatching() == nil || len(cfg.InstanceGroup) != 1 {
			t.Errorf("%s: platform %q, dynamic batching %v, instance groups %v", name, cfg.Platform, cfg.GetDynamicBatching(), cfg.InstanceGroup)
		}
		onnx, err := os.ReadFile(filepath.Join(dir, name, Version, ModelFile))
		if err != nil {
			t.Fatal(err)
		}
		sess, err := infer.Open(onnx, infer.Options{IntraOpThreads: 1})
		if err != nil {
			t.Fatalf("%s: ONNX Runtime cannot open model.onnx: %v", name, err)
		}
		for _, tc := range []struct {
			kind   string
			config []string
			dims   [][]int64
			ort    []infer.TensorInfo
		}{
			{"input", namesOfInputs(cfg.Input), dimsOfInputs(cfg.Input), sess.Inputs()},
			{"output", namesOfOutputs(cfg.Output), dimsOfOutputs(cfg.Output), sess.Outputs()},
		} {
			if len(tc.config) != len(tc.ort) {
				t.Errorf("%s: %d %ss in config.pbtxt, the graph has %d", name, len(tc.config), tc.kind, len(tc.ort))
				continue
			}
			for i, o := range tc.ort {
				if tc.config[i] != o.Name || o.Shape[0] != -1 || !slices.Equal(tc.dims[i], o.Shape[1:]) {
					t.Errorf("%s %s %d: config %s %v, ONNX Runtime reads %s %v", name, tc.kind, i, tc.config[i], tc.dims[i], o.Name, o.Shape)
				}
			}
		}
		sess.Close()
	}
	for _, e := range entries {
		n, _ := zoo.ParseName(e.Manifest().Name)
		name := n.Family + "_" + n.Dataset + "_reconstruct"
		cfg := configs[name]
		if cfg == nil || cfg.Platform != "ensemble" {
			t.Fatalf("no ensemble %s", name)
		}
		steps := cfg.GetEnsembleScheduling().GetStep()
		if len(steps) != 2 {
			t.Fatalf("%s: %d steps", name, len(steps))
		}
		enc, dec := configs[steps[0].ModelName], configs[steps[1].ModelName]
		if enc == nil || dec == nil {
			t.Fatalf("%s: steps name %s and %s, not models of the repository", name, steps[0].ModelName, steps[1].ModelName)
		}
		if !strings.HasSuffix(steps[0].ModelName, "_encoder") || steps[0].InputMap[enc.Input[0].Name] != cfg.Input[0].Name {
			t.Errorf("%s: first step %+v", name, steps[0])
		}
		latent := ""
		for out, v := range steps[0].OutputMap {
			if !slices.Contains(namesOfOutputs(enc.Output), out) {
				t.Errorf("%s: step 1 maps %s, which %s does not give", name, out, enc.Name)
			}
			latent = v
		}
		if steps[1].InputMap[dec.Input[0].Name] != latent || steps[1].OutputMap[dec.Output[0].Name] != cfg.Output[0].Name {
			t.Errorf("%s: second step %+v does not take the latent %q into the ensemble's output", name, steps[1], latent)
		}
	}
	if _, err := Write(dir, entries, Options{}); err == nil {
		t.Error("Write into a repository that is not empty gave no error")
	}
}

func namesOfInputs(in []*modelconfig.ModelInput) (n []string) {
	for _, t := range in {
		n = append(n, t.Name)
	}
	return n
}

func dimsOfInputs(in []*modelconfig.ModelInput) (d [][]int64) {
	for _, t := range in {
		d = append(d, t.Dims)
	}
	return d
}

func namesOfOutputs(out []*modelconfig.ModelOutput) (n []string) {
	for _, t := range out {
		n = append(n, t.Name)
	}
	return n
}

func dimsOfOutputs(out []*modelconfig.ModelOutput) (d [][]int64) {
	for _, t := range out {
		d = append(d, t.Dims)
	}
	return d
}
