package train

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend" // The pure-Go backend, always available.
)

// GoBackend is the pure-Go backend's configuration: ops run one after another, since the
// default parallel execution deadlocks on graphs with several independent matrix products.
const GoBackend = "go:ops_sequential"

// NewBackend creates the GoMLX backend named by config ("go:ops_sequential",
// "onnx:cpu", ...). An empty config picks DefaultBackend().
func NewBackend(config string) (compute.Backend, error) {
	if config == "" {
		config = DefaultBackend()
	}
	resolved, err := resolveBackend(config)
	if err != nil {
		return nil, fmt.Errorf("backend %q: %w", config, err)
	}
	b, err := compute.NewWithConfig(resolved)
	if err != nil {
		return nil, fmt.Errorf("backend %q: %w", config, err)
	}
	return b, nil
}

// resolveBackend completes a backend configuration, e.g. with the ONNX Runtime library's
// path; each backend compiled in behind a build tag wraps it, handling its own
// configurations and handing on the rest.
var resolveBackend = func(config string) (string, error) { return config, nil }

// gpuBackends are the configurations of the GPU backends compiled in, each added by its
// file's init.
var gpuBackends []string

// GPUBackends lists the backends compiled into this binary that need a GPU; NewBackend
// says what a machine lacks for one.
func GPUBackends() []string { return gpuBackends }

// nvidiaGPU says why this machine cannot run a CUDA backend, if it has no NVIDIA device.
func nvidiaGPU() error {
	if m, _ := filepath.Glob("/dev/nvidia[0-9]*"); len(m) == 0 {
		return errors.New("no NVIDIA GPU here (no /dev/nvidia0)")
	}
	return nil
}
