package yardstick

import (
	"fmt"
	"slices"

	"github.com/latentzoo/latentzoo/errkind"
	"github.com/latentzoo/latentzoo/infer"
	"github.com/latentzoo/latentzoo/zoo"
)

// Tensor names of a classifier graph.
const (
	TensorImage    = "image"
	TensorLogits   = "logits"
	TensorFeatures = "features"
)

// Network is a classifier entry open in ONNX Runtime: the feature network the measures of
// this package run on, and the classifier whose accuracy on reconstructions says whether
// they keep their class.
type Network struct {
	manifest *zoo.Manifest
	digest   string
	sess     *infer.Session
	classes  int
	features int
}

// Open opens the classifier graph of entry e. An entry that is not a classifier, or whose
// graph does not take "image" and give "logits" and "features", is an
// errkind.Unprocessable error.
func Open(e zoo.Entry, opts infer.Options) (*Network, error) {
	man := e.Manifest()
	if err := man.Validate(); err != nil {
		return nil, err
	}
	if !man.IsClassifier() {
		return nil, errkind.New(errkind.Unprocessable, "%s is not a classifier entry (kind %q), so it cannot be a yardstick", man.Name, man.Kind)
	}
	data, err := e.ReadFile(man.Graphs[zoo.ClassifierRole])
	if err != nil {
		return nil, fmt.Errorf("yardstick %s: %w", man.Name, err)
	}
	sess, err := infer.Open(data, opts)
	if err != nil {
		return nil, fmt.Errorf("yardstick %s: %w", man.Name, err)
	}
	n := &Network{manifest: man, digest: man.Digest(), sess: sess}
	if err := n.check(); err != nil {
		return nil, errkind.Wrap(errkind.Unprocessable, fmt.Errorf("yardstick %s: %w (close: %v)", man.Name, err, sess.Close()))
	}
	return n, nil
}

// check reads the graph's signature: one input image at the manifest's size, and logits
// and features of fixed widths.
func (n *Network) check() error {
	man := n.manifest
	in := n.sess.Inputs()
	want := []int64{int64(man.Channels), int64(man.Resolution), int64(man.Resolution)}
	if len(in) != 1 || in[0].Name != TensorImage || len(in[0].Shape) != 4 || !slices.Equal(in[0].Shape[1:], want) {
		return fmt.Errorf("graph must take one input %q of shape [N, %d, %d, %d], has %v", TensorImage, man.Channels, man.Resolution, man.Resolution, in)
	}
	width := func(name string) int {
		for _, t := range n.sess.Outputs() {
			if t.Name == name && len(t.Shape) == 2 && t.Shape[1] > 0 {
				return int(t.Shape[1])
			}
		}
		return 0
	}
	n.classes, n.features = width(TensorLogits), width(TensorFeatures)
	if n.classes == 0 || n.features == 0 {
		return fmt.Errorf("graph must give %q and %q of shape [N, fixed width], gives %v", TensorLogits, TensorFeatures, n.sess.Outputs())
	}
	return nil
}

// Close releases the graph.
func (n *Network) Close() error { return n.sess.Close() }

// Manifest is the yardstick entry's manifest. The caller must not change it.
func (n *Network) Manifest() *zoo.Manifest { return n.manifest }

// Ref names the yardstick as the metrics it measured record it.
func (n *Network) Ref() zoo.YardstickRef {
	return zoo.YardstickRef{Name: n.manifest.Name, Digest: n.digest}
}

// FeatureSize is the width of the features.
func (n *Network) FeatureSize() int { return n.features }

// Classes is the number of classes.
func (n *Network) Classes() int { return n.classes }

// Fits reports why images of a data set at a resolution and channel count cannot be
// measured by the yardstick, or nil when they can: it must be the yardstick of that data
// set, at that size.
func (n *Network) Fits(dataset string, resolution, channels int) error {
	man := n.manifest
	if man.Dataset != dataset || man.Resolution != resolution || man.Channels != channels {
		return errkind.New(errkind.Invalid, "yardstick %s measures %s at %d×%d×%d, not %s at %d×%d×%d",
			man.Name, man.Dataset, man.Channels, man.Resolution, man.Resolution, dataset, channels, resolution, resolution)
	}
	return nil
}

// Run runs the classifier on n CHW images laid end to end, in batches of at most batch,
// and returns their features (n × FeatureSize) and the predicted class of each.
func (n *Network) Run(images []float32, count, batch int) (features []float32, predicted []int, err error) {
	man := n.manifest
	size := man.Channels * man.Resolution * man.Resolution
	if count < 0 || len(images) != count*size {
		return nil, nil, fmt.Errorf("yardstick: %d values for %d images of %d", len(images), count, size)
	}
	if batch <= 0 {
		batch = 256
	}
	features = make([]float32, 0, count*n.features)
	predicted = make([]int, 0, count)
	for lo := 0; lo < count; lo += batch {
		hi := min(lo+batch, count)
		shape := []int64{int64(hi - lo), int64(man.Channels), int64(man.Resolution), int64(man.Resolution)}
		outs, err := n.sess.Run(map[string]infer.Tensor{TensorImage: {Shape: shape, Data: images[lo*size : hi*size]}})
		if err != nil {
			return nil, nil, fmt.Errorf("yardstick %s: %w", man.Name, err)
		}
		f, l := outs[TensorFeatures].Data, outs[TensorLogits].Data
		if len(f) != (hi-lo)*n.features || len(l) != (hi-lo)*n.classes {
			return nil, nil, fmt.Errorf("yardstick %s: %d features and %d logits for %d images", man.Name, len(f), len(l), hi-lo)
		}
		features = append(features, f...)
		for i := range hi - lo {
			row := l[i*n.classes : (i+1)*n.classes]
			predicted = append(predicted, argmax(row))
		}
	}
	return features, predicted, nil
}

// argmax is the index of the largest value, the first of equals.
func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// Accuracy is the fraction of predictions equal to their labels.
func Accuracy(predicted, labels []int) float64 {
	if len(predicted) == 0 || len(predicted) != len(labels) {
		return 0
	}
	right := 0
	for i, p := range predicted {
		if p == labels[i] {
			right++
		}
	}
	return float64(right) / float64(len(predicted))
}
