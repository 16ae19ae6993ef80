//go:build !onnx

package train

// DefaultBackend is the fastest backend compiled into this binary: without the onnx build
// tag, the pure-Go one.
func DefaultBackend() string { return GoBackend }

// Backends lists the backends compiled into this binary that run on every machine.
func Backends() []string { return []string{GoBackend} }
