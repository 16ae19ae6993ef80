package serve

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
)

// latencyBuckets are the upper bounds, in seconds, of the latency histograms.
var latencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// metrics holds the server's counters and histograms in a registry of its own, so that
// several servers in one process (tests) count apart, and serves them in the Prometheus
// text exposition format. It is safe for concurrent use.
type metrics struct {
	inFlight  prometheus.Gauge
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec // by route
	inference *prometheus.HistogramVec
	examples  *prometheus.CounterVec
	batches   *prometheus.HistogramVec // examples per ONNX Runtime run
	queued    *prometheus.HistogramVec // a call's wait for its batch's run

	registry *prometheus.Registry
	handler  http.Handler
}

func newMetrics() *metrics {
	m := &metrics{
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "latentzoo_http_requests_in_flight", Help: "HTTP requests being served.",
		}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latentzoo_http_requests_total", Help: "HTTP requests served, by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "latentzoo_http_request_duration_seconds", Help: "Time to serve an HTTP request, by route pattern.",
			Buckets: latencyBuckets,
		}, []string{"route"}),
		inference: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "latentzoo_inference_duration_seconds", Help: "Time of one ONNX Runtime run, by model and graph.",
			Buckets: latencyBuckets,
		}, []string{"model", "graph"}),
		examples: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latentzoo_inference_examples_total", Help: "Examples run through ONNX Runtime, by model and graph.",
		}, []string{"model", "graph"}),
		batches: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "latentzoo_inference_batch_size", Help: "Examples in one ONNX Runtime run (several requests' when dynamic batching gathers them), by model and graph.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128},
		}, []string{"model", "graph"}),
		queued: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "latentzoo_inference_queue_seconds", Help: "Time a request's run waited in the dynamic batcher's queue, by model and graph.",
			Buckets: latencyBuckets,
		}, []string{"model", "graph"}),
		registry: prometheus.NewRegistry(),
	}
	m.registry.MustRegister(m.inFlight, m.requests, m.latency, m.inference, m.examples, m.batches, m.queued,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.handler = promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
	return m
}

// observeRequest records a finished request. route is the matched route pattern, so that
// the label set stays bounded whatever paths clients send.
func (m *metrics) observeRequest(route, method string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

// observeInference records one ONNX Runtime run of a graph on a batch of examples.
func (m *metrics) observeInference(model, graph string, batch int, d time.Duration) {
	m.inference.WithLabelValues(model, graph).Observe(d.Seconds())
	m.examples.WithLabelValues(model, graph).Add(float64(batch))
	m.batches.WithLabelValues(model, graph).Observe(float64(batch))
}

// observeQueue records how long a call waited for its batch's run.
func (m *metrics) observeQueue(model, graph string, d time.Duration) {
	m.queued.WithLabelValues(model, graph).Observe(d.Seconds())
}

// ServeHTTP serves the metrics, in the format the scraper asks for (text by default).
func (m *metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) { m.handler.ServeHTTP(w, r) }

// writeTo writes every metric in the text exposition format.
func (m *metrics) writeTo(w io.Writer) error {
	families, err := m.registry.Gather()
	if err != nil {
		return fmt.Errorf("gather metrics: %w", err)
	}
	for _, f := range families {
		if _, err := expfmt.MetricFamilyToText(w, f); err != nil {
			return fmt.Errorf("write metrics: %w", err)
		}
	}
	return nil
}
