package serve

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/latentzoo/latentzoo/latent"
)

// benchBatches are the batch sizes the ONNX Runtime benchmarks run.
var benchBatches = []int{1, 16, 64}

// BenchmarkEncode runs the encoder of the built-in architecture (32×32 grey, latent 32) in
// ONNX Runtime.
func BenchmarkEncode(b *testing.B) {
	m := testServer.lookup(gaussianName)
	rng := rand.New(rand.NewPCG(1, 1))
	for _, n := range benchBatches {
		x := make([]float32, n*m.ImageSize())
		for i := range x {
			x[i] = rng.Float32()
		}
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := m.Encode(x, n); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "images/s")
		})
	}
}

// BenchmarkDecode runs the decoder of the built-in architecture in ONNX Runtime.
func BenchmarkDecode(b *testing.B) {
	m := testServer.lookup(gaussianName)
	for _, n := range benchBatches {
		zs := latent.Sample(1, n, m.Manifest().LatentSize, false)
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := m.Decode("", zs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "images/s")
		})
	}
}

// BenchmarkReconstructHTTP posts a PNG to /reconstruct over HTTP and reads the PNG back:
// upload parsing, image decoding and resizing, both graphs, PNG encoding.
func BenchmarkReconstructHTTP(b *testing.B) {
	ts := httptest.NewServer(testServer.Handler())
	defer ts.Close()
	for _, tc := range []struct {
		name string
		img  []byte
	}{{"grey-37x23", greyPNG}, {"colour-50x64", colourPNG}} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				r := newFormRequest(b, ts.URL+"/reconstruct", file("image", tc.img))
				r.RequestURI = ""
				resp, err := ts.Client().Do(r)
				if err != nil {
					b.Fatal(err)
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					b.Fatalf("%d, %v", resp.StatusCode, err)
				}
			}
		})
	}
}

// BenchmarkReconstructHTTPParallel is BenchmarkReconstructHTTP with requests from
// GOMAXPROCS goroutines at once: the server's throughput when requests share the graphs.
func BenchmarkReconstructHTTPParallel(b *testing.B) {
	ts := httptest.NewServer(testServer.Handler())
	defer ts.Close()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := newFormRequest(b, ts.URL+"/reconstruct", file("image", greyPNG))
			r.RequestURI = ""
			resp, err := ts.Client().Do(r)
			if err != nil {
				b.Error(err)
				return
			}
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Errorf("%d, %v", resp.StatusCode, err)
				return
			}
		}
	})
}
