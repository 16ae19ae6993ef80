package zoo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// bigFile is the path of the large file of the pull tests' entries.
const bigFile = "weights/big.bin"

// pullFiles returns the files of a pull test entry: the store tests' files and a large
// random one, so that transfers take many reads.
func pullFiles(tag string) map[string][]byte {
	files := testFiles(tag)
	big := make([]byte, 300_000)
	rng := rand.New(rand.NewPCG(uint64(len(tag)), 7))
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	files[bigFile] = big
	return files
}

// writeTestEntry writes an entry called name with pullFiles into s.
func writeTestEntry(t testing.TB, s *Store, name string) Entry {
	t.Helper()
	n, err := ParseName(name)
	if err != nil {
		t.Fatal(err)
	}
	e, err := s.Write(testManifest(n.String()), pullFiles(n.Tag))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// openStore opens a store in a new temporary folder.
func openStore(t testing.TB) *Store {
	t.Helper()
	s, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// quiet is the options of pulls whose log is not looked at.
var quiet = PullOptions{Log: slog.New(slog.DiscardHandler)}

// sameEntry checks that got holds want's manifest and files, byte for byte.
func sameEntry(t *testing.T, got, want Entry) {
	t.Helper()
	a, _ := json.Marshal(got.Manifest())
	b, _ := json.Marshal(want.Manifest())
	if !bytes.Equal(a, b) {
		t.Fatalf("manifest\n%s\nwant\n%s", a, b)
	}
	for _, f := range want.Manifest().Files {
		gb, err := got.ReadFile(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		wb, _ := want.ReadFile(f.Path)
		if !bytes.Equal(gb, wb) {
			t.Fatalf("%s differs", f.Path)
		}
	}
}

// lender serves the entries of a store through the API under HTTPPrefix as latentzoo
// serve does (serve/zoo.go), and misbehaves as a test asks.
type lender struct {
	store *Store
	mu    sync.Mutex
	// override maps a file's path to the bytes sent instead of the file's.
	override map[string][]byte
	// chunked sends overrides without a Content-Length.
	chunked bool
	// hangUp maps a file's path to the number of bytes after which its next GET hangs up.
	hangUp map[string]int64
	// redirect, if set, is a base URL that file requests are redirected to.
	redirect string
	// rename serves manifests under this name instead of their own.
	rename string
	// rawManifest, if set, is sent for every manifest.
	rawManifest []byte
	// requests logs each file request as "path range".
	requests []string
}

func newLender(s *Store) *lender {
	return &lender{store: s, override: map[string][]byte{}, hangUp: map[string]int64{}}
}

func (l *lender) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, HTTPPrefix+"/entries/")
	parts := strings.SplitN(rest, "/", 4)
	if !ok || len(parts) != 4 {
		http.NotFound(w, r)
		return
	}
	n, err := ParseName(parts[0] + "/" + parts[1] + ":" + parts[2])
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	e, err := l.store.Resolve(n)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	if parts[3] == manifestFile && l.rawManifest != nil {
		w.Write(l.rawManifest)
		return
	}
	if parts[3] == manifestFile {
		m := *e.Manifest()
		if l.rename != "" {
			m.Name = l.rename
		}
		json.NewEncoder(w).Encode(&m)
		return
	}
	path, ok := strings.CutPrefix(parts[3], "files/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	l.mu.Lock()
	l.requests = append(l.requests, path+" "+r.Header.Get("Range"))
	hangUp, cut := l.hangUp[path]
	delete(l.hangUp, path)
	override, replaced := l.override[path]
	l.mu.Unlock()
	if l.redirect != "" {
		http.Redirect(w, r, l.redirect+r.URL.Path, http.StatusFound)
		return
	}
	if replaced {
		if !l.chunked {
			w.Header().Set("Content-Length", fmt.Sprint(len(override)))
		}
		w.Write(override)
		return
	}
	f, _, err := OpenFile(e, path)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	defer f.Close()
	if cut {
		w = &hangUpWriter{ResponseWriter: w, left: hangUp}
	}
	http.ServeContent(w, r, "", time.Time{}, f)
}

// file requests returns the file requests so far.
func (l *lender) fileRequests() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.requests)
}

// hangUpWriter sends its first left bytes and then drops the connection, as a source that
// dies in the middle of a file.
type hangUpWriter struct {
	http.ResponseWriter
	left int64
}

func (h *hangUpWriter) Write(b []byte) (int, error) {
	if int64(len(b)) <= h.left {
		h.left -= int64(len(b))
		return h.ResponseWriter.Write(b)
	}
	h.ResponseWriter.Write(b[:h.left])
	h.ResponseWriter.(http.Flusher).Flush()
	panic(http.ErrAbortHandler)
}

// rawManifest returns the manifest of the test entry vae/fashion-mnist:v1, changed by
// change after it is complete, as a source that sends a bad one would.
func rawManifest(change func(m *Manifest)) []byte {
	m := testManifest("vae/fashion-mnist:v1")
	for p, b := range pullFiles("v1") {
		m.Files = append(m.Files, File{Path: p, Digest: DigestOf(b), Size: int64(len(b))})
	}
	slices.SortFunc(m.Files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	m.SchemaVersion = SchemaVersion
	change(m)
	b, _ := json.Marshal(m)
	return b
}

// lend serves l until t ends and returns its source.
func lend(t *testing.T, l *lender, opts SourceOptions) (Source, *httptest.Server) {
	t.Helper()
	ts := httptest.NewServer(l)
	t.Cleanup(ts.Close)
	src, err := ParseSource(ts.URL, opts)
	if err != nil {
		t.Fatal(err)
	}
	return src, ts
}

// noEntry checks that s holds no entry and no finished download, as after a failed pull.
func noEntry(t *testing.T, s *Store) {
	t.Helper()
	es, err := s.List()
	if err != nil || len(es) != 0 {
		t.Errorf("store holds %v (%v), want nothing", names(es), err)
	}
	if left := entries(t, filepath.Join(s.Dir(), "models")); len(left) != 0 {
		t.Errorf("models/ holds %q after a failed pull", left)
	}
	if tmp, _ := filepath.Glob(filepath.Join(s.Dir(), downloadsDir, "*.tmp")); len(tmp) != 0 {
		t.Errorf("temporary folders left: %q", tmp)
	}
}

func TestPullFromFolder(t *testing.T) {
	src := openStore(t)
	writeTestEntry(t, src, "vae/fashion-mnist:v1")
	writeTestEntry(t, src, "vae/fashion-mnist:v2")
	writeTestEntry(t, src, "vae/fashion-mnist:v10")
	folder := t.TempDir()
	target, err := ParseTarget(folder, SourceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"vae/fashion-mnist:v1", "vae/fashion-mnist:v2", "vae/fashion-mnist:v10"} {
		n, _ := ParseName(name)
		e, _ := src.Get(n)
		where, err := target.Push(context.Background(), e, nil)
		if err != nil {
			t.Fatal(err)
		}
		if wantDir := filepath.Join(folder, "vae", "fashion-mnist", n.Tag); where != wantDir {
			t.Errorf("pushed to %s, want %s", where, wantDir)
		}
	}
	single := filepath.Join(t.TempDir(), "export-out")
	if err := WriteEntry(single, testManifest("vae/fashion-mnist:v1"), pullFiles("v1")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, source, ask, got string
	}{
		{"folder of entries", folder, "vae/fashion-mnist:v1", "vae/fashion-mnist:v1"},
		{"dir URL", "dir://" + folder, "vae/fashion-mnist:v1", "vae/fashion-mnist:v1"},
		{"newest tag", folder, "vae/fashion-mnist", "vae/fashion-mnist:v10"},
		{"one entry's folder", single, "vae/fashion-mnist:v1", "vae/fashion-mnist:v1"},
		{"one entry's folder, no tag", single, "vae/fashion-mnist", "vae/fashion-mnist:v1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := openStore(t)
			s, err := ParseSource(tc.source, SourceOptions{})
			if err != nil {
				t.Fatal(err)
			}
			n, _ := ParseName(tc.ask)
			var seen []FileProgress
			opts := quiet
			opts.Progress = func(p FileProgress) { seen = append(seen, p) }
			res, err := dst.Pull(context.Background(), s, n, opts)
			if err != nil {
				t.Fatal(err)
			}
			if res.UpToDate || res.Entry.Manifest().Name != tc.got {
				t.Fatalf("pulled %s (up to date: %v), want %s pulled", res.Entry.Manifest().Name, res.UpToDate, tc.got)
			}
			gn, _ := ParseName(tc.got)
			we, _ := src.Get(gn)
			sameEntry(t, res.Entry, we)
			finished := map[string]bool{}
			for _, p := range seen {
				if p.Finished {
					finished[p.Path] = p.Done == p.Size
				}
			}
			if len(finished) != len(we.Manifest().Files) {
				t.Errorf("progress finished %v, want every file", finished)
			}
			again, err := dst.Pull(context.Background(), s, n, quiet)
			if err != nil || !again.UpToDate || again.Downloaded != 0 {
				t.Errorf("second pull: up to date %v, %d bytes, %v; want a no-op", again.UpToDate, again.Downloaded, err)
			}
			if dl, _ := os.ReadDir(filepath.Join(dst.Dir(), downloadsDir)); slices.ContainsFunc(dl, func(d fs.DirEntry) bool { return !strings.HasSuffix(d.Name(), ".lock") }) {
				t.Errorf("downloads left after the pull: %v", dl)
			}
		})
	}
	t.Run("missing", func(t *testing.T) {
		s, _ := ParseSource(folder, SourceOptions{})
		_, err := openStore(t).Pull(context.Background(), s, Name{"vae", "mnist", "v1"}, quiet)
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("pull of a missing entry: %v, want ErrNotFound", err)
		}
	})
	t.Run("builtin", func(t *testing.T) {
		s, _ := ParseSource("builtin", SourceOptions{})
		_, err := openStore(t).Pull(context.Background(), s, Name{"vae", "no-such-set", "v1"}, quiet)
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("pull of a missing built-in entry: %v, want ErrNotFound", err)
		}
	})
}

func TestPullReplacesChangedEntry(t *testing.T) {
	src := openStore(t)
	writeTestEntry(t, src, "vae/fashion-mnist:v1")
	dst := openStore(t)
	s, _ := ParseSource("dir://"+filepath.Join(src.Dir(), "models"), SourceOptions{})
	n := Name{"vae", "fashion-mnist", "v1"}
	if _, err := dst.Pull(context.Background(), s, n, quiet); err != nil {
		t.Fatal(err)
	}
	// The source's entry changes under the same name: the next pull brings the change.
	m := testManifest(n.String())
	files := pullFiles("v1")
	files["README.md"] = []byte("# a new model card\n")
	changed, err := src.Write(m, files)
	if err != nil {
		t.Fatal(err)
	}
	res, err := dst.Pull(context.Background(), s, n, quiet)
	if err != nil || res.UpToDate {
		t.Fatalf("pull of a changed entry: up to date %v, %v", res.UpToDate, err)
	}
	if res.Downloaded != int64(len(files["README.md"])) {
		t.Errorf("received %d bytes, want only the changed file's %d", res.Downloaded, len(files["README.md"]))
	}
	sameEntry(t, res.Entry, changed)
}

func TestPullSharesFilesAcrossEntries(t *testing.T) {
	src := openStore(t)
	writeTestEntry(t, src, "vae/fashion-mnist:v1")
	// Another entry with the same files.
	other, err := src.Write(testManifest("vae/mnist:v1"), pullFiles("v1"))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := lend(t, newLender(src), SourceOptions{})
	dst := openStore(t)
	if _, err := dst.Pull(context.Background(), s, Name{"vae", "fashion-mnist", "v1"}, quiet); err != nil {
		t.Fatal(err)
	}
	res, err := dst.Pull(context.Background(), s, Name{"vae", "mnist", "v1"}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	sameEntry(t, res.Entry, other)
	if res.Downloaded != 0 {
		t.Errorf("received %d bytes for an entry whose files the store holds", res.Downloaded)
	}
	a, _ := os.Stat(filepath.Join(dst.path(Name{"vae", "fashion-mnist", "v1"}), filepath.FromSlash(bigFile)))
	b, _ := os.Stat(filepath.Join(dst.path(Name{"vae", "mnist", "v1"}), filepath.FromSlash(bigFile)))
	if !os.SameFile(a, b) {
		t.Error("the shared file is stored twice")
	}
	// Removing one entry leaves the other whole.
	if err := dst.Remove(Name{"vae", "fashion-mnist", "v1"}); err != nil {
		t.Fatal(err)
	}
	e, err := dst.Get(Name{"vae", "mnist", "v1"})
	if err != nil {
		t.Fatal(err)
	}
	sameEntry(t, e, other)
}

func TestPullHTTP(t *testing.T) {
	src := openStore(t)
	want := writeTestEntry(t, src, "vae/fashion-mnist:v1")
	n := Name{"vae", "fashion-mnist", "v1"}
	big := pullFiles("v1")[bigFile]
	flipped := bytes.Clone(big)
	flipped[1000] ^= 1
	for _, tc := range []struct {
		name   string
		setup  func(l *lender)
		is     error  // what the error wraps
		saying string // what the error says
	}{
		{"tampered", func(l *lender) { l.override[bigFile] = flipped }, ErrIntegrity, "digest"},
		{"oversized, announced", func(l *lender) { l.override[bigFile] = append(bytes.Clone(big), 1) }, ErrIntegrity, "announced"},
		{"oversized, chunked", func(l *lender) { l.override[bigFile] = append(bytes.Clone(big), 1); l.chunked = true }, ErrIntegrity, "more than"},
		{"truncated", func(l *lender) { l.override[bigFile] = big[:len(big)-10] }, nil, "interrupted after"},
		{"renamed entry", func(l *lender) { l.rename = "vae/mnist:v1" }, nil, "answered with entry"},
		{"path outside the entry", func(l *lender) {
			l.rawManifest = rawManifest(func(m *Manifest) {
				m.Graphs["encoder"] = "../../../../evil.onnx"
				m.Files[0].Path = "../../../../evil.onnx"
			})
		}, nil, "file path"},
		{"digest in capitals", func(l *lender) {
			l.rawManifest = rawManifest(func(m *Manifest) { m.Files[0].Digest = strings.ToUpper(m.Files[0].Digest) })
		}, nil, "want sha256:<64 lowercase hex digits>"},
		{"negative size", func(l *lender) {
			l.rawManifest = rawManifest(func(m *Manifest) { m.Files[0].Size = -1 })
		}, nil, "negative size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLender(src)
			tc.setup(l)
			s, _ := lend(t, l, SourceOptions{})
			dst := openStore(t)
			_, err := dst.Pull(context.Background(), s, n, quiet)
			if err == nil || (tc.is != nil && !errors.Is(err, tc.is)) || !strings.Contains(err.Error(), tc.saying) {
				t.Fatalf("pull: %v; want an error wrapping %v saying %q", err, tc.is, tc.saying)
			}
			noEntry(t, dst)
			if _, err := os.Stat(filepath.Join(dst.Dir(), "..", "evil.onnx")); err == nil {
				t.Error("a file was written outside the store")
			}
			if tc.is == ErrIntegrity {
				partial := dst.downloadPath(File{Digest: DigestOf(big)})
				for _, p := range []string{partial, partial + ".partial"} {
					if _, err := os.Stat(p); err == nil {
						t.Errorf("%s kept after a refused file", p)
					}
				}
			}
			// The source mended, the same store pulls the entry.
			l2 := newLender(src)
			s2, _ := lend(t, l2, SourceOptions{})
			res, err := dst.Pull(context.Background(), s2, n, quiet)
			if err != nil {
				t.Fatal(err)
			}
			sameEntry(t, res.Entry, want)
		})
	}
}

func TestPullResumes(t *testing.T) {
	src := openStore(t)
	want := writeTestEntry(t, src, "vae/fashion-mnist:v1")
	n := Name{"vae", "fashion-mnist", "v1"}
	const cut = 100_000
	l := newLender(src)
	l.hangUp[bigFile] = cut
	s, _ := lend(t, l, SourceOptions{})
	dst := openStore(t)
	res, err := dst.Pull(context.Background(), s, n, quiet)
	if err == nil || errors.Is(err, ErrIntegrity) || !strings.Contains(err.Error(), "pull again to resume") {
		t.Fatalf("pull from a source that hangs up: %v; want an interruption", err)
	}
	noEntry(t, dst)
	partial := dst.downloadPath(File{Digest: DigestOf(pullFiles("v1")[bigFile])}) + ".partial"
	fi, err := os.Stat(partial)
	if err != nil || fi.Size() != cut {
		t.Fatalf("partial download: %v, %v; want %d bytes kept", fi, err, cut)
	}
	first := res.Downloaded

	var resumed []FileProgress
	opts := quiet
	opts.Progress = func(p FileProgress) {
		if p.Path == bigFile {
			resumed = append(resumed, p)
		}
	}
	res, err = dst.Pull(context.Background(), s, n, opts)
	if err != nil {
		t.Fatal(err)
	}
	sameEntry(t, res.Entry, want)
	reqs := l.fileRequests()
	if last := reqs[len(reqs)-1]; !slices.Contains(reqs, fmt.Sprintf("%s bytes=%d-", bigFile, cut)) {
		t.Errorf("file requests %q, want the big file asked for from byte %d (last: %s)", reqs, cut, last)
	}
	if len(resumed) == 0 || resumed[0].Resumed != cut {
		t.Errorf("progress of the resumed file starts at %+v, want %d bytes resumed", resumed[:1], cut)
	}
	var total int64
	for _, f := range want.Manifest().Files {
		total += f.Size
	}
	if first+res.Downloaded != total {
		t.Errorf("received %d + %d bytes, want %d in all: nothing twice", first, res.Downloaded, total)
	}
	if _, err := os.Stat(partial); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("partial download left after the pull: %v", err)
	}
}

func TestPullDiscardsCorruptPartial(t *testing.T) {
	src := openStore(t)
	want := writeTestEntry(t, src, "vae/fashion-mnist:v1")
	dst := openStore(t)
	big := pullFiles("v1")[bigFile]
	os.MkdirAll(filepath.Join(dst.Dir(), downloadsDir), 0o755)
	// A partial download of the right length whose bytes are wrong cannot be resumed.
	bad := bytes.Clone(big)
	bad[0] ^= 1
	os.WriteFile(dst.downloadPath(File{Digest: DigestOf(big)})+".partial", bad, 0o644)
	s, _ := lend(t, newLender(src), SourceOptions{})
	res, err := dst.Pull(context.Background(), s, Name{"vae", "fashion-mnist", "v1"}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	sameEntry(t, res.Entry, want)
}

func TestPullRedirects(t *testing.T) {
	src := openStore(t)
	want := writeTestEntry(t, src, "vae/fashion-mnist:v1")
	n := Name{"vae", "fashion-mnist", "v1"}
	other := httptest.NewServer(newLender(src)) // another host: another port
	defer other.Close()
	for _, tc := range []struct {
		name  string
		allow bool
	}{{"refused", false}, {"allowed", true}} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLender(src)
			l.redirect = other.URL
			var logged bytes.Buffer
			s, _ := lend(t, l, SourceOptions{AllowRedirects: tc.allow, Log: slog.New(slog.NewTextHandler(&logged, nil))})
			dst := openStore(t)
			res, err := dst.Pull(context.Background(), s, n, quiet)
			if !tc.allow {
				if !errors.Is(err, ErrRedirect) || !strings.Contains(err.Error(), strings.TrimPrefix(other.URL, "http://")) {
					t.Fatalf("pull through a redirect to another host: %v; want ErrRedirect naming the host", err)
				}
				noEntry(t, dst)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sameEntry(t, res.Entry, want)
			if !strings.Contains(logged.String(), "redirect to another host") {
				t.Errorf("followed redirects not logged: %q", logged.String())
			}
		})
	}
}

func TestConcurrentPulls(t *testing.T) {
	src := openStore(t)
	want := writeTestEntry(t, src, "vae/fashion-mnist:v1")
	n := Name{"vae", "fashion-mnist", "v1"}
	l := newLender(src)
	s, _ := lend(t, l, SourceOptions{})
	dst := openStore(t)
	const pulls = 4
	results := make([]PullResult, pulls)
	errs := make([]error, pulls)
	var wg sync.WaitGroup
	for i := range pulls {
		wg.Go(func() {
			// Each pull opens the store anew, as separate processes would.
			st, err := OpenStore(dst.Dir())
			if err != nil {
				errs[i] = err
				return
			}
			results[i], errs[i] = st.Pull(context.Background(), s, n, quiet)
		})
	}
	wg.Wait()
	fresh := 0
	for i := range pulls {
		if errs[i] != nil {
			t.Fatalf("pull %d: %v", i, errs[i])
		}
		sameEntry(t, results[i].Entry, want)
		if !results[i].UpToDate {
			fresh++
		}
	}
	if fresh != 1 {
		t.Errorf("%d pulls fetched the entry, want 1 (the others wait and find it there)", fresh)
	}
	if got := len(l.fileRequests()); got != len(want.Manifest().Files) {
		t.Errorf("%d file requests, want each of the %d files once", got, len(want.Manifest().Files))
	}
}

func TestConcurrentPullsShareFiles(t *testing.T) {
	// Two entries with the same big file, pulled at once: each gets it whole.
	src := openStore(t)
	a := writeTestEntry(t, src, "vae/fashion-mnist:v1")
	m := testManifest("vae/mnist:v1")
	b, err := src.Write(m, pullFiles("v1"))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := lend(t, newLender(src), SourceOptions{})
	dst := openStore(t)
	var wg sync.WaitGroup
	for _, e := range []Entry{a, b} {
		for range 2 {
			wg.Go(func() {
				n, _ := ParseName(e.Manifest().Name)
				res, err := dst.Pull(context.Background(), s, n, quiet)
				if err != nil {
					t.Error(err)
					return
				}
				sameEntry(t, res.Entry, e)
			})
		}
	}
	wg.Wait()
}

func TestLockWaitsForContext(t *testing.T) {
	name := filepath.Join(t.TempDir(), "x.lock")
	log := slog.New(slog.DiscardHandler)
	unlock, err := lockFile(context.Background(), name, "test", log)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := lockFile(ctx, name, "test", log); !errors.Is(err, context.Canceled) {
		t.Errorf("second lock: %v, want it to wait until the context ends", err)
	}
}

// TestPullEveryBuiltin pulls each entry built into the binary from the builtin source, as
// latentzoo pull FAMILY/DATASET:TAG does, into an empty store: every file arrives and
// verifies, and the stored entry is the built-in one.
func TestPullEveryBuiltin(t *testing.T) {
	entries, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseSource("builtin", SourceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dst := openStore(t)
	for _, e := range entries {
		name := e.Manifest().Name
		t.Run(name, func(t *testing.T) {
			n, err := ParseName(name)
			if err != nil {
				t.Fatal(err)
			}
			res, err := dst.Pull(context.Background(), s, n, quiet)
			if err != nil {
				t.Fatal(err)
			}
			if res.UpToDate {
				t.Errorf("pulled %s into an empty store, and it was up to date", name)
			}
			got, err := dst.Get(n)
			if err != nil {
				t.Fatal(err)
			}
			sameEntry(t, got, e)
		})
	}
}
