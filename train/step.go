package train

import (
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
}

// forward runs the named net in training mode, recording its batch-norm statistics.
func (s *stepGraph) forward(net string, x *Node) netOutputs {
	out := forward(s.nets[net], s.params, x, true)
	for k, v := range out.Stats {
		s.stats[k] = v
	}
	return out
}

// phasePlan fixes the order of a phase's inputs and outputs.
//
// Inputs: images, noise (sorted by name), lr (the bias-corrected Adam step size),
// every parameter (sorted), then Adam's m and v for each updated parameter.
// Outputs: loss, metrics (sorted), the updated parameters, their new m and v, then every
// running statistic (updated or passed through).
type phasePlan struct {
	phase   phase
	noise   []string
	params  []string // every parameter
	updated []string // trainable parameters of the updated nets
	running []string // every running statistic
	metrics []string
}

func newPhasePlan(ph phase, nets []models.Net, noise map[string]int) phasePlan {
	p := phasePlan{phase: ph, metrics: ph.metrics}
	for n := range noise {
		p.noise = append(p.noise, n)
	}
	sort.Strings(p.noise)
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
	s := &stepGraph{cfg: cfg, nets: nets, params: map[string]*Node{}, noise: map[string]*Node{}, stats: map[string]*Node{}}
	s.images = in[0]
	i := 1
	for _, n := range p.noise {
		s.noise[n] = in[i]
		i++
	}
	lr := in[i]
	i++
	for _, n := range p.params {
		s.params[n] = in[i]
		i++
	}
	loss, metrics := p.phase.loss(s)
	outs := []*Node{loss}
	for _, m := range p.metrics {
		outs = append(outs, metrics[m])
	}
	wrt := make([]*Node, len(p.updated))
	for j, n := range p.updated {
		wrt[j] = s.params[n]
	}
	grads := Gradient(loss, wrt...)
	b1, b2 := cfg.Beta1, cfg.Beta2
	var newP, newM, newV []*Node
	for j, n := range p.updated {
		m, v, g := in[i+j], in[i+len(p.updated)+j], grads[j]
		m2 := Add(MulScalar(m, b1), MulScalar(g, 1-b1))
		v2 := Add(MulScalar(v, b2), MulScalar(Square(g), 1-b2))
		upd := Div(m2, AddScalar(Sqrt(v2), 1e-8))
		newP = append(newP, Sub(s.params[n], Mul(lr, upd)))
		newM = append(newM, m2)
		newV = append(newV, v2)
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
	return outs
}
