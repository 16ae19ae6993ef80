// Package triton writes zoo entries as a model repository for NVIDIA Triton Inference
// Server, so that a team that outgrows one latentzoo process can serve the same graphs on
// Triton (and KServe over it): one model per graph on the ONNX Runtime backend, with
// dynamic batching, and per autoencoder entry an ensemble that chains the encoder's latent
// into the reconstruct graph. Models are named as latentzoo's Open Inference Protocol
// models (api.OIPModelName), so a client moves between the two unchanged. config.pbtxt is
// written through the Go types of Triton's model_config.proto (package modelconfig).
package triton

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/latentzoo/latentzoo/api"
	"github.com/latentzoo/latentzoo/export/onnxpb"
	"github.com/latentzoo/latentzoo/triton/modelconfig"
	"github.com/latentzoo/latentzoo/zoo"
)

// Options configures Write.
type Options struct {
	// MaxBatchSize is every model's max_batch_size; default 64.
	MaxBatchSize int
	// MaxQueueDelay is the dynamic batcher's max_queue_delay_microseconds; default 100µs.
	MaxQueueDelay time.Duration
	// Instances is the count of each graph's instance group (KIND_AUTO: on a GPU where
	// there is one); default 1.
	Instances int
}

func (o Options) withDefaults() Options {
	if o.MaxBatchSize <= 0 {
		o.MaxBatchSize = 64
	}
	if o.MaxQueueDelay <= 0 {
		o.MaxQueueDelay = 100 * time.Microsecond
	}
	if o.Instances <= 0 {
		o.Instances = 1
	}
	return o
}

// Version is the one model version Write gives every model: Triton's versions are
// numbers, so an entry's tag is kept in the model's parameters instead.
const Version = "1"

// ModelFile is the name Triton's ONNX Runtime backend looks for in a version folder.
const ModelFile = "model.onnx"

// ConfigFile is a model's configuration file.
const ConfigFile = "config.pbtxt"

// Tensor is a graph's input or output as ONNX declares it: its name and dimensions, -1
// for a dynamic one (the batch).
type Tensor struct {
	Name string
	Dims []int64
}

// Signature reads an ONNX graph's inputs and outputs.
func Signature(onnx []byte) (in, out []Tensor, err error) {
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(onnx, &m); err != nil {
		return nil, nil, fmt.Errorf("read ONNX graph: %w", err)
	}
	read := func(vs []*onnxpb.ValueInfoProto) ([]Tensor, error) {
		var ts []Tensor
		for _, v := range vs {
			tt := v.GetType().GetTensorType()
			if tt == nil {
				return nil, fmt.Errorf("tensor %s is not a tensor", v.GetName())
			}
			if tt.GetElemType() != int32(onnxpb.TensorProto_FLOAT) {
				return nil, fmt.Errorf("tensor %s has element type %d, not float32", v.GetName(), tt.GetElemType())
			}
			t := Tensor{Name: v.GetName()}
			for _, d := range tt.GetShape().GetDim() {
				if d.GetDimParam() != "" || d.GetDimValue() <= 0 {
					t.Dims = append(t.Dims, -1)
				} else {
					t.Dims = append(t.Dims, d.GetDimValue())
				}
			}
			ts = append(ts, t)
		}
		return ts, nil
	}
	if in, err = read(m.GetGraph().GetInput()); err != nil {
		return nil, nil, err
	}
	if out, err = read(m.GetGraph().GetOutput()); err != nil {
		return nil, nil, err
	}
	return in, out, nil
}

// Write writes the entries as a Triton model repository in dir, which must not exist yet
// or be empty, and returns the names of the models written.
func Write(dir string, entries []zoo.Entry, opts Options) ([]string, error) {
	opts = opts.withDefaults()
	if list, err := os.ReadDir(dir); err == nil && len(list) > 0 {
		return nil, fmt.Errorf("triton: %s is not empty", dir)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("triton: %w", err)
	}
	var names []string
	seen := map[string]string{}
	for _, e := range entries {
		man := e.Manifest()
		n, err := zoo.ParseName(man.Name)
		if err != nil {
			return nil, err
		}
		sigs := map[string][2][]Tensor{}
		for _, role := range slices.Sorted(maps.Keys(man.Graphs)) {
			data, err := e.ReadFile(man.Graphs[role])
			if err != nil {
				return nil, fmt.Errorf("triton: %s: %w", man.Name, err)
			}
			in, out, err := Signature(data)
			if err != nil {
				return nil, fmt.Errorf("triton: %s graph %s: %w", man.Name, role, err)
			}
			sigs[role] = [2][]Tensor{in, out}
			name := api.OIPModelName(n.Family, n.Dataset, role)
			if other, ok := seen[name]; ok {
				return nil, fmt.Errorf("triton: %s and %s both give model %s: write one tag of an entry at a time", other, man.Name, name)
			}
			seen[name] = man.Name
			cfg, err := graphConfig(name, man, in, out, opts)
			if err != nil {
				return nil, fmt.Errorf("triton: %s graph %s: %w", man.Name, role, err)
			}
			if err := writeModel(dir, name, cfg, data); err != nil {
				return nil, err
			}
			names = append(names, name)
		}
		if man.IsClassifier() {
			continue
		}
		name := api.OIPModelName(n.Family, n.Dataset, api.OIPReconstruct)
		cfg, err := ensembleConfig(name, n, man, sigs, opts)
		if err != nil {
			return nil, fmt.Errorf("triton: %s: %w", man.Name, err)
		}
		if err := writeModel(dir, name, cfg, nil); err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	return names, nil
}

// modelIO is the tensors of a Triton model without their batch dimension.
func modelIO(ts []Tensor) ([]*modelconfig.ModelInput, []*modelconfig.ModelOutput, error) {
	var ins []*modelconfig.ModelInput
	var outs []*modelconfig.ModelOutput
	for _, t := range ts {
		if len(t.Dims) < 2 || t.Dims[0] != -1 {
			return nil, nil, fmt.Errorf("tensor %s has dims %v: want a dynamic batch first", t.Name, t.Dims)
		}
		ins = append(ins, &modelconfig.ModelInput{Name: t.Name, DataType: modelconfig.DataType_TYPE_FP32, Dims: t.Dims[1:]})
		outs = append(outs, &modelconfig.ModelOutput{Name: t.Name, DataType: modelconfig.DataType_TYPE_FP32, Dims: t.Dims[1:]})
	}
	return ins, outs, nil
}

// parameters are the entry's identity, kept in each model's config.
func parameters(man *zoo.Manifest) map[string]*modelconfig.ModelParameter {
	return map[string]*modelconfig.ModelParameter{
		"latentzoo_entry":  {StringValue: man.Name},
		"latentzoo_digest": {StringValue: man.Digest()},
	}
}

// graphConfig is the config of one graph on the ONNX Runtime backend.
func graphConfig(name string, man *zoo.Manifest, in, out []Tensor, opts Options) (*modelconfig.ModelConfig, error) {
	ins, _, err := modelIO(in)
	if err != nil {
		return nil, err
	}
	_, outs, err := modelIO(out)
	if err != nil {
		return nil, err
	}
	return &modelconfig.ModelConfig{
		Name:         name,
		Platform:     "onnxruntime_onnx",
		MaxBatchSize: int32(opts.MaxBatchSize),
		Input:        ins,
		Output:       outs,
		SchedulingChoice: &modelconfig.ModelConfig_DynamicBatching{DynamicBatching: &modelconfig.ModelDynamicBatching{
			MaxQueueDelayMicroseconds: uint64(opts.MaxQueueDelay / time.Microsecond),
		}},
		InstanceGroup: []*modelconfig.ModelInstanceGroup{{Count: int32(opts.Instances), Kind: modelconfig.ModelInstanceGroup_KIND_AUTO}},
		Parameters:    parameters(man),
	}, nil
}

// ensembleConfig chains the entry's encoder into its reconstruct graph: the encoder's
// latent (its "mu", or "z"), as latentzoo reconstructs.
func ensembleConfig(name string, n zoo.Name, man *zoo.Manifest, sigs map[string][2][]Tensor, opts Options) (*modelconfig.ModelConfig, error) {
	enc, dec := sigs["encoder"], sigs[man.Reconstruct]
	latentOut := ""
	for _, t := range enc[1] {
		if t.Name == "mu" || (t.Name == "z" && latentOut == "") {
			latentOut = t.Name
		}
	}
	if len(enc[0]) != 1 || latentOut == "" || len(dec[0]) != 1 || len(dec[1]) != 1 {
		return nil, fmt.Errorf("the encoder (%v → %v) and %s (%v → %v) do not chain", enc[0], enc[1], man.Reconstruct, dec[0], dec[1])
	}
	ins, _, err := modelIO(enc[0])
	if err != nil {
		return nil, err
	}
	_, outs, err := modelIO(dec[1])
	if err != nil {
		return nil, err
	}
	const latent = "latent"
	return &modelconfig.ModelConfig{
		Name:         name,
		Platform:     "ensemble",
		MaxBatchSize: int32(opts.MaxBatchSize),
		Input:        ins,
		Output:       outs,
		SchedulingChoice: &modelconfig.ModelConfig_EnsembleScheduling{EnsembleScheduling: &modelconfig.ModelEnsembling{
			Step: []*modelconfig.ModelEnsembling_Step{
				{ModelName: api.OIPModelName(n.Family, n.Dataset, "encoder"), ModelVersion: -1,
					InputMap: map[string]string{enc[0][0].Name: ins[0].Name}, OutputMap: map[string]string{latentOut: latent}},
				{ModelName: api.OIPModelName(n.Family, n.Dataset, man.Reconstruct), ModelVersion: -1,
					InputMap: map[string]string{dec[0][0].Name: latent}, OutputMap: map[string]string{dec[1][0].Name: outs[0].Name}},
			},
		}},
		Parameters: parameters(man),
	}, nil
}

// writeModel writes a model's config and, for a graph, its ONNX file in version 1.
func writeModel(dir, name string, cfg *modelconfig.ModelConfig, onnx []byte) error {
	vdir := filepath.Join(dir, name, Version)
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		return fmt.Errorf("triton: %w", err)
	}
	text, err := (prototext.MarshalOptions{Multiline: true, Indent: "  "}).Marshal(cfg)
	if err != nil {
		return fmt.Errorf("triton: %s: %w", name, err)
	}
	header := []byte("# Written by latentzoo triton from a zoo entry; the schema is Triton's model_config.proto.\n")
	if err := os.WriteFile(filepath.Join(dir, name, ConfigFile), append(header, bytes.TrimSpace(text)...), 0o644); err != nil {
		return fmt.Errorf("triton: %w", err)
	}
	if onnx != nil {
		if err := os.WriteFile(filepath.Join(vdir, ModelFile), onnx, 0o644); err != nil {
			return fmt.Errorf("triton: %w", err)
		}
	}
	return nil
}
