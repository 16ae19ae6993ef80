package evaluate

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/latentzoo/latentzoo/autoencoder"
	"github.com/latentzoo/latentzoo/dataset"
	"github.com/latentzoo/latentzoo/infer"
	"github.com/latentzoo/latentzoo/yardstick"
	"github.com/latentzoo/latentzoo/zoo"
)

// minKeptClass is the least fraction of the yardstick's accuracy on the test images that
// every built-in entry's reconstructions must keep: far above chance (a tenth for the ten
// classes of the data sets here), so that an entry whose reconstructions are no longer the
// same images fails. How close each family comes to the originals is the card's number.
const minKeptClass = 0.6

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
			kept := &keeping{r: model.Reconstructor("")}
			m, err := Reconstruction(kept, set, 256, nil)
			if err != nil {
				t.Fatal(err)
			}
			measured := m.Map("test_")
			orig, rec, err := keptClass(e, set, kept.out)
			if err != nil {
				t.Fatal(err)
			}
			measured["accuracy_originals"], measured["accuracy_reconstructions"] = orig, rec
			t.Logf("%s on %s test (%d images): MSE %.5f, PSNR %.2f dB, SSIM %.4f, yardstick accuracy %.4f on reconstructions, %.4f on originals",
				man.Name, man.Dataset, m.Images, m.MSE, m.PSNR, m.SSIM, rec, orig)
			if rec < minKeptClass*orig {
				t.Errorf("yardstick accuracy %.4f on reconstructions, below %g of its %.4f on the originals", rec, minKeptClass, orig)
			}
			for k, v := range measured {
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

// keeping is a Reconstructor that keeps every reconstruction r made, in order, so that
// the yardstick can classify the very images the metrics were measured on.
type keeping struct {
	r   Reconstructor
	out []float32
}

func (k *keeping) Reconstruct(images []float32, n int) ([]float32, error) {
	out, err := k.r.Reconstruct(images, n)
	k.out = append(k.out, out...)
	return out, err
}

// keptClass is the accuracy of the yardstick the entry's card names on the test split
// and on recs, the entry's reconstructions of it.
func keptClass(e zoo.Entry, set *dataset.Set, recs []float32) (orig, rec float64, err error) {
	ref := e.Manifest().Yardstick
	if ref == nil {
		return 0, 0, fmt.Errorf("%s names no yardstick (run latentzoo eval on the entry's folder)", e.Manifest().Name)
	}
	entries, err := zoo.Builtin()
	if err != nil {
		return 0, 0, err
	}
	i := slices.IndexFunc(entries, func(y zoo.Entry) bool { return y.Manifest().Name == ref.Name })
	if i < 0 {
		return 0, 0, fmt.Errorf("yardstick %s is not built in", ref.Name)
	}
	net, err := yardstick.Open(entries[i], infer.Options{})
	if err != nil {
		return 0, 0, err
	}
	defer net.Close()
	if got := net.Ref(); got != *ref {
		return 0, 0, fmt.Errorf("the built-in yardstick is %s, the card was measured on %s", got.Digest, ref.Digest)
	}
	accuracy := func(images []float32) (float64, error) {
		_, predicted, err := net.Run(images, set.N, 256)
		return yardstick.Accuracy(predicted, set.Labels), err
	}
	if orig, err = accuracy(set.Images); err != nil {
		return 0, 0, err
	}
	rec, err = accuracy(recs)
	return orig, rec, err
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
