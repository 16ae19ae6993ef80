package train

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// scripted is a Judge that gives the scores of a script in turn and checks what it is
// given.
type scripted struct {
	t      *testing.T
	scores []float64
	calls  int
	size   int
}

func (s *scripted) Score(images []float32, n int) (float64, error) {
	if n != DefaultFIDSamples || len(images) != n*s.size {
		s.t.Errorf("scored %d values as %d images, want %d images of %d", len(images), n, DefaultFIDSamples, s.size)
	}
	for _, v := range images {
		if !(v >= 0 && v <= 1) {
			s.t.Fatalf("a sample value is %v, outside [0, 1]", v)
		}
	}
	v := s.scores[s.calls]
	s.calls++
	return v, nil
}

// TestJudgeKeepsBest trains 8 steps scored every 2 (4 scorings) and requires the
// checkpoint of the lowest score to be kept as the best, every scoring to be logged, and
// export's model of the best checkpoint to be the state at its step.
func TestJudgeKeepsBest(t *testing.T) {
	cfg := shortFamilyConfig("vae", 8)
	cfg.FIDEvery = 2
	dir := t.TempDir()
	j := &scripted{t: t, scores: []float64{50, 30, 40, 35}, size: 32 * 32}
	if err := RunWith(context.Background(), cfg, dir, io.Discard, j); err != nil {
		t.Fatal(err)
	}
	if j.calls != 4 {
		t.Fatalf("%d scorings in 8 steps at every 2, want 4", j.calls)
	}
	best, err := LoadBest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if best.Step != 4 || best.FIDSamples != 30 {
		t.Errorf("best %+v, want step 4 with 30", best)
	}
	f, err := os.Open(filepath.Join(dir, logFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var scored []FIDRecord
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var rec FIDRecord
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		if rec.FIDSamples > 0 {
			scored = append(scored, rec)
		}
	}
	if len(scored) != 4 || !scored[0].Best || !scored[1].Best || scored[2].Best || scored[3].Best {
		t.Errorf("score lines %+v, want 4, the first two marked best", scored)
	}
	m, err := LoadModelAt(dir, BestCheckpoint)
	if err != nil {
		t.Fatal(err)
	}
	last, err := LoadModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Step != 4 || last.Step != 8 {
		t.Errorf("best checkpoint at step %d, last at %d; want 4 and 8", m.Step, last.Step)
	}
	// Resuming longer keeps the best score: a worse scoring does not replace it.
	cfg.Steps = 10
	j2 := &scripted{t: t, scores: []float64{45}, size: 32 * 32}
	if err := RunWith(context.Background(), cfg, dir, io.Discard, j2); err != nil {
		t.Fatal(err)
	}
	if best, err := LoadBest(dir); err != nil || best.Step != 4 {
		t.Errorf("after resuming: best %+v, %v; want step 4 kept", best, err)
	}
	if _, err := LoadModelAt(t.TempDir(), BestCheckpoint); err == nil {
		t.Error("an empty folder gave a best checkpoint")
	}
}
