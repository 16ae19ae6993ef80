package zoo

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
)

// builtinFiles holds zoo/builtin: its README and the entries built into the binary, laid
// out as <family>/<dataset>/<tag>/ like the store's models folder.
//
//go:embed builtin
var builtinFiles embed.FS

// builtins opens the embedded entries once.
var builtins = sync.OnceValues(func() ([]Entry, error) {
	sub, err := fs.Sub(builtinFiles, "builtin")
	if err != nil {
		return nil, err
	}
	return loadTree(sub, "builtin")
})

// Builtin returns the entries built into the binary, sorted by name. An error means the
// binary was built with a broken entry; the tests catch that.
func Builtin() ([]Entry, error) {
	es, err := builtins()
	return slices.Clone(es), err
}

// loadTree opens every entry <family>/<dataset>/<tag>/manifest.json of fsys, sorted by
// name; where names fsys in messages.
func loadTree(fsys fs.FS, where string) ([]Entry, error) {
	manifests, err := fs.Glob(fsys, "*/*/*/"+manifestFile)
	if err != nil {
		return nil, fmt.Errorf("%s entries: %w", where, err)
	}
	var out []Entry
	for _, mf := range manifests {
		dir := path.Dir(mf)
		parts := strings.Split(dir, "/")
		n, err := ParseName(parts[0] + "/" + parts[1] + ":" + parts[2])
		if err != nil {
			return nil, fmt.Errorf("%s entry %s: %w", where, dir, err)
		}
		e, err := openFS(fsys, dir, where+":"+dir)
		if err != nil {
			return nil, err
		}
		if e.m.Name != n.String() {
			return nil, fmt.Errorf("%s entry %s: manifest names it %q", where, dir, e.m.Name)
		}
		out = append(out, e)
	}
	sortEntries(out)
	return out, nil
}

// Resolve finds the entry called n: in the store first, then among the built-in entries.
//
// A name with tag "latest" (as a name without a tag has) that no entry carries stands for
// the newest entry of that family and data set: the greatest tag in natural order, so v10
// comes after v9, the store's entry winning over a built-in one of the same tag.
func (s *Store) Resolve(n Name) (Entry, error) {
	builtin, err := Builtin()
	if err != nil {
		return nil, err
	}
	return resolve(s, builtin, n)
}

// resolve is Resolve with the built-in entries given.
func resolve(s *Store, builtin []Entry, n Name) (Entry, error) {
	e, err := s.Get(n)
	if !errors.Is(err, ErrNotFound) {
		return e, err
	}
	for _, b := range builtin {
		if b.Manifest().Name == n.String() {
			return b, nil
		}
	}
	if n.Tag != DefaultTag {
		return nil, fmt.Errorf("%s: %w", n, ErrNotFound)
	}
	local, err := s.List()
	if err != nil {
		return nil, err
	}
	best, err := newest(append(local, builtin...), n)
	if err != nil {
		return nil, err
	}
	if best == nil {
		return nil, fmt.Errorf("%s: %w", n, ErrNotFound)
	}
	return best, nil
}

// Autoencoders keeps the entries that are not classifiers: those the image endpoints serve
// and figures draw.
func Autoencoders(entries []Entry) []Entry {
	var out []Entry
	for _, e := range entries {
		if !e.Manifest().IsClassifier() {
			out = append(out, e)
		}
	}
	return out
}
