// Package modeltest gives nets seeded random parameters, for tests that need real graphs
// without training them.
package modeltest

import (
	"math"
	"math/rand/v2"

	"github.com/latentzoo/latentzoo/models"
)

// RandomParams gives every parameter of net seeded random values: weights from N(0,
// 2/fan-in), small biases and running means, batch-norm scales and running variances in
// [0.5, 1.5), so that every parameter makes a difference to the output.
func RandomParams(net models.Net, seed uint64) map[string][]float32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	params := map[string][]float32{}
	for _, p := range net.Params() {
		v := make([]float32, p.Size())
		for i := range v {
			switch p.Role {
			case models.Weight:
				v[i] = float32(rng.NormFloat64() * math.Sqrt(2/float64(p.FanIn)))
			case models.RunningVar, models.Scale:
				v[i] = float32(0.5 + rng.Float64())
			default:
				v[i] = float32(0.1 * rng.NormFloat64())
			}
		}
		params[p.Name] = v
	}
	return params
}
