package main

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latentzoo/latentzoo/serve"
	"github.com/latentzoo/latentzoo/zoo"
)

// stallAfter is how many bytes of a file the stalling lender sends before it stops.
const stallAfter = 100_000

// stallWriter passes the first stallAfter bytes of an answer on, then tells hit and
// blocks until the client goes.
type stallWriter struct {
	http.ResponseWriter
	r    *http.Request
	sent int
	hit  func()
}

func (w *stallWriter) Write(b []byte) (int, error) {
	if room := stallAfter - w.sent; len(b) > room {
		n, err := w.ResponseWriter.Write(b[:max(room, 0)])
		w.sent += n
		w.ResponseWriter.(http.Flusher).Flush()
		w.hit()
		<-w.r.Context().Done()
		return n, err
	}
	n, err := w.ResponseWriter.Write(b)
	w.sent += n
	return n, err
}

// TestPullSurvivesSIGKILL pulls an entry from a latentzoo server in a real process that is
// killed with SIGKILL while a file is half received; a second pull resumes it, and the
// entry ends byte-identical to the source's.
func TestPullSurvivesSIGKILL(t *testing.T) {
	srcHome, dstHome := t.TempDir(), t.TempDir()
	writeEntry(t, srcHome)
	store, err := zoo.OpenStore(srcHome)
	if err != nil {
		t.Fatal(err)
	}
	builtin, err := zoo.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := serve.New(serve.Config{Store: store, Logger: slog.New(slog.DiscardHandler)}, zoo.Autoencoders(builtin)[0])
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var stalling, ranged atomic.Bool
	stalling.Store(true)
	hit := make(chan struct{})
	var once sync.Once
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if stalling.Load() && strings.Contains(r.URL.Path, "/files/") && strings.HasSuffix(r.URL.Path, ".onnx") {
			w = &stallWriter{ResponseWriter: w, r: r, hit: func() { once.Do(func() { close(hit) }) }}
		}
		if !stalling.Load() && strings.HasPrefix(r.Header.Get("Range"), "bytes=") {
			ranged.Store(true)
		}
		srv.Handler().ServeHTTP(w, r)
	}))
	defer ts.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^$", "--", "pull", "--quiet", "--from", ts.URL, entryName)
	cmd.Env = append(os.Environ(), envServe+"=1", "LATENTZOO_HOME="+dstHome, zoo.EnvRegistry+"=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-hit:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("the pull never reached the stall:\n%s", stderr.String())
	}
	time.Sleep(200 * time.Millisecond) // the received bytes reach the partial file
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	partials, _ := filepath.Glob(filepath.Join(dstHome, "downloads", "*.partial"))
	if len(partials) != 1 {
		t.Fatalf("after SIGKILL: partial downloads %v, want one", partials)
	}
	if fi, err := os.Stat(partials[0]); err != nil || fi.Size() == 0 || fi.Size() > stallAfter {
		t.Fatalf("partial download %v: %v bytes, want some of the first %d", err, fi.Size(), stallAfter)
	}

	stalling.Store(false)
	if out, err := run(t, dstHome, runPull, "--quiet", "--from", ts.URL, entryName); err != nil {
		t.Fatalf("second pull: %v\n%s", err, out)
	}
	n, _ := zoo.ParseName(entryName)
	dst, err := zoo.OpenStore(dstHome)
	if err != nil {
		t.Fatal(err)
	}
	got, err := dst.Get(n)
	if err != nil {
		t.Fatal(err)
	}
	want, err := store.Get(n)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range want.Manifest().Files {
		a, errA := want.ReadFile(f.Path)
		b, errB := got.ReadFile(f.Path)
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			t.Errorf("%s: not byte-identical after the resumed pull (%v, %v)", f.Path, errA, errB)
		}
	}
	if !ranged.Load() {
		t.Error("the second pull fetched the file whole instead of resuming it with a Range request")
	}
	if left, _ := filepath.Glob(filepath.Join(dstHome, "downloads", "*.partial")); len(left) != 0 {
		t.Errorf("partial downloads left: %v", left)
	}
}
