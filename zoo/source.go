package zoo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// EnvRegistry names the environment variable that gives the default source of pulls, in
// any form [ParseSource] takes.
const EnvRegistry = "LATENTZOO_REGISTRY"

// Source is a place entries are pulled from: the entries built into the binary, a folder,
// another latentzoo server, or an OCI registry. [ParseSource] opens one from its address.
type Source interface {
	// Fetch finds the entry called n and returns its validated manifest and a way to read
	// its files. A name whose tag is [DefaultTag] that no entry carries stands for the
	// newest entry of that family and data set, as in [Store.Resolve]. Errors for names
	// the source does not hold wrap [ErrNotFound].
	Fetch(ctx context.Context, n Name) (Remote, error)
	// String names the source in messages.
	String() string
}

// Remote is an entry as a source holds it.
type Remote interface {
	// Manifest returns the entry's manifest, already validated. Callers must not modify it.
	Manifest() *Manifest
	// Open returns the bytes of file f from offset on, for resuming an interrupted pull.
	// The bytes are not checked here: the caller checks them against f.
	Open(ctx context.Context, f File, offset int64) (io.ReadCloser, error)
}

// SourceOptions configures the sources that [ParseSource] and [ParseTarget] open.
type SourceOptions struct {
	// PlainHTTP talks to OCI registries over HTTP rather than HTTPS, for local registries.
	PlainHTTP bool
	// AllowRedirects follows HTTP redirects to hosts other than the source's own, logging
	// each. Without it they are refused with an error wrapping [ErrRedirect].
	AllowRedirects bool
	// Log receives warnings such as followed redirects; default slog.Default().
	Log *slog.Logger
}

func (o SourceOptions) log() *slog.Logger {
	if o.Log == nil {
		return slog.Default()
	}
	return o.Log
}

// ParseSource opens the source at addr:
//
//	builtin                   the entries built into the binary
//	dir:///path, /path, ./p   a folder: <family>/<dataset>/<tag>/manifest.json and files
//	                          (as push writes it), or one entry's folder (manifest.json at
//	                          its top, as export --out writes it)
//	http://host:port[/prefix] another latentzoo server, through its read-only /zoo/v1 API
//	oci://host[:port]/repo[:tag]
//	                          an OCI registry repository; an entry's tag selects the OCI
//	                          tag, unless the address names one
func ParseSource(addr string, opts SourceOptions) (Source, error) {
	scheme, rest, hasScheme := strings.Cut(addr, "://")
	switch {
	case addr == "":
		return nil, errors.New("source: empty address")
	case addr == "builtin":
		return builtinSource{}, nil
	case !hasScheme:
		return dirSource{dir: addr}, nil
	case scheme == "dir":
		if !strings.HasPrefix(rest, "/") {
			return nil, fmt.Errorf("source %q: want dir:///absolute/path", addr)
		}
		return dirSource{dir: rest}, nil
	case scheme == "http" || scheme == "https":
		return newHTTPSource(addr, opts)
	case scheme == "oci":
		return newOCISource(rest, opts)
	}
	return nil, fmt.Errorf("source %q: unknown scheme %q (want builtin, dir://, a path, http://, https:// or oci://)", addr, scheme)
}

// matches reports whether an entry called got may answer a request for want: the same
// name, or for a want with the tag [DefaultTag], any entry of the same family and data set.
func matches(want Name, got string) bool {
	g, err := ParseName(got)
	if err != nil {
		return false
	}
	return g == want || (want.Tag == DefaultTag && g.Family == want.Family && g.Dataset == want.Dataset)
}

// newest returns the entry of es called n, else, for a name with tag [DefaultTag], the
// entry of n's family and data set with the greatest tag in natural order (the first of
// equal tags), else nil.
func newest(es []Entry, n Name) (Entry, error) {
	var best Entry
	var bestTag string
	for _, e := range es {
		en, err := ParseName(e.Manifest().Name)
		if err != nil {
			return nil, err // an Entry from elsewhere may carry any name
		}
		if en == n {
			return e, nil
		}
		if n.Tag == DefaultTag && en.Family == n.Family && en.Dataset == n.Dataset && (best == nil || compareTags(en.Tag, bestTag) > 0) {
			best, bestTag = e, en.Tag
		}
	}
	return best, nil
}

// entryRemote serves an Entry, one whose files lie in a file system, as a Remote.
type entryRemote struct{ e Entry }

// Manifest returns the entry's manifest.
func (r entryRemote) Manifest() *Manifest { return r.e.Manifest() }

// Open opens the listed file f and skips to offset.
func (r entryRemote) Open(_ context.Context, f File, offset int64) (io.ReadCloser, error) {
	rc, _, err := OpenFile(r.e, f.Path)
	if err != nil {
		return nil, err
	}
	if _, err := rc.Seek(offset, io.SeekStart); err != nil {
		rc.Close()
		return nil, fmt.Errorf("entry %s: %s: %w", r.e.Manifest().Name, f.Path, err)
	}
	return rc, nil
}

// OpenFile opens a file that e's manifest lists, for streaming it, and returns its listing.
// The bytes are not checked against the manifest here: whoever receives them checks them,
// as [Store.Pull] does. Entries opened by this package (the store's, folders', the built-in
// ones) can be streamed; other implementations of Entry cannot.
func OpenFile(e Entry, path string) (io.ReadSeekCloser, File, error) {
	m := e.Manifest()
	i := slices.IndexFunc(m.Files, func(f File) bool { return f.Path == path })
	if i < 0 {
		return nil, File{}, fmt.Errorf("entry %s: file %q is not listed in the manifest: %w", m.Name, path, fs.ErrNotExist)
	}
	fe, ok := e.(*fsEntry)
	if !ok {
		return nil, File{}, fmt.Errorf("entry %s: a %T cannot be streamed", m.Name, e)
	}
	f, err := fe.files.Open(path)
	if err != nil {
		return nil, File{}, fmt.Errorf("entry %s: %w", m.Name, err)
	}
	rsc, ok := f.(io.ReadSeekCloser)
	if !ok {
		f.Close()
		return nil, File{}, fmt.Errorf("entry %s: %s cannot seek", m.Name, path)
	}
	return rsc, m.Files[i], nil
}

// builtinSource is the entries built into the binary.
type builtinSource struct{}

// String names the source: builtin.
func (builtinSource) String() string { return "builtin" }

// Fetch finds n among the built-in entries.
func (builtinSource) Fetch(_ context.Context, n Name) (Remote, error) {
	es, err := Builtin()
	if err != nil {
		return nil, err
	}
	e, err := newest(es, n)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return nil, fmt.Errorf("%s among the built-in entries: %w", n, ErrNotFound)
	}
	return entryRemote{e}, nil
}

// dirSource is a folder of entries, <family>/<dataset>/<tag>/, or one entry's folder.
type dirSource struct{ dir string }

// String names the source by its dir:// address.
func (s dirSource) String() string { return "dir://" + s.dir }

// Fetch opens n in the folder.
func (s dirSource) Fetch(_ context.Context, n Name) (Remote, error) {
	fi, err := os.Stat(s.dir)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", s, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("source %s: not a folder", s)
	}
	// One entry's folder.
	if _, err := os.Stat(filepath.Join(s.dir, manifestFile)); err == nil {
		e, err := OpenDir(s.dir)
		if err != nil {
			return nil, err
		}
		if !matches(n, e.Manifest().Name) {
			return nil, fmt.Errorf("source %s holds %s, not %s: %w", s, e.Manifest().Name, n, ErrNotFound)
		}
		return entryRemote{e}, nil
	}
	es, err := s.tags(n)
	if err != nil {
		return nil, err
	}
	e, err := newest(es, n)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return nil, fmt.Errorf("%s in %s: %w", n, s, ErrNotFound)
	}
	return entryRemote{e}, nil
}

// tags opens the entry called n in the folder, or, for a name with tag [DefaultTag] that
// has no folder, every entry of n's family and data set.
func (s dirSource) tags(n Name) ([]Entry, error) {
	base := filepath.Join(s.dir, n.Family, n.Dataset)
	tags := []string{n.Tag}
	if _, err := os.Stat(filepath.Join(base, n.Tag)); errors.Is(err, fs.ErrNotExist) && n.Tag == DefaultTag {
		des, err := os.ReadDir(base)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("source %s: %w", s, err)
		}
		tags = tags[:0]
		for _, d := range des {
			if d.IsDir() && component.MatchString(d.Name()) {
				tags = append(tags, d.Name())
			}
		}
	}
	var es []Entry
	for _, tag := range tags {
		dir := filepath.Join(base, tag)
		e, err := OpenDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if want := (Name{n.Family, n.Dataset, tag}).String(); e.Manifest().Name != want {
			return nil, fmt.Errorf("entry %s: manifest names it %q, want %q", dir, e.Manifest().Name, want)
		}
		es = append(es, e)
	}
	return es, nil
}

// readManifest parses and validates a manifest of at most maxManifestBytes from r; where
// names it in messages.
func readManifest(r io.Reader, where string) (*Manifest, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxManifestBytes+1))
	if err != nil {
		return nil, fmt.Errorf("manifest of %s: %w", where, err)
	}
	if len(b) > maxManifestBytes {
		return nil, fmt.Errorf("manifest of %s is over %d bytes", where, maxManifestBytes)
	}
	return parseManifest(b, where)
}

// parseManifest parses and validates the manifest b; where names it in messages.
func parseManifest(b []byte, where string) (*Manifest, error) {
	m := new(Manifest)
	if err := json.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("manifest of %s: %w", where, err)
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("manifest of %s: %w", where, err)
	}
	return m, nil
}
