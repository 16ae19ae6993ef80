package export

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/latentzoo/latentzoo/models"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenBackbone is the tiny backbone of the golden files: 1-channel 8×8, one conv of
// width 2, latent 2, batch norm in the decoder.
var goldenBackbone = models.Backbone{Resolution: 8, Channels: 1, Widths: []int{2}, Latent: 2, BatchNorm: true}

// formulaParams gives every parameter values from a fixed formula, so that the golden
// files do not depend on a random number generator.
func formulaParams(net models.Net) map[string][]float32 {
	params := map[string][]float32{}
	for k, p := range net.Params() {
		v := make([]float32, p.Size())
		for i := range v {
			v[i] = float32((i*7+k*3)%11-5) / 16
			if p.Role == models.RunningVar {
				v[i] = 1 + float32(i%3)/4
			}
		}
		params[p.Name] = v
	}
	return params
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		file string
		net  models.Net
	}{
		{"tiny_encoder.onnx", goldenBackbone.Encoder(models.Posterior)},
		{"tiny_decoder.onnx", goldenBackbone.Decoder("decoder")},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got, err := Marshal(tc.net, formulaParams(tc.net))
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			path := filepath.Join("testdata", tc.file)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if want := readFile(t, path); !bytes.Equal(got, want) {
				t.Fatalf("Marshal gave %d bytes that differ from %s (%d bytes); if the change is meant, run go test ./export -update", len(got), path, len(want))
			}
		})
	}
}
