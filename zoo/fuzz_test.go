package zoo

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseName feeds entry-name parsing arbitrary text: a name that prints back to a name
// that parses to itself, or an error.
func FuzzParseName(f *testing.F) {
	for _, s := range []string{"vae/fashion-mnist:v1", "vae/mnist", "a/b:c:d", "../x:y", "VAE/x", "oci://host/repo", "a/" + string(make([]byte, 70))} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseName(s)
		if err != nil {
			return
		}
		back, err := ParseName(n.String())
		if err != nil || back != n {
			t.Fatalf("%q parsed as %+v, whose form %q parses as %+v, %v", s, n, n.String(), back, err)
		}
	})
}

// FuzzManifest feeds a folder entry arbitrary manifest.json bytes: the entry opens, or
// fails with an error; an entry that opens validates and renders its model card.
func FuzzManifest(f *testing.F) {
	f.Add([]byte(`{"schema_version": 1, "name": "vae/x:v1", "resolution": 32, "channels": 1, "latent_size": 4, "latent_kind": "gaussian", "graphs": {"encoder": "e.onnx", "decoder": "d.onnx"}, "reconstruct": "decoder", "sample": "decoder", "files": [{"path": "e.onnx", "digest": "sha256:0000000000000000000000000000000000000000000000000000000000000000", "size": 1}, {"path": "d.onnx", "digest": "sha256:0000000000000000000000000000000000000000000000000000000000000000", "size": 1}]}`))
	f.Add([]byte(`{"schema_version": 1, "name": "x/y:z", "kind": "classifier", "graphs": {"classifier": "c.onnx"}, "files": [{"path": "c.onnx", "digest": "sha256:` + string(make([]byte, 0)) + `", "size": -1}]}`))
	f.Add([]byte(`{"files": [{"path": "../../etc/passwd"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "manifest.json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		e, err := OpenDir(dir)
		if err != nil {
			return
		}
		m := e.Manifest()
		if err := m.Validate(); err != nil {
			t.Fatalf("OpenDir took a manifest that does not validate: %v", err)
		}
		ModelCard(m)
		for _, file := range m.Files {
			if !filepath.IsLocal(file.Path) {
				t.Fatalf("a manifest listing %q opened", file.Path)
			}
		}
	})
}
