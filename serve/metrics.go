package serve

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// latencyBuckets are the upper bounds, in seconds, of the latency histograms.
var latencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// histogram counts observations into latencyBuckets.
type histogram struct {
	counts []uint64 // per bucket, not cumulative; one more than latencyBuckets for +Inf
	sum    float64
	n      uint64
}

func (h *histogram) observe(v float64) {
	if h.counts == nil {
		h.counts = make([]uint64, len(latencyBuckets)+1)
	}
	i, _ := slices.BinarySearch(latencyBuckets, v)
	h.counts[i]++
	h.sum += v
	h.n++
}

// requestKey labels a request counter.
type requestKey struct {
	route, method string
	status        int
}

// graphKey labels the inference metrics of one graph of one model.
type graphKey struct{ model, graph string }

// metrics holds the server's counters and histograms and writes them in the Prometheus
// text exposition format (version 0.0.4). It is safe for concurrent use.
type metrics struct {
	inFlight atomic.Int64

	mu        sync.Mutex
	requests  map[requestKey]uint64
	latency   map[string]*histogram // by route
	inference map[graphKey]*histogram
	examples  map[graphKey]uint64
}

func newMetrics() *metrics {
	return &metrics{
		requests:  map[requestKey]uint64{},
		latency:   map[string]*histogram{},
		inference: map[graphKey]*histogram{},
		examples:  map[graphKey]uint64{},
	}
}

// observeRequest records a finished request. route is the matched route pattern, so that
// the label set stays bounded whatever paths clients send.
func (m *metrics) observeRequest(route, method string, status int, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[requestKey{route, method, status}]++
	h := m.latency[route]
	if h == nil {
		h = &histogram{}
		m.latency[route] = h
	}
	h.observe(d.Seconds())
}

// observeInference records one ONNX Runtime run of a graph on a batch of examples.
func (m *metrics) observeInference(model, graph string, batch int, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := graphKey{model, graph}
	h := m.inference[k]
	if h == nil {
		h = &histogram{}
		m.inference[k] = h
	}
	h.observe(d.Seconds())
	m.examples[k] += uint64(batch)
}

// labelValue escapes a label value as the exposition format requires.
var labelValue = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// labels formats name="value" pairs, given alternately.
func labels(kv ...string) string {
	var b strings.Builder
	for i := 0; i < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `%s="%s"`, kv[i], labelValue.Replace(kv[i+1]))
	}
	return b.String()
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// writeHistogram writes one labelled series of a histogram.
func writeHistogram(w io.Writer, name, lbls string, h *histogram) {
	var cum uint64
	for i, le := range latencyBuckets {
		cum += h.counts[i]
		fmt.Fprintf(w, "%s_bucket{%s,le=\"%s\"} %d\n", name, lbls, formatFloat(le), cum)
	}
	fmt.Fprintf(w, "%s_bucket{%s,le=\"+Inf\"} %d\n", name, lbls, h.n)
	fmt.Fprintf(w, "%s_sum{%s} %s\n", name, lbls, formatFloat(h.sum))
	fmt.Fprintf(w, "%s_count{%s} %d\n", name, lbls, h.n)
}

func header(w io.Writer, name, typ, help string) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
}

func compareGraphKeys(a, b graphKey) int {
	return cmp.Or(cmp.Compare(a.model, b.model), cmp.Compare(a.graph, b.graph))
}

// writeTo writes every metric, series sorted by labels.
func (m *metrics) writeTo(out io.Writer) error {
	w := bufio.NewWriter(out)
	header(w, "latentzoo_http_requests_in_flight", "gauge", "HTTP requests being served.")
	fmt.Fprintf(w, "latentzoo_http_requests_in_flight %d\n", m.inFlight.Load())

	m.mu.Lock()
	defer m.mu.Unlock()
	header(w, "latentzoo_http_requests_total", "counter", "HTTP requests served, by route pattern, method and status.")
	reqs := slices.SortedFunc(maps.Keys(m.requests), func(a, b requestKey) int {
		return cmp.Or(cmp.Compare(a.route, b.route), cmp.Compare(a.method, b.method), cmp.Compare(a.status, b.status))
	})
	for _, k := range reqs {
		fmt.Fprintf(w, "latentzoo_http_requests_total{%s} %d\n", labels("route", k.route, "method", k.method, "status", strconv.Itoa(k.status)), m.requests[k])
	}
	header(w, "latentzoo_http_request_duration_seconds", "histogram", "Time to serve an HTTP request, by route pattern.")
	for _, route := range slices.Sorted(maps.Keys(m.latency)) {
		writeHistogram(w, "latentzoo_http_request_duration_seconds", labels("route", route), m.latency[route])
	}
	header(w, "latentzoo_inference_duration_seconds", "histogram", "Time of one ONNX Runtime run, by model and graph.")
	graphs := slices.SortedFunc(maps.Keys(m.inference), compareGraphKeys)
	for _, k := range graphs {
		writeHistogram(w, "latentzoo_inference_duration_seconds", labels("model", k.model, "graph", k.graph), m.inference[k])
	}
	header(w, "latentzoo_inference_examples_total", "counter", "Examples run through ONNX Runtime, by model and graph.")
	for _, k := range graphs {
		fmt.Fprintf(w, "latentzoo_inference_examples_total{%s} %d\n", labels("model", k.model, "graph", k.graph), m.examples[k])
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write metrics: %w", err)
	}
	return nil
}
