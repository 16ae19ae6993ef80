package train

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/latentzoo/latentzoo/atomicfile"
	"github.com/latentzoo/latentzoo/models"
)

const checkpointFile = "checkpoint.gob"

// Checkpoint is the whole state of a run after Step steps: every parameter, running
// statistic and optimiser moment, by name. Data order and noise are functions of the
// seed and the step, so resuming from a checkpoint continues the run exactly.
type Checkpoint struct {
	Step    int64
	Tensors map[string][]float32
}

// LoadCheckpoint reads the run folder's checkpoint; it returns os.ErrNotExist (wrapped)
// when the run has none yet.
func LoadCheckpoint(runDir string) (*Checkpoint, error) {
	data, err := os.ReadFile(filepath.Join(runDir, checkpointFile))
	if err != nil {
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	var c Checkpoint
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&c); err != nil {
		return nil, fmt.Errorf("decode checkpoint %s: %w", filepath.Join(runDir, checkpointFile), err)
	}
	return &c, nil
}

func (c *Checkpoint) save(runDir string) error {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(c); err != nil {
		return fmt.Errorf("encode checkpoint: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(runDir, checkpointFile), buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	return nil
}

// Params returns the checkpoint's tensors for the parameters of nets, checking sizes.
func (c *Checkpoint) Params(nets ...models.Net) (map[string][]float32, error) {
	out := map[string][]float32{}
	for _, n := range nets {
		for _, p := range n.Params() {
			v, ok := c.Tensors[p.Name]
			if !ok {
				return nil, fmt.Errorf("checkpoint has no parameter %q", p.Name)
			}
			if len(v) != p.Size() {
				return nil, fmt.Errorf("checkpoint parameter %q has %d values, want %d", p.Name, len(v), p.Size())
			}
			out[p.Name] = v
		}
	}
	return out, nil
}

// initialCheckpoint is the state of a run at step 0: weights from N(0, 2/fan-in) (He),
// biases zero, batch-norm scales and running variances one, spectral norm's power-iteration
// vectors random unit vectors, Adam's moments zero. Each
// parameter's stream depends only on the seed and its name.
func initialCheckpoint(seed int64, nets []models.Net) *Checkpoint {
	out := map[string][]float32{}
	for _, n := range nets {
		for _, p := range n.Params() {
			if p.Trainable() {
				out[adamM+p.Name] = make([]float32, p.Size())
				out[adamV+p.Name] = make([]float32, p.Size())
			}
			v := make([]float32, p.Size())
			switch p.Role {
			case models.Weight:
				r := rand.New(rand.NewPCG(uint64(seed), nameHash(p.Name)))
				std := math.Sqrt(2 / float64(max(p.FanIn, 1)))
				for i := range v {
					v[i] = float32(r.NormFloat64() * std)
				}
			case models.Scale, models.RunningVar:
				for i := range v {
					v[i] = 1
				}
			case models.PowerIteration:
				copy(v, randomUnitRows(rand.New(rand.NewPCG(uint64(seed), nameHash(p.Name))), 1, p.Size()))
			}
			out[p.Name] = v
		}
	}
	return &Checkpoint{Tensors: out}
}

// nameHash is the FNV-1a hash of a tensor's name, which seeds its random stream.
func nameHash(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()
}

func isNotExist(err error) bool { return errors.Is(err, os.ErrNotExist) }
