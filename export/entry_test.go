package export

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/latentzoo/latentzoo/models"
	"github.com/latentzoo/latentzoo/train"
	"github.com/latentzoo/latentzoo/zoo"
)

// parityCase is one run that TestEntryParity exports.
type parityCase struct {
	bn  bool                 // batch norm in the backbone
	set func(c train.Config) // changes to the family's defaults beyond the common ones, if any
}

// parityCases are the runs TestEntryParity exports, by family: every registered family
// (TestParityCasesCoverEveryFamily), with and without batch norm where it changes the
// graphs, and AVAE with its generator's extra noise.
var parityCases = map[string][]parityCase{
	"vae":        {{bn: false}, {bn: true}},
	"wae":        {{bn: false}},
	"classifier": {{bn: false}, {bn: true}},
	"moca":       {{bn: true, set: func(c train.Config) { c.Options.(*train.MoCAOptions).QueueSize = 64 }}},
	"introvae":   {{bn: false}},
	"sintrovae":  {{bn: true}},
	"asintrovae": {{bn: true}},
	"avae": {{bn: false}, {bn: true},
		{bn: true, set: func(c train.Config) { c.Options.(*train.AVAEOptions).Xi = 3 }}},
	"dcvae":  {{bn: false, set: dcvaeQueue}, {bn: true, set: dcvaeQueue}},
	"vaegan": {{bn: true}},
}

// dcvaeQueue gives DC-VAE a queue of 64 embeddings, which batches of 16 fill in 4 steps.
func dcvaeQueue(c train.Config) { c.Options.(*train.DCVAEOptions).QueueSize = 64 }

// TestParityCasesCoverEveryFamily requires parityCases to hold exactly the registered
// families, each with a case at least, so that every family's export is checked.
func TestParityCasesCoverEveryFamily(t *testing.T) {
	if got, want := slices.Sorted(maps.Keys(parityCases)), train.Families(); !slices.Equal(got, want) {
		t.Errorf("parityCases holds %v, the registry %v", got, want)
	}
	for fam, cases := range parityCases {
		if len(cases) == 0 {
			t.Errorf("family %s has no parity case", fam)
		}
	}
}

// TestEntryParity trains a few steps (so that weights, and batch norm's running
// statistics, move off their initial values), exports the run, and requires the entry to
// hold graphs that ONNX Runtime runs within Tolerance of the training graph, on every
// backend compiled in.
func TestEntryParity(t *testing.T) {
	for _, family := range train.Families() {
		for i, pc := range parityCases[family] {
			t.Run(fmt.Sprintf("%s/batchnorm=%v/%d", family, pc.bn, i), func(t *testing.T) { testEntryParity(t, family, pc) })
		}
	}
}

func testEntryParity(t *testing.T, family string, pc parityCase) {
	bn := pc.bn
	cfg := train.DefaultConfig(family, "fashion-mnist")
	cfg.Steps, cfg.BatchSize, cfg.LogEvery, cfg.CheckpointEvery = 4, 16, 2, 100
	cfg.Backbone.BatchNorm = bn
	cfg.Backbone.Latent = 8
	if pc.set != nil {
		pc.set(cfg)
	}
	fam, err := models.Lookup(family)
	if err != nil {
		t.Fatal(err)
	}
	run := t.TempDir()
	if err := train.Run(context.Background(), cfg, run, io.Discard); err != nil {
		t.Fatal(err)
	}
	if bn {
		// Batch norm's running statistics must have moved off their initial values.
		m, err := train.LoadModel(run)
		if err != nil {
			t.Fatal(err)
		}
		stat := m.Nets[0].Name + "/bn1/mean" // the encoder's, or the classifier's
		mean, ok := m.Params[stat]
		if !ok {
			t.Fatalf("batch-norm run has no %s", stat)
		}
		moved := false
		for _, v := range mean {
			moved = moved || v != 0
		}
		if !moved {
			t.Fatalf("%s is still zero after training", stat)
		}
	}
	for _, be := range train.Backends() {
		backend, err := train.NewBackend(be)
		if err != nil {
			t.Fatal(err)
		}
		name, _ := zoo.ParseName(family + "/fashion-mnist:test")
		var report bytes.Buffer
		m, files, err := Entry(run, name, EntryOptions{Backend: backend, Report: &report})
		if err != nil {
			t.Fatalf("batchnorm %v, backend %s: %v", bn, be, err)
		}
		t.Logf("batchnorm %v, backend %s:\n%s", bn, be, report.String())
		for _, g := range fam.Exported {
			if !strings.Contains(report.String(), g+": max abs error") {
				t.Errorf("report lacks %s's parity line", g)
			}
			if m.Parity[g] > Tolerance {
				t.Errorf("%s parity %g", g, m.Parity[g])
			}
		}
		dir := t.TempDir()
		if err := zoo.WriteEntry(dir, m, files); err != nil {
			t.Fatal(err)
		}
		e, err := zoo.OpenDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"README.md", "train-config.json", "train-log.jsonl"}
		for _, g := range fam.Exported {
			want = append(want, g+".onnx")
		}
		for _, f := range want {
			if _, err := e.ReadFile(f); err != nil {
				t.Errorf("entry file %s: %v", f, err)
			}
		}
		if m.Run == nil || m.Run.Steps != 4 {
			t.Errorf("run summary %+v, want 4 steps", m.Run)
		}
		backend.Finalize()
	}
}

// TestEntryRefusesWrongFamily keeps a run from being published under another family.
func TestEntryRefusesWrongFamily(t *testing.T) {
	cfg := train.DefaultConfig("vae", "fashion-mnist")
	cfg.Steps, cfg.BatchSize = 1, 8
	run := t.TempDir()
	if err := train.Run(context.Background(), cfg, run, io.Discard); err != nil {
		t.Fatal(err)
	}
	name, _ := zoo.ParseName("dcvae/fashion-mnist:v1")
	if _, _, err := Entry(run, name, EntryOptions{}); err == nil || !strings.Contains(err.Error(), "family") {
		t.Fatalf("err = %v, want a family mismatch", err)
	}
}

// TestSummarize reads loss logs: the run's steps, epochs and time are the whole log's, the
// metrics those of the last line at or before the exported step, and FID lines are skipped.
func TestSummarize(t *testing.T) {
	const log = `{"step":50,"epoch":0.5,"metrics":{"loss":3},"img_per_s":100,"backend":"onnx:cpu"}
{"step":100,"epoch":1,"metrics":{"loss":2},"img_per_s":50,"backend":"onnx:cpu"}
{"step":100,"fid_samples":80.5}
{"step":150,"epoch":1.5,"metrics":{"loss":1},"img_per_s":100,"backend":"onnx:cpu"}
`
	tests := []struct {
		name      string
		step      int64
		wantLoss  float64
		wantFinal int64
	}{
		{"last checkpoint", 150, 1, 150},
		{"between lines", 120, 2, 100},
		{"on a line", 100, 2, 100},
		{"before the first line", 10, 3, 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := summarize([]byte(log), 2, tt.step)
			if err != nil {
				t.Fatal(err)
			}
			if s.Steps != 150 || s.Epochs != 1.5 || s.Backend != "onnx:cpu" {
				t.Errorf("steps %d, epochs %g, backend %q; want the whole run's 150, 1.5, onnx:cpu", s.Steps, s.Epochs, s.Backend)
			}
			if want := 50*2/100.0 + 50*2/50.0 + 50*2/100.0; s.Seconds != want {
				t.Errorf("seconds %g, want %g", s.Seconds, want)
			}
			if s.Final["loss"] != tt.wantLoss || s.FinalStep != tt.wantFinal {
				t.Errorf("final loss %g at step %d, want %g at %d", s.Final["loss"], s.FinalStep, tt.wantLoss, tt.wantFinal)
			}
		})
	}
	if _, err := summarize(nil, 2, 0); err == nil {
		t.Error("an empty log summarized without error")
	}
}
