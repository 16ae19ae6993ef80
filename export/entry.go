package export

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/gomlx/compute"

	"github.com/latentzoo/latentzoo/train"
	"github.com/latentzoo/latentzoo/zoo"
)

// Files an exported entry carries beside its graphs and model card: the run's
// configuration and its training log, as train wrote them.
const (
	ConfigFile = "train-config.json"
	LogFile    = "train-log.jsonl"
)

// EntryOptions configures Entry.
type EntryOptions struct {
	// Backend runs the training graph for the parity check.
	Backend compute.Backend
	// Checkpoint is the run's checkpoint to export: train.LastCheckpoint (the default) or
	// train.BestCheckpoint.
	Checkpoint string
	// Samples is the number of random inputs of the parity check (default 8).
	Samples int
	// License is the entry's licence text.
	License string
	// CodeVersion names the code that exported the entry.
	CodeVersion string
	// Report receives one line per graph with its parity error (may be nil).
	Report io.Writer
}

// Entry builds the zoo entry of the trained run in runDir: every net the family exports,
// written as ONNX and checked against the training graph (max abs error ≤ Tolerance), the
// run's config and loss log, the manifest, and the model card. It writes nothing: pass the
// result to zoo.WriteEntry or Store.Write.
func Entry(runDir string, name zoo.Name, opts EntryOptions) (*zoo.Manifest, map[string][]byte, error) {
	if opts.Checkpoint == "" {
		opts.Checkpoint = train.LastCheckpoint
	}
	m, err := train.LoadModelAt(runDir, opts.Checkpoint)
	if err != nil {
		return nil, nil, err
	}
	cfg := m.Config
	if name.Family != cfg.Family {
		return nil, nil, fmt.Errorf("entry name %s: the run trained family %q", name, cfg.Family)
	}
	if opts.Samples <= 0 {
		opts.Samples = 8
	}
	if opts.Report == nil {
		opts.Report = io.Discard
	}
	files := map[string][]byte{}
	man := &zoo.Manifest{
		SchemaVersion: zoo.SchemaVersion,
		Name:          name.String(),
		Family:        cfg.Family,
		Dataset:       cfg.Dataset,
		Resolution:    cfg.Backbone.Resolution,
		Channels:      cfg.Backbone.Channels,
		LatentSize:    cfg.Backbone.Latent,
		LatentKind:    string(m.Family.Latent),
		Graphs:        map[string]string{},
		Reconstruct:   m.Family.Reconstruct,
		Sample:        m.Family.Sample,
		IRVersion:     IRVersion,
		Opset:         Opset,
		CodeVersion:   opts.CodeVersion,
		License:       opts.License,
		Parity:        map[string]float64{},
	}
	if m.Family.Classifier {
		man.Kind, man.LatentSize, man.LatentKind = zoo.KindClassifier, 0, ""
		o, ok := cfg.Options.(*train.ClassifierOptions)
		if !ok || len(o.ClassNames) == 0 {
			return nil, nil, fmt.Errorf("run %s: a classifier run without class names", runDir)
		}
		man.Classes = o.ClassNames
	}
	for _, net := range m.Nets {
		data, err := Marshal(net, m.Params)
		if err != nil {
			return nil, nil, fmt.Errorf("write %s: %w", net.Name, err)
		}
		worst, err := Parity(m, net.Name, data, opts.Backend, opts.Samples, uint64(cfg.Seed))
		if err != nil {
			return nil, nil, fmt.Errorf("parity of %s: %w", net.Name, err)
		}
		fmt.Fprintf(opts.Report, "%s: max abs error against the training graph %.3g (tolerance %g)\n", net.Name, worst, Tolerance)
		if worst > Tolerance {
			return nil, nil, fmt.Errorf("parity of %s: max abs error %.3g exceeds %g", net.Name, worst, Tolerance)
		}
		file := net.Name + ".onnx"
		files[file] = data
		man.Graphs[net.Name] = file
		man.Parity[net.Name] = worst
	}
	for src, dst := range map[string]string{"config.json": ConfigFile, "log.jsonl": LogFile} {
		data, err := os.ReadFile(filepath.Join(runDir, src))
		if err != nil {
			return nil, nil, fmt.Errorf("run %s: %w", runDir, err)
		}
		files[dst] = data
	}
	man.Training = json.RawMessage(bytes.TrimSpace(files[ConfigFile]))
	if man.Run, err = summarize(files[LogFile], cfg.BatchSize, m.Step); err != nil {
		return nil, nil, fmt.Errorf("run %s: %w", runDir, err)
	}
	if opts.Checkpoint == train.BestCheckpoint {
		man.Run.Checkpoint, man.Run.CheckpointStep = train.BestCheckpoint, m.Step
	}
	files["README.md"] = zoo.ModelCard(man)
	return man, files, nil
}

// summarize reads a loss log: the steps, time and throughput of the whole run (each line's
// rate covers the steps since the line before), and the metrics of its last line at or
// before step, the exported checkpoint's (the first line's when step precedes them all),
// so that a card shows the losses of the weights it ships even when the run trained on
// past them.
func summarize(log []byte, batchSize int, step int64) (*zoo.RunSummary, error) {
	var s zoo.RunSummary
	var prev int64
	sc := bufio.NewScanner(bytes.NewReader(log))
	for sc.Scan() {
		var rec train.LogRecord
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return nil, fmt.Errorf("loss log: %w", err)
		}
		if rec.Metrics == nil {
			continue // a line of a sample scoring (train.FIDRecord), not of the loss
		}
		if rec.ImgPerS > 0 && rec.Step > prev {
			s.Seconds += float64((rec.Step-prev)*int64(batchSize)) / rec.ImgPerS
		}
		prev = rec.Step
		s.Steps, s.Epochs, s.Backend = rec.Step, rec.Epoch, rec.Backend
		if rec.Step <= step || s.Final == nil {
			s.Final, s.FinalStep = rec.Metrics, rec.Step
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("loss log: %w", err)
	}
	if s.Steps == 0 {
		return nil, fmt.Errorf("loss log is empty")
	}
	if s.Seconds > 0 {
		s.ImgPerSec = float64(s.Steps*int64(batchSize)) / s.Seconds
	}
	return &s, nil
}
