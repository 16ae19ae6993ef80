package train

import (
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // graph-building code reads better unqualified.
	"github.com/gomlx/gomlx/core/tensors"
)

// matrix is a float64 tensor of the given rows.
func matrix(rows ...[]float64) *tensors.Tensor {
	var flat []float64
	for _, r := range rows {
		flat = append(flat, r...)
	}
	return tensors.FromFlatDataAndDimensions(flat, len(rows), len(rows[0]))
}

// evalGraph builds fn over the inputs on every backend compiled in and returns the flat
// value of its single output per backend, by backend name.
func evalGraph(t *testing.T, fn func(in []*Node) *Node, inputs ...*tensors.Tensor) map[string][]float64 {
	t.Helper()
	out := map[string][]float64{}
	for _, be := range testBackends(t) {
		exec, err := NewExec(be.backend, func(in []*Node) *Node { return fn(in) })
		if err != nil {
			t.Fatalf("%s: %v", be.name, err)
		}
		args := make([]any, len(inputs))
		for i, x := range inputs {
			c, err := x.LocalClone()
			if err != nil {
				t.Fatal(err)
			}
			args[i] = c
		}
		res, err := exec.Exec(args...)
		if err != nil {
			t.Fatalf("%s: %v", be.name, err)
		}
		out[be.name] = tensors.MustCopyFlatData[float64](res[0])
		exec.Finalize()
	}
	return out
}

// checkGraph requires every backend's value of fn to be want within tol.
func checkGraph(t *testing.T, want []float64, tol float64, fn func(in []*Node) *Node, inputs ...*tensors.Tensor) {
	t.Helper()
	for be, got := range evalGraph(t, fn, inputs...) {
		if len(got) != len(want) {
			t.Fatalf("%s: got %v, want %v", be, got, want)
		}
		if d := maxAbsDiff(got, want); d > tol {
			t.Errorf("%s: got %v, want %v (off by %g)", be, got, want, d)
		}
	}
}
