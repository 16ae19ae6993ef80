package train

import (
	"math"
	"testing"
)

// TestGPUBackendsMatchCPU trains every family 2 steps, logging each, on every GPU backend
// compiled in and on the default backend from the same start, and requires every logged
// loss and metric within 1% (or 1e-3) of the default backend's: the first step's come from
// the same weights and batch, the second's after one update. It skips a backend this
// machine lacks the device or libraries for (NewBackend says which).
func TestGPUBackendsMatchCPU(t *testing.T) {
	if len(GPUBackends()) == 0 {
		t.Skip("no GPU backend compiled in (the onnx build tag adds one)")
	}
	for _, be := range GPUBackends() {
		t.Run(be, func(t *testing.T) {
			b, err := NewBackend(be)
			if err != nil {
				t.Skipf("no %s here: %v", be, err)
			}
			b.Finalize()
			for _, fam := range Families() {
				t.Run(fam, func(t *testing.T) { testMatchesDefault(t, fam, be) })
			}
		})
	}
}

func testMatchesDefault(t *testing.T, family, be string) {
	cfg := shortFamilyConfig(family, 2)
	cfg.LogEvery = 1
	_, want, _ := shortRun(t, cfg)
	cfg.Backend = be
	_, got, _ := shortRun(t, cfg)
	if len(got) != len(want) {
		t.Fatalf("%d log lines on %s, %d on %s", len(got), be, len(want), DefaultBackend())
	}
	for i, w := range want {
		g := got[i]
		if !within(g.Loss, w.Loss) {
			t.Errorf("step %d: loss %g on %s, %g on %s", w.Step, g.Loss, be, w.Loss, DefaultBackend())
		}
		for k, wv := range w.Metrics {
			if gv, ok := g.Metrics[k]; !ok || !within(gv, wv) {
				t.Errorf("step %d: %s %g on %s, %g on %s", w.Step, k, gv, be, wv, DefaultBackend())
			}
		}
	}
}

// within reports whether a is within 1% or 1e-3 of b.
func within(a, b float64) bool {
	return math.Abs(a-b) <= max(1e-3, 0.01*math.Abs(b))
}
