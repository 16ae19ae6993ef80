package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFile(t *testing.T) {
	for _, tc := range []struct {
		name string
		old  []byte // the file's content before, nil for none
		data []byte
		perm os.FileMode
	}{
		{"new", nil, []byte("hello"), 0o644},
		{"replace", []byte("an older and longer content"), []byte("new"), 0o600},
		{"empty", []byte("x"), []byte{}, 0o644},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "f.json")
			if tc.old != nil {
				if err := os.WriteFile(path, tc.old, 0o666); err != nil {
					t.Fatal(err)
				}
			}
			if err := WriteFile(path, tc.data, tc.perm); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil || string(got) != string(tc.data) {
				t.Fatalf("read back %q, %v; want %q", got, err, tc.data)
			}
			if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != tc.perm {
				t.Errorf("mode %v (%v), want %v", fi.Mode().Perm(), err, tc.perm)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 1 {
				t.Errorf("the folder holds %d files, want only the target (no temporary left)", len(ents))
			}
		})
	}
}

func TestWriteFileFails(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, path string }{
		{"no folder", filepath.Join(dir, "missing", "f")},
		{"target is a folder", dir},
	} {
		if err := WriteFile(tc.path, []byte("x"), 0o644); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("a failed write left %d files behind", len(ents))
	}
}
