package infer_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latentzoo/latentzoo/infer"
)

func TestLibraryPath(t *testing.T) {
	// A repository-like tree with the library in .deps, and a working directory below it.
	root := t.TempDir()
	deps := filepath.Join(root, ".deps", "onnxruntime", "libonnxruntime.so")
	if err := os.MkdirAll(filepath.Dir(deps), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(deps, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	below := filepath.Join(root, "cmd", "latentzoo")
	if err := os.MkdirAll(below, 0o755); err != nil {
		t.Fatal(err)
	}
	elsewhere := t.TempDir()
	for _, tc := range []struct {
		name              string
		explicit, lz, ort string
		wd                string
		want              string // empty: an error is wanted
	}{
		{name: "explicit wins", explicit: "/x/explicit.so", lz: "/x/lz.so", ort: "/x/ort.so", wd: below, want: "/x/explicit.so"},
		{name: "LATENTZOO_ORT_LIB", lz: "/x/lz.so", ort: "/x/ort.so", wd: below, want: "/x/lz.so"},
		{name: "ONNXRUNTIME_SHARED_LIBRARY_PATH", ort: "/x/ort.so", wd: below, want: "/x/ort.so"},
		{name: "walks up to .deps", wd: below, want: deps},
		{name: "in the root", wd: root, want: deps},
		{name: "nowhere", wd: elsewhere},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(infer.EnvLibrary, tc.lz)
			t.Setenv(infer.EnvLibraryORT, tc.ort)
			t.Chdir(tc.wd)
			got, err := infer.LibraryPath(tc.explicit)
			if tc.want == "" {
				if err == nil || !strings.Contains(err.Error(), "not found") {
					t.Fatalf("LibraryPath = %q, %v; want a not-found error", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("LibraryPath = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestInitIsIdempotent(t *testing.T) {
	loaded, err := infer.LibraryPath("")
	if err != nil {
		t.Fatal(err)
	}
	for _, lib := range []string{"", loaded} {
		if err := infer.Init(lib); err != nil {
			t.Errorf("Init(%q) after initialisation: %v", lib, err)
		}
	}
	if err := infer.Init("/elsewhere/libonnxruntime.so"); err == nil || !strings.Contains(err.Error(), "already initialised") {
		t.Errorf("Init of another library: error %v, want one saying ONNX Runtime is already initialised", err)
	}
}
