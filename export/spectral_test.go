package export

import (
	"testing"

	"github.com/latentzoo/latentzoo/models"
	"github.com/latentzoo/latentzoo/models/modeltest"
	"github.com/latentzoo/latentzoo/train"
)

// TestDiscriminatorParity writes the discriminator, which no family exports, with spectral
// norm and batch norm on every layer that takes them, and requires ONNX Runtime to give
// what the training graph gives in inference mode, within Tolerance, on every backend:
// the written weights are the normalised ones (W/sigma from the stored power-iteration
// vector), and the heads that read an intermediate trunk layer (Output.From) read it.
func TestDiscriminatorParity(t *testing.T) {
	b := models.DefaultBackbone()
	b.BatchNorm, b.SpectralNorm = true, true
	net := b.Discriminator()
	params := modeltest.RandomParams(net, 11)
	onnxBytes, err := Marshal(net, params)
	if err != nil {
		t.Fatal(err)
	}
	for _, be := range train.Backends() {
		backend, err := train.NewBackend(be)
		if err != nil {
			t.Fatal(err)
		}
		m := &train.Model{Nets: []models.Net{net}, Params: params}
		worst, err := Parity(m, net.Name, onnxBytes, backend, 3, 1)
		if err != nil {
			t.Fatalf("%s: %v", be, err)
		}
		t.Logf("%s: discriminator max abs error %.3g", be, worst)
		if worst > Tolerance {
			t.Errorf("%s: discriminator parity %g", be, worst)
		}
		// Written without the division, the same weights must fail parity, or the check
		// above could not tell.
		plain := b
		plain.SpectralNorm = false
		unnormalised, err := Marshal(plain.Discriminator(), params)
		if err != nil {
			t.Fatal(err)
		}
		if off, err := Parity(m, net.Name, unnormalised, backend, 3, 1); err != nil || off <= Tolerance {
			t.Errorf("%s: the raw weights match the training graph too (off by %g, %v): the test cannot tell", be, off, err)
		}
		backend.Finalize()
	}
}
