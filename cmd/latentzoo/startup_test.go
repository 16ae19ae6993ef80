package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/latentzoo/latentzoo/api"
	"github.com/latentzoo/latentzoo/zoo"
)

// server is a latentzoo serve process started by a test.
type server struct {
	cmd    *exec.Cmd
	base   string
	stderr bytes.Buffer
}

// startServe runs this test binary as "latentzoo serve args..." on a free loopback port,
// with an empty $LATENTZOO_HOME, and returns it once /readyz answers 200, polling every
// poll. The process is killed when the test ends, if it has not exited before.
func startServe(tb testing.TB, poll time.Duration, args ...string) *server {
	tb.Helper()
	addr := freePort(tb)
	s := &server{base: "http://" + addr}
	s.cmd = exec.Command(os.Args[0], append([]string{"-test.run=^$", "-test.bench=^$", "--", "serve", "--addr", addr}, args...)...)
	s.cmd.Env = append(os.Environ(), envServe+"=1", "LATENTZOO_HOME="+tb.TempDir())
	s.cmd.Stderr = &s.stderr
	if err := s.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.cmd.Process.Kill(); s.cmd.Wait() })
	client := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(poll) {
		if resp, err := client.Get(s.base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
	}
	tb.Fatalf("server not ready in 30s:\n%s", s.stderr.String())
	return nil
}

// stop sends SIGTERM and waits for the process to exit.
func (s *server) stop(tb testing.TB) {
	tb.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			tb.Errorf("server exited with %v:\n%s", err, s.stderr.String())
		}
	case <-time.After(30 * time.Second):
		tb.Fatal("server did not exit after SIGTERM")
	}
}

// TestServeEveryBuiltin starts latentzoo serve as "make run" does, naming no model: it
// must serve every built-in autoencoder, the VAE as the default.
func TestServeEveryBuiltin(t *testing.T) {
	all, err := zoo.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, e := range zoo.Autoencoders(all) {
		want = append(want, e.Manifest().Name)
	}
	s := startServe(t, 20*time.Millisecond, "--log-level", "warn")
	resp, err := http.Get(s.base + "/models")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list api.ModelList
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatalf("GET /models: %v", err)
	}
	var got []string
	for _, m := range list.Models {
		got = append(got, m.Name)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("GET /models lists %v, want every built-in autoencoder %v", got, want)
	}
	if list.Default != defaultBuiltin {
		t.Errorf("default model %q, want %s", list.Default, defaultBuiltin)
	}
	s.stop(t)
}

// BenchmarkServeStartup measures start-up as a user meets it: from starting latentzoo
// serve with every built-in entry (no --model) to its /readyz answering 200, polled every
// millisecond. Each iteration is a new process; it is stopped outside the timing.
func BenchmarkServeStartup(b *testing.B) {
	for b.Loop() {
		s := startServe(b, time.Millisecond, "--log-level", "warn")
		b.StopTimer()
		s.stop(b)
		b.StartTimer()
	}
}
