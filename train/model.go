package train

import (
	"fmt"
	"path/filepath"
	"sync"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // graph-building code reads better unqualified.
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/latentzoo/latentzoo/models"
)

// Model is a trained run's exported nets with their parameters, runnable in inference
// mode on the training graph: the reference that exported ONNX graphs are checked against.
type Model struct {
	Config Config
	Family models.Family
	Step   int64
	// Nets are the family's exported nets, in the family's order.
	Nets   []models.Net
	Params map[string][]float32

	mu    sync.Mutex
	execs map[string]*Exec
}

// The checkpoints of a run that LoadModelAt reads.
const (
	// LastCheckpoint is the run's state when it last stopped.
	LastCheckpoint = "last"
	// BestCheckpoint is the state whose samples its Judge scored best (see Config.FIDEvery).
	BestCheckpoint = "best"
)

// LoadModel reads a run folder's config and last checkpoint. For a family that exports a
// moving average of the weights, the trainable parameters are those averages; a family
// whose exported nets differ from its trained ones turns the parameters into theirs.
func LoadModel(runDir string) (*Model, error) { return LoadModelAt(runDir, LastCheckpoint) }

// LoadModelAt is LoadModel of the run's checkpoint called which: LastCheckpoint or
// BestCheckpoint.
func LoadModelAt(runDir, which string) (*Model, error) {
	cfg, err := LoadConfig(runDir)
	if err != nil {
		return nil, err
	}
	var ck *Checkpoint
	switch which {
	case LastCheckpoint:
		ck, err = LoadCheckpoint(runDir)
	case BestCheckpoint:
		ck, err = LoadCheckpoint(filepath.Join(runDir, bestDir))
		if isNotExist(err) {
			return nil, fmt.Errorf("run %s has no best checkpoint (it was trained without -fid-every, or has not been scored yet): %w", runDir, err)
		}
	default:
		return nil, fmt.Errorf("checkpoint %q: want %s or %s", which, LastCheckpoint, BestCheckpoint)
	}
	if err != nil {
		return nil, err
	}
	m, err := modelFrom(cfg, ck)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", runDir, err)
	}
	return m, nil
}

// modelFrom is the model of config cfg in the state ck.
func modelFrom(cfg Config, ck *Checkpoint) (*Model, error) {
	fam, err := models.Lookup(cfg.Family)
	if err != nil {
		return nil, err
	}
	m, err := lookupFamily(cfg.Family)
	if err != nil {
		return nil, err
	}
	trained := m.nets(cfg)
	params, err := ck.Params(trained...)
	if err != nil {
		return nil, err
	}
	if m.exportAverage {
		if err := useAverages(ck, trained, params); err != nil {
			return nil, err
		}
	}
	if m.exported != nil {
		if err := m.exported(cfg, params); err != nil {
			return nil, err
		}
	}
	nets := fam.Nets(cfg.Backbone)
	exported := map[string][]float32{}
	for _, n := range nets {
		for _, p := range n.Params() {
			if len(params[p.Name]) != p.Size() {
				return nil, fmt.Errorf("parameter %q has %d values, want %d", p.Name, len(params[p.Name]), p.Size())
			}
			exported[p.Name] = params[p.Name]
		}
	}
	return &Model{Config: cfg, Family: fam, Step: ck.Step, Nets: nets, Params: exported, execs: map[string]*Exec{}}, nil
}

// useAverages replaces the trainable parameters of nets in params by their moving
// averages in the checkpoint's family state.
func useAverages(ck *Checkpoint, nets []models.Net, params map[string][]float32) error {
	for _, n := range nets {
		for _, p := range n.Params() {
			if !p.Trainable() {
				continue
			}
			name := statePrefix + emaPrefix + p.Name
			v, ok := ck.Tensors[name]
			if !ok {
				return fmt.Errorf("checkpoint has no moving average %q", name)
			}
			if len(v) != p.Size() {
				return fmt.Errorf("checkpoint moving average %q has %d values, want %d", name, len(v), p.Size())
			}
			params[p.Name] = v
		}
	}
	return nil
}

// Net returns the exported net called name.
func (m *Model) Net(name string) (models.Net, error) {
	for _, n := range m.Nets {
		if n.Name == name {
			return n, nil
		}
	}
	return models.Net{}, fmt.Errorf("model has no net %q", name)
}

// Forward runs net name in inference mode on backend over a batch: input holds n
// examples of the net's input shape; outputs come back by name, flat.
func (m *Model) Forward(backend compute.Backend, name string, input []float32, n int) (map[string][]float32, error) {
	net, err := m.Net(name)
	if err != nil {
		return nil, err
	}
	dims := append([]int{n}, net.InShape...)
	if len(input) != prod(dims) {
		return nil, fmt.Errorf("net %s: input has %d values, want %v", name, len(input), dims)
	}
	params := net.Params()
	exec, err := m.exec(backend, net, params)
	if err != nil {
		return nil, err
	}
	// Inputs and outputs are freed on return, as the training step's are: their ONNX
	// Runtime copies are memory the Go collector does not see.
	own := []*tensors.Tensor{tensors.FromFlatDataAndDimensions(input, dims...)}
	for _, p := range params {
		own = append(own, tensors.FromFlatDataAndDimensions(m.Params[p.Name], p.Shape...))
	}
	defer func() {
		for _, x := range own {
			x.FinalizeAll()
		}
	}()
	args := make([]any, len(own))
	for i, x := range own {
		args[i] = x
	}
	outs, err := exec.Exec(args...)
	if err != nil {
		return nil, fmt.Errorf("net %s: %w", name, err)
	}
	own = append(own, outs...)
	res := map[string][]float32{}
	for i, o := range net.Outputs {
		v, err := tensors.CopyFlatData[float32](outs[i])
		if err != nil {
			return nil, fmt.Errorf("net %s output %s: %w", name, o.Name, err)
		}
		res[o.Name] = v
	}
	return res, nil
}

// exec compiles (once per backend and net) the inference graph: input, then parameters
// in net.Params order; outputs in net.Outputs order.
func (m *Model) exec(backend compute.Backend, net models.Net, params []models.Param) (*Exec, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := fmt.Sprintf("%p/%s", backend, net.Name)
	if e, ok := m.execs[key]; ok {
		return e, nil
	}
	e, err := NewExec(backend, func(in []*Node) []*Node {
		ps := map[string]*Node{}
		for i, p := range params {
			ps[p.Name] = in[1+i]
		}
		out := forward(net, ps, in[0], false)
		res := make([]*Node, len(net.Outputs))
		for i, o := range net.Outputs {
			res[i] = out.Out[o.Name]
		}
		return res
	})
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", net.Name, err)
	}
	if m.execs == nil {
		m.execs = map[string]*Exec{}
	}
	m.execs[key] = e
	return e, nil
}
