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

// phasePlan fixes the order of a phase's inputs and outputs.
//
// Inputs: images, noise (sorted by name), lr (the bias-corrected Adam step size), the
// schedule's scalars (sorted), every parameter (sorted), Adam's m and v for each updated
// parameter, then the family's state (sorted).
// Outputs: loss, metrics (in the phase's order), the updated parameters, their new m and
// v, every running statistic (updated or passed through), then every state tensor
// (written or passed through).
type phasePlan struct {
	phase   phase
	noise   []string
	scalars []string
	params  []string // every parameter
	updated []string // trainable parameters of the updated nets
	running []string // every running statistic
	state   []string
	metrics []string
}

func newPhasePlan(ph phase, nets []models.Net, noise map[string]int, scalars []string, state []stateVar) phasePlan {
	p := phasePlan{phase: ph, metrics: ph.metrics, noise: slices.Sorted(maps.Keys(noise)), scalars: slices.Sorted(slices.Values(scalars))}
	for _, v := range state {
		p.state = append(p.state, v.name)
	}
	sort.Strings(p.state)
	upd := map[string]bool{}
	for _, n := range ph.update {
		upd[n] = true
	}
	for _, n := range nets {
		for _, prm := range n.Params() {
			p.params = append(p.params, prm.Name)
			switch {
			case !prm.Trainable():
				p.running = append(p.running, prm.Name)
			case upd[n.Name]:
				p.updated = append(p.updated, prm.Name)
			}
		}
	}
	sort.Strings(p.params)
	sort.Strings(p.updated)
	sort.Strings(p.running)
	return p
}

// build is the graph function of the phase's Exec.
func (p phasePlan) build(cfg Config, nets map[string]models.Net, in []*Node) []*Node {
	s := &stepGraph{cfg: cfg, nets: nets, params: map[string]*Node{}, noise: map[string]*Node{}, stats: map[string]*Node{},
		scalars: map[string]*Node{}, state: map[string]*Node{}, newState: map[string]*Node{}}
	next := func() *Node {
		n := in[0]
		in = in[1:]
		return n
	}
	s.images = next()
	for _, n := range p.noise {
		s.noise[n] = next()
	}
	lr := next()
	for _, n := range p.scalars {
		s.scalars[n] = next()
	}
	for _, n := range p.params {
		s.params[n] = next()
	}
	m := make([]*Node, len(p.updated))
	v := make([]*Node, len(p.updated))
	for j := range m {
		m[j] = next()
	}
	for j := range v {
		v[j] = next()
	}
	for _, n := range p.state {
		s.state[n] = next()
	}
	loss, metrics := p.phase.loss(s)
	outs := []*Node{loss}
	for _, name := range p.metrics {
		outs = append(outs, metrics[name])
	}
	wrt := make([]*Node, len(p.updated))
	for j, n := range p.updated {
		wrt[j] = s.params[n]
	}
	grads := Gradient(loss, wrt...)
	b1, b2 := cfg.Beta1, cfg.Beta2
	var newP, newM, newV []*Node
	after := maps.Clone(s.params)
	for j, n := range p.updated {
		g := grads[j]
		m2 := Add(MulScalar(m[j], b1), MulScalar(g, 1-b1))
		v2 := Add(MulScalar(v[j], b2), MulScalar(Square(g), 1-b2))
		upd := Div(m2, AddScalar(Sqrt(v2), 1e-8))
		np := Sub(s.params[n], Mul(lr, upd))
		after[n] = np
		newP = append(newP, np)
		newM = append(newM, m2)
		newV = append(newV, v2)
	}
	if p.phase.after != nil {
		p.phase.after(s, after)
	}
	outs = append(outs, newP...)
	outs = append(outs, newM...)
	outs = append(outs, newV...)
	for _, n := range p.running {
		if st, ok := s.stats[n]; ok {
			outs = append(outs, st)
		} else {
			outs = append(outs, s.params[n])
		}
	}
	for _, n := range p.state {
		if st, ok := s.newState[n]; ok {
			outs = append(outs, st)
		} else {
			outs = append(outs, s.state[n])
		}
	}
	return outs
}
