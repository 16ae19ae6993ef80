package train

import (
	"fmt"
	"os"

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
	// Never let a backend download anything at run time.
	os.Setenv("GOMLX_NO_AUTO_INSTALL", "1")
	b, err := compute.NewWithConfig(config)
	if err != nil {
		return nil, fmt.Errorf("backend %q: %w", config, err)
	}
	return b, nil
}
