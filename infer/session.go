package infer

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// The devices Options.Device names.
const (
	DeviceCPU  = "cpu"
	DeviceCUDA = "cuda"
)

// The execution providers Session.Provider reports.
const (
	ProviderCPU  = "CPUExecutionProvider"
	ProviderCUDA = "CUDAExecutionProvider"
)

// Options configures a Session.
type Options struct {
	// Device is DeviceCPU (the default when empty) or DeviceCUDA. A CUDA session that cannot
	// be created falls back to the CPU, and says so in the log.
	Device string
	// IntraOpThreads is the number of threads one operator may use; 0 lets ONNX Runtime
	// choose.
	IntraOpThreads int
}

// Tensor is a dense float32 tensor in row-major order.
type Tensor struct {
	Shape []int64
	Data  []float32
}

// TensorInfo describes a model input or output: its name and its shape, with -1 for a
// dynamic dimension such as the batch.
type TensorInfo struct {
	Name  string
	Shape []int64
}

// Session is an ONNX model loaded in ONNX Runtime. Its Run is safe for concurrent use.
type Session struct {
	mu       sync.RWMutex // Run holds it for reading, Close for writing
	sess     *ort.DynamicAdvancedSession
	inputs   []TensorInfo
	outputs  []TensorInfo
	provider string
}

// Open loads the ONNX model onnxBytes into a new Session. It initialises ONNX Runtime
// with Init("") when nothing has. Every input and output must be a float32 tensor.
func Open(onnxBytes []byte, opts Options) (*Session, error) {
	device := opts.Device
	if device == "" {
		device = DeviceCPU
	}
	if device != DeviceCPU && device != DeviceCUDA {
		return nil, fmt.Errorf("infer: unknown device %q (want %q or %q)", opts.Device, DeviceCPU, DeviceCUDA)
	}
	if opts.IntraOpThreads < 0 {
		return nil, fmt.Errorf("infer: IntraOpThreads must not be negative, got %d", opts.IntraOpThreads)
	}
	if err := Init(""); err != nil {
		return nil, err
	}
	ins, outs, err := ort.GetInputOutputInfoWithONNXData(onnxBytes)
	if err != nil {
		return nil, fmt.Errorf("infer: read model: %w", err)
	}
	s := &Session{}
	if s.inputs, err = tensorInfos(ins); err != nil {
		return nil, fmt.Errorf("infer: model input: %w", err)
	}
	if s.outputs, err = tensorInfos(outs); err != nil {
		return nil, fmt.Errorf("infer: model output: %w", err)
	}
	if device == DeviceCUDA {
		s.sess, s.provider, err = newSession(onnxBytes, s.inputs, s.outputs, opts.IntraOpThreads, true)
		if err != nil {
			slog.Warn("CUDA unavailable, falling back to CPU", "err", err)
		}
	}
	if s.sess == nil {
		s.sess, s.provider, err = newSession(onnxBytes, s.inputs, s.outputs, opts.IntraOpThreads, false)
		if err != nil {
			return nil, err
		}
	}
	slog.Info("ONNX Runtime session open", "provider", s.provider, "inputs", names(s.inputs), "outputs", names(s.outputs))
	return s, nil
}

// newSession creates the ONNX Runtime session, on the CUDA execution provider when cuda
// is set, and returns it with the name of its provider.
func newSession(model []byte, ins, outs []TensorInfo, threads int, cuda bool) (*ort.DynamicAdvancedSession, string, error) {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, "", fmt.Errorf("infer: session options: %w", err)
	}
	defer so.Destroy()
	if threads > 0 {
		if err := so.SetIntraOpNumThreads(threads); err != nil {
			return nil, "", fmt.Errorf("infer: set intra-op threads: %w", err)
		}
	}
	provider := ProviderCPU
	if cuda {
		if provider, err = appendCUDA(so); err != nil {
			return nil, "", err
		}
	}
	sess, err := ort.NewDynamicAdvancedSessionWithONNXData(model, names(ins), names(outs), so)
	if err != nil {
		return nil, "", fmt.Errorf("infer: create %s session: %w", provider, err)
	}
	return sess, provider, nil
}

// tensorInfos converts ONNX Runtime's descriptions, accepting float32 tensors only.
func tensorInfos(infos []ort.InputOutputInfo) ([]TensorInfo, error) {
	out := make([]TensorInfo, len(infos))
	for i, info := range infos {
		if info.OrtValueType != ort.ONNXTypeTensor || info.DataType != ort.TensorElementDataTypeFloat {
			return nil, fmt.Errorf("%q is %s, want a float32 tensor", info.Name, info.String())
		}
		out[i] = TensorInfo{Name: info.Name, Shape: slices.Clone([]int64(info.Dimensions))}
	}
	return out, nil
}

func names(infos []TensorInfo) []string {
	ns := make([]string, len(infos))
	for i, info := range infos {
		ns[i] = info.Name
	}
	return ns
}

func cloneInfos(infos []TensorInfo) []TensorInfo {
	out := make([]TensorInfo, len(infos))
	for i, info := range infos {
		out[i] = TensorInfo{Name: info.Name, Shape: slices.Clone(info.Shape)}
	}
	return out
}

// Inputs describes the model's inputs in the model's order.
func (s *Session) Inputs() []TensorInfo { return cloneInfos(s.inputs) }

// Outputs describes the model's outputs in the model's order.
func (s *Session) Outputs() []TensorInfo { return cloneInfos(s.outputs) }

// Provider names the execution provider the session runs on: ProviderCPU or, when the
// CUDA plugin loaded, the name it reports (ProviderCUDA).
func (s *Session) Provider() string { return s.provider }

// Run runs the model on inputs, keyed by input name, and returns every output keyed by
// name. The batch may differ from call to call. Inputs whose names, ranks, fixed
// dimensions or data lengths do not fit the model are refused before the model runs.
func (s *Session) Run(inputs map[string]Tensor) (map[string]Tensor, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.sess == nil {
		return nil, errors.New("infer: session is closed")
	}
	if err := s.check(inputs); err != nil {
		return nil, err
	}
	ins := make([]ort.Value, len(s.inputs))
	defer func() {
		for _, v := range ins {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	for i, info := range s.inputs {
		in := inputs[info.Name]
		t, err := ort.NewTensor(ort.Shape(slices.Clone(in.Shape)), in.Data)
		if err != nil {
			return nil, fmt.Errorf("infer: input %q: %w", info.Name, err)
		}
		ins[i] = t
	}
	outs := make([]ort.Value, len(s.outputs)) // nil: ONNX Runtime allocates them
	defer func() {
		for _, v := range outs {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	if err := s.sess.Run(ins, outs); err != nil {
		return nil, fmt.Errorf("infer: run: %w", err)
	}
	res := make(map[string]Tensor, len(outs))
	for i, v := range outs {
		t, ok := v.(*ort.Tensor[float32])
		if !ok {
			return nil, fmt.Errorf("infer: output %q is %T, want a float32 tensor", s.outputs[i].Name, v)
		}
		// GetData is a Go-owned copy of ONNX Runtime's buffer, and outlives Destroy.
		res[s.outputs[i].Name] = Tensor{Shape: slices.Clone([]int64(t.GetShape())), Data: t.GetData()}
	}
	return res, nil
}

// check validates inputs against the model's inputs.
func (s *Session) check(inputs map[string]Tensor) error {
	for name := range inputs {
		if !slices.ContainsFunc(s.inputs, func(info TensorInfo) bool { return info.Name == name }) {
			return fmt.Errorf("infer: unknown input %q (model inputs: %s)", name, strings.Join(names(s.inputs), ", "))
		}
	}
	for _, info := range s.inputs {
		in, ok := inputs[info.Name]
		if !ok {
			return fmt.Errorf("infer: missing input %q", info.Name)
		}
		if len(in.Shape) != len(info.Shape) {
			return fmt.Errorf("infer: input %q has shape %v, want rank %d like %v", info.Name, in.Shape, len(info.Shape), info.Shape)
		}
		size := int64(1)
		for d, n := range in.Shape {
			if n <= 0 {
				return fmt.Errorf("infer: input %q has shape %v: dimensions must be positive", info.Name, in.Shape)
			}
			if want := info.Shape[d]; want >= 0 && n != want {
				return fmt.Errorf("infer: input %q has shape %v, want %v (-1 is any size)", info.Name, in.Shape, info.Shape)
			}
			if size > math.MaxInt64/n {
				return fmt.Errorf("infer: input %q has shape %v: too many elements", info.Name, in.Shape)
			}
			size *= n
		}
		if int64(len(in.Data)) != size {
			return fmt.Errorf("infer: input %q has shape %v (%d elements) but %d values", info.Name, in.Shape, size, len(in.Data))
		}
	}
	return nil
}

// Close releases the session. It waits for running calls; later Runs fail.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sess == nil {
		return nil
	}
	err := s.sess.Destroy()
	s.sess = nil
	if err != nil {
		return fmt.Errorf("infer: close session: %w", err)
	}
	return nil
}
