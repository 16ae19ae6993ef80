package train

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck // graph-building code reads better unqualified.
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/latentzoo/latentzoo/dataset"
	"github.com/latentzoo/latentzoo/models"
)

const logFile = "log.jsonl"

// LogRecord is one line of a run's loss log (log.jsonl): metrics averaged over the steps
// since the previous line.
type LogRecord struct {
	Step     int64              `json:"step"`
	Epoch    float64            `json:"epoch"`
	Loss     float64            `json:"loss"` // the sum of the phases' losses when there are several
	Metrics  map[string]float64 `json:"metrics"`
	ImgPerS  float64            `json:"img_per_s"`
	Elapsed  float64            `json:"elapsed_s"`
	Time     time.Time          `json:"time"`
	Backend  string             `json:"backend"`
	Finished bool               `json:"finished,omitempty"`
}

// Run trains cfg in runDir. If runDir already holds a run, its config must match (but for
// the length of the run) and training resumes from its checkpoint. Progress goes to
// progressOut; cancelling ctx saves a checkpoint and returns ctx's error.
//
// Schedules that depend on the run's length (MoCA's momentum) follow the length asked
// for: resuming an interrupted run continues it exactly, while asking for more epochs
// than before stretches what remains of the schedule.
func Run(ctx context.Context, cfg Config, runDir string, progressOut io.Writer) error {
	return run(ctx, cfg, runDir, progressOut, nil, 0)
}

// RunWith is Run with a Judge that scores the model's samples every cfg.FIDEvery steps
// and at the end; the run keeps its best-scored checkpoint in runDir/best.
func RunWith(ctx context.Context, cfg Config, runDir string, progressOut io.Writer, judge Judge) error {
	return run(ctx, cfg, runDir, progressOut, judge, 0)
}

// run is RunWith, stopping as if interrupted (checkpoint saved) after step stopAt when it
// is positive.
func run(ctx context.Context, cfg Config, runDir string, progressOut io.Writer, judge Judge, stopAt int64) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	data, err := dataset.Load(cfg.Dataset, dataset.Train, cfg.Backbone.Resolution, cfg.Backbone.Channels)
	if err != nil {
		return fmt.Errorf("load training data: %w", err)
	}
	if fam := families[cfg.Family]; fam.prepare != nil {
		if err := fam.prepare(&cfg, data); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return fmt.Errorf("create run folder: %w", err)
	}
	if prev, err := LoadConfig(runDir); err == nil {
		if err := sameRun(prev, cfg); err != nil {
			return fmt.Errorf("run folder %s holds another run: %w", runDir, err)
		}
	} else if !isNotExist(err) {
		return err
	}
	if err := writeConfig(runDir, cfg); err != nil {
		return err
	}
	t, err := newTrainer(cfg, data)
	if err != nil {
		return err
	}
	defer t.close()
	ck, err := LoadCheckpoint(runDir)
	switch {
	case err == nil:
		if err := t.restore(ck); err != nil {
			return err
		}
		slog.Info("resuming", "run", runDir, "step", t.step)
	case isNotExist(err):
		if err := t.restore(t.initialCheckpoint()); err != nil {
			return err
		}
	default:
		return err
	}
	if judge != nil && cfg.FIDEvery > 0 {
		t.judge = judge
	}
	return t.loop(ctx, runDir, progressOut, stopAt)
}

// sameRun reports whether two configs describe the same run, allowing a longer run.
func sameRun(a, b Config) error {
	a.Epochs, b.Epochs, a.Steps, b.Steps = 0, 0, 0, 0
	a.CheckpointEvery, b.CheckpointEvery, a.LogEvery, b.LogEvery = 0, 0, 0, 0
	a.FIDEvery, b.FIDEvery, a.FIDSamples, b.FIDSamples = 0, 0, 0, 0
	a.Backend, b.Backend, a.CodeVersion, b.CodeVersion = "", "", "", ""
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		return fmt.Errorf("config differs: have %s, asked for %s", ja, jb)
	}
	return nil
}

// trainer holds a run's compiled steps and its state on the backend.
type trainer struct {
	cfg           Config
	backend       compute.Backend
	backendName   string
	data          *dataset.Set
	fam           family
	nets          []models.Net
	plans         []phasePlan
	execs         []*Exec
	noise         map[string]int
	stateVars     []stateVar
	scalars       []string // names of the schedule's scalars
	state         map[string]*tensors.Tensor
	step          int64
	stepsPerEpoch int64
	perm          []int
	permEpoch     int
	batch         []float32
	labels        []float32 // the batch's classes one-hot, for families that read them
	judge         Judge     // scores samples every cfg.FIDEvery steps, when set
	judged        *Model    // the model the last scoring compiled
}

func newTrainer(cfg Config, data *dataset.Set) (*trainer, error) {
	fam, err := lookupFamily(cfg.Family)
	if err != nil {
		return nil, err
	}
	if fam.labels {
		if len(data.Classes) != cfg.Backbone.Classes {
			return nil, fmt.Errorf("data %s has %d classes, the net %d", data.Name, len(data.Classes), cfg.Backbone.Classes)
		}
		for i, l := range data.Labels {
			if l < 0 || l >= cfg.Backbone.Classes {
				return nil, fmt.Errorf("data %s: image %d has no class (label %d), and the family trains on classes", data.Name, i, l)
			}
		}
	}
	if data.C != cfg.Backbone.Channels || data.H != cfg.Backbone.Resolution {
		return nil, fmt.Errorf("data %s is %d×%d×%d, backbone wants %d channels at %d", data.Name, data.C, data.H, data.W, cfg.Backbone.Channels, cfg.Backbone.Resolution)
	}
	spe := int64(data.N / cfg.BatchSize)
	if spe == 0 {
		return nil, fmt.Errorf("data set has %d images, fewer than one batch of %d", data.N, cfg.BatchSize)
	}
	backend, err := NewBackend(cfg.Backend)
	if err != nil {
		return nil, err
	}
	t := &trainer{cfg: cfg, backend: backend, backendName: cfg.Backend, data: data, fam: fam,
		nets: fam.nets(cfg), noise: fam.noise(cfg), stepsPerEpoch: spe, permEpoch: -1,
		batch: make([]float32, cfg.BatchSize*data.ImageSize())}
	if t.backendName == "" {
		t.backendName = DefaultBackend()
	}
	if fam.labels {
		t.labels = make([]float32, cfg.BatchSize*cfg.Backbone.Classes)
	}
	if fam.state != nil {
		t.stateVars = fam.state(cfg)
	}
	if fam.schedule != nil {
		for n := range fam.schedule(cfg, 0, 1) {
			t.scalars = append(t.scalars, n)
		}
	}
	netByName := map[string]models.Net{}
	for _, n := range t.nets {
		if err := n.Validate(); err != nil {
			return nil, err
		}
		netByName[n.Name] = n
	}
	for _, ph := range fam.phases {
		if ph.enabled != nil && !ph.enabled(cfg) {
			continue
		}
		plan := newPhasePlan(ph, t.nets, fam.labels, t.noise, t.scalars, t.stateVars)
		exec, err := NewExec(backend, func(in []*Node) []*Node { return plan.build(cfg, netByName, in) })
		if err != nil {
			return nil, fmt.Errorf("phase %s: %w", ph.name, err)
		}
		t.plans = append(t.plans, plan)
		t.execs = append(t.execs, exec.WithName(ph.name))
	}
	return t, nil
}

func (t *trainer) close() {
	for _, e := range t.execs {
		e.Finalize()
	}
	t.backend.Finalize()
}

// totalSteps is the run's length in steps.
func (t *trainer) totalSteps() int64 {
	if t.cfg.Steps > 0 {
		return int64(t.cfg.Steps)
	}
	return int64(t.cfg.Epochs) * t.stepsPerEpoch
}

func (t *trainer) restore(ck *Checkpoint) error {
	t.step = ck.Step
	t.state = map[string]*tensors.Tensor{}
	shapes := map[string][]int{}
	for _, n := range t.nets {
		for _, p := range n.Params() {
			shapes[p.Name] = p.Shape
			if p.Trainable() {
				shapes[adamM+p.Name] = p.Shape
				shapes[adamV+p.Name] = p.Shape
			}
		}
	}
	for _, v := range t.stateVars {
		shapes[statePrefix+v.name] = v.shape
	}
	for name, shape := range shapes {
		v, ok := ck.Tensors[name]
		if !ok {
			return fmt.Errorf("checkpoint at step %d lacks %q", ck.Step, name)
		}
		if len(v) != prod(shape) {
			return fmt.Errorf("checkpoint tensor %q has %d values, want %v", name, len(v), shape)
		}
		t.state[name] = tensors.FromFlatDataAndDimensions(append([]float32(nil), v...), shape...)
	}
	return nil
}

// Checkpoint names of Adam's moments and of a family's state.
const (
	adamM       = "adam/m/"
	adamV       = "adam/v/"
	statePrefix = "state/"
)

// initialCheckpoint is the run's state at step 0: initial parameters and Adam moments,
// then the family's state initialised from them.
func (t *trainer) initialCheckpoint() *Checkpoint {
	ck := initialCheckpoint(t.cfg.Seed, t.nets)
	for _, v := range t.stateVars {
		ck.Tensors[statePrefix+v.name] = v.init(ck.Tensors, rand.New(rand.NewPCG(uint64(t.cfg.Seed), nameHash(statePrefix+v.name))))
	}
	return ck
}

func (t *trainer) checkpoint() (*Checkpoint, error) {
	ck := &Checkpoint{Step: t.step, Tensors: map[string][]float32{}}
	for name, v := range t.state {
		data, err := tensors.CopyFlatData[float32](v)
		if err != nil {
			return nil, fmt.Errorf("copy %s: %w", name, err)
		}
		ck.Tensors[name] = data
	}
	return ck, nil
}

// nextBatch fills the batch of the current step: epoch e's permutation, in order.
func (t *trainer) nextBatch() *tensors.Tensor {
	epoch := int(t.step / t.stepsPerEpoch)
	if epoch != t.permEpoch {
		t.perm = t.data.Permutation(t.cfg.Seed, epoch)
		t.permEpoch = epoch
	}
	pos := int(t.step%t.stepsPerEpoch) * t.cfg.BatchSize
	idx := t.perm[pos : pos+t.cfg.BatchSize]
	t.data.Batch(idx, t.batch)
	if t.fam.augment != nil && t.fam.augment(t.cfg) {
		t.augment()
	}
	return tensors.FromFlatDataAndDimensions(t.batch, t.cfg.BatchSize, t.data.C, t.data.H, t.data.W)
}

// augmentShift is the largest shift, in pixels, of augment's random translations.
const augmentShift = 2

// augment flips each image of the batch left to right with probability 1/2 and shifts it
// by up to augmentShift pixels each way, filling with black: a function of the seed and
// the step, so that a resumed run draws the same.
func (t *trainer) augment() {
	r := rand.New(rand.NewPCG(uint64(t.cfg.Seed), uint64(t.step)<<8|0xa5))
	c, h, w := t.data.C, t.data.H, t.data.W
	size := c * h * w
	tmp := make([]float32, size)
	for i := range t.cfg.BatchSize {
		img := t.batch[i*size : (i+1)*size]
		flip := r.IntN(2) == 1
		dx, dy := r.IntN(2*augmentShift+1)-augmentShift, r.IntN(2*augmentShift+1)-augmentShift
		clear(tmp)
		for ch := range c {
			for y := range h {
				sy := y - dy
				if sy < 0 || sy >= h {
					continue
				}
				for x := range w {
					sx := x - dx
					if flip {
						sx = w - 1 - sx
					}
					if sx < 0 || sx >= w {
						continue
					}
					tmp[(ch*h+y)*w+x] = img[(ch*h+sy)*w+sx]
				}
			}
		}
		copy(img, tmp)
	}
}

// batchLabels is the current step's batch of classes one-hot, as nextBatch draws its
// images; nil for families that do not read them.
func (t *trainer) batchLabels() *tensors.Tensor {
	if t.labels == nil {
		return nil
	}
	k := t.cfg.Backbone.Classes
	pos := int(t.step%t.stepsPerEpoch) * t.cfg.BatchSize
	clear(t.labels)
	for i, j := range t.perm[pos : pos+t.cfg.BatchSize] {
		t.labels[i*k+t.data.Labels[j]] = 1
	}
	return tensors.FromFlatDataAndDimensions(t.labels, t.cfg.BatchSize, k)
}

// noiseTensors draws the noise of one phase of the current step, in the order of names:
// a function of the seed, the step and the phase alone.
func (t *trainer) noiseTensors(phase int, names []string) map[string]*tensors.Tensor {
	r := rand.New(rand.NewPCG(uint64(t.cfg.Seed), uint64(t.step)<<8|uint64(phase)))
	out := make(map[string]*tensors.Tensor, len(names))
	for _, n := range names {
		v := make([]float32, t.cfg.BatchSize*t.noise[n])
		for j := range v {
			v[j] = float32(r.NormFloat64())
		}
		out[n] = tensors.FromFlatDataAndDimensions(v, t.cfg.BatchSize, t.noise[n])
	}
	return out
}

// trainStep runs every phase of one iteration and returns each phase's loss and metrics,
// prefixed by the phase's name when there are several, and "loss": their sum. Each
// phase's plan packs its inputs and unpacks its outputs.
func (t *trainer) trainStep() (map[string]float64, error) {
	images := t.nextBatch()
	labels := t.batchLabels()
	it := float64(t.step + 1)
	lr := t.cfg.LR * math.Sqrt(1-math.Pow(t.cfg.Beta2, it)) / (1 - math.Pow(t.cfg.Beta1, it))
	if t.cfg.LRSchedule == "cosine" {
		lr *= 0.5 * (1 + math.Cos(math.Pi*float64(t.step)/float64(t.totalSteps())))
	}
	var scalars map[string]float64
	if t.fam.schedule != nil {
		scalars = t.fam.schedule(t.cfg, t.step, t.totalSteps())
	}
	// The step's own inputs and its metrics' outputs are freed as soon as they are used:
	// their ONNX Runtime copies are memory the Go collector does not see, and left to its
	// finalizers they piled up by hundreds of megabytes between collections.
	step := []*tensors.Tensor{images, labels}
	defer func() {
		for _, x := range step {
			if x != nil {
				x.FinalizeAll()
			}
		}
	}()
	metrics := map[string]float64{}
	for pi, plan := range t.plans {
		args, own := t.phaseArgs(pi, images, labels, lr, scalars)
		step = append(step, own...)
		outs, err := t.execs[pi].Exec(args...)
		if err != nil {
			return nil, fmt.Errorf("step %d phase %s: %w", t.step, plan.phase.name, err)
		}
		prefix := ""
		if len(t.plans) > 1 {
			prefix = plan.phase.name + "/"
		}
		scalar := func(v *tensors.Tensor) float64 { return float64(tensors.MustCopyFlatData[float32](v)[0]) }
		for i, sl := range plan.outputs {
			switch sl.kind {
			case lossSlot:
				metrics[prefix+"loss"] = scalar(outs[i])
				if prefix != "" {
					// The iteration's loss, for the progress line and the log's loss field.
					metrics["loss"] += metrics[prefix+"loss"]
				}
				step = append(step, outs[i])
			case metricSlot:
				metrics[prefix+sl.name] = scalar(outs[i])
				step = append(step, outs[i])
			default:
				name := sl.key()
				if old := t.state[name]; old != nil && old != outs[i] {
					old.FinalizeAll()
				}
				t.state[name] = outs[i]
			}
		}
	}
	t.step++
	return metrics, nil
}

// phaseArgs packs the inputs of phase pi in its plan's order: the batch, its labels, the
// phase's noise drawn now, the learning rate, the schedule's scalars and the state. It
// also returns the tensors it made for this phase alone (noise and scalars), for the
// caller to free once the phase has run.
func (t *trainer) phaseArgs(pi int, images, labels *tensors.Tensor, lr float64, scalars map[string]float64) (args []any, own []*tensors.Tensor) {
	plan := t.plans[pi]
	noise := t.noiseTensors(pi, plan.noise)
	args = make([]any, len(plan.inputs))
	for i, sl := range plan.inputs {
		var made *tensors.Tensor
		switch sl.kind {
		case imagesSlot:
			args[i] = images
		case labelsSlot:
			args[i] = labels
		case noiseSlot:
			made = noise[sl.name]
		case lrSlot:
			made = tensors.FromScalar(float32(lr))
		case scalarSlot:
			made = tensors.FromScalar(float32(scalars[sl.name]))
		default:
			args[i] = t.state[sl.key()]
		}
		if made != nil {
			args[i], own = made, append(own, made)
		}
	}
	return args, own
}

func (t *trainer) loop(ctx context.Context, runDir string, progressOut io.Writer, stopAt int64) error {
	total := t.totalSteps()
	logf, err := os.OpenFile(filepath.Join(runDir, logFile), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("open loss log: %w", err)
	}
	defer logf.Close()
	enc := json.NewEncoder(logf)
	prog := newProgress(progressOut, total, t.step, t.cfg.BatchSize)
	sums, count := map[string]float64{}, 0
	windowStart, windowStep := time.Now(), t.step
	runStart := time.Now()
	save := func() error {
		ck, err := t.checkpoint()
		if err != nil {
			return err
		}
		return ck.save(runDir)
	}
	best, err := LoadBest(runDir)
	if err != nil && !isNotExist(err) {
		return err
	}
	haveBest := err == nil
	// judge scores the current state, logs the score and keeps the best checkpoint.
	judge := func() error {
		ck, err := t.checkpoint()
		if err != nil {
			return err
		}
		fid, err := t.score(t.judge, ck)
		if err != nil {
			return fmt.Errorf("step %d: score samples: %w", t.step, err)
		}
		rec := FIDRecord{Step: t.step, Epoch: float64(t.step) / float64(t.stepsPerEpoch), FIDSamples: fid, Samples: t.cfg.fidSamples(),
			Elapsed: time.Since(runStart).Seconds(), Time: time.Now().UTC()}
		if rec.Best = !haveBest || fid < best.FIDSamples; rec.Best {
			best, haveBest = Best{Step: t.step, FIDSamples: fid, Samples: rec.Samples}, true
			if err := saveBest(runDir, ck, best); err != nil {
				return err
			}
		}
		slog.Info("scored samples", "step", t.step, "fid_samples", fid, "best_step", best.Step, "best_fid", best.FIDSamples)
		if err := enc.Encode(rec); err != nil {
			return fmt.Errorf("write loss log: %w", err)
		}
		return nil
	}
	for t.step < total {
		if stopAt > 0 && t.step == stopAt {
			prog.done()
			return save()
		}
		if err := ctx.Err(); err != nil {
			prog.done()
			if serr := save(); serr != nil {
				return serr
			}
			return err
		}
		m, err := t.trainStep()
		if err != nil {
			return err
		}
		for k, v := range m {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("step %d: %s is %v; stopping (last checkpoint kept)", t.step, k, v)
			}
			sums[k] += v
		}
		count++
		prog.update(t.step, m["loss"], t.step == total)
		if t.step%int64(t.cfg.LogEvery) == 0 || t.step == total {
			rec := LogRecord{Step: t.step, Epoch: float64(t.step) / float64(t.stepsPerEpoch), Metrics: map[string]float64{},
				ImgPerS: float64((t.step-windowStep)*int64(t.cfg.BatchSize)) / time.Since(windowStart).Seconds(),
				Elapsed: time.Since(runStart).Seconds(), Time: time.Now().UTC(), Backend: t.backendName, Finished: t.step == total}
			for k, v := range sums {
				rec.Metrics[k] = v / float64(count)
			}
			rec.Loss = rec.Metrics["loss"]
			if err := enc.Encode(rec); err != nil {
				return fmt.Errorf("write loss log: %w", err)
			}
			sums, count = map[string]float64{}, 0
			windowStart, windowStep = time.Now(), t.step
		}
		if t.judge != nil && (t.step%int64(t.cfg.FIDEvery) == 0 || t.step == total) {
			if err := judge(); err != nil {
				return err
			}
		}
		if t.step%int64(t.cfg.CheckpointEvery) == 0 && t.step != total {
			if err := save(); err != nil {
				return err
			}
		}
	}
	prog.done()
	return save()
}
