package zoo

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
)

// Target is a place entries are pushed to: a folder or an OCI registry repository.
// [ParseTarget] opens one from its address.
type Target interface {
	// Push publishes entry e, reading each file through e so that it is checked against
	// e's manifest, and returns where it went. progress, when not nil, hears of each file.
	Push(ctx context.Context, e Entry, progress func(FileProgress)) (string, error)
	// String names the target in messages.
	String() string
}

// ParseTarget opens the target at addr:
//
//	dir:///path, /path, ./p         a folder; the entry goes to <family>/<dataset>/<tag>/
//	                                in it, where a folder source finds it
//	oci://host[:port]/repo[:tag]    an OCI registry repository; the tag defaults to the
//	                                entry's
func ParseTarget(addr string, opts SourceOptions) (Target, error) {
	scheme, rest, hasScheme := strings.Cut(addr, "://")
	switch {
	case addr == "":
		return nil, fmt.Errorf("target: empty address")
	case !hasScheme:
		return dirTarget{dir: addr}, nil
	case scheme == "dir":
		if !strings.HasPrefix(rest, "/") {
			return nil, fmt.Errorf("target %q: want dir:///absolute/path", addr)
		}
		return dirTarget{dir: rest}, nil
	case scheme == "oci":
		ref, err := parseOCIReference(rest)
		if err != nil {
			return nil, err
		}
		repo, err := ociRepository(ref, opts)
		if err != nil {
			return nil, fmt.Errorf("target %s: %w", addr, err)
		}
		return &ociTarget{ref: ref, repo: repo}, nil
	case scheme == "http" || scheme == "https":
		return nil, fmt.Errorf("target %q: a latentzoo server lends its entries read-only; push to a folder or an OCI registry, and pull from there", addr)
	}
	return nil, fmt.Errorf("target %q: unknown scheme %q (want dir://, a path or oci://)", addr, scheme)
}

// dirTarget is a folder of entries.
type dirTarget struct{ dir string }

// String names the target by its dir:// address.
func (t dirTarget) String() string { return "dir://" + t.dir }

// Push writes the entry to <dir>/<family>/<dataset>/<tag>/ with [WriteEntry], replacing
// an entry of the same name.
func (t dirTarget) Push(_ context.Context, e Entry, progress func(FileProgress)) (string, error) {
	m := *e.Manifest()
	n, err := ParseName(m.Name)
	if err != nil {
		return "", err
	}
	files := make(map[string][]byte, len(m.Files))
	for _, f := range m.Files {
		b, err := e.ReadFile(f.Path)
		if err != nil {
			return "", fmt.Errorf("push %s: %w", m.Name, err)
		}
		files[f.Path] = b
	}
	dir := filepath.Join(t.dir, n.Family, n.Dataset, n.Tag)
	if err := WriteEntry(dir, &m, files); err != nil {
		return "", fmt.Errorf("push %s: %w", m.Name, err)
	}
	if progress != nil {
		for _, f := range m.Files {
			progress(FileProgress{Entry: m.Name, Path: f.Path, Size: f.Size, Done: f.Size, Finished: true})
		}
	}
	return dir, nil
}
