//go:build onnx

package train

import (
	"strings"

	onnxbackend "github.com/gomlx/compute-onnx" // The ONNX Runtime backend (cgo).

	"github.com/latentzoo/latentzoo/infer"
)

func init() {
	// Never download an ONNX Runtime at run time: use the one infer finds.
	onnxbackend.EnableAutoInstall(false)
	resolveBackend = func(config string) (string, error) {
		if !strings.HasPrefix(config, "onnx") || strings.Contains(config, "/") {
			return config, nil
		}
		lib, err := infer.LibraryPath("")
		if err != nil {
			return "", err
		}
		if !strings.Contains(config, ":") {
			config += ":"
		} else {
			config += ","
		}
		return config + lib, nil
	}
}

// DefaultBackend is the fastest backend compiled into this binary: with the onnx build
// tag, ONNX Runtime's CPU kernels (see the README's measurements).
func DefaultBackend() string { return "onnx:cpu" }

// Backends lists the backends compiled into this binary.
func Backends() []string { return []string{GoBackend, DefaultBackend()} }
