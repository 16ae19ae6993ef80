//go:build onnx

package train

import (
	"os"

	_ "github.com/gomlx/compute-onnx" // The ONNX Runtime backend (cgo).
)

// DefaultBackend is the fastest backend compiled into this binary: with the onnx build
// tag, ONNX Runtime's CPU kernels (see the README's measurements).
func DefaultBackend() string {
	if os.Getenv("ONNXRUNTIME_SHARED_LIBRARY_PATH") == "" {
		if lib := os.Getenv("LATENTZOO_ORT_LIB"); lib != "" {
			os.Setenv("ONNXRUNTIME_SHARED_LIBRARY_PATH", lib)
		}
	}
	return "onnx:cpu"
}

// Backends lists the backends compiled into this binary.
func Backends() []string { return []string{GoBackend, DefaultBackend()} }
