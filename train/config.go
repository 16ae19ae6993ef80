// Package train trains latentzoo's model families with GoMLX: the graph of each net built
// from its models description, the losses of each family, Adam, checkpoints that resume
// exactly, progress and a loss log.
//
// Each family is one file that registers it from init (see family and register): its
// options with their defaults, validation and flags, its nets, noise and state, and the
// phases of an iteration. DefaultConfig, Validate, LoadModel and the command line read
// that registry, and the cross-family tests range over it.
package train

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"

	"github.com/latentzoo/latentzoo/atomicfile"
	"github.com/latentzoo/latentzoo/models"
)

// Config is a training run's configuration, kept as config.json in the run folder: the
// settings every family has, and the family's own Options. In config.json the options'
// keys sit beside the common ones in one flat object.
//
// Options is a pointer: copies of a Config share their options.
type Config struct {
	Family   string          `json:"family"`
	Dataset  string          `json:"dataset"`
	Backbone models.Backbone `json:"backbone"`
	Epochs   int             `json:"epochs"`
	// Steps, when positive, stops the run after that many steps in all (for short runs).
	Steps     int     `json:"steps,omitempty"`
	BatchSize int     `json:"batch_size"`
	LR        float64 `json:"lr"`
	// LRSchedule shapes the learning rate over the run: "" keeps it constant, "cosine"
	// lowers it from LR to 0 along half a cosine over the run's steps.
	LRSchedule string `json:"lr_schedule,omitempty"`
	// Beta1 and Beta2 are Adam's decay rates of its moment estimates.
	Beta1 float64 `json:"beta1"`
	Beta2 float64 `json:"beta2"`
	// Rec is the per-image reconstruction error: "bce" (summed binary cross-entropy) or
	// "mse" (summed squared error).
	Rec string `json:"rec"`

	Seed            int64 `json:"seed"`
	CheckpointEvery int   `json:"checkpoint_every"`
	LogEvery        int   `json:"log_every"`
	// FIDEvery, when positive and the run has a Judge, is the number of steps between
	// scorings of the model's samples; the best-scored checkpoint is kept beside the last.
	FIDEvery int `json:"fid_every,omitempty"`
	// FIDSamples is how many prior samples each scoring draws; 0 is DefaultFIDSamples.
	FIDSamples int `json:"fid_samples,omitempty"`
	// Backend is the GoMLX backend ("go:ops_sequential", "onnx:cpu"); empty picks the default.
	Backend string `json:"backend,omitempty"`
	// CodeVersion names the code that started (or last resumed) the run.
	CodeVersion string `json:"code_version,omitempty"`

	// Options are the family's own options, of the type its registration gives
	// (*VAEOptions for "vae", *MoCAOptions for "moca", ...).
	Options Options `json:"-"`
}

// plainConfig is Config without its JSON methods: the common settings alone.
type plainConfig Config

// MarshalJSON writes the common settings and then the options' keys, in one object.
func (c Config) MarshalJSON() ([]byte, error) {
	common, err := json.Marshal(plainConfig(c))
	if err != nil {
		return nil, err
	}
	if c.Options == nil {
		return common, nil
	}
	opts, err := json.Marshal(c.Options)
	if err != nil {
		return nil, fmt.Errorf("%s options: %w", c.Family, err)
	}
	if len(opts) <= 2 { // {}
		return common, nil
	}
	out := append(common[:len(common)-1:len(common)-1], ',')
	return append(out, opts[1:]...), nil
}

// UnmarshalJSON reads the common settings, then the family's options from the same
// object, starting from their zero values, as a config.json without a key always meant.
// Keys that are no option of the family are ignored, as they always were: configs of
// earlier versions hold every family's keys ("beta" in a MoCA run, "no_gan" in a VAE's).
// A config of an unknown family keeps nil options, for Validate to report.
func (c *Config) UnmarshalJSON(data []byte) error {
	var p plainConfig
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	*c = Config(p)
	f, ok := families[c.Family]
	if !ok {
		return nil
	}
	opts := reflect.New(f.optionsType.Elem()).Interface().(Options)
	if err := json.Unmarshal(data, opts); err != nil {
		return fmt.Errorf("%s options: %w", c.Family, err)
	}
	c.Options = opts
	return nil
}

// commonDefaults is the configuration of every family on a data set, options aside.
func commonDefaults(family, dataset string) Config {
	return Config{
		Family:          family,
		Dataset:         dataset,
		Backbone:        models.DefaultBackbone(),
		Epochs:          10,
		BatchSize:       64,
		LR:              1e-3,
		Beta1:           0.9,
		Beta2:           0.999,
		Rec:             "bce",
		Seed:            1,
		CheckpointEvery: 500,
		LogEvery:        50,
	}
}

// DefaultFIDSamples is the number of prior samples a scoring during training draws when
// the config gives none: enough to rank checkpoints; a card's FID is measured by eval on
// more.
const DefaultFIDSamples = 2000

// fidSamples is the number of samples a scoring draws.
func (c Config) fidSamples() int {
	if c.FIDSamples > 0 {
		return c.FIDSamples
	}
	return DefaultFIDSamples
}

// DefaultConfig is the configuration of a family on a data set before flags change it:
// the common defaults, changed as the family's registration says, with its options. An
// unknown family gets no options (and Validate reports it).
func DefaultConfig(family, dataset string) Config {
	c := commonDefaults(family, dataset)
	if f, ok := families[family]; ok {
		f.defaults(&c)
	}
	return c
}

// Validate checks the configuration before a run starts: the common settings, then the
// family's options.
func (c Config) Validate() error {
	desc, err := models.Lookup(c.Family)
	if err != nil {
		return err
	}
	if desc.Classifier && c.FIDEvery > 0 {
		return fmt.Errorf("config: family %s does not sample, so it has no FID to select by (fid_every %d)", c.Family, c.FIDEvery)
	}
	f, err := lookupFamily(c.Family)
	if err != nil {
		return err
	}
	if err := c.Backbone.Validate(); err != nil {
		return err
	}
	switch {
	case c.Epochs <= 0 && c.Steps <= 0:
		return fmt.Errorf("config: need epochs or steps")
	case c.BatchSize <= 0:
		return fmt.Errorf("config: batch size must be positive")
	case c.LR <= 0:
		return fmt.Errorf("config: learning rate must be positive")
	case c.LRSchedule != "" && c.LRSchedule != "cosine":
		return fmt.Errorf("config: lr_schedule must be empty or cosine, got %q", c.LRSchedule)
	case c.Rec != "bce" && c.Rec != "mse":
		return fmt.Errorf("config: rec must be bce or mse, got %q", c.Rec)
	case c.CheckpointEvery <= 0 || c.LogEvery <= 0:
		return fmt.Errorf("config: checkpoint and log intervals must be positive")
	case c.FIDEvery < 0 || c.FIDSamples < 0 || c.FIDSamples == 1:
		return fmt.Errorf("config: fid_every must be 0 or positive and fid_samples 0 or at least 2")
	case c.Options == nil:
		return fmt.Errorf("config: family %s has no options", c.Family)
	case reflect.TypeOf(c.Options) != f.optionsType:
		return fmt.Errorf("config: family %s takes options %v, not %T", c.Family, f.optionsType, c.Options)
	}
	return c.Options.Validate(c)
}

const configFile = "config.json"

// LoadConfig reads the config.json of a run folder.
func LoadConfig(runDir string) (Config, error) {
	var c Config
	data, err := os.ReadFile(filepath.Join(runDir, configFile))
	if err != nil {
		return c, fmt.Errorf("read run config: %w", err)
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return c, fmt.Errorf("parse %s: %w", filepath.Join(runDir, configFile), err)
	}
	return c, nil
}

// writeConfig writes c as the run folder's config.json.
func writeConfig(runDir string, c Config) error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("encode run config: %w", err)
	}
	return atomicfile.WriteFile(filepath.Join(runDir, configFile), append(data, '\n'), 0o600)
}
