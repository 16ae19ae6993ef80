// Package registrytest starts a real OCI registry for tests: the CNCF distribution
// registry as Debian's docker-registry package installs it (scripts/deps.sh installs it
// for CI), on a free loopback port, with its storage in a temporary folder.
package registrytest

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Binary is the registry's command; $PATH is searched first.
const Binary = "/usr/bin/docker-registry"

// Registry is a registry that a test started.
type Registry struct {
	// Addr is the registry's host:port, for oci://Addr/repo references with plain HTTP.
	Addr string
	// Storage is the folder the registry keeps its blobs and manifests in, for tests that
	// tamper with them.
	Storage string
}

// Start starts a registry that t's cleanup stops. Without the registry's binary, t fails
// in CI (where $CI is set) and is skipped elsewhere, saying why.
func Start(t testing.TB) *Registry {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		bin = Binary
	}
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the OCI registry %s is missing (scripts/deps.sh installs the docker-registry package): %v", bin, err)
		}
		t.Skipf("SKIP: no OCI registry to test against: %s is missing; install Debian's docker-registry package (make deps)", bin)
	}
	dir := t.TempDir()
	addr, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	r := &Registry{Addr: addr, Storage: filepath.Join(dir, "storage")}
	config := fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
  secret: latentzoo-test
`, r.Storage, addr)
	cfg := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", cfg)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			log := out.String()
			t.Logf("registry output (the end):\n%s", log[max(0, len(log)-3000):])
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return r
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("registry exited: %v\n%s", err, out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("registry on %s not ready after 15s: %v\n%s", addr, err, out.String())
		}
	}
}

// freeAddr returns a loopback address with a port free at the time of asking.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// syncBuffer is a bytes.Buffer that the registry's two output streams share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written.
func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
