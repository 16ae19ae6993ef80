package serve

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	promodel "github.com/prometheus/common/model"
)

// parseMetrics parses an exposition in the Prometheus text format.
func parseMetrics(t *testing.T, out string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(promodel.UTF8Validation)
	families, err := p.TextToMetricFamilies(strings.NewReader(out))
	if err != nil {
		t.Fatalf("parse exposition: %v\n%s", err, out)
	}
	return families
}

// sampleLine writes one sample as the exposition does, its labels sorted by name, so
// that samples compare whatever order their labels were written in.
func sampleLine(name string, labels []*dto.LabelPair, value float64) string {
	labels = slices.Clone(labels)
	slices.SortFunc(labels, func(a, b *dto.LabelPair) int { return strings.Compare(a.GetName(), b.GetName()) })
	var b strings.Builder
	b.WriteString(name)
	for i, l := range labels {
		b.WriteString(map[bool]string{true: "{", false: ","}[i == 0])
		fmt.Fprintf(&b, "%s=%q", l.GetName(), l.GetValue())
	}
	if len(labels) > 0 {
		b.WriteByte('}')
	}
	return b.String() + " " + strconv.FormatFloat(value, 'g', -1, 64)
}

// samples lists every sample of families as sampleLine writes it: a histogram as its
// cumulative _bucket series, _sum and _count.
func samples(families map[string]*dto.MetricFamily) []string {
	var out []string
	for name, f := range families {
		for _, m := range f.GetMetric() {
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				out = append(out, sampleLine(name, m.GetLabel(), m.GetCounter().GetValue()))
			case dto.MetricType_GAUGE:
				out = append(out, sampleLine(name, m.GetLabel(), m.GetGauge().GetValue()))
			case dto.MetricType_UNTYPED:
				out = append(out, sampleLine(name, m.GetLabel(), m.GetUntyped().GetValue()))
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				for _, bk := range h.GetBucket() {
					le := &dto.LabelPair{Name: new("le"), Value: new(strconv.FormatFloat(bk.GetUpperBound(), 'g', -1, 64))}
					out = append(out, sampleLine(name+"_bucket", append(slices.Clone(m.GetLabel()), le), float64(bk.GetCumulativeCount())))
				}
				inf := &dto.LabelPair{Name: new("le"), Value: new("+Inf")}
				out = append(out, sampleLine(name+"_bucket", append(slices.Clone(m.GetLabel()), inf), float64(h.GetSampleCount())),
					sampleLine(name+"_sum", m.GetLabel(), h.GetSampleSum()),
					sampleLine(name+"_count", m.GetLabel(), float64(h.GetSampleCount())))
			}
		}
	}
	return out
}

// hasSample reports whether the exposition out holds line: a sample line, its labels in
// any order, or a "# TYPE name type" line.
func hasSample(t *testing.T, out, line string) bool {
	t.Helper()
	families := parseMetrics(t, out)
	if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
		name, typ, _ := strings.Cut(rest, " ")
		f := families[name]
		return f != nil && strings.EqualFold(f.GetType().String(), typ)
	}
	want := samples(parseMetrics(t, line+"\n"))
	if len(want) != 1 {
		t.Fatalf("%q is not one sample line", line)
	}
	return slices.Contains(samples(families), want[0])
}

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
		if !hasSample(t, out, line) {
			t.Errorf("exposition lacks the line\n%s\n in\n%s", line, out)
		}
	}
}

func TestHistogramBucketBoundary(t *testing.T) {
	m := newMetrics()
	bound := latencyBuckets[3]
	m.observeRequest("/x", "GET", 200, time.Duration(bound*float64(time.Second))) // exactly on a bound: counted in that bucket (le)
	var b strings.Builder
	if err := m.writeTo(&b); err != nil {
		t.Fatal(err)
	}
	for le, want := range map[float64]int{latencyBuckets[2]: 0, bound: 1} {
		line := fmt.Sprintf(`latentzoo_http_request_duration_seconds_bucket{route="/x",le="%g"} %d`, le, want)
		if !hasSample(t, b.String(), line) {
			t.Errorf("an observation equal to bound %g: want\n%s\nin\n%s", bound, line, b.String())
		}
	}
}

// TestMetricsFamilies serves some requests and reads /metrics back with the Prometheus
// text parser: every family, with its type, help and labels, and the counts the
// requests made.
func TestMetricsFamilies(t *testing.T) {
	_, call := newServer(t, Config{Logger: slog.New(slog.DiscardHandler)})
	call(newFormRequest(t, "/reconstruct", file("image", greyPNG)))
	call(newFormRequest(t, "/reconstruct", file("image", greyPNG)))
	call(httptest.NewRequest(http.MethodPost, "/sample?n=5&seed=1&model="+sphereName, nil))
	w := call(httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); expfmt.ResponseFormat(w.Header()).FormatType() != expfmt.TypeTextPlain {
		t.Fatalf("/metrics is %q, not the text format", ct)
	}
	families := parseMetrics(t, w.Body.String())

	type series struct {
		labels map[string]string
		value  float64 // a counter's or gauge's value, a histogram's count
	}
	for _, tc := range []struct {
		name   string
		typ    dto.MetricType
		help   string
		labels []string // of every series
		want   []series // among the series
	}{
		{"latentzoo_http_requests_in_flight", dto.MetricType_GAUGE, "HTTP requests being served.", nil,
			[]series{{map[string]string{}, 1}}}, // the /metrics request itself
		{"latentzoo_http_requests_total", dto.MetricType_COUNTER, "HTTP requests served, by route pattern, method and status.",
			[]string{"method", "route", "status"}, []series{
				{map[string]string{"route": "/reconstruct", "method": "POST", "status": "200"}, 2},
				{map[string]string{"route": "/sample", "method": "POST", "status": "200"}, 1},
			}},
		{"latentzoo_http_request_duration_seconds", dto.MetricType_HISTOGRAM, "Time to serve an HTTP request, by route pattern.",
			[]string{"route"}, []series{{map[string]string{"route": "/reconstruct"}, 2}, {map[string]string{"route": "/sample"}, 1}}},
		{"latentzoo_inference_duration_seconds", dto.MetricType_HISTOGRAM, "Time of one ONNX Runtime run, by model and graph.",
			[]string{"graph", "model"}, []series{
				{map[string]string{"model": gaussianName, "graph": "encoder"}, 2},
				{map[string]string{"model": sphereName, "graph": "generator"}, 1},
			}},
		{"latentzoo_inference_examples_total", dto.MetricType_COUNTER, "Examples run through ONNX Runtime, by model and graph.",
			[]string{"graph", "model"}, []series{
				{map[string]string{"model": gaussianName, "graph": "encoder"}, 2},
				{map[string]string{"model": sphereName, "graph": "generator"}, 5},
			}},
	} {
		f := families[tc.name]
		if f == nil {
			t.Errorf("no family %s in\n%s", tc.name, w.Body)
			continue
		}
		if f.GetType() != tc.typ || f.GetHelp() != tc.help {
			t.Errorf("%s: %v %q, want %v %q", tc.name, f.GetType(), f.GetHelp(), tc.typ, tc.help)
		}
		got := map[string]float64{}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			var names []string
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
				names = append(names, l.GetName())
			}
			slices.Sort(names)
			if !slices.Equal(names, tc.labels) {
				t.Errorf("%s: a series labelled %v, want labels %v", tc.name, names, tc.labels)
			}
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
			got[fmt.Sprint(labels)] = v
		}
		for _, s := range tc.want {
			if v, ok := got[fmt.Sprint(s.labels)]; !ok || v != s.value {
				t.Errorf("%s%v = %v (present %v), want %v", tc.name, s.labels, v, ok, s.value)
			}
		}
	}
}
