package zoo

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/latentzoo/latentzoo/errkind"
)

// TestEmbeddedBuiltin opens every entry built into the binary and reads every file it lists,
// so that an entry whose files do not match its manifest fails the build's tests.
func TestEmbeddedBuiltin(t *testing.T) {
	es, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		for _, f := range e.Manifest().Files {
			if _, err := e.ReadFile(f.Path); err != nil {
				t.Error(err)
			}
		}
	}
}

// writeTree writes entries named names under root as zoo/builtin lays them out; each
// entry's licence says where it lives, so tests can tell equal names apart.
func writeTree(t *testing.T, root, where string, names ...string) {
	t.Helper()
	for _, name := range names {
		n, err := ParseName(name)
		if err != nil {
			t.Fatal(err)
		}
		m := testManifest(name)
		m.License = where
		if err := WriteEntry(filepath.Join(root, n.Family, n.Dataset, n.Tag), m, testFiles(name)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLoadTree runs the code that opens the embedded entries on a folder written by
// WriteEntry, through the same Entry interface.
func TestLoadTree(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, "builtin", "vae/fashion-mnist:v1", "dcvae/mnist:v2")
	if err := os.WriteFile(filepath.Join(root, "README.md"), []byte("not an entry"), 0o644); err != nil {
		t.Fatal(err)
	}
	es, err := loadTree(os.DirFS(root), "test")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"dcvae/mnist:v2", "vae/fashion-mnist:v1"}; !slices.Equal(names(es), want) {
		t.Fatalf("entries %q, want %q", names(es), want)
	}
	if b, err := es[1].ReadFile("decoder.onnx"); err != nil || string(b) != "decoder graph vae/fashion-mnist:v1" {
		t.Errorf("decoder = %q, %v", b, err)
	}
	editFile(t, filepath.Join(root, "vae", "fashion-mnist", "v1"), "decoder.onnx", []byte("decoder graph vae/fashion-mnist:v9"))
	if _, err := es[1].ReadFile("decoder.onnx"); !errors.Is(err, ErrIntegrity) || errkind.Of(err) != errkind.Unprocessable {
		t.Errorf("tampered decoder: error %v, want ErrIntegrity, of kind unprocessable", err)
	}

	// An entry in a folder that does not match its name is refused.
	if err := os.Rename(filepath.Join(root, "dcvae", "mnist", "v2"), filepath.Join(root, "dcvae", "mnist", "v3")); err != nil {
		t.Fatal(err)
	}
	if _, err := loadTree(os.DirFS(root), "test"); err == nil || !strings.Contains(err.Error(), "manifest names it") {
		t.Errorf("misplaced entry: error %v", err)
	}
}

func TestResolve(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, "builtin", "vae/x:v1", "vae/x:v10", "vae/y:v3", "vae/z:latest", "vae/z:v9")
	builtin, err := loadTree(os.DirFS(root), "test")
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"vae/x:v2", "vae/x:v10", "vae/x:v9"} {
		m := testManifest(name)
		m.License = "local"
		if _, err := s.Write(m, testFiles(name)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		in, name, where string
	}{
		{"vae/x:v1", "vae/x:v1", "builtin"},
		{"vae/x:v2", "vae/x:v2", "local"},
		{"vae/x:v10", "vae/x:v10", "local"}, // the store before the built-ins
		{"vae/x", "vae/x:v10", "local"},     // newest: v10 > v9 > v2
		{"vae/x:latest", "vae/x:v10", "local"},
		{"vae/y", "vae/y:v3", "builtin"},
		{"vae/z", "vae/z:latest", "builtin"}, // an entry tagged latest wins
		{"vae/x:v3", "", ""},
		{"vae/w", "", ""},
		{"dcvae/x", "", ""},
	}
	for _, tt := range tests {
		n, err := ParseName(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		e, err := resolve(s, builtin, n)
		if tt.name == "" {
			if !errors.Is(err, ErrNotFound) || errkind.Of(err) != errkind.NotFound {
				t.Errorf("resolve(%s) = %v, %v; want ErrNotFound, of kind not found", tt.in, e, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("resolve(%s): %v", tt.in, err)
			continue
		}
		if m := e.Manifest(); m.Name != tt.name || m.License != tt.where {
			t.Errorf("resolve(%s) = %s from %s, want %s from %s", tt.in, m.Name, m.License, tt.name, tt.where)
		}
	}
	// Resolve is resolve with the embedded entries.
	if e, err := s.Resolve(Name{"vae", "x", "v9"}); err != nil || e.Manifest().Name != "vae/x:v9" {
		t.Errorf("Resolve(vae/x:v9) = %v, %v", e, err)
	}
}
