package train

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadConfig feeds a run's config.json arbitrary bytes: it loads or fails, and a config
// that loads and validates writes back to one that loads the same.
func FuzzLoadConfig(f *testing.F) {
	for _, fam := range Families() {
		if b, err := json.Marshal(DefaultConfig(fam, "fashion-mnist")); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"family": "nosuch"}`))
	f.Add([]byte(`{"family": "moca", "queue_size": -1, "backbone": {"widths": [0]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, configFile), data, 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := LoadConfig(dir)
		if err != nil || c.Validate() != nil {
			return
		}
		if err := writeConfig(dir, c); err != nil {
			t.Fatalf("a valid config does not write: %v", err)
		}
		back, err := LoadConfig(dir)
		if err != nil {
			t.Fatalf("a valid config written back does not load: %v", err)
		}
		a, _ := json.Marshal(c)
		b, _ := json.Marshal(back)
		if string(a) != string(b) {
			t.Fatalf("config changed on the way back:\n%s\n%s", a, b)
		}
	})
}
