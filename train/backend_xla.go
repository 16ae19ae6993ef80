//go:build xla

package train

import (
	"fmt"
	"os"

	_ "github.com/gomlx/go-xla/compute/xla" // XLA through PJRT plugins (cgo), never auto-installed.
)

// XLACUDABackend trains on XLA's CUDA PJRT plugin, the one JAX ships
// (jax_plugins/xla_cuda13/xla_cuda_plugin.so), named by $LATENTZOO_PJRT_CUDA. It needs
// an NVIDIA device and the CUDA libraries the plugin links against on the library path.
const XLACUDABackend = "xla:cuda"

// EnvPJRTCUDA names the path of XLA's CUDA PJRT plugin.
const EnvPJRTCUDA = "LATENTZOO_PJRT_CUDA"

func init() {
	next := resolveBackend
	resolveBackend = func(config string) (string, error) {
		if config != XLACUDABackend {
			return next(config)
		}
		p := os.Getenv(EnvPJRTCUDA)
		if p == "" {
			return "", fmt.Errorf("set $%s to XLA's CUDA PJRT plugin (JAX's jax_plugins/xla_cuda13/xla_cuda_plugin.so)", EnvPJRTCUDA)
		}
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("XLA's CUDA PJRT plugin: %w", err)
		}
		if err := nvidiaGPU(); err != nil {
			return "", err
		}
		return "xla:" + p, nil
	}
	gpuBackends = append(gpuBackends, XLACUDABackend)
}
