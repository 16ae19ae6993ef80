package serve

import (
	"strings"
	"testing"
	"time"
)

func TestMetricsExposition(t *testing.T) {
	m := newMetrics()
	m.observeRequest("/reconstruct", "POST", 200, 3*time.Millisecond)
	m.observeRequest("/reconstruct", "POST", 200, 30*time.Millisecond)
	m.observeRequest("/reconstruct", "POST", 400, 20*time.Second)
	m.observeInference(`vae/"odd"\name`, "decoder", 16, 2*time.Millisecond)
	m.inFlight.Add(2)
	var b strings.Builder
	if err := m.writeTo(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, line := range []string{
		"# TYPE latentzoo_http_requests_total counter",
		"latentzoo_http_requests_in_flight 2",
		`latentzoo_http_requests_total{route="/reconstruct",method="POST",status="200"} 2`,
		`latentzoo_http_requests_total{route="/reconstruct",method="POST",status="400"} 1`,
		"# TYPE latentzoo_http_request_duration_seconds histogram",
		`latentzoo_http_request_duration_seconds_bucket{route="/reconstruct",le="0.0025"} 0`,
		`latentzoo_http_request_duration_seconds_bucket{route="/reconstruct",le="0.005"} 1`,
		`latentzoo_http_request_duration_seconds_bucket{route="/reconstruct",le="0.05"} 2`,
		`latentzoo_http_request_duration_seconds_bucket{route="/reconstruct",le="10"} 2`,
		`latentzoo_http_request_duration_seconds_bucket{route="/reconstruct",le="+Inf"} 3`,
		`latentzoo_http_request_duration_seconds_sum{route="/reconstruct"} 20.033`,
		`latentzoo_http_request_duration_seconds_count{route="/reconstruct"} 3`,
		`latentzoo_inference_duration_seconds_count{model="vae/\"odd\"\\name",graph="decoder"} 1`,
		`latentzoo_inference_examples_total{model="vae/\"odd\"\\name",graph="decoder"} 16`,
	} {
		if !strings.Contains(out, line+"\n") {
			t.Errorf("exposition lacks the line\n%s\n in\n%s", line, out)
		}
	}
}

func TestHistogramBucketBoundary(t *testing.T) {
	var h histogram
	h.observe(latencyBuckets[3]) // exactly on a bound: counted in that bucket (le)
	if h.counts[3] != 1 {
		t.Errorf("an observation equal to bound %g went to bucket %v", latencyBuckets[3], h.counts)
	}
}
