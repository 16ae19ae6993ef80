package serve

import (
	"math"
	"math/rand/v2"
)

// The interpolation paths.
const (
	pathLinear = "linear"
	pathSlerp  = "slerp"
)

// seedStream is the PCG stream of /sample's generator; with the seed it fixes the draws.
const seedStream = 0x6c6174656e747a6f // "latentzo"

// minNorm is the smallest latent length that /decode normalises onto the sphere.
const minNorm = 1e-12

func dot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// unit scales z to unit length in place and reports whether it could: a vector shorter
// than minNorm has no direction and is left as it is.
func unit(z []float32) bool {
	n := math.Sqrt(dot(z, z))
	if n < minNorm {
		return false
	}
	for i := range z {
		z[i] = float32(float64(z[i]) / n)
	}
	return true
}

// normalize is unit for a latent sent in field, with an error for the client.
func normalize(field string, z []float32) error {
	if !unit(z) {
		return badRequest("field %s: latent has length %g, too short to put on the unit sphere", field, math.Sqrt(dot(z, z)))
	}
	return nil
}

// lerp is the point t of the way along the straight line from a to b.
func lerp(a, b []float32, t float64) []float32 {
	z := make([]float32, len(a))
	for i := range a {
		z[i] = float32((1-t)*float64(a[i]) + t*float64(b[i]))
	}
	return z
}

// angle is the angle between a and b in radians; zero when either is the zero vector.
func angle(a, b []float32) float64 {
	na, nb := math.Sqrt(dot(a, a)), math.Sqrt(dot(b, b))
	if na == 0 || nb == 0 {
		return 0
	}
	return math.Acos(max(-1, min(1, dot(a, b)/(na*nb))))
}

// slerp is spherical linear interpolation: the point t of the way from a to b along the
// great circle through them, with the length interpolated alongside (for unit vectors it
// stays on the unit sphere). Nearly parallel vectors fall back to lerp.
func slerp(a, b []float32, t float64) []float32 {
	omega := angle(a, b)
	s := math.Sin(omega)
	if s < 1e-6 {
		return lerp(a, b, t)
	}
	wa, wb := math.Sin((1-t)*omega)/s, math.Sin(t*omega)/s
	z := make([]float32, len(a))
	for i := range a {
		z[i] = float32(wa*float64(a[i]) + wb*float64(b[i]))
	}
	return z
}

// interpolate returns steps latents from za to zb along path, both ends included exactly.
func interpolate(za, zb []float32, steps int, path string) ([][]float32, error) {
	if path == pathSlerp && math.Pi-angle(za, zb) < 1e-6 {
		return nil, badRequest("za and zb point in opposite directions, so no single great circle joins them: use path=%s", pathLinear)
	}
	zs := make([][]float32, steps)
	for i := range steps {
		switch i {
		case 0:
			zs[i] = append([]float32(nil), za...)
		case steps - 1:
			zs[i] = append([]float32(nil), zb...)
		default:
			t := float64(i) / float64(steps-1)
			if path == pathSlerp {
				zs[i] = slerp(za, zb, t)
			} else {
				zs[i] = lerp(za, zb, t)
			}
		}
	}
	return zs, nil
}

// sampleLatents draws n latents of the given size from the prior: N(0, I), normalised to
// unit length when sphere is set. The same seed gives the same latents.
func sampleLatents(seed int64, n, size int, sphere bool) [][]float32 {
	rng := rand.New(rand.NewPCG(uint64(seed), seedStream))
	zs := make([][]float32, n)
	for k := range zs {
		z := make([]float32, size)
		for i := range z {
			z[i] = float32(rng.NormFloat64())
		}
		if sphere {
			// A Gaussian draw shorter than minNorm has probability zero in practice.
			unit(z)
		}
		zs[k] = z
	}
	return zs
}
