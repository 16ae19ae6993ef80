package evaluate

import (
	"fmt"

	"github.com/latentzoo/latentzoo/dataset"
	"github.com/latentzoo/latentzoo/errkind"
	"github.com/latentzoo/latentzoo/yardstick"
)

// The bounds of the number of samples a quality measurement draws: a covariance needs two,
// and beyond the upper bound the pairwise distances of precision and recall take too long.
const (
	MinSamples = 2
	MaxSamples = 100_000
)

// NearestNeighbours is the k of precision and recall, as Kynkäänniemi et al. recommend.
const NearestNeighbours = 3

// Generator is what a quality measurement needs of a model: reconstructions, and
// decodings of latents drawn from its prior.
type Generator interface {
	Reconstructor
	// Generate decodes the latents zs with the model's sampling graph.
	Generate(zs [][]float32) ([]float32, error)
	// Prior draws n latents from the model's prior with seed.
	Prior(seed int64, n int) [][]float32
}

// Quality is what a yardstick measures of a model against a data set's test split.
type Quality struct {
	Yardstick string // the yardstick's entry name
	Samples   int
	// FIDSamples and FIDReconstructions are the Fréchet distances between the yardstick's
	// features of the test images and those of the samples or the reconstructions.
	FIDSamples, FIDReconstructions float64
	// Precision and Recall are the samples' against the test images (k = NearestNeighbours).
	Precision, Recall float64
	// AccuracyOriginals and AccuracyReconstructions are the yardstick's accuracy on the
	// test images and on their reconstructions.
	AccuracyOriginals, AccuracyReconstructions float64
}

// Map returns the measures by the names the manifests use.
func (q Quality) Map() map[string]float64 {
	return map[string]float64{
		"fid_samples":              q.FIDSamples,
		"fid_reconstructions":      q.FIDReconstructions,
		"precision":                q.Precision,
		"recall":                   q.Recall,
		"accuracy_originals":       q.AccuracyOriginals,
		"accuracy_reconstructions": q.AccuracyReconstructions,
		"quality_samples":          float64(q.Samples),
	}
}

// Stage is a step of MeasureQuality, reported to its progress function.
type Stage string

// The stages, in order.
const (
	StageTest            Stage = "test images"
	StageReconstructions Stage = "reconstructions"
	StageSamples         Stage = "samples"
	StageDistances       Stage = "distances"
)

// MeasureQuality measures g's samples and reconstructions on the yardstick net against
// test, which must have labels: n samples drawn with seed, every test image reconstructed.
// progress, when not nil, hears each stage's images done out of its total.
func MeasureQuality(net *yardstick.Network, g Generator, test *dataset.Set, n int, seed int64, batch int, progress func(s Stage, done, total int)) (Quality, error) {
	if n < MinSamples || n > MaxSamples {
		return Quality{}, errkind.New(errkind.Invalid, "%d samples: FID needs %d to %d", n, MinSamples, MaxSamples)
	}
	if len(test.Labels) != test.N {
		return Quality{}, fmt.Errorf("test split has %d labels for %d images", len(test.Labels), test.N)
	}
	if err := net.Fits(test.Name, test.H, test.C); err != nil {
		return Quality{}, err
	}
	if batch <= 0 {
		batch = 256
	}
	if progress == nil {
		progress = func(Stage, int, int) {}
	}
	q := Quality{Yardstick: net.Manifest().Name, Samples: n}
	// features runs count images, made batch by batch by make, through the yardstick.
	features := func(stage Stage, count int, make func(lo, hi int) ([]float32, error)) (*yardstick.Features, []int, error) {
		var feats []float32
		var predicted []int
		for lo := 0; lo < count; lo += batch {
			hi := min(lo+batch, count)
			images, err := make(lo, hi)
			if err != nil {
				return nil, nil, fmt.Errorf("%s %d-%d: %w", stage, lo, hi, err)
			}
			f, p, err := net.Run(images, hi-lo, batch)
			if err != nil {
				return nil, nil, err
			}
			feats, predicted = append(feats, f...), append(predicted, p...)
			progress(stage, hi, count)
		}
		fs, err := yardstick.NewFeatures(feats, count, net.FeatureSize())
		return fs, predicted, err
	}
	size := test.ImageSize()
	testImages := func(lo, hi int) ([]float32, error) { return test.Images[lo*size : hi*size], nil }
	real, predicted, err := features(StageTest, test.N, testImages)
	if err != nil {
		return Quality{}, err
	}
	q.AccuracyOriginals = yardstick.Accuracy(predicted, test.Labels)
	rec, predicted, err := features(StageReconstructions, test.N, func(lo, hi int) ([]float32, error) {
		in, _ := testImages(lo, hi)
		return g.Reconstruct(in, hi-lo)
	})
	if err != nil {
		return Quality{}, err
	}
	q.AccuracyReconstructions = yardstick.Accuracy(predicted, test.Labels)
	zs := g.Prior(seed, n)
	gen, _, err := features(StageSamples, n, func(lo, hi int) ([]float32, error) { return g.Generate(zs[lo:hi]) })
	if err != nil {
		return Quality{}, err
	}
	progress(StageDistances, 0, 1)
	realStats, err := real.Stats()
	if err != nil {
		return Quality{}, err
	}
	for _, m := range []struct {
		f   *yardstick.Features
		out *float64
	}{{gen, &q.FIDSamples}, {rec, &q.FIDReconstructions}} {
		s, err := m.f.Stats()
		if err != nil {
			return Quality{}, err
		}
		if *m.out, err = yardstick.Frechet(realStats, s); err != nil {
			return Quality{}, err
		}
	}
	if q.Precision, q.Recall, err = yardstick.PrecisionRecall(real, gen, NearestNeighbours); err != nil {
		return Quality{}, err
	}
	progress(StageDistances, 1, 1)
	return q, nil
}

// Floor is the Fréchet distance between the yardstick's features of n training images
// (evenly spread through train) and those of the test split: the distance that a model
// whose samples were as good as the data itself would get, the lowest a card can expect.
func Floor(net *yardstick.Network, train, test *dataset.Set, n, batch int) (float64, error) {
	if n < MinSamples || n > train.N {
		return 0, errkind.New(errkind.Invalid, "floor of %d training images: want %d to %d", n, MinSamples, train.N)
	}
	sub := train.Subset(n)
	stats := make([]yardstick.Stats, 2)
	for i, set := range []*dataset.Set{sub, test} {
		f, _, err := net.Run(set.Images, set.N, batch)
		if err != nil {
			return 0, err
		}
		fs, err := yardstick.NewFeatures(f, set.N, net.FeatureSize())
		if err != nil {
			return 0, err
		}
		if stats[i], err = fs.Stats(); err != nil {
			return 0, err
		}
	}
	return yardstick.Frechet(stats[0], stats[1])
}

// FIDJudge scores a model's samples during training by their Fréchet distance to a set of
// reference images on a yardstick's features (train's Judge). It compares with training
// images, not the test split, so that choosing a checkpoint by it leaves the test split to
// the card's measurements.
type FIDJudge struct {
	net *yardstick.Network
	ref yardstick.Stats
}

// NewFIDJudge is the judge of net against the images of ref.
func NewFIDJudge(net *yardstick.Network, ref *dataset.Set) (*FIDJudge, error) {
	if err := net.Fits(ref.Name, ref.H, ref.C); err != nil {
		return nil, err
	}
	f, _, err := net.Run(ref.Images, ref.N, 256)
	if err != nil {
		return nil, err
	}
	fs, err := yardstick.NewFeatures(f, ref.N, net.FeatureSize())
	if err != nil {
		return nil, err
	}
	st, err := fs.Stats()
	if err != nil {
		return nil, err
	}
	return &FIDJudge{net: net, ref: st}, nil
}

// Score is the Fréchet distance of n CHW images laid end to end to the reference images.
func (j *FIDJudge) Score(images []float32, n int) (float64, error) {
	f, _, err := j.net.Run(images, n, 256)
	if err != nil {
		return 0, err
	}
	fs, err := yardstick.NewFeatures(f, n, j.net.FeatureSize())
	if err != nil {
		return 0, err
	}
	st, err := fs.Stats()
	if err != nil {
		return 0, err
	}
	return yardstick.Frechet(j.ref, st)
}
