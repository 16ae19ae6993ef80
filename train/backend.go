package train

import (
	"fmt"

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
// path; backends compiled in behind build tags set it.
var resolveBackend = func(config string) (string, error) { return config, nil }
