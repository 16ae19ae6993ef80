//go:build onnx

package train

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	onnxbackend "github.com/gomlx/compute-onnx" // The ONNX Runtime backend (cgo).

	"github.com/latentzoo/latentzoo/infer"
)

// CUDABackend trains on ONNX Runtime's CUDA execution provider: the graphs of "onnx:cpu",
// with the weights and the optimiser's state kept on the GPU between steps. ONNX Runtime
// loads its CUDA provider library from the core library's folder (scripts/deps.sh puts it
// there with GPU=1), and it needs an NVIDIA device and CUDA 13 and cuDNN 9 on the library
// path.
const CUDABackend = "onnx:cuda"

// cudaProvider is the file ONNX Runtime loads its CUDA execution provider from, beside
// the core library.
const cudaProvider = "libonnxruntime_providers_cuda.so"

func init() {
	// Never download an ONNX Runtime at run time: use the one infer finds.
	onnxbackend.EnableAutoInstall(false)
	next := resolveBackend
	resolveBackend = func(config string) (string, error) {
		if !strings.HasPrefix(config, "onnx") || strings.Contains(config, "/") {
			return next(config)
		}
		lib, err := infer.LibraryPath("")
		if err != nil {
			return "", err
		}
		if usesCUDA(config) {
			if err := cudaReady(lib); err != nil {
				return "", err
			}
		}
		if !strings.Contains(config, ":") {
			config += ":"
		} else {
			config += ","
		}
		return config + lib, nil
	}
	gpuBackends = append(gpuBackends, CUDABackend)
}

// usesCUDA reports whether an "onnx:..." configuration asks for the CUDA provider.
func usesCUDA(config string) bool {
	_, opts, _ := strings.Cut(config, ":")
	for o := range strings.SplitSeq(opts, ",") {
		if o == "cuda" || o == "gpu" {
			return true
		}
	}
	return false
}

// cudaReady says what this machine lacks for ONNX Runtime's CUDA provider beside the core
// library lib, before a session fails on it with a less telling error. compute-onnx checks
// the CUDA and cuDNN libraries itself.
func cudaReady(lib string) error {
	p := filepath.Join(filepath.Dir(lib), cudaProvider)
	if _, err := os.Stat(p); err != nil {
		return fmt.Errorf("ONNX Runtime's CUDA provider must lie beside %s (GPU=1 scripts/deps.sh fetches it): %w", lib, err)
	}
	return nvidiaGPU()
}

// DefaultBackend is the fastest backend compiled into this binary: with the onnx build
// tag, ONNX Runtime's CPU kernels (see the README's measurements).
func DefaultBackend() string { return "onnx:cpu" }

// Backends lists the backends compiled into this binary that run on every machine.
func Backends() []string { return []string{GoBackend, DefaultBackend()} }
