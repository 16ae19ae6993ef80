// Package infer runs exported ONNX graphs in ONNX Runtime.
//
// Init loads the ONNX Runtime shared library once per process; Open builds a Session from
// the bytes of an ONNX model (entries may be embedded in the binary), on the CPU or, where
// the CUDA execution provider plugin loads, on the GPU. A Session is safe for concurrent Run
// calls: each call brings its own tensors, and ONNX Runtime runs a session from many threads.
package infer

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// Environment variables that point at ONNX Runtime libraries.
const (
	// EnvLibrary names the libonnxruntime shared library to load.
	EnvLibrary = "LATENTZOO_ORT_LIB"
	// EnvLibraryORT is the variable onnxruntime users already set; it is read after EnvLibrary.
	EnvLibraryORT = "ONNXRUNTIME_SHARED_LIBRARY_PATH"
	// EnvCUDAPlugin names the CUDA execution provider plugin library.
	EnvCUDAPlugin = "LATENTZOO_ORT_CUDA_EP"
)

// libraryName is the file name of the ONNX Runtime core library.
const libraryName = "libonnxruntime.so"

// depsLibrary is where the build puts the library, relative to the repository root.
var depsLibrary = filepath.Join(".deps", "onnxruntime", libraryName)

var (
	initMu    sync.Mutex
	loadedLib string // the library Init loaded, empty until it succeeds
)

// LibraryPath finds libonnxruntime.so. It returns explicit when it is not empty; else the
// value of $LATENTZOO_ORT_LIB, else of $ONNXRUNTIME_SHARED_LIBRARY_PATH; else the first
// .deps/onnxruntime/libonnxruntime.so found walking up from the working directory, then
// from the directory of the executable.
func LibraryPath(explicit string) (string, error) {
	for _, p := range []string{explicit, os.Getenv(EnvLibrary), os.Getenv(EnvLibraryORT)} {
		if p != "" {
			return p, nil
		}
	}
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		starts = append(starts, filepath.Dir(exe))
	}
	for _, dir := range starts {
		for {
			p := filepath.Join(dir, depsLibrary)
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", fmt.Errorf("infer: %s not found: set $%s or $%s, or put it at %s", libraryName, EnvLibrary, EnvLibraryORT, depsLibrary)
}

// Init loads the ONNX Runtime library found by LibraryPath(libPath) and creates the
// process's ONNX Runtime environment. Later calls return nil at once, unless they name a
// different library explicitly; a failed call may be retried. Init is safe for concurrent
// callers. Open calls Init("") itself when nothing has initialised the environment.
func Init(libPath string) error {
	initMu.Lock()
	defer initMu.Unlock()
	if loadedLib != "" {
		if libPath != "" && libPath != loadedLib {
			return fmt.Errorf("infer: ONNX Runtime already initialised from %s, not %s", loadedLib, libPath)
		}
		return nil
	}
	path, err := LibraryPath(libPath)
	if err != nil {
		return err
	}
	if !ort.IsInitialized() {
		ort.SetSharedLibraryPath(path)
		if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
			return fmt.Errorf("infer: initialise ONNX Runtime from %s: %w", path, err)
		}
		slog.Debug("ONNX Runtime initialised", "library", path, "version", ort.GetVersion())
	}
	loadedLib = path
	return nil
}

// library returns the path of the loaded core library.
func library() (string, error) {
	initMu.Lock()
	defer initMu.Unlock()
	if loadedLib == "" {
		return "", errors.New("infer: ONNX Runtime is not initialised")
	}
	return loadedLib, nil
}
