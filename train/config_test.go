package train

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// flatKeys are the keys of config.json as the one flat Config of earlier versions wrote
// them, for every family alike. New code must write no other key, so that both versions
// read each other's run folders.
var flatKeys = []string{
	"family", "dataset", "backbone", "epochs", "steps", "batch_size", "lr", "beta1", "beta2", "beta", "rec",
	"lambda", "temperature", "queue_size", "momentum", "beta_rec", "beta_neg", "margin", "alpha", "gamma",
	"gamma_r", "ema_decay", "no_gan", "no_contrastive", "patch_after", "xi",
	"seed", "checkpoint_every", "log_every", "backend", "code_version",
}

// newFamilies are the families that earlier versions did not train, whose options may
// have keys of their own.
var newFamilies = map[string]bool{"classifier": true}

// jsonObject decodes a JSON object into its keys' raw values, compacted.
func jsonObject(t *testing.T, data []byte) map[string]string {
	t.Helper()
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for k, v := range raw {
		var b bytes.Buffer
		if err := json.Compact(&b, v); err != nil {
			t.Fatal(err)
		}
		out[k] = b.String()
	}
	return out
}

// TestDefaultConfigsRoundTrip writes every family's default config as config.json and
// reads it back: the same config, its options of the family's type, and no key that the
// flat config of earlier versions did not have. The same JSON with the keys earlier
// versions wrote for every family added (no_gan and no_contrastive false, beta 1 where
// the family has none) reads back as the same config too.
func TestDefaultConfigsRoundTrip(t *testing.T) {
	for _, fam := range Families() {
		t.Run(fam, func(t *testing.T) {
			c := DefaultConfig(fam, "fashion-mnist")
			c.CodeVersion = "test"
			if err := c.Validate(); err != nil {
				t.Fatalf("default config does not validate: %v", err)
			}
			dir := t.TempDir()
			if err := writeConfig(dir, c); err != nil {
				t.Fatal(err)
			}
			back, err := LoadConfig(dir)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, c) {
				t.Fatalf("read back %+v (options %+v), wrote %+v (options %+v)", back, back.Options, c, c.Options)
			}
			data, err := os.ReadFile(filepath.Join(dir, configFile))
			if err != nil {
				t.Fatal(err)
			}
			keys := jsonObject(t, data)
			for k := range keys {
				if !slices.Contains(flatKeys, k) && !newFamilies[fam] {
					t.Errorf("config.json has key %q, which earlier versions do not know", k)
				}
			}
			old := map[string]json.RawMessage{}
			if err := json.Unmarshal(data, &old); err != nil {
				t.Fatal(err)
			}
			old["no_gan"], old["no_contrastive"] = json.RawMessage("false"), json.RawMessage("false")
			if _, ok := old["beta"]; !ok {
				old["beta"] = json.RawMessage("1")
			}
			flat, err := json.Marshal(old)
			if err != nil {
				t.Fatal(err)
			}
			var fromFlat Config
			if err := json.Unmarshal(flat, &fromFlat); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(fromFlat, c) {
				t.Errorf("flat config read as %+v (options %+v), want %+v", fromFlat, fromFlat.Options, c.Options)
			}
		})
	}
}

// TestCommittedConfigsLoad reads the training config of every committed zoo entry, as a
// run folder's config.json: it must validate, and mean what it says. Every key that is a
// common setting or an option of the family must be written back with the same value;
// a key it drops must be no setting of the family (earlier versions wrote every family's
// keys); a key it adds must hold its zero value; and what it writes must read back as
// the same config.
func TestCommittedConfigsLoad(t *testing.T) {
	files, err := filepath.Glob("../zoo/builtin/*/*/*/train-config.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no committed train-config.json")
	}
	common := jsonKeys(reflect.TypeFor[plainConfig]())
	for _, file := range files {
		t.Run(filepath.Dir(strings.TrimPrefix(file, "../zoo/builtin/")), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, configFile), data, 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := LoadConfig(dir)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Validate(); err != nil {
				t.Fatalf("committed config does not validate: %v", err)
			}
			own := append(slices.Clone(common), jsonKeys(families[c.Family].optionsType.Elem())...)
			written, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			before, after := jsonObject(t, data), jsonObject(t, written)
			for k, v := range before {
				switch {
				case slices.Contains(own, k) && after[k] != v:
					t.Errorf("%s: %s written back as %s", k, v, after[k])
				case !slices.Contains(own, k) && after[k] != "":
					t.Errorf("%s: no setting of %s, but written back as %s", k, c.Family, after[k])
				}
			}
			zero := []string{"0", "false", `""`, "null"}
			for k, v := range after {
				if _, ok := before[k]; !ok && !slices.Contains(zero, v) {
					t.Errorf("%s: added as %s", k, v)
				}
			}
			var again Config
			if err := json.Unmarshal(written, &again); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(again, c) {
				t.Errorf("written back as %s, read as %+v", written, again)
			}
			if err := sameRun(c, again); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestValidate checks that Validate refuses what is wrong with a config, common settings
// and each family's options, and accepts each family's defaults.
func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		family string
		change func(c *Config)
		want   string // a part of the error; empty: valid
	}{
		{"vae", func(*Config) {}, ""},
		{"nosuch", func(*Config) {}, "unknown family"},
		{"vae", func(c *Config) { c.Steps, c.Epochs = 0, 0 }, "epochs or steps"},
		{"vae", func(c *Config) { c.Rec = "l1" }, "rec must be"},
		{"vae", func(c *Config) { c.Options = nil }, "no options"},
		{"vae", func(c *Config) { c.Options = &WAEOptions{} }, "takes options"},
		{"wae", func(c *Config) { optionsOf[*WAEOptions](*c).Lambda = -1 }, "lambda"},
		{"moca", func(c *Config) { optionsOf[*MoCAOptions](*c).Temperature = 0 }, "temperature"},
		{"moca", func(c *Config) { optionsOf[*MoCAOptions](*c).QueueSize = c.BatchSize - 1 }, "queue"},
		{"moca", func(c *Config) { optionsOf[*MoCAOptions](*c).Momentum = 1 }, "momentum"},
		{"introvae", func(c *Config) { optionsOf[*IntroVAEOptions](*c).BetaRec = 0 }, "beta_rec"},
		{"introvae", func(c *Config) { optionsOf[*IntroVAEOptions](*c).Margin = -1 }, "margin"},
		{"sintrovae", func(c *Config) { optionsOf[*SoftIntroVAEOptions](*c).Alpha = 0 }, "alpha"},
		{"sintrovae", func(c *Config) { optionsOf[*SoftIntroVAEOptions](*c).GammaR = -1 }, "must not be negative"},
		{"asintrovae", func(c *Config) { optionsOf[*ASIntroVAEOptions](*c).EMADecay = 1 }, "ema_decay"},
		{"asintrovae", func(c *Config) { optionsOf[*ASIntroVAEOptions](*c).Alpha = 0 }, "alpha"},
		{"avae", func(c *Config) { optionsOf[*AVAEOptions](*c).Xi = -1 }, "xi"},
		{"avae", func(c *Config) { optionsOf[*AVAEOptions](*c).Beta = 0 }, "beta"},
		{"dcvae", func(c *Config) { optionsOf[*DCVAEOptions](*c).PatchAfter = -1 }, "patch_after"},
		{"dcvae", func(c *Config) { optionsOf[*DCVAEOptions](*c).QueueSize = 1 }, "queue"},
		{"vaegan", func(c *Config) { optionsOf[*VAEGANOptions](*c).Gamma = -1 }, "gamma"},
	} {
		c := DefaultConfig(tc.family, "fashion-mnist")
		tc.change(&c)
		err := c.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.family, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: err = %v, want one saying %q", tc.family, err, tc.want)
		}
	}
	for _, fam := range Families() {
		if err := DefaultConfig(fam, "fashion-mnist").Validate(); err != nil {
			t.Errorf("%s's defaults: %v", fam, err)
		}
	}
}
