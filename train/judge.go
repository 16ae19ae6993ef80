package train

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/latentzoo/latentzoo/atomicfile"
	"github.com/latentzoo/latentzoo/latent"
	"github.com/latentzoo/latentzoo/models"
)

// A Judge scores images a model samples from its prior, lower being better: a Fréchet
// distance on a yardstick's features, say. A run given one (RunWith) with Config.FIDEvery
// set scores its samples every FIDEvery steps, logs each score, and keeps the checkpoint
// scored best beside the last, for export to pick.
type Judge interface {
	// Score scores n CHW images laid end to end.
	Score(images []float32, n int) (float64, error)
}

// bestDir is the folder of a run that holds its best-scored checkpoint, and bestFile
// there what the score was.
const (
	bestDir  = "best"
	bestFile = "best.json"
)

// Best is what a run's best-scored checkpoint scored (best/best.json).
type Best struct {
	Step       int64   `json:"step"`
	FIDSamples float64 `json:"fid_samples"`
	Samples    int     `json:"samples"`
}

// LoadBest reads what the run's best checkpoint scored; an os.ErrNotExist (wrapped) when
// it has none.
func LoadBest(runDir string) (Best, error) {
	var b Best
	data, err := os.ReadFile(filepath.Join(runDir, bestDir, bestFile))
	if err != nil {
		return b, fmt.Errorf("read best score: %w", err)
	}
	if err := json.Unmarshal(data, &b); err != nil {
		return b, fmt.Errorf("read best score: %w", err)
	}
	return b, nil
}

// FIDRecord is the log line of one scoring of a run's samples, beside the loss lines in
// log.jsonl; loss lines have a loss and metrics, score lines fid_samples.
type FIDRecord struct {
	Step       int64     `json:"step"`
	Epoch      float64   `json:"epoch"`
	FIDSamples float64   `json:"fid_samples"`
	Samples    int       `json:"samples"`
	Best       bool      `json:"best"` // the best score so far, kept in best/
	Elapsed    float64   `json:"elapsed_s"`
	Time       time.Time `json:"time"`
}

// sampleBatch is how many samples one scoring decodes at a time.
const sampleBatch = 250

// score decodes the run's prior samples in its current state ck with the sampling net and
// scores them with j. The samples are the same at every scoring (the run's seed), so
// scores differ only by the model.
func (t *trainer) score(j Judge, ck *Checkpoint) (float64, error) {
	m, err := modelFrom(t.cfg, ck)
	if err != nil {
		return 0, err
	}
	if t.judged != nil {
		// The nets compiled for the last scoring serve again, with the new weights.
		t.judged.Params, t.judged.Step = m.Params, m.Step
		m = t.judged
	}
	t.judged = m
	net := m.Family.Sample
	n, size := t.cfg.fidSamples(), t.cfg.Backbone.Latent
	zs := latent.Sample(t.cfg.Seed, n, size, m.Family.Latent == models.Sphere)
	images := make([]float32, 0, n*t.data.ImageSize())
	for lo := 0; lo < n; lo += sampleBatch {
		hi := min(lo+sampleBatch, n)
		flat := make([]float32, 0, (hi-lo)*size)
		for _, z := range zs[lo:hi] {
			flat = append(flat, z...)
		}
		out, err := m.Forward(t.backend, net, flat, hi-lo)
		if err != nil {
			return 0, fmt.Errorf("sample: %w", err)
		}
		images = append(images, out["image"]...)
	}
	return j.Score(images, n)
}

// saveBest keeps ck as the run's best checkpoint, with its score.
func saveBest(runDir string, ck *Checkpoint, b Best) error {
	dir := filepath.Join(runDir, bestDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("best checkpoint: %w", err)
	}
	if err := ck.save(dir); err != nil {
		return fmt.Errorf("best checkpoint: %w", err)
	}
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, bestFile), append(data, '\n'), 0o644)
}
