package train

import (
	"fmt"
	"maps"
	"slices"
	"sort"

	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // graph-building code reads better unqualified.

	"github.com/latentzoo/latentzoo/models"
)

// stepGraph is what a phase's loss function sees while the step's graph is built.
type stepGraph struct {
	cfg    Config
	nets   map[string]models.Net
	params map[string]*Node
	images *Node
	// labels are the images' classes one-hot, for families that read them.
	labels *Node
	noise  map[string]*Node
	stats  map[string]*Node
	// scalars are the family's schedule values for this step.
	scalars map[string]*Node
	// state holds the family's named state as the step found it; newState what the
	// phase writes back (state it does not write passes through).
	state, newState map[string]*Node
}

// forward runs the named net in training mode, recording its batch-norm statistics.
func (s *stepGraph) forward(net string, x *Node) netOutputs {
	out := forward(s.nets[net], s.params, x, true)
	for k, v := range out.Stats {
		s.stats[k] = v
	}
	return out
}

// forwardWith runs the named net in training mode with some of its parameters replaced
// (by name), for example by their moving averages. Its batch-norm statistics are not
// recorded.
func (s *stepGraph) forwardWith(net string, replace map[string]*Node, x *Node) netOutputs {
	ps := maps.Clone(s.params)
	maps.Copy(ps, replace)
	return forward(s.nets[net], ps, x, true)
}

// setState writes the family's named state.
func (s *stepGraph) setState(name string, v *Node) {
	if _, ok := s.state[name]; !ok {
		panic(fmt.Sprintf("train: phase writes unknown state %q", name))
	}
	s.newState[name] = v
}

// slotKind says what one input or output of a phase's step graph holds.
type slotKind int

// The kinds of slot.
const (
	imagesSlot  slotKind = iota // input: the batch of images
	labelsSlot                  // input: the batch's classes, one-hot
	noiseSlot                   // input: a noise tensor
	lrSlot                      // input: the bias-corrected Adam step size
	scalarSlot                  // input: one of the family's schedule scalars
	paramSlot                   // input: any parameter; output: an updated trainable one
	adamMSlot                   // Adam's first moment of an updated parameter
	adamVSlot                   // Adam's second moment of an updated parameter
	stateSlot                   // a tensor of the family's state (written or passed through)
	runningSlot                 // output: a running statistic (updated or passed through)
	lossSlot                    // output: the phase's loss
	metricSlot                  // output: one of the phase's metrics
)

// slot is one named input or output of a phase's step graph. A phase's plan lists its
// slots once, and that one list both packs the trainer's tensors into the graph's
// inputs and unpacks its outputs, on both sides of the graph: the graph's inputs and
// outputs are matched by position, and the plan is the only place that fixes it.
type slot struct {
	kind slotKind
	name string
}

// key is the name under which the trainer keeps the slot's tensor (its name in a
// checkpoint), for the kinds it keeps; "" for the others.
func (sl slot) key() string {
	switch sl.kind {
	case paramSlot, runningSlot:
		return sl.name
	case adamMSlot:
		return adamM + sl.name
	case adamVSlot:
		return adamV + sl.name
	case stateSlot:
		return statePrefix + sl.name
	}
	return ""
}

// phasePlan is a phase's step graph's signature: its inputs and outputs, in order.
//
// Inputs: images, their labels (for families that read them), noise (sorted by name), lr, the schedule's scalars (sorted), every
// parameter (sorted), Adam's m and v for each updated parameter, then the family's state
// (sorted). Outputs: loss, metrics (in the phase's order), the updated parameters, their
// new m and v, every running statistic, then every state tensor.
type phasePlan struct {
	phase   phase
	noise   []string // the noise tensors, in the order the trainer draws them
	updated []string // trainable parameters of the updated nets, sorted
	inputs  []slot
	outputs []slot
}

func newPhasePlan(ph phase, nets []models.Net, labels bool, noise map[string]int, scalars []string, state []stateVar) phasePlan {
	p := phasePlan{phase: ph, noise: slices.Sorted(maps.Keys(noise))}
	var stateNames, params, running []string
	for _, v := range state {
		stateNames = append(stateNames, v.name)
	}
	sort.Strings(stateNames)
	upd := map[string]bool{}
	for _, n := range ph.update {
		upd[n] = true
	}
	for _, n := range nets {
		for _, prm := range n.Params() {
			params = append(params, prm.Name)
			switch {
			case !prm.Trainable():
				running = append(running, prm.Name)
			case upd[n.Name]:
				p.updated = append(p.updated, prm.Name)
			}
		}
	}
	sort.Strings(params)
	sort.Strings(p.updated)
	sort.Strings(running)
	slots := func(kind slotKind, names []string) []slot {
		out := make([]slot, len(names))
		for i, n := range names {
			out[i] = slot{kind: kind, name: n}
		}
		return out
	}
	p.inputs = append(p.inputs, slot{kind: imagesSlot})
	if labels {
		p.inputs = append(p.inputs, slot{kind: labelsSlot})
	}
	p.inputs = append(p.inputs, slots(noiseSlot, p.noise)...)
	p.inputs = append(p.inputs, slot{kind: lrSlot})
	p.inputs = append(p.inputs, slots(scalarSlot, slices.Sorted(slices.Values(scalars)))...)
	p.inputs = append(p.inputs, slots(paramSlot, params)...)
	p.inputs = append(p.inputs, slots(adamMSlot, p.updated)...)
	p.inputs = append(p.inputs, slots(adamVSlot, p.updated)...)
	p.inputs = append(p.inputs, slots(stateSlot, stateNames)...)
	p.outputs = append(p.outputs, slot{kind: lossSlot})
	p.outputs = append(p.outputs, slots(metricSlot, ph.metrics)...)
	p.outputs = append(p.outputs, slots(paramSlot, p.updated)...)
	p.outputs = append(p.outputs, slots(adamMSlot, p.updated)...)
	p.outputs = append(p.outputs, slots(adamVSlot, p.updated)...)
	p.outputs = append(p.outputs, slots(runningSlot, running)...)
	p.outputs = append(p.outputs, slots(stateSlot, stateNames)...)
	return p
}

// build is the graph function of the phase's Exec: it names the inputs by p.inputs,
// builds the loss and Adam's step, and gives the outputs in p.outputs' order.
func (p phasePlan) build(cfg Config, nets map[string]models.Net, in []*Node) []*Node {
	s := &stepGraph{cfg: cfg, nets: nets, params: map[string]*Node{}, noise: map[string]*Node{}, stats: map[string]*Node{},
		scalars: map[string]*Node{}, state: map[string]*Node{}, newState: map[string]*Node{}}
	if len(in) != len(p.inputs) {
		panic(fmt.Sprintf("train: phase %s has %d inputs, its plan %d", p.phase.name, len(in), len(p.inputs)))
	}
	var lr *Node
	m, v := map[string]*Node{}, map[string]*Node{}
	for i, sl := range p.inputs {
		switch sl.kind {
		case imagesSlot:
			s.images = in[i]
		case labelsSlot:
			s.labels = in[i]
		case noiseSlot:
			s.noise[sl.name] = in[i]
		case lrSlot:
			lr = in[i]
		case scalarSlot:
			s.scalars[sl.name] = in[i]
		case paramSlot:
			s.params[sl.name] = in[i]
		case adamMSlot:
			m[sl.name] = in[i]
		case adamVSlot:
			v[sl.name] = in[i]
		case stateSlot:
			s.state[sl.name] = in[i]
		default:
			panic(fmt.Sprintf("train: phase %s: input slot of kind %d", p.phase.name, sl.kind))
		}
	}
	loss, metrics := p.phase.loss(s)
	wrt := make([]*Node, len(p.updated))
	for j, n := range p.updated {
		wrt[j] = s.params[n]
	}
	grads := Gradient(loss, wrt...)
	b1, b2 := cfg.Beta1, cfg.Beta2
	newP, newM, newV := map[string]*Node{}, map[string]*Node{}, map[string]*Node{}
	after := maps.Clone(s.params)
	for j, n := range p.updated {
		g := grads[j]
		m2 := Add(MulScalar(m[n], b1), MulScalar(g, 1-b1))
		v2 := Add(MulScalar(v[n], b2), MulScalar(Square(g), 1-b2))
		upd := Div(m2, AddScalar(Sqrt(v2), 1e-8))
		np := Sub(s.params[n], Mul(lr, upd))
		after[n] = np
		newP[n], newM[n], newV[n] = np, m2, v2
	}
	if p.phase.after != nil {
		p.phase.after(s, after)
	}
	outs := make([]*Node, len(p.outputs))
	for i, sl := range p.outputs {
		var out *Node
		switch sl.kind {
		case lossSlot:
			out = loss
		case metricSlot:
			out = metrics[sl.name]
		case paramSlot:
			out = newP[sl.name]
		case adamMSlot:
			out = newM[sl.name]
		case adamVSlot:
			out = newV[sl.name]
		case runningSlot:
			out = s.params[sl.name]
			if st, ok := s.stats[sl.name]; ok {
				out = st
			}
		case stateSlot:
			out = s.state[sl.name]
			if st, ok := s.newState[sl.name]; ok {
				out = st
			}
		}
		if out == nil {
			panic(fmt.Sprintf("train: phase %s gives no output for slot %+v", p.phase.name, sl))
		}
		outs[i] = out
	}
	return outs
}
