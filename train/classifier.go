package train

import (
	"flag"
	"fmt"
	"math"
	"slices"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // graph-building code reads better unqualified.

	"github.com/latentzoo/latentzoo/dataset"
	"github.com/latentzoo/latentzoo/models"
)

// This file holds the classifier: the yardstick whose features eval measures FID,
// precision and recall on. It is the encoder's trunk, a dense feature layer
// (Backbone.Latent wide) and a dense head to the classes (Backbone.Classes), trained with
// cross-entropy on the data set's labels.

// ClassifierOptions are the classifier's options.
type ClassifierOptions struct {
	// Dropout is the probability with which each feature is zeroed in training before the
	// head (inverted dropout: the others are scaled by 1/(1−Dropout)); the exported net
	// has none.
	Dropout float64 `json:"dropout"`
	// Augment flips training images left to right at random and shifts them by up to 2
	// pixels, so that the classifier learns the classes rather than the training images.
	Augment bool `json:"augment"`
	// ClassNames names the classes in the order of the logits: the data set's classes,
	// filled in from the training data when the run starts.
	ClassNames []string `json:"class_names,omitempty"`
}

// Validate checks that the class names, once known, are as many as the net's classes.
func (o *ClassifierOptions) Validate(c Config) error {
	if o.Dropout < 0 || o.Dropout >= 1 {
		return fmt.Errorf("classifier: dropout %g is not in [0, 1)", o.Dropout)
	}
	if o.ClassNames != nil && len(o.ClassNames) != c.Backbone.Classes {
		return fmt.Errorf("classifier: %d class names for %d classes", len(o.ClassNames), c.Backbone.Classes)
	}
	if o.ClassNames != nil && len(o.ClassNames) < 2 {
		return fmt.Errorf("classifier: %d classes; a classifier needs 2 at least", len(o.ClassNames))
	}
	return nil
}

// Flags defines -dropout. The classes come from the data set, and the feature width is
// -latent.
func (o *ClassifierOptions) Flags(fs *flag.FlagSet) {
	fs.Float64Var(&o.Dropout, "dropout", o.Dropout, "probability of zeroing each feature before the head, in training")
	fs.BoolVar(&o.Augment, "augment", o.Augment, "flip training images left to right at random and shift them by up to 2 pixels")
}

// classifierFeatures is the default width of the classifier's features.
const classifierFeatures = 256

// knownClasses are the class names of the built-in data sets.
var knownClasses = map[string][]string{
	dataset.FashionMNIST: dataset.FashionMNISTClasses,
	dataset.MNIST:        dataset.MNISTClasses,
}

func init() {
	register(family{
		name: "classifier",
		defaults: func(c *Config) {
			o := &ClassifierOptions{Dropout: 0.5, Augment: c.Dataset != dataset.MNIST, ClassNames: slices.Clone(knownClasses[c.Dataset])}
			c.Options = o
			c.LRSchedule = "cosine"
			c.Backbone.Latent = classifierFeatures
			c.Backbone.BatchNorm = true
			c.Backbone.Classes = len(o.ClassNames)
		},
		nets:    func(c Config) []models.Net { return []models.Net{c.Backbone.Classifier()} },
		noise:   func(c Config) map[string]int { return map[string]int{"drop": c.Backbone.Latent} },
		labels:  true,
		augment: func(c Config) bool { return optionsOf[*ClassifierOptions](c).Augment },
		prepare: func(c *Config, data *dataset.Set) error {
			o := optionsOf[*ClassifierOptions](*c)
			if len(data.Classes) < 2 {
				return fmt.Errorf("classifier: data set %s has %d classes; a classifier needs 2 at least (a folder data set names them by subfolders)", data.Name, len(data.Classes))
			}
			if o.ClassNames != nil && !slices.Equal(o.ClassNames, data.Classes) {
				return fmt.Errorf("classifier: the run's classes %v are not the data set's %v", o.ClassNames, data.Classes)
			}
			o.ClassNames = slices.Clone(data.Classes)
			c.Backbone.Classes = len(data.Classes)
			return nil
		},
		phases: []phase{{name: "classifier", update: []string{models.ClassifierNet}, metrics: []string{"acc"}, loss: classifierLoss}},
	})
}

// classifierLoss is the mean cross-entropy of the logits against the one-hot labels, with
// dropout on the features; its metric acc is the fraction of the batch whose largest logit
// is its class.
func classifierLoss(s *stepGraph) (*Node, map[string]*Node) {
	out := s.forward(models.ClassifierNet, s.images)
	logits := out.Out["logits"]
	if p := optionsOf[*ClassifierOptions](s.cfg).Dropout; p > 0 {
		// The head again, on features that each survive with probability 1−p: a standard
		// normal draw stays above Φ⁻¹(p) that often.
		keep := ConvertDType(GreaterThan(s.noise["drop"], Scalar(s.images.Graph(), dtypes.Float32, math.Sqrt2*math.Erfinv(2*p-1))), dtypes.Float32)
		feats := Mul(out.Out["features"], MulScalar(keep, 1/(1-p)))
		head := models.ClassifierNet + "/logits/"
		logits = dense(feats, s.params[head+"weight"], s.params[head+"bias"])
	}
	logp := Sub(logits, logSumExp(logits))
	loss := Neg(ReduceAllMean(ReduceSum(Mul(s.labels, logp), -1)))
	top := StopGradient(ReduceAndKeep(logits, ReduceMax, -1))
	hit := ConvertDType(GreaterOrEqual(logits, top), dtypes.Float32)
	acc := ReduceAllMean(ReduceSum(Mul(s.labels, hit), -1))
	return loss, map[string]*Node{"acc": acc}
}
