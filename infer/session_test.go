package infer_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/latentzoo/latentzoo/export"
	"github.com/latentzoo/latentzoo/infer"
	"github.com/latentzoo/latentzoo/models"
)

// tiny is the backbone of the test models: 1-channel 8×8, one conv of width 2, latent 2.
var tiny = models.Backbone{Resolution: 8, Channels: 1, Widths: []int{2}, Latent: 2, BatchNorm: true}

// model writes net with parameters from a fixed formula.
func model(t *testing.T, net models.Net) []byte {
	t.Helper()
	params := map[string][]float32{}
	for k, p := range net.Params() {
		v := make([]float32, p.Size())
		for i := range v {
			v[i] = float32((i*5+k*3)%13-6) / 10
			if p.Role == models.RunningVar {
				v[i] = 1
			}
		}
		params[p.Name] = v
	}
	b, err := export.Marshal(net, params)
	if err != nil {
		t.Fatalf("export.Marshal: %v", err)
	}
	return b
}

func open(t *testing.T, net models.Net, opts infer.Options) *infer.Session {
	t.Helper()
	s, err := infer.Open(model(t, net), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// images is a batch of n 8×8 grey images, different for each seed.
func images(n, seed int) infer.Tensor {
	data := make([]float32, n*64)
	for i := range data {
		data[i] = float32((i*7+seed*11)%17) / 16
	}
	return infer.Tensor{Shape: []int64{int64(n), 1, 8, 8}, Data: data}
}

func TestMain(m *testing.M) {
	if err := infer.Init(""); err != nil {
		fmt.Fprintln(os.Stderr, "infer tests need ONNX Runtime:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func TestOpenDescribesModel(t *testing.T) {
	for _, tc := range []struct {
		net     models.Net
		inputs  []infer.TensorInfo
		outputs []infer.TensorInfo
	}{
		{tiny.Encoder(models.Posterior),
			[]infer.TensorInfo{{Name: "image", Shape: []int64{-1, 1, 8, 8}}},
			[]infer.TensorInfo{{Name: "mu", Shape: []int64{-1, 2}}, {Name: "logvar", Shape: []int64{-1, 2}}}},
		{tiny.Decoder("decoder"),
			[]infer.TensorInfo{{Name: "z", Shape: []int64{-1, 2}}},
			[]infer.TensorInfo{{Name: "image", Shape: []int64{-1, 1, 8, 8}}}},
	} {
		t.Run(tc.net.Name, func(t *testing.T) {
			s := open(t, tc.net, infer.Options{IntraOpThreads: 1})
			if got := s.Inputs(); fmt.Sprint(got) != fmt.Sprint(tc.inputs) {
				t.Errorf("Inputs() = %v, want %v", got, tc.inputs)
			}
			if got := s.Outputs(); fmt.Sprint(got) != fmt.Sprint(tc.outputs) {
				t.Errorf("Outputs() = %v, want %v", got, tc.outputs)
			}
			if s.Provider() != infer.ProviderCPU {
				t.Errorf("Provider() = %q, want %q", s.Provider(), infer.ProviderCPU)
			}
		})
	}
}

func TestRunDynamicBatch(t *testing.T) {
	s := open(t, tiny.Decoder("decoder"), infer.Options{})
	for _, n := range []int64{1, 4, 33} {
		z := infer.Tensor{Shape: []int64{n, 2}, Data: make([]float32, 2*n)}
		for i := range z.Data {
			z.Data[i] = float32(i%5) - 2
		}
		res, err := s.Run(map[string]infer.Tensor{"z": z})
		if err != nil {
			t.Fatalf("batch %d: %v", n, err)
		}
		img := res["image"]
		if want := []int64{n, 1, 8, 8}; len(res) != 1 || !slices.Equal(img.Shape, want) || len(img.Data) != int(n*64) {
			t.Fatalf("batch %d: got %d outputs, image shape %v with %d values, want %v", n, len(res), img.Shape, len(img.Data), want)
		}
		for _, v := range img.Data {
			if !(v >= 0 && v <= 1) {
				t.Fatalf("batch %d: pixel %g outside [0,1]", n, v)
			}
		}
		// Latent rows repeat every 5 values, so examples 0 and 5 (when present) match.
		if n > 5 && !slices.Equal(img.Data[:64], img.Data[5*64:6*64]) {
			t.Fatalf("batch %d: equal latents decode differently", n)
		}
	}
}

func TestRunRejectsBadInputs(t *testing.T) {
	s := open(t, tiny.Encoder(models.Posterior), infer.Options{})
	good := images(2, 0)
	for _, tc := range []struct {
		name   string
		inputs map[string]infer.Tensor
		want   string
	}{
		{"no inputs", nil, `missing input "image"`},
		{"unknown name", map[string]infer.Tensor{"image": good, "z": good}, `unknown input "z"`},
		{"wrong rank", map[string]infer.Tensor{"image": {Shape: []int64{2, 64}, Data: good.Data}}, "want rank 4"},
		{"wrong channels", map[string]infer.Tensor{"image": {Shape: []int64{1, 2, 8, 8}, Data: good.Data}}, "want [-1 1 8 8]"},
		{"wrong size", map[string]infer.Tensor{"image": {Shape: []int64{2, 1, 8, 9}, Data: make([]float32, 144)}}, "want [-1 1 8 8]"},
		{"empty batch", map[string]infer.Tensor{"image": {Shape: []int64{0, 1, 8, 8}}}, "must be positive"},
		{"short data", map[string]infer.Tensor{"image": {Shape: []int64{3, 1, 8, 8}, Data: good.Data}}, "(192 elements) but 128 values"},
		{"long data", map[string]infer.Tensor{"image": {Shape: []int64{1, 1, 8, 8}, Data: good.Data}}, "(64 elements) but 128 values"},
		{"huge batch", map[string]infer.Tensor{"image": {Shape: []int64{math.MaxInt64 / 2, 1, 8, 8}, Data: good.Data}}, "too many elements"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Run(tc.inputs)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := s.Run(map[string]infer.Tensor{"image": good}); err != nil {
		t.Fatalf("Run on good input after bad ones: %v", err)
	}
}

func TestOpenRejects(t *testing.T) {
	good := model(t, tiny.Decoder("decoder"))
	for _, tc := range []struct {
		name  string
		model []byte
		opts  infer.Options
		want  string
	}{
		{"not a model", []byte("not an onnx model"), infer.Options{}, "read model"},
		{"no bytes", nil, infer.Options{}, "read model"},
		{"unknown device", good, infer.Options{Device: "tpu"}, `unknown device "tpu"`},
		{"negative threads", good, infer.Options{IntraOpThreads: -1}, "must not be negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := infer.Open(tc.model, tc.opts)
			if err == nil {
				s.Close()
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestConcurrentRun runs one session from many goroutines at once, each with its own
// batch size and images, and checks every result against a run made alone.
func TestConcurrentRun(t *testing.T) {
	s := open(t, tiny.Encoder(models.Spherical), infer.Options{})
	const workers, rounds = 8, 20
	want := make([][]float32, workers)
	for w := range want {
		res, err := s.Run(map[string]infer.Tensor{"image": images(w+1, w)})
		if err != nil {
			t.Fatal(err)
		}
		want[w] = res["z"].Data
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for w := range workers {
		wg.Go(func() {
			for range rounds {
				res, err := s.Run(map[string]infer.Tensor{"image": images(w+1, w)})
				if err != nil {
					errs <- err
					return
				}
				if !slices.Equal(res["z"].Data, want[w]) {
					errs <- fmt.Errorf("worker %d: concurrent result differs from the one made alone", w)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestClose(t *testing.T) {
	s, err := infer.Open(model(t, tiny.Decoder("decoder")), infer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.Run(map[string]infer.Tensor{"z": {Shape: []int64{1, 2}, Data: []float32{0, 0}}}); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("Run after Close: error %v, want one saying the session is closed", err)
	}
}

// cpuReference is what the CPU provider gives for the test batch.
func cpuReference(t *testing.T, net models.Net) map[string]infer.Tensor {
	t.Helper()
	res, err := open(t, net, infer.Options{}).Run(map[string]infer.Tensor{"image": images(3, 1)})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestCUDAFallsBackToCPU(t *testing.T) {
	t.Setenv(infer.EnvCUDAPlugin, filepath.Join(t.TempDir(), "libonnxruntime_providers_cuda.so"))
	net := tiny.Encoder(models.Posterior)
	s := open(t, net, infer.Options{Device: infer.DeviceCUDA})
	if s.Provider() != infer.ProviderCPU {
		t.Fatalf("Provider() = %q with a missing CUDA plugin, want %q", s.Provider(), infer.ProviderCPU)
	}
	got, err := s.Run(map[string]infer.Tensor{"image": images(3, 1)})
	if err != nil {
		t.Fatal(err)
	}
	for name, w := range cpuReference(t, net) {
		if !slices.Equal(got[name].Data, w.Data) {
			t.Errorf("%s: fallback session differs from a CPU session", name)
		}
	}
}

// TestCUDA runs on the GPU where the CUDA plugin loads ($LATENTZOO_ORT_CUDA_EP, or beside
// the core library) and a device is present, and compares with the CPU.
func TestCUDA(t *testing.T) {
	net := tiny.Encoder(models.Posterior)
	s := open(t, net, infer.Options{Device: infer.DeviceCUDA})
	if s.Provider() == infer.ProviderCPU {
		t.Skip("no CUDA execution provider here (the log says why)")
	}
	got, err := s.Run(map[string]infer.Tensor{"image": images(3, 1)})
	if err != nil {
		t.Fatalf("Run on %s: %v", s.Provider(), err)
	}
	for name, w := range cpuReference(t, net) {
		for i := range w.Data {
			if d := math.Abs(float64(got[name].Data[i] - w.Data[i])); d > 1e-4 {
				t.Fatalf("%s[%d]: %s gives %g, CPU %g", name, i, s.Provider(), got[name].Data[i], w.Data[i])
			}
		}
	}
}
