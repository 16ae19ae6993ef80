package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// envServe makes the test binary run as latentzoo itself, with the arguments after "--".
const envServe = "LATENTZOO_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(envServe) == "1" {
		for i, a := range os.Args {
			if a == "--" {
				os.Args = append([]string{"latentzoo"}, os.Args[i+1:]...)
				break
			}
		}
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// freePort is a loopback port nothing listens on.
func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestDrainFailsNobody runs latentzoo serve as a real process, holds concurrent keep-alive
// clients on /sample across a SIGTERM, and counts: every request must be answered 200, with
// no reset and no cut answer. The clients behave as a load balancer does: they go on
// sending until /readyz turns 503, then send nothing new to this server.
func TestDrainFailsNobody(t *testing.T) {
	srv := startServe(t, 50*time.Millisecond, "--model", "vae/fashion-mnist:v1", "--drain", "1s", "--log-level", "warn")
	base := srv.base
	var ok, refused, failed, unready atomic.Int64
	var gone atomic.Bool // a /readyz read 503: the "balancer" sends no more
	var failures sync.Map
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}, Timeout: 10 * time.Second}
			for i := 0; !gone.Load(); i++ {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Post(base+"/sample", "application/json", strings.NewReader(fmt.Sprintf(`{"n": 1, "seed": %d}`, c*100000+i)))
				if err != nil {
					if errors.Is(err, syscall.ECONNREFUSED) {
						refused.Add(1)
						time.Sleep(5 * time.Millisecond)
						continue
					}
					failed.Add(1)
					failures.Store(err.Error(), true)
					continue
				}
				_, rerr := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || rerr != nil {
					failed.Add(1)
					failures.Store(fmt.Sprintf("status %d, body %v", resp.StatusCode, rerr), true)
					continue
				}
				ok.Add(1)
			}
		}()
	}
	// A reader of /readyz sees it turn 503 during the drain.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if resp, err := http.Get(base + "/readyz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusServiceUnavailable {
					unready.Add(1)
					gone.Store(true)
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	time.Sleep(time.Second)
	before := ok.Load()
	srv.stop(t)
	time.Sleep(200 * time.Millisecond) // clients now meet a closed port
	close(stop)
	wg.Wait()
	t.Logf("%d answered before SIGTERM, %d in all; %d refused; /readyz 503 seen %d times; %d failed",
		before, ok.Load(), refused.Load(), unready.Load(), failed.Load())
	if failed.Load() > 0 {
		var msgs []string
		failures.Range(func(k, _ any) bool { msgs = append(msgs, k.(string)); return true })
		t.Errorf("%d accepted requests failed: %v", failed.Load(), msgs)
	}
	if ok.Load() <= before {
		t.Error("no request was answered after SIGTERM")
	}
	if unready.Load() == 0 {
		t.Error("/readyz never answered 503 during the drain")
	}
	if refused.Load() > 0 {
		t.Errorf("%d connections refused while the server was to be draining", refused.Load())
	}
}
