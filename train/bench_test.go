package train

import (
	"testing"

	"github.com/latentzoo/latentzoo/dataset"
)

// BenchmarkTrainStep measures a VAE training step (batch 64, the default backbone) on
// every backend compiled in; it reports images per second.
func BenchmarkTrainStep(b *testing.B) {
	data, err := dataset.Load("fashion-mnist", dataset.Train, 32, 1)
	if err != nil {
		b.Fatal(err)
	}
	for _, be := range Backends() {
		b.Run(be, func(b *testing.B) {
			cfg := DefaultConfig("vae", "fashion-mnist")
			cfg.Backend = be
			t, err := newTrainer(cfg, data)
			if err != nil {
				b.Fatal(err)
			}
			defer t.close()
			if err := t.restore(initialCheckpoint(1, t.nets)); err != nil {
				b.Fatal(err)
			}
			if _, err := t.trainStep(); err != nil { // compile outside the timer
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				if _, err := t.trainStep(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*cfg.BatchSize)/b.Elapsed().Seconds(), "img/s")
		})
	}
}
