package train

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"

	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // graph-building code reads better unqualified.

	"github.com/latentzoo/latentzoo/dataset"
	"github.com/latentzoo/latentzoo/models"
)

// family is everything package train knows about one model family: its options, the
// nets it trains, the noise it draws per step, and the optimiser phases of one
// iteration, each minimising a loss over some nets. Each family's file registers it from
// init with register; its description (which nets are exported, which graph
// reconstructs and samples) is models.Lookup(name).
type family struct {
	name string
	// defaults sets the family's defaults on c, which holds the common ones for c.Dataset:
	// c.Options, and any common setting the family trains with by default (a learning
	// rate, a batch size). Its options are the ones Config.Options holds for the family.
	defaults func(c *Config)
	nets     func(c Config) []models.Net
	noise    func(c Config) map[string]int // noise tensor name → per-example size
	// state, when set, lists named tensors beyond parameters, running statistics and
	// Adam's moments that the phases read and write (a momentum encoder's weights, a
	// queue of keys). They are checkpointed with the rest.
	state func(c Config) []stateVar
	// schedule, when set, gives the scalars the phases read at a step (a momentum, an
	// annealing weight) from the step about to run and the run's length in steps. It
	// returns the same names at every step.
	schedule func(c Config, step, total int64) map[string]float64
	// exportAverage says that the trained weights to use, and export, are the moving
	// averages the family keeps in its state, named emaPrefix + the parameter's name.
	exportAverage bool
	// exported, when set, turns the trained parameters (after any averaging) into those
	// of the family's exported nets, where a trained net takes more inputs than its
	// exported form (AVAE's generator with its extra noise).
	exported func(c Config, params map[string][]float32) error
	// phases run in order every iteration.
	phases []phase
	// labels says that the phases read each image's class: the step's graph then gets
	// them one-hot, [batch, Backbone.Classes], as stepGraph.labels.
	labels bool
	// augment, when set, says whether a run's training images are flipped and shifted at
	// random (Config's options decide), for families that learn from labels alone.
	augment func(c Config) bool
	// prepare, when set, completes the configuration from the training data before the
	// run starts or resumes (a classifier's classes).
	prepare func(c *Config, data *dataset.Set) error

	// optionsType is the type of the family's options, as defaults sets them; register
	// fills it in.
	optionsType reflect.Type
}

// stateVar is one named state tensor of a family.
type stateVar struct {
	name  string
	shape []int
	// init gives its value at step 0 from the initial parameters and a source seeded by
	// the run's seed and the state's name.
	init func(params map[string][]float32, r *rand.Rand) []float32
}

// phase is one optimiser step: loss is minimised over the parameters of the nets in update.
type phase struct {
	name    string
	update  []string
	metrics []string // names of the scalar metrics loss reports besides the loss
	loss    func(s *stepGraph) (loss *Node, metrics map[string]*Node)
	// after, when set, runs once the phase's optimiser step is built, with every
	// parameter as the step leaves it, to write state that follows the new weights.
	after func(s *stepGraph, params map[string]*Node)
	// enabled, when set, says whether the phase runs at all under a configuration (an
	// ablation that leaves a net without a loss).
	enabled func(c Config) bool
}

// Options are a family's own settings: each family has its own type of them (a pointer
// to a struct, such as *VAEOptions), registered with the family, whose fields' JSON keys
// sit in config.json beside the common settings.
type Options interface {
	// Validate checks the options of the run c configures.
	Validate(c Config) error
	// Flags defines on fs the command-line flags that set the options, with the options'
	// current values as their defaults.
	Flags(fs *flag.FlagSet)
}

// families is the registry: every family, by name.
var families = map[string]family{}

// register adds f to the registry. It panics, at init, on a family without a description
// in models, registered twice, or whose options' JSON keys clash with the common ones:
// such a family could not be exported or its config.json not be read back.
func register(f family) {
	if _, err := models.Lookup(f.name); err != nil {
		panic(fmt.Sprintf("train: family %q: %v", f.name, err))
	}
	if _, ok := families[f.name]; ok {
		panic(fmt.Sprintf("train: family %q registered twice", f.name))
	}
	c := commonDefaults(f.name, "")
	f.defaults(&c)
	if c.Options == nil || reflect.TypeOf(c.Options).Kind() != reflect.Pointer {
		panic(fmt.Sprintf("train: family %q: its options must be a pointer to a struct, got %T", f.name, c.Options))
	}
	common := jsonKeys(reflect.TypeFor[plainConfig]())
	for _, k := range jsonKeys(reflect.TypeOf(c.Options).Elem()) {
		if slices.Contains(common, k) {
			panic(fmt.Sprintf("train: family %q: option key %q is a common setting's", f.name, k))
		}
	}
	f.optionsType = reflect.TypeOf(c.Options)
	families[f.name] = f
}

// lookupFamily returns the registered family called name.
func lookupFamily(name string) (family, error) {
	f, ok := families[name]
	if !ok {
		return family{}, fmt.Errorf("family %q has no training method (known: %s)", name, strings.Join(Families(), ", "))
	}
	return f, nil
}

// Families lists the names of the families that can be trained, sorted.
func Families() []string {
	var ns []string
	for n := range families {
		ns = append(ns, n)
	}
	slices.Sort(ns)
	return ns
}

// optionsOf is c's options as the family's own type T. Every family's code reads its
// options through it; a config of another family there is a programming error, so it
// panics.
func optionsOf[T Options](c Config) T {
	o, ok := c.Options.(T)
	if !ok {
		panic(fmt.Sprintf("train: family %s's code reads options %T, config holds %T", c.Family, *new(T), c.Options))
	}
	return o
}

// jsonKeys lists the JSON keys of the fields of struct type t, embedded structs' fields
// included.
func jsonKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || !f.IsExported() {
			continue
		}
		if f.Anonymous && f.Type.Kind() == reflect.Struct && tag == "" {
			keys = append(keys, jsonKeys(f.Type)...)
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		keys = append(keys, name)
	}
	return keys
}
