package train

import (
	"context"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func shortConfig(steps int) Config {
	c := DefaultConfig("vae", "fashion-mnist")
	c.Steps = steps
	c.BatchSize = 16
	c.CheckpointEvery = 3
	c.LogEvery = 2
	return c
}

// TestResumeIsExact trains 6 steps in one go and 3+3 steps with a restart between, and
// requires bit-identical state, on every backend compiled in.
func TestResumeIsExact(t *testing.T) {
	for _, be := range Backends() {
		t.Run(be, func(t *testing.T) {
			cfg := func(steps int) Config {
				c := shortConfig(steps)
				c.Backend = be
				return c
			}
			straight, split := t.TempDir(), t.TempDir()
			for _, r := range []struct {
				dir   string
				steps int
			}{{straight, 6}, {split, 3}, {split, 6}} {
				if err := Run(context.Background(), cfg(r.steps), r.dir, io.Discard); err != nil {
					t.Fatal(err)
				}
			}
			a, err := LoadCheckpoint(straight)
			if err != nil {
				t.Fatal(err)
			}
			b, err := LoadCheckpoint(split)
			if err != nil {
				t.Fatal(err)
			}
			if a.Step != 6 || b.Step != 6 {
				t.Fatalf("steps %d and %d, want 6", a.Step, b.Step)
			}
			if len(a.Tensors) != len(b.Tensors) {
				t.Fatalf("%d tensors against %d", len(a.Tensors), len(b.Tensors))
			}
			for name, va := range a.Tensors {
				vb := b.Tensors[name]
				for i := range va {
					if math.Float32bits(va[i]) != math.Float32bits(vb[i]) {
						t.Fatalf("%s[%d]: %v straight, %v resumed", name, i, va[i], vb[i])
					}
				}
			}
			for _, f := range []string{configFile, logFile, checkpointFile} {
				if _, err := os.Stat(filepath.Join(split, f)); err != nil {
					t.Errorf("run folder lacks %s: %v", f, err)
				}
			}
		})
	}
}

// TestRunRefusesOtherConfig keeps a run folder from being reused for another run.
func TestRunRefusesOtherConfig(t *testing.T) {
	dir := t.TempDir()
	if err := Run(context.Background(), shortConfig(1), dir, io.Discard); err != nil {
		t.Fatal(err)
	}
	other := shortConfig(2)
	other.Beta = 4
	if err := Run(context.Background(), other, dir, io.Discard); err == nil {
		t.Fatal("a run with another beta resumed in the same folder")
	}
}
