package zoo

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// testManifest returns a manifest for testFiles, without its file list.
func testManifest(name string) *Manifest {
	return &Manifest{
		Name: name, Family: "vae", Dataset: "fashion-mnist",
		Resolution: 32, Channels: 1, LatentSize: 16, LatentKind: "gaussian",
		Graphs:      map[string]string{"encoder": "encoder.onnx", "decoder": "decoder.onnx"},
		Reconstruct: "decoder", Sample: "decoder",
		IRVersion: 10, Opset: 21,
		Attributes: map[string]string{"smile": "attributes/smile.bin"},
		License:    "CC0-1.0",
	}
}

// testFiles returns the files of a test entry; tag makes them differ between entries.
func testFiles(tag string) map[string][]byte {
	return map[string][]byte{
		"encoder.onnx":         []byte("encoder graph " + tag),
		"decoder.onnx":         []byte("decoder graph " + tag),
		"README.md":            []byte("# model card " + tag + "\n"),
		"attributes/smile.bin": {0, 1, 2, 3},
	}
}

// names returns the names of es.
func names(es []Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Manifest().Name)
	}
	return out
}

// entries lists the folder dir, for checking that nothing was left behind.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var out []string
	for _, d := range des {
		out = append(out, d.Name())
	}
	return out
}

func TestWriteEntryRoundTrip(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "entry")
	m := testManifest("vae/fashion-mnist:v1")
	files := testFiles("v1")
	if err := WriteEntry(dir, m, files); err != nil {
		t.Fatal(err)
	}
	if m.SchemaVersion != SchemaVersion {
		t.Errorf("schema version %d, want %d", m.SchemaVersion, SchemaVersion)
	}
	var paths []string
	for _, f := range m.Files {
		paths = append(paths, f.Path)
		if f.Digest != DigestOf(files[f.Path]) || f.Size != int64(len(files[f.Path])) {
			t.Errorf("file %+v does not describe %q", f, files[f.Path])
		}
	}
	if want := []string{"README.md", "attributes/smile.bin", "decoder.onnx", "encoder.onnx"}; !slices.Equal(paths, want) {
		t.Errorf("files %q, want %q", paths, want)
	}
	if got := entries(t, parent); !slices.Equal(got, []string{"entry"}) {
		t.Errorf("parent holds %q, want only the entry", got)
	}

	e, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Manifest(); got.Name != m.Name || !slices.Equal(got.Files, m.Files) || got.Attributes["smile"] != "attributes/smile.bin" {
		t.Errorf("reopened manifest %+v, want %+v", got, m)
	}
	for p, want := range files {
		if got, err := e.ReadFile(p); err != nil || !bytes.Equal(got, want) {
			t.Errorf("ReadFile(%s) = %q, %v; want %q", p, got, err, want)
		}
	}
	for _, p := range []string{"manifest.json", "missing.onnx", "../entry/encoder.onnx", "/etc/passwd"} {
		if _, err := e.ReadFile(p); err == nil || !strings.Contains(err.Error(), "not listed") {
			t.Errorf("ReadFile(%s) error %v, want a refusal", p, err)
		}
	}

	// Writing again replaces the entry whole.
	files2 := map[string][]byte{"encoder.onnx": []byte("new encoder"), "decoder.onnx": []byte("new decoder")}
	m2 := testManifest("vae/fashion-mnist:v1")
	m2.Attributes = nil
	if err := WriteEntry(dir, m2, files2); err != nil {
		t.Fatal(err)
	}
	if got := entries(t, dir); !slices.Equal(got, []string{"decoder.onnx", "encoder.onnx", "manifest.json"}) {
		t.Errorf("rewritten entry holds %q", got)
	}
	if got := entries(t, parent); !slices.Equal(got, []string{"entry"}) {
		t.Errorf("parent holds %q after a rewrite, want only the entry", got)
	}
	e, err = OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := e.ReadFile("encoder.onnx"); err != nil || string(got) != "new encoder" {
		t.Errorf("rewritten encoder = %q, %v", got, err)
	}
}

// TestWriteEntryRelative writes entries to folders named relative to the working
// directory, a bare name among them (export -out NAME), and opens each again.
func TestWriteEntryRelative(t *testing.T) {
	for _, dir := range []string{"entry", "./entry", "entry/", "sub/entry"} {
		t.Run(dir, func(t *testing.T) {
			t.Chdir(t.TempDir())
			m := testManifest("vae/fashion-mnist:v1")
			if err := WriteEntry(dir, m, testFiles("v1")); err != nil {
				t.Fatal(err)
			}
			e, err := OpenDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if e.Manifest().Name != m.Name {
				t.Errorf("reopened %s, want %s", e.Manifest().Name, m.Name)
			}
			if got := entries(t, filepath.Dir(filepath.Clean(dir))); !slices.Contains(got, "entry") || slices.ContainsFunc(got, func(n string) bool { return strings.Contains(n, ".tmp-") }) {
				t.Errorf("the entry's parent holds %q: want the entry and no temporary folder", got)
			}
		})
	}
}

func TestWriteEntryRejects(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(m *Manifest, files map[string][]byte)
		wantErr string
	}{
		{"parent path", func(m *Manifest, f map[string][]byte) { f["../evil"] = nil }, "file path"},
		{"absolute path", func(m *Manifest, f map[string][]byte) { f["/etc/evil"] = nil }, "file path"},
		{"hidden file", func(m *Manifest, f map[string][]byte) { f[".evil"] = nil }, "file path"},
		{"manifest as file", func(m *Manifest, f map[string][]byte) { f["manifest.json"] = nil }, "reserved"},
		{"bad name", func(m *Manifest, f map[string][]byte) { m.Name = "VAE/x:v1" }, "entry name"},
		{"graph without file", func(m *Manifest, f map[string][]byte) { delete(f, "decoder.onnx") }, "not listed"},
		{"attribute without file", func(m *Manifest, f map[string][]byte) { delete(f, "attributes/smile.bin") }, "not listed"},
		{"latent kind", func(m *Manifest, f map[string][]byte) { m.LatentKind = "uniform" }, "latent kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			m, files := testManifest("vae/fashion-mnist:v1"), testFiles("v1")
			tt.edit(m, files)
			err := WriteEntry(filepath.Join(parent, "entry"), m, files)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %v, want one containing %q", err, tt.wantErr)
			}
			if got := entries(t, parent); len(got) != 0 {
				t.Errorf("a refused write left %q", got)
			}
		})
	}
}

// editFile rewrites a file of the entry in dir.
func editFile(t *testing.T, dir, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(p)), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestTampered(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		content []byte
		wantErr string
	}{
		{"same size", "encoder.onnx", []byte("encoder graph vX"), "digest"},
		{"shorter", "decoder.onnx", []byte("decoder"), "size"},
		{"longer", "attributes/smile.bin", []byte{0, 1, 2, 3, 4}, "size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := OpenStore(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			e, err := src.Write(testManifest("vae/fashion-mnist:v1"), testFiles("v1"))
			if err != nil {
				t.Fatal(err)
			}
			editFile(t, src.path(Name{"vae", "fashion-mnist", "v1"}), tt.file, tt.content)
			_, err = e.ReadFile(tt.file)
			if !errors.Is(err, ErrIntegrity) || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), tt.file) {
				t.Errorf("ReadFile(%s) error %v, want a %s mismatch", tt.file, err, tt.wantErr)
			}
			// Copying the tampered entry fails and leaves the destination untouched.
			dst, err := OpenStore(filepath.Join(t.TempDir(), "home"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := dst.Put(e); !errors.Is(err, ErrIntegrity) {
				t.Errorf("Put of a tampered entry: error %v, want ErrIntegrity", err)
			}
			if got := entries(t, dst.Dir()); len(got) != 0 {
				t.Errorf("a refused Put left %q", got)
			}
		})
	}
}

func TestTamperedManifest(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(s string) string
		wantErr string
	}{
		{"digest form", func(s string) string { return strings.Replace(s, `"sha256:`, `"sha256:../`, 1) }, "digest"},
		{"path", func(s string) string { return strings.Replace(s, `"README.md"`, `"../README.md"`, 1) }, "file path"},
		{"not json", func(s string) string { return s[:len(s)/2] }, "manifest.json"},
		{"schema", func(s string) string { return strings.Replace(s, `"schema_version": 1`, `"schema_version": 2`, 1) }, "schema version"},
		{"renamed", func(s string) string { return strings.Replace(s, `vae/fashion-mnist:v1`, `vae/fashion-mnist:v2`, 1) }, "manifest names it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := OpenStore(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Write(testManifest("vae/fashion-mnist:v1"), testFiles("v1")); err != nil {
				t.Fatal(err)
			}
			dir := s.path(Name{"vae", "fashion-mnist", "v1"})
			b, err := os.ReadFile(filepath.Join(dir, manifestFile))
			if err != nil {
				t.Fatal(err)
			}
			editFile(t, dir, manifestFile, []byte(tt.edit(string(b))))
			_, err = s.Get(Name{"vae", "fashion-mnist", "v1"})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Get error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestStore(t *testing.T) {
	s, err := OpenStore(filepath.Join(t.TempDir(), "home"))
	if err != nil {
		t.Fatal(err)
	}
	if es, err := s.List(); err != nil || len(es) != 0 {
		t.Fatalf("List of a store not yet created = %q, %v", names(es), err)
	}
	for _, name := range []string{"vae/mnist:v1", "dcvae/fashion-mnist:v2", "vae/fashion-mnist:v1", "vae/fashion-mnist:v2"} {
		if _, err := s.Write(testManifest(name), testFiles(name)); err != nil {
			t.Fatal(err)
		}
	}
	// A write in progress is not an entry.
	if err := os.MkdirAll(filepath.Join(s.Dir(), "models", "vae", "mnist", ".v3.tmp-123"), 0o755); err != nil {
		t.Fatal(err)
	}
	es, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"dcvae/fashion-mnist:v2", "vae/fashion-mnist:v1", "vae/fashion-mnist:v2", "vae/mnist:v1"}
	if !slices.Equal(names(es), want) {
		t.Errorf("List = %q, want %q", names(es), want)
	}

	e, err := s.Get(Name{"vae", "fashion-mnist", "v2"})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := e.ReadFile("README.md"); err != nil || string(b) != "# model card vae/fashion-mnist:v2\n" {
		t.Errorf("README of v2 = %q, %v", b, err)
	}
	if _, err := s.Get(Name{"vae", "fashion-mnist", "v3"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get of a missing entry: error %v, want ErrNotFound", err)
	}
	if _, err := s.Write(testManifest("vae/fashion-mnist"), testFiles("")); err == nil {
		t.Error("Write of a name without its tag succeeded")
	}

	// Put copies an entry from a folder, checking it.
	dir := filepath.Join(t.TempDir(), "exported")
	if err := WriteEntry(dir, testManifest("sphere/mnist:v1"), testFiles("sphere")); err != nil {
		t.Fatal(err)
	}
	src, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	put, err := s.Put(src)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := put.ReadFile("encoder.onnx"); err != nil || string(b) != "encoder graph sphere" {
		t.Errorf("put entry's encoder = %q, %v", b, err)
	}
	if !slices.Equal(src.Manifest().Files, put.Manifest().Files) {
		t.Errorf("Put changed the file list: %+v, want %+v", put.Manifest().Files, src.Manifest().Files)
	}

	for _, n := range []Name{{"vae", "fashion-mnist", "v1"}, {"vae", "mnist", "v1"}, {"sphere", "mnist", "v1"}} {
		if err := s.Remove(n); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(n); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get after Remove(%s): error %v, want ErrNotFound", n, err)
		}
	}
	if err := s.Remove(Name{"vae", "mnist", "v1"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Remove: error %v, want ErrNotFound", err)
	}
	es, err = s.List()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"dcvae/fashion-mnist:v2", "vae/fashion-mnist:v2"}; !slices.Equal(names(es), want) {
		t.Errorf("List after Remove = %q, want %q", names(es), want)
	}
	// Emptied folders go, except the one holding the stray temporary folder.
	if got := entries(t, filepath.Join(s.Dir(), "models")); !slices.Equal(got, []string{"dcvae", "vae"}) {
		t.Errorf("models holds %q", got)
	}
	if got := entries(t, filepath.Join(s.Dir(), "models", "vae", "mnist")); !slices.Equal(got, []string{".v3.tmp-123"}) {
		t.Errorf("vae/mnist holds %q", got)
	}
	if got := entries(t, filepath.Join(s.Dir(), "models", "sphere")); len(got) != 0 {
		t.Errorf("sphere holds %q, want it removed", got)
	}
}

func TestOpenStore(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenStore(file); err == nil {
		t.Error("OpenStore of a file succeeded")
	}
	t.Setenv("LATENTZOO_HOME", "/somewhere/zoo")
	if got, err := DefaultHome(); err != nil || got != "/somewhere/zoo" {
		t.Errorf("DefaultHome = %q, %v; want $LATENTZOO_HOME", got, err)
	}
	t.Setenv("LATENTZOO_HOME", "")
	t.Setenv("HOME", "/home/someone")
	if got, err := DefaultHome(); err != nil || got != "/home/someone/.latentzoo" {
		t.Errorf("DefaultHome = %q, %v; want ~/.latentzoo", got, err)
	}
}
