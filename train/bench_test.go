package train

import (
	"testing"

	"github.com/latentzoo/latentzoo/dataset"
)

// BenchmarkTrainStep measures one training iteration (every phase; the default backbone,
// each family's defaults on Fashion-MNIST, batch size included) of every registered
// family, side by side, on every backend compiled in that this machine can run (the GPU
// ones where NewBackend can make them); it reports images per second.
func BenchmarkTrainStep(b *testing.B) {
	data, err := dataset.Load("fashion-mnist", dataset.Train, 32, 1)
	if err != nil {
		b.Fatal(err)
	}
	backends := Backends()
	for _, be := range GPUBackends() {
		if gb, err := NewBackend(be); err == nil {
			gb.Finalize()
			backends = append(backends, be)
		}
	}
	for _, fam := range Families() {
		for _, be := range backends {
			b.Run(fam+"/"+be, func(b *testing.B) {
				benchTrainStep(b, fam, be, data)
			})
		}
	}
}

// warmupSteps are the steps a benchmark runs before its timer starts. The first few
// steps after compiling run slower than the rest (ONNX Runtime sizes its memory arenas
// and plans its buffers on the first runs), and a benchmark of 20 iterations would carry
// them.
const warmupSteps = 5

func benchTrainStep(b *testing.B, family, be string, data *dataset.Set) {
	cfg := DefaultConfig(family, "fashion-mnist")
	cfg.Backend = be
	t := freshTrainer(b, cfg, data)
	for range warmupSteps { // compile, and let ONNX Runtime's arenas settle, outside the timer
		if _, err := t.trainStep(); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		if _, err := t.trainStep(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*cfg.BatchSize)/b.Elapsed().Seconds(), "img/s")
}
