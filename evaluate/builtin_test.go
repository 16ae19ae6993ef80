package evaluate

import (
	"math"
	"testing"

	"github.com/latentzoo/latentzoo/autoencoder"
	"github.com/latentzoo/latentzoo/dataset"
	"github.com/latentzoo/latentzoo/infer"
	"github.com/latentzoo/latentzoo/yardstick"
	"github.com/latentzoo/latentzoo/zoo"
)

// maxBuiltinMSE is the test-set MSE every built-in entry must reach: its reconstructions
// are recognisably the same images.
const maxBuiltinMSE = 0.02

// TestBuiltinEntriesReconstruct measures every built-in entry on its data set's whole test
// split through ONNX Runtime, prints the result, and requires both the quality bar and
// that the metrics recorded in the manifest are the ones measured here.
func TestBuiltinEntriesReconstruct(t *testing.T) {
	entries, err := zoo.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 {
		t.Fatal("no built-in entries: make run would serve nothing")
	}
	for _, e := range entries {
		man := e.Manifest()
		if man.IsClassifier() {
			continue // a yardstick: TestBuiltinYardsticks measures it
		}
		t.Run(man.Name, func(t *testing.T) {
			set, err := dataset.Load(man.Dataset, dataset.Test, man.Resolution, man.Channels)
			if err != nil {
				t.Fatal(err)
			}
			model, err := autoencoder.Open(e, autoencoder.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer model.Close()
			m, err := Reconstruction(model.Reconstructor(""), set, 256, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s on %s test (%d images): MSE %.5f, PSNR %.2f dB, SSIM %.4f", man.Name, man.Dataset, m.Images, m.MSE, m.PSNR, m.SSIM)
			if m.MSE > maxBuiltinMSE {
				t.Errorf("test MSE %.5f above %g", m.MSE, maxBuiltinMSE)
			}
			for k, v := range m.Map("test_") {
				rec, ok := man.Metrics[k]
				if !ok {
					t.Errorf("manifest lacks metric %s (run latentzoo eval on the entry's folder)", k)
					continue
				}
				if math.Abs(rec-v) > 1e-4*math.Max(1, math.Abs(v)) {
					t.Errorf("manifest records %s = %g, measured %g", k, rec, v)
				}
			}
		})
	}
}

// TestBuiltinYardsticks measures every built-in classifier on its data set's test split
// and requires the accuracy and floor its manifest records to be the ones measured here.
func TestBuiltinYardsticks(t *testing.T) {
	entries, err := zoo.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, e := range entries {
		man := e.Manifest()
		if !man.IsClassifier() {
			continue
		}
		seen++
		t.Run(man.Name, func(t *testing.T) {
			net, err := yardstick.Open(e, infer.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer net.Close()
			test, err := dataset.Load(man.Dataset, dataset.Test, man.Resolution, man.Channels)
			if err != nil {
				t.Fatal(err)
			}
			_, predicted, err := net.Run(test.Images, test.N, 256)
			if err != nil {
				t.Fatal(err)
			}
			acc := yardstick.Accuracy(predicted, test.Labels)
			train, err := dataset.Load(man.Dataset, dataset.Train, man.Resolution, man.Channels)
			if err != nil {
				t.Fatal(err)
			}
			floor, err := Floor(net, train, test, int(man.Metrics["floor_images"]), 256)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: accuracy %.4f on %d test images, floor FID %.4f", man.Name, acc, test.N, floor)
			for k, v := range map[string]float64{"test_accuracy": acc, "fid_floor": floor} {
				if rec, ok := man.Metrics[k]; !ok || math.Abs(rec-v) > 1e-4*math.Max(1, math.Abs(v)) {
					t.Errorf("manifest records %s = %v, measured %v", k, rec, v)
				}
			}
		})
	}
	if seen < 2 {
		t.Errorf("%d built-in yardsticks, want Fashion-MNIST's and MNIST's", seen)
	}
}
