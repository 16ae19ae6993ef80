package zoo

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/latentzoo/latentzoo/errkind"
)

// Entry is a zoo entry: its manifest and the files it lists. Entries on disk and entries
// built into the binary are read the same way.
type Entry interface {
	// Manifest returns the entry's manifest, already validated. Callers must not modify it.
	Manifest() *Manifest
	// ReadFile returns the contents of a file the manifest lists, after checking its size
	// and sha256 against the manifest. Files the manifest does not list are refused.
	ReadFile(path string) ([]byte, error)
}

// ErrIntegrity is wrapped by the errors of files that do not match their manifest (a
// tampered or truncated download); its kind is errkind.Unprocessable.
var ErrIntegrity = errkind.New(errkind.Unprocessable, "file does not match the manifest")

// maxManifestBytes bounds a manifest.json.
const maxManifestBytes = 1 << 20

// fsEntry is an entry whose files lie in a file system: a folder or the embedded tree.
type fsEntry struct {
	m     *Manifest
	files fs.FS
	where string // for messages: the folder, or "builtin:<path>"
}

// Manifest returns the entry's validated manifest.
func (e *fsEntry) Manifest() *Manifest { return e.m }

// ReadFile reads a listed file and checks it against the manifest.
func (e *fsEntry) ReadFile(p string) ([]byte, error) {
	i := slices.IndexFunc(e.m.Files, func(f File) bool { return f.Path == p })
	if i < 0 {
		return nil, fmt.Errorf("entry %s: file %q is not listed in the manifest", e.m.Name, p)
	}
	want := e.m.Files[i]
	f, err := e.files.Open(p)
	if err != nil {
		return nil, fmt.Errorf("entry %s: %w", e.m.Name, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, want.Size+1))
	if err != nil {
		return nil, fmt.Errorf("entry %s: %s: %w", e.m.Name, p, err)
	}
	if int64(len(b)) != want.Size {
		return nil, fmt.Errorf("entry %s (%s): %s: size %d, manifest says %d: %w", e.m.Name, e.where, p, len(b), want.Size, ErrIntegrity)
	}
	if got := DigestOf(b); got != want.Digest {
		return nil, fmt.Errorf("entry %s (%s): %s: digest %s, manifest says %s: %w", e.m.Name, e.where, p, got, want.Digest, ErrIntegrity)
	}
	return b, nil
}

// OpenDir opens the entry in folder dir: dir/manifest.json and the files it lists.
func OpenDir(dir string) (Entry, error) {
	return openFS(os.DirFS(dir), ".", dir)
}

// openFS opens the entry in folder dir of fsys; where names it in messages.
func openFS(fsys fs.FS, dir, where string) (*fsEntry, error) {
	f, err := fsys.Open(path.Join(dir, manifestFile))
	if err != nil {
		return nil, fmt.Errorf("entry %s: %w", where, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxManifestBytes+1))
	if err != nil {
		return nil, fmt.Errorf("entry %s: %s: %w", where, manifestFile, err)
	}
	if len(b) > maxManifestBytes {
		return nil, fmt.Errorf("entry %s: %s is over %d bytes", where, manifestFile, maxManifestBytes)
	}
	m := new(Manifest)
	if err := json.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("entry %s: %s: %w", where, manifestFile, err)
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("entry %s: %w", where, err)
	}
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("entry %s: %w", where, err)
	}
	return &fsEntry{m: m, files: sub, where: where}, nil
}

// WriteEntry writes an entry to folder dir: the files, by their paths in the entry, and a
// manifest.json listing each with its sha256 and size. It sets m.Files from files (sorted by
// path) and m.SchemaVersion to [SchemaVersion], so the caller fills in everything else, then
// validates m before writing anything.
//
// The entry is written into a temporary folder beside dir and renamed into place, so dir
// never holds a partial entry; an existing dir is replaced. The parent folders are created
// as needed.
func WriteEntry(dir string, m *Manifest, files map[string][]byte) error {
	m.SchemaVersion = SchemaVersion
	m.Files = make([]File, 0, len(files))
	for p, b := range files {
		m.Files = append(m.Files, File{Path: p, Digest: DigestOf(b), Size: int64(len(b))})
	}
	slices.SortFunc(m.Files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	if err := m.Validate(); err != nil {
		return fmt.Errorf("write entry %s: %w", dir, err)
	}
	manifest, err := m.JSON()
	if err != nil {
		return fmt.Errorf("write entry %s: %w", dir, err)
	}
	dir = filepath.Clean(dir)
	parent, base := filepath.Dir(dir), filepath.Base(dir) // "." for a bare name, where Split gives ""
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("write entry: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+base+".tmp-")
	if err != nil {
		return fmt.Errorf("write entry: %w", err)
	}
	defer os.RemoveAll(tmp) // after the rename, nothing is left at tmp
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("write entry: %w", err)
	}
	for p, b := range files {
		if err := writeSynced(filepath.Join(tmp, filepath.FromSlash(p)), b); err != nil {
			return fmt.Errorf("write entry %s: %w", dir, err)
		}
	}
	if err := writeSynced(filepath.Join(tmp, manifestFile), append(manifest, '\n')); err != nil {
		return fmt.Errorf("write entry %s: %w", dir, err)
	}
	if err := replaceDir(tmp, dir); err != nil {
		return fmt.Errorf("write entry %s: %w", dir, err)
	}
	return nil
}

// writeSynced writes b to a new file at name, creating its folder, and flushes it to disk.
func writeSynced(name string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// replaceDir renames folder src to dst. An existing dst is first moved aside and removed
// once src is in place, so that dst is, at every moment, absent or a complete entry.
func replaceDir(src, dst string) error {
	if err := os.Rename(src, dst); err == nil {
		return nil
	} else if _, serr := os.Stat(dst); serr != nil {
		return err // the rename failed for another reason than an existing dst
	}
	old := asideName(dst, "old")
	if err := os.Rename(dst, old); err != nil {
		return err
	}
	if err := os.Rename(src, dst); err != nil {
		// Put the previous entry back; src is removed by the caller.
		return errors.Join(err, os.Rename(old, dst))
	}
	return os.RemoveAll(old)
}

// asideName returns an unused hidden name beside path, for moving path out of the way: the
// name is not a valid name part, so listings pass over it.
func asideName(path, why string) string {
	return filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+"."+why+"-"+rand.Text())
}
