package autoencoder

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latentzoo/latentzoo/errkind"
	"github.com/latentzoo/latentzoo/infer"
)

// openBatched opens the built-in VAE with batching.
func openBatched(t *testing.T, b Batching, observe func(string, int, time.Duration)) *Model {
	t.Helper()
	return openBuiltinWith(t, "vae", Options{Runtime: infer.Options{IntraOpThreads: 1}, Batching: b, Observe: observe})
}

// TestBatchingGivesTheSameAnswers sends concurrent reconstructions and decodings of
// different sizes through a batched model and requires each answer to equal the unbatched
// model's to 1e-6, and some runs to have gathered several calls.
func TestBatchingGivesTheSameAnswers(t *testing.T) {
	plain := openBuiltin(t, "vae")
	var runs, gathered atomic.Int64
	for _, delay := range []time.Duration{0, 2 * time.Millisecond} {
		t.Run(fmt.Sprintf("delay=%s", delay), func(t *testing.T) {
			batched := openBatched(t, Batching{MaxBatch: 16, MaxDelay: delay}, func(_ string, batch int, _ time.Duration) {
				runs.Add(1)
				if batch > 3 {
					gathered.Add(1)
				}
			})
			size := plain.ImageSize()
			var wg sync.WaitGroup
			for k := range 48 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rng := rand.New(rand.NewPCG(uint64(k), 1))
					n := 1 + k%3 // 1 to 3 images, so calls of several sizes share runs
					x := make([]float32, n*size)
					for i := range x {
						x[i] = rng.Float32()
					}
					want, wantZ, err := plain.Reconstruct("", x, n)
					if err != nil {
						t.Error(err)
						return
					}
					got, gotZ, err := batched.Reconstruct("", x, n)
					if err != nil {
						t.Error(err)
						return
					}
					if d := maxDiff(t, got, want); d > 1e-6 {
						t.Errorf("call %d: batched reconstruction differs by %g", k, d)
					}
					for i := range wantZ {
						if d := maxDiff(t, gotZ[i], wantZ[i]); d > 1e-6 {
							t.Errorf("call %d: batched latent %d differs by %g", k, i, d)
						}
					}
				}()
			}
			wg.Wait()
		})
	}
	t.Logf("%d runs, %d of more than 3 examples", runs.Load(), gathered.Load())
	if gathered.Load() == 0 {
		t.Error("no run gathered more than one call's examples")
	}
}

// TestBatcherQueueFull fills a graph's queue while its run loop is held and requires the
// next call to be refused at once as unavailable.
func TestBatcherQueueFull(t *testing.T) {
	b := &batcher{g: &graph{role: "decoder"}, cfg: Batching{MaxBatch: 4, MaxQueue: 1},
		queue: make(chan *call, 1), stopped: make(chan struct{})}
	b.queue <- &call{n: 1, done: make(chan result, 1)} // no loop runs: the queue stays full
	_, err := b.run(1, make([]float32, 4))
	if !errors.Is(err, ErrQueueFull) || errkind.Of(err) != errkind.Unavailable {
		t.Fatalf("run on a full queue: %v, want ErrQueueFull, of kind unavailable", err)
	}
	close(b.stopped)
	b.close()
	if _, err := b.run(1, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("run after close: %v, want ErrClosed", err)
	}
}

// TestBatchingLargeCallRunsAlone requires a call of more examples than MaxBatch to run,
// alone.
func TestBatchingLargeCallRunsAlone(t *testing.T) {
	var biggest atomic.Int64
	m := openBatched(t, Batching{MaxBatch: 4}, func(_ string, batch int, _ time.Duration) {
		if int64(batch) > biggest.Load() {
			biggest.Store(int64(batch))
		}
	})
	out, _, err := m.Sample("", 10, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 10*m.ImageSize() || biggest.Load() != 10 {
		t.Errorf("%d values, largest run %d; want 10 images in one run of 10", len(out), biggest.Load())
	}
}
