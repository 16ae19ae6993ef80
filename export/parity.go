package export

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gomlx/compute"

	"github.com/latentzoo/latentzoo/infer"
	"github.com/latentzoo/latentzoo/latent"
	"github.com/latentzoo/latentzoo/models"
	"github.com/latentzoo/latentzoo/train"
)

// Tolerance is the largest absolute difference allowed between ONNX Runtime's outputs and
// the training graph's.
const Tolerance = 1e-4

// Parity runs net name of model m both in the training graph (on backend) and, as the
// ONNX bytes given, in ONNX Runtime, on n random inputs drawn from seed: images uniform in
// [0,1], latents from N(0, I). It returns the largest absolute difference over all outputs.
// For a family whose latents live on the sphere it also requires the encoder's "z" from
// ONNX Runtime to have unit length, within Tolerance.
func Parity(m *train.Model, name string, onnxBytes []byte, backend compute.Backend, n int, seed uint64) (float64, error) {
	net, err := m.Net(name)
	if err != nil {
		return 0, err
	}
	size := 1
	for _, d := range net.InShape {
		size *= d
	}
	r := rand.New(rand.NewPCG(seed, 0x9a41))
	input := make([]float32, n*size)
	for i := range input {
		if len(net.InShape) == 3 {
			input[i] = r.Float32()
		} else {
			input[i] = float32(r.NormFloat64())
		}
	}
	want, err := m.Forward(backend, name, input, n)
	if err != nil {
		return 0, fmt.Errorf("training graph: %w", err)
	}
	sess, err := infer.Open(onnxBytes, infer.Options{})
	if err != nil {
		return 0, fmt.Errorf("onnx runtime: %w", err)
	}
	defer sess.Close()
	shape := []int64{int64(n)}
	for _, d := range net.InShape {
		shape = append(shape, int64(d))
	}
	got, err := sess.Run(map[string]infer.Tensor{net.Input: {Shape: shape, Data: input}})
	if err != nil {
		return 0, fmt.Errorf("onnx runtime: %w", err)
	}
	worst := 0.0
	for _, o := range net.Outputs {
		w, g := want[o.Name], got[o.Name].Data
		if len(w) != len(g) {
			return 0, fmt.Errorf("output %s: %d values from ONNX Runtime, %d from the training graph", o.Name, len(g), len(w))
		}
		for i := range w {
			d := math.Abs(float64(w[i]) - float64(g[i]))
			if math.IsNaN(d) {
				return 0, fmt.Errorf("output %s[%d]: NaN (training %v, ONNX Runtime %v)", o.Name, i, w[i], g[i])
			}
			worst = math.Max(worst, d)
		}
		if m.Family.Latent == models.Sphere && o.Name == "z" {
			if err := unitRows(g, len(g)/n); err != nil {
				return 0, fmt.Errorf("output z: %w", err)
			}
		}
	}
	return worst, nil
}

// unitRows checks that every row of size d of z has length 1 within Tolerance.
func unitRows(z []float32, d int) error {
	for i := 0; i+d <= len(z); i += d {
		if l := latent.Norm(z[i : i+d]); math.Abs(l-1) > Tolerance {
			return fmt.Errorf("latent %d has length %g, not on the unit sphere", i/d, l)
		}
	}
	return nil
}
