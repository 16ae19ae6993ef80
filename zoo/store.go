package zoo

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/latentzoo/latentzoo/errkind"
)

// ErrNotFound is wrapped by the errors for names that no entry has; its kind is
// errkind.NotFound.
var ErrNotFound = errkind.New(errkind.NotFound, "no such entry")

// Store is the local store of entries, a folder laid out as
//
//	<dir>/models/<family>/<dataset>/<tag>/manifest.json
//	<dir>/models/<family>/<dataset>/<tag>/<the files the manifest lists>
//
// Entries are written whole into a temporary folder and renamed into place, so readers
// never see a partial one.
type Store struct {
	dir string
}

// DefaultHome returns the store's folder: $LATENTZOO_HOME, or else ~/.latentzoo.
func DefaultHome() (string, error) {
	if dir := os.Getenv("LATENTZOO_HOME"); dir != "" {
		return dir, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("zoo home (set LATENTZOO_HOME): %w", err)
	}
	return filepath.Join(home, ".latentzoo"), nil
}

// OpenStore returns the store in folder dir. The folder need not exist: it is created by the
// first write.
func OpenStore(dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("zoo store %s: %w", dir, err)
	}
	if fi, err := os.Stat(abs); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("zoo store %s: not a folder", abs)
	}
	return &Store{dir: abs}, nil
}

// Dir returns the store's folder.
func (s *Store) Dir() string { return s.dir }

// path returns the folder of the entry called n.
func (s *Store) path(n Name) string {
	return filepath.Join(s.dir, "models", n.Family, n.Dataset, n.Tag)
}

// Write writes an entry named by m.Name into the store, replacing one of the same name, and
// returns it; see [WriteEntry] for what it fills in.
func (s *Store) Write(m *Manifest, files map[string][]byte) (Entry, error) {
	n, err := ParseName(m.Name)
	if err != nil {
		return nil, err
	}
	if m.Name != n.String() {
		return nil, fmt.Errorf("entry name %q: write it with its tag, %q", m.Name, n.String())
	}
	if err := WriteEntry(s.path(n), m, files); err != nil {
		return nil, err
	}
	return s.Get(n)
}

// Put copies entry e, from anywhere (a folder, the built-in entries, a download), into the
// store, reading every file through e so that each is checked against e's manifest.
func (s *Store) Put(e Entry) (Entry, error) {
	m := *e.Manifest()
	files := make(map[string][]byte, len(m.Files))
	for _, f := range m.Files {
		b, err := e.ReadFile(f.Path)
		if err != nil {
			return nil, fmt.Errorf("put: %w", err)
		}
		files[f.Path] = b
	}
	return s.Write(&m, files)
}

// Get opens the entry called n.
func (s *Store) Get(n Name) (Entry, error) {
	dir := s.path(n)
	e, err := openFS(os.DirFS(dir), ".", dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s in %s: %w", n, s.dir, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	if e.m.Name != n.String() {
		return nil, fmt.Errorf("entry %s: manifest names it %q", dir, e.m.Name)
	}
	return e, nil
}

// List returns the store's entries sorted by name. Folders whose names are not valid name
// parts, such as those of writes in progress, are passed over.
func (s *Store) List() ([]Entry, error) {
	manifests, err := filepath.Glob(filepath.Join(s.dir, "models", "*", "*", "*", manifestFile))
	if err != nil {
		return nil, fmt.Errorf("zoo store %s: %w", s.dir, err)
	}
	var out []Entry
	for _, mf := range manifests {
		rel, err := filepath.Rel(filepath.Join(s.dir, "models"), filepath.Dir(mf))
		if err != nil {
			return nil, fmt.Errorf("zoo store %s: %w", s.dir, err)
		}
		parts := strings.Split(filepath.ToSlash(rel), "/")
		n, err := ParseName(parts[0] + "/" + parts[1] + ":" + parts[2])
		if err != nil {
			continue
		}
		e, err := s.Get(n)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	sortEntries(out)
	return out, nil
}

// Remove deletes the entry called n, and the folders above it that it leaves empty.
func (s *Store) Remove(n Name) error {
	dir := s.path(n)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s in %s: %w", n, s.dir, ErrNotFound)
	}
	// Move the entry aside first, so that it disappears at once rather than file by file.
	trash := asideName(dir, "rm")
	if err := os.Rename(dir, trash); err != nil {
		return fmt.Errorf("remove %s: %w", n, err)
	}
	if err := os.RemoveAll(trash); err != nil {
		return fmt.Errorf("remove %s: %w", n, err)
	}
	// os.Remove fails on a folder that still holds other entries, which is what we want.
	if os.Remove(filepath.Dir(dir)) == nil {
		os.Remove(filepath.Dir(filepath.Dir(dir)))
	}
	return nil
}

// sortEntries sorts entries by name.
func sortEntries(es []Entry) {
	slices.SortFunc(es, func(a, b Entry) int { return strings.Compare(a.Manifest().Name, b.Manifest().Name) })
}
