package train

import (
	"context"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latentzoo/latentzoo/dataset"
	"github.com/latentzoo/latentzoo/models"
)

func shortConfig(steps int) Config {
	return shortFamilyConfig("vae", steps)
}

// shortSettings are each family's changes to its defaults for a few steps at batch 16:
// a small queue where the family keeps one. Every registered family has an entry
// (TestEveryFamilyIsTested), nil where it needs none.
var shortSettings = map[string]func(c Config){
	"vae":        nil,
	"wae":        nil,
	"moca":       func(c Config) { optionsOf[*MoCAOptions](c).QueueSize = 64 },
	"introvae":   nil,
	"sintrovae":  nil,
	"asintrovae": nil,
	"avae":       nil,
	"dcvae":      func(c Config) { optionsOf[*DCVAEOptions](c).QueueSize = 64 },
	"vaegan":     nil,
	"classifier": nil,
}

// shortFamilyConfig is a few steps of family at batch 16, with a small queue.
func shortFamilyConfig(family string, steps int) Config {
	c := DefaultConfig(family, "fashion-mnist")
	if set := shortSettings[family]; set != nil {
		set(c)
	}
	c.Steps = steps
	c.BatchSize = 16
	c.CheckpointEvery = 3
	c.LogEvery = 2
	return c
}

// TestResumeIsExact trains 6 steps in one go and 6 steps interrupted after 3, and
// requires bit-identical state (parameters, moments, running statistics and each
// method's own state), for every family on every backend compiled in.
func TestResumeIsExact(t *testing.T) {
	for _, fam := range Families() {
		for _, be := range Backends() {
			t.Run(fam+"/"+be, func(t *testing.T) { testResumeIsExact(t, fam, be) })
		}
	}
}

func testResumeIsExact(t *testing.T, family, be string) {
	cfg := func(steps int) Config {
		c := shortFamilyConfig(family, steps)
		c.Backend = be
		return c
	}
	straight, split := t.TempDir(), t.TempDir()
	if err := Run(context.Background(), cfg(6), straight, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), cfg(6), split, io.Discard, nil, 3); err != nil {
		t.Fatal(err)
	}
	if ck, err := LoadCheckpoint(split); err != nil || ck.Step != 3 {
		t.Fatalf("interrupted run: checkpoint %v, %v; want step 3", ck, err)
	}
	if err := Run(context.Background(), cfg(6), split, io.Discard); err != nil {
		t.Fatal(err)
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
}

// TestRunRefusesOtherConfig keeps a run folder from being reused for another run.
func TestRunRefusesOtherConfig(t *testing.T) {
	dir := t.TempDir()
	if err := Run(context.Background(), shortConfig(1), dir, io.Discard); err != nil {
		t.Fatal(err)
	}
	other := shortConfig(2)
	optionsOf[*VAEOptions](other).Beta = 4
	if err := Run(context.Background(), other, dir, io.Discard); err == nil {
		t.Fatal("a run with another beta resumed in the same folder")
	}
}

// shortRun trains cfg from scratch for its cfg.Steps steps in a temporary folder and
// returns the folder, its log lines (the last must say the run finished) and the time the
// run took.
func shortRun(t *testing.T, cfg Config) (dir string, recs []LogRecord, took time.Duration) {
	t.Helper()
	dir = t.TempDir()
	start := time.Now()
	if err := Run(context.Background(), cfg, dir, io.Discard); err != nil {
		t.Fatal(err)
	}
	took = time.Since(start)
	recs = runLog(t, dir)
	if last := recs[len(recs)-1]; !last.Finished || last.Step != int64(cfg.Steps) {
		t.Fatalf("last log line %+v", last)
	}
	return dir, recs, took
}

// freshTrainer is a trainer for cfg on data at step 0, closed when the test ends.
func freshTrainer(tb testing.TB, cfg Config, data *dataset.Set) *trainer {
	tb.Helper()
	tr, err := newTrainer(cfg, data)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(tr.close)
	if err := tr.restore(tr.initialCheckpoint()); err != nil {
		tb.Fatal(err)
	}
	return tr
}

// stepPhase runs phase pi of tr alone as one training step and returns the run's state
// before and after it.
func stepPhase(t *testing.T, tr *trainer, pi int) (before, after *Checkpoint) {
	t.Helper()
	before, err := tr.checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	one := *tr
	one.plans, one.execs = tr.plans[pi:pi+1], tr.execs[pi:pi+1]
	if _, err := one.trainStep(); err != nil {
		t.Fatal(err)
	}
	after, err = one.checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	return before, after
}

// changedWeights lists, by the net that owns them, the checkpoint tensors that differ
// bit for bit between before and after among each trainable parameter, its Adam moments
// and its moving average; running statistics and other state are left out.
func changedWeights(tr *trainer, before, after *Checkpoint) map[string][]string {
	owner := map[string]string{}
	for _, n := range tr.nets {
		for _, p := range n.Params() {
			if p.Trainable() {
				owner[p.Name] = n.Name
			}
		}
	}
	changed := map[string][]string{}
	for name, old := range before.Tensors {
		p := name
		for _, prefix := range []string{adamM, adamV, statePrefix + emaPrefix} {
			p = strings.TrimPrefix(p, prefix)
		}
		net, ok := owner[p]
		if !ok {
			continue
		}
		for i := range old {
			if math.Float32bits(old[i]) != math.Float32bits(after.Tensors[name][i]) {
				changed[net] = append(changed[net], name)
				break
			}
		}
	}
	for _, names := range changed {
		slices.Sort(names)
	}
	return changed
}

// shortRuns are each family's short run, in which a few hundred steps at most must show
// it learning; TestShortRuns runs them. Every registered family has one
// (TestEveryFamilyIsTested).
var shortRuns = map[string]func(t *testing.T){
	"vae":        func(t *testing.T) { testReconstructionFalls(t, "vae") },
	"wae":        func(t *testing.T) { testReconstructionFalls(t, "wae") },
	"classifier": testClassifierLearns,
	"moca":       testMocaSpreadsLatents,
	"introvae":   func(t *testing.T) { testIntroShortRun(t, "introvae") },
	"sintrovae":  func(t *testing.T) { testIntroShortRun(t, "sintrovae") },
	"asintrovae": func(t *testing.T) { testIntroShortRun(t, "asintrovae") },
	"avae":       testAVAEShortRun,
	"dcvae":      func(t *testing.T) { testGANShortRun(t, "dcvae") },
	"vaegan":     func(t *testing.T) { testGANShortRun(t, "vaegan") },
}

// TestShortRuns runs every registered family's short run.
func TestShortRuns(t *testing.T) {
	for _, fam := range Families() {
		t.Run(fam, func(t *testing.T) {
			run, ok := shortRuns[fam]
			if !ok {
				t.Fatalf("family %s has no short run", fam)
			}
			run(t)
		})
	}
}

// testReconstructionFalls trains family 100 steps at batch 32 on the default backend: no
// loss may turn NaN or infinite (the trainer stops on one), and the reconstruction error
// must fall by a fifth from the first log window to the last.
func testReconstructionFalls(t *testing.T, family string) {
	cfg := DefaultConfig(family, "fashion-mnist")
	cfg.Steps, cfg.BatchSize, cfg.LogEvery, cfg.CheckpointEvery = 100, 32, 10, 1000
	_, recs, took := shortRun(t, cfg)
	first, last := recs[0], recs[len(recs)-1]
	t.Logf("%d steps in %s, %.0f img/s; rec %.1f → %.1f, loss %.1f → %.1f",
		cfg.Steps, took.Round(time.Second), last.ImgPerS, first.Metrics["rec"], last.Metrics["rec"], first.Loss, last.Loss)
	if !(last.Metrics["rec"] < 0.8*first.Metrics["rec"]) {
		t.Errorf("reconstruction error went from %.1f to %.1f", first.Metrics["rec"], last.Metrics["rec"])
	}
}

// testClassifierLearns trains the classifier for 100 steps: its accuracy on the training
// batches must rise well above chance (0.1) and its loss fall.
func testClassifierLearns(t *testing.T) {
	cfg := DefaultConfig("classifier", "fashion-mnist")
	cfg.Steps, cfg.BatchSize, cfg.LogEvery, cfg.CheckpointEvery = 100, 32, 10, 1000
	_, recs, took := shortRun(t, cfg)
	first, last := recs[0], recs[len(recs)-1]
	t.Logf("%d steps in %s, %.0f img/s; acc %.2f → %.2f, loss %.2f → %.2f",
		cfg.Steps, took.Round(time.Second), last.ImgPerS, first.Metrics["acc"], last.Metrics["acc"], first.Loss, last.Loss)
	if !(last.Metrics["acc"] > 0.6) || !(last.Loss < 0.6*first.Loss) {
		t.Errorf("accuracy went from %.2f to %.2f, loss from %.2f to %.2f", first.Metrics["acc"], last.Metrics["acc"], first.Loss, last.Loss)
	}
}

// TestEveryFamilyIsTested requires the tables that the cross-family tests read (short-run
// settings, short runs, export's parity cases are checked in package export) to hold
// exactly the registered families, and the registry to match the families models
// describes: a new family cannot escape them.
func TestEveryFamilyIsTested(t *testing.T) {
	want := Families()
	if len(want) == 0 {
		t.Fatal("no family is registered")
	}
	for _, tc := range []struct {
		name string
		keys []string
	}{
		{"shortSettings", slices.Sorted(maps.Keys(shortSettings))},
		{"shortRuns", slices.Sorted(maps.Keys(shortRuns))},
		{"models.Names", models.Names()},
	} {
		if !slices.Equal(tc.keys, want) {
			t.Errorf("%s holds %v, the registry %v", tc.name, tc.keys, want)
		}
	}
}
