//go:build onnx

package train

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	onnxbackend "github.com/gomlx/compute-onnx"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/tensors"
	ort "github.com/yalue/onnxruntime_go"

	"google.golang.org/protobuf/proto"

	"github.com/latentzoo/latentzoo/dataset"
	"github.com/latentzoo/latentzoo/export/onnxpb"
	"github.com/latentzoo/latentzoo/infer"
)

// BenchmarkStepOps accounts for a training step's time by ONNX Runtime op type: it writes
// each phase's step graph as compute-onnx hands it to ONNX Runtime, runs it in a session
// of its own with ONNX Runtime's profiler on, and reports the step's time in the
// runtime (ms/step) and each op type's share of the kernel time (op:NAME_%), for every
// family. Run with -v to also see the node counts per op type.
//
//	go test -tags onnx -run '^$' -bench 'StepOps/^vae$' -benchtime 20x -v ./train
func BenchmarkStepOps(b *testing.B) {
	data, err := dataset.Load("fashion-mnist", dataset.Train, 32, 1)
	if err != nil {
		b.Fatal(err)
	}
	for _, fam := range Families() {
		b.Run(fam, func(b *testing.B) { benchStepOps(b, fam, data) })
	}
}

func benchStepOps(b *testing.B, family string, data *dataset.Set) {
	cfg := DefaultConfig(family, "fashion-mnist")
	cfg.Backend = DefaultBackend()
	t := freshTrainer(b, cfg, data)
	ob, ok := t.backend.(*onnxbackend.Backend)
	if !ok {
		b.Skipf("backend %s is not ONNX Runtime", t.backend.Name())
	}
	ob.SetKeepModelProto(true)
	if err := infer.Init(""); err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	if keep := os.Getenv("LATENTZOO_PROFILE_DIR"); keep != "" {
		dir = keep // keep the profiles and graphs for a closer look
	}
	type phaseRun struct {
		session *ort.DynamicAdvancedSession
		inputs  []ort.Value
		outputs []ort.Value
		nodes   map[string]int
	}
	var runs []phaseRun
	images, labels := t.nextBatch(), t.batchLabels()
	var scalars map[string]float64
	if t.fam.schedule != nil {
		scalars = t.fam.schedule(cfg, 0, 1)
	}
	for pi := range t.plans {
		args, _ := t.phaseArgs(pi, images, labels, cfg.LR, scalars)
		model, ins, err := stepModel(t, pi, args)
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("phase%d.onnx", pi)), model, 0o644); err != nil {
			b.Fatal(err)
		}
		nodes, err := opCounts(model)
		if err != nil {
			b.Fatal(err)
		}
		opts, err := ort.NewSessionOptions()
		if err != nil {
			b.Fatal(err)
		}
		if err := opts.EnableProfiling(filepath.Join(dir, fmt.Sprintf("phase%d", pi))); err != nil {
			b.Fatal(err)
		}
		infos, outInfos, err := ort.GetInputOutputInfoWithONNXData(model)
		if err != nil {
			b.Fatal(err)
		}
		var inNames, outNames []string
		for _, in := range infos {
			inNames = append(inNames, in.Name)
		}
		for _, o := range outInfos {
			outNames = append(outNames, o.Name)
		}
		s, err := ort.NewDynamicAdvancedSessionWithONNXData(model, inNames, outNames, opts)
		opts.Destroy()
		if err != nil {
			b.Fatal(err)
		}
		outs := make([]ort.Value, len(outNames))
		for i, o := range outInfos {
			if len(o.Dimensions) == 0 {
				outs[i], err = ort.NewEmptyScalar[float32]()
			} else {
				outs[i], err = ort.NewEmptyTensor[float32](o.Dimensions)
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		runs = append(runs, phaseRun{session: s, inputs: ins, outputs: outs, nodes: nodes})
	}
	run := func() {
		for _, r := range runs {
			if err := r.session.Run(r.inputs, r.outputs); err != nil {
				b.Fatal(err)
			}
		}
	}
	run() // the first run plans memory and is not typical
	b.ResetTimer()
	for b.Loop() {
		run()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/step")
	b.ReportMetric(float64(b.N*cfg.BatchSize)/b.Elapsed().Seconds(), "img/s")
	nodes := map[string]int{}
	for _, r := range runs {
		r.session.Destroy() // writes the profile
		for _, v := range slices.Concat(r.inputs, r.outputs) {
			v.Destroy()
		}
		for op, n := range r.nodes {
			nodes[op] += n
		}
	}
	shares, err := readProfiles(dir)
	if err != nil {
		b.Fatal(err)
	}
	ops := slices.SortedFunc(maps.Keys(shares), func(a, c string) int { return cmp.Compare(shares[c], shares[a]) })
	var table strings.Builder
	for _, op := range ops {
		if shares[op] >= 0.01 {
			b.ReportMetric(100*shares[op], "op:"+op+"_%")
		}
		fmt.Fprintf(&table, "\n  %-22s %5.1f%% %5d nodes", op, 100*shares[op], nodes[op])
	}
	b.Logf("%s: kernel time by op type%s", family, table.String())
}

// stepModel compiles phase pi of t for args and returns the graph's ONNX bytes and the
// args as ONNX Runtime values, in the graph's input order.
func stepModel(t *trainer, pi int, args []any) ([]byte, []ort.Value, error) {
	var shs []shapes.Shape
	var ins []ort.Value
	for _, a := range args {
		tt, ok := a.(*tensors.Tensor)
		if !ok {
			return nil, nil, fmt.Errorf("argument of type %T", a)
		}
		shs = append(shs, tt.Shape())
		dims := make([]int64, tt.Rank())
		for i, d := range tt.Shape().Dimensions {
			dims[i] = int64(d)
		}
		var v ort.Value
		var err error
		if flat := tensors.MustCopyFlatData[float32](tt); tt.Rank() == 0 {
			v, err = ort.NewScalar(flat[0])
		} else {
			v, err = ort.NewTensor(ort.NewShape(dims...), flat)
		}
		if err != nil {
			return nil, nil, err
		}
		ins = append(ins, v)
	}
	g, err := t.execs[pi].Compile(shs...)
	if err != nil {
		return nil, nil, err
	}
	var buf bytes.Buffer
	if err := onnxbackend.SaveModel(t.backend, g.Executable(), &buf, nil, nil); err != nil {
		return nil, nil, err
	}
	return buf.Bytes(), ins, nil
}

// opCounts counts a graph's nodes by op type.
func opCounts(model []byte) (map[string]int, error) {
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(model, &m); err != nil {
		return nil, err
	}
	n := map[string]int{}
	for _, node := range m.GetGraph().GetNode() {
		n[node.GetOpType()]++
	}
	return n, nil
}

// readProfiles sums the kernel time of every profile (phase*.json) in dir by op type and returns each
// type's share.
func readProfiles(dir string) (map[string]float64, error) {
	files, err := filepath.Glob(filepath.Join(dir, "phase*.json"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no profile in %s: %v", dir, err)
	}
	us := map[string]float64{}
	var total float64
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var events []struct {
			Cat  string  `json:"cat"`
			Name string  `json:"name"`
			Dur  float64 `json:"dur"`
			Args struct {
				OpName string `json:"op_name"`
			} `json:"args"`
		}
		if err := json.Unmarshal(b, &events); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for _, e := range events {
			if e.Cat == "Node" && strings.HasSuffix(e.Name, "_kernel_time") {
				us[e.Args.OpName] += e.Dur
				total += e.Dur
			}
		}
	}
	for op := range us {
		us[op] /= total
	}
	return us, nil
}
