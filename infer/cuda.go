package infer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// cudaPluginName is the file name of the CUDA execution provider plugin library.
const cudaPluginName = "libonnxruntime_providers_cuda.so"

// cudaRegistration is the name the plugin is registered under in the environment.
const cudaRegistration = "latentzoo-cuda"

// cudaPlugin is the CUDA plugin registered with the environment, once per process.
var cudaPlugin struct {
	mu   sync.Mutex
	path string // empty until a registration succeeds
}

// CUDAPluginPath finds the CUDA execution provider plugin: $LATENTZOO_ORT_CUDA_EP, else
// libonnxruntime_providers_cuda.so beside the loaded core library.
func CUDAPluginPath() (string, error) {
	if p := os.Getenv(EnvCUDAPlugin); p != "" {
		return p, nil
	}
	lib, err := library()
	if err != nil {
		return "", err
	}
	p := filepath.Join(filepath.Dir(lib), cudaPluginName)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("infer: CUDA plugin not found (set $%s): %w", EnvCUDAPlugin, err)
	}
	return p, nil
}

// cudaEpDevice registers the CUDA plugin with the environment, the first time it loads,
// and returns the first CUDA device it offers. A failed registration is not remembered, so
// a later call may try another plugin path.
func cudaEpDevice() (ort.EpDevice, error) {
	path, err := CUDAPluginPath()
	if err != nil {
		return ort.EpDevice{}, err
	}
	cudaPlugin.mu.Lock()
	defer cudaPlugin.mu.Unlock()
	switch cudaPlugin.path {
	case "":
		if err := ort.RegisterExecutionProviderLibrary(cudaRegistration, path); err != nil {
			return ort.EpDevice{}, fmt.Errorf("infer: register CUDA plugin %s: %w", path, err)
		}
		cudaPlugin.path = path
	case path:
	default:
		return ort.EpDevice{}, fmt.Errorf("infer: CUDA plugin %s is registered, not %s", cudaPlugin.path, path)
	}
	devices, err := ort.GetEpDevices()
	if err != nil {
		return ort.EpDevice{}, fmt.Errorf("infer: list execution provider devices: %w", err)
	}
	for _, d := range devices {
		if strings.Contains(strings.ToUpper(d.EpName()), "CUDA") {
			return d, nil
		}
	}
	return ort.EpDevice{}, errors.New("infer: the CUDA plugin is registered but offers no device")
}

// appendCUDA adds the CUDA execution provider to opts and returns its name.
func appendCUDA(opts *ort.SessionOptions) (string, error) {
	dev, err := cudaEpDevice()
	if err != nil {
		return "", err
	}
	if err := opts.AppendExecutionProviderV2([]ort.EpDevice{dev}, nil); err != nil {
		return "", fmt.Errorf("infer: append %s: %w", dev.EpName(), err)
	}
	return dev.EpName(), nil
}
