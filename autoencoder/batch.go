package autoencoder

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/latentzoo/latentzoo/errkind"
	"github.com/latentzoo/latentzoo/infer"
)

// Batching configures dynamic batching: concurrent runs of one graph are gathered into
// one ONNX Runtime run, as Triton's dynamic batcher does, and its outputs split back to
// them. The zero value turns it off: every call runs the graph alone.
type Batching struct {
	// MaxBatch is the most examples one run gathers (Triton's max_batch_size); a call with
	// more runs alone. 0 or 1 turns batching off.
	MaxBatch int
	// MaxDelay is how long a run waits, once it has its first call, for more calls to
	// gather (Triton's max_queue_delay_microseconds). At 0 a run takes the calls already
	// waiting and starts at once, so a lone call never waits, and under load the calls
	// that arrive while one run works are gathered into the next.
	MaxDelay time.Duration
	// MaxQueue bounds the calls waiting for a graph; one more is refused with an
	// errkind.Unavailable error. 0 means 16 × MaxBatch.
	MaxQueue int
	// ObserveQueue, when set, hears each call's time between arriving and its run starting.
	ObserveQueue func(role string, d time.Duration)
}

// ErrQueueFull is the error of a call that finds its graph's queue full; its kind is
// errkind.Unavailable.
var ErrQueueFull = errkind.New(errkind.Unavailable, "the server is at capacity: the inference queue is full, try again")

// ErrClosed is the error of a call to a model that is closing.
var ErrClosed = errors.New("autoencoder: model is closed")

// call is one caller's run of a graph: n examples of its one input.
type call struct {
	n       int
	data    []float32
	arrived time.Time
	done    chan result
}

// result is a call's share of a run: each output's values for its examples.
type result struct {
	outs map[string][]float32
	err  error
}

// batcher runs one graph for concurrent callers, gathering their calls.
type batcher struct {
	g       *graph
	input   string
	inShape []int64 // per example, after the batch dimension
	cfg     Batching
	observe func(role string, batch int, d time.Duration)
	queue   chan *call
	mu      sync.RWMutex // guards closed against sends on queue
	closed  bool
	stopped chan struct{}
}

func newBatcher(g *graph, input string, inShape []int64, cfg Batching, observe func(string, int, time.Duration)) *batcher {
	if cfg.MaxQueue <= 0 {
		cfg.MaxQueue = 16 * cfg.MaxBatch
	}
	b := &batcher{g: g, input: input, inShape: inShape, cfg: cfg, observe: observe,
		queue: make(chan *call, cfg.MaxQueue), stopped: make(chan struct{})}
	go b.loop()
	return b
}

// run runs the graph on n examples through the queue and returns its outputs for them.
func (b *batcher) run(n int, data []float32) (map[string][]float32, error) {
	c := &call{n: n, data: data, arrived: time.Now(), done: make(chan result, 1)}
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return nil, ErrClosed
	}
	select {
	case b.queue <- c:
	default:
		b.mu.RUnlock()
		return nil, ErrQueueFull
	}
	b.mu.RUnlock()
	r := <-c.done
	return r.outs, r.err
}

// close stops taking calls, lets the queued ones finish and waits for the loop to end.
func (b *batcher) close() {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.queue)
	}
	b.mu.Unlock()
	<-b.stopped
}

// loop gathers calls into runs until the queue is closed and empty.
func (b *batcher) loop() {
	defer close(b.stopped)
	var pending *call // a call taken from the queue that did not fit the last run
	for {
		first := pending
		pending = nil
		if first == nil {
			c, ok := <-b.queue
			if !ok {
				return
			}
			first = c
		}
		batch, size := []*call{first}, first.n
		if b.cfg.MaxDelay == 0 {
			b.yieldToCallers(size)
		}
		var timeout <-chan time.Time
		var timer *time.Timer
		if b.cfg.MaxDelay > 0 {
			timer = time.NewTimer(b.cfg.MaxDelay)
			timeout = timer.C
		}
	gather:
		for size < b.cfg.MaxBatch {
			var c *call
			var ok bool
			if timeout == nil {
				select {
				case c, ok = <-b.queue:
				default:
					break gather
				}
			} else {
				select {
				case c, ok = <-b.queue:
				case <-timeout:
					break gather
				}
			}
			if !ok {
				break
			}
			if size+c.n > b.cfg.MaxBatch {
				pending = c
				break
			}
			batch, size = append(batch, c), size+c.n
		}
		if timer != nil {
			timer.Stop()
		}
		b.runBatch(batch, size)
	}
}

// yieldToCallers lets the goroutines that are ready to run go first, again while the
// queue grows and the run has room: callers that are about to queue their calls get to,
// where taking only the calls already queued would start nearly one run per call on a busy
// server with few cores (the scheduler runs a woken receiver before the senders behind
// it). A lone call loses only the yield itself.
func (b *batcher) yieldToCallers(size int) {
	for n := len(b.queue); size+n < b.cfg.MaxBatch; {
		runtime.Gosched()
		m := len(b.queue)
		if m == n {
			return
		}
		n = m
	}
}

// runBatch runs the calls' examples as one batch and hands each call its rows.
func (b *batcher) runBatch(batch []*call, size int) {
	start := time.Now()
	if b.cfg.ObserveQueue != nil {
		for _, c := range batch {
			b.cfg.ObserveQueue(b.g.role, start.Sub(c.arrived))
		}
	}
	data := batch[0].data
	if len(batch) > 1 {
		data = make([]float32, 0, size*len(batch[0].data)/batch[0].n)
		for _, c := range batch {
			data = append(data, c.data...)
		}
	}
	shape := append([]int64{int64(size)}, b.inShape...)
	outs, err := b.g.sess.Run(map[string]infer.Tensor{b.input: {Shape: shape, Data: data}})
	if err != nil {
		err = fmt.Errorf("graph %s: %w", b.g.role, err)
		for _, c := range batch {
			c.done <- result{err: err}
		}
		return
	}
	b.observe(b.g.role, size, time.Since(start))
	at := 0
	for _, c := range batch {
		share := map[string][]float32{}
		for name, t := range outs {
			per := len(t.Data) / size
			share[name] = t.Data[at*per : (at+c.n)*per : (at+c.n)*per]
		}
		at += c.n
		c.done <- result{outs: share}
	}
}
