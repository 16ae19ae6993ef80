// Package latent is the geometry of latent spaces, written once for the server, the
// inference package, attribute editing, spectral norm and export's checks: lengths, unit
// vectors on the sphere, straight lines and great circles between latents, and seeded draws
// from the prior. Errors that a caller's latents cause are errkind.Invalid.
package latent

import (
	"math"
	"math/rand/v2"

	"github.com/latentzoo/latentzoo/errkind"
)

// The interpolation paths: a straight line, or the great circle (for latents on the
// sphere).
const (
	PathLinear = "linear"
	PathSlerp  = "slerp"
)

// SeedStream is the PCG stream of the prior's generator; with the seed it fixes the draws
// of Sample, and other seeded draws that must be repeatable across processes.
const SeedStream = 0x6c6174656e747a6f // "latentzo"

// MinNorm is the smallest length that Unit scales to the unit sphere: anything shorter has
// no direction.
const MinNorm = 1e-12

// Dot is the dot product of a and b in float64.
func Dot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// Norm is the Euclidean length of v, summed in float64.
func Norm[T float32 | float64](v []T) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

// Unit scales z to unit length in place and reports whether it could: a vector shorter
// than MinNorm has no direction and is left as it is.
func Unit(z []float32) bool {
	n := Norm(z)
	if n < MinNorm {
		return false
	}
	for i := range z {
		z[i] = float32(float64(z[i]) / n)
	}
	return true
}

// Normalize is Unit for a latent named label (a request field, say), with an
// errkind.Invalid error saying why it cannot be put on the sphere.
func Normalize(label string, z []float32) error {
	if !Unit(z) {
		return errkind.New(errkind.Invalid, "%s: latent has length %g, too short to put on the unit sphere", label, Norm(z))
	}
	return nil
}

// Lerp is the point t of the way along the straight line from a to b.
func Lerp(a, b []float32, t float64) []float32 {
	z := make([]float32, len(a))
	for i := range a {
		z[i] = float32((1-t)*float64(a[i]) + t*float64(b[i]))
	}
	return z
}

// Angle is the angle between a and b in radians; zero when either is the zero vector.
func Angle(a, b []float32) float64 {
	na, nb := Norm(a), Norm(b)
	if na == 0 || nb == 0 {
		return 0
	}
	return math.Acos(max(-1, min(1, Dot(a, b)/(na*nb))))
}

// Slerp is spherical linear interpolation: the point t of the way from a to b along the
// great circle through them, with the length interpolated alongside (for unit vectors it
// stays on the unit sphere). Nearly parallel vectors fall back to Lerp.
func Slerp(a, b []float32, t float64) []float32 {
	omega := Angle(a, b)
	s := math.Sin(omega)
	if s < 1e-6 {
		return Lerp(a, b, t)
	}
	wa, wb := math.Sin((1-t)*omega)/s, math.Sin(t*omega)/s
	z := make([]float32, len(a))
	for i := range a {
		z[i] = float32(wa*float64(a[i]) + wb*float64(b[i]))
	}
	return z
}

// CheckPath checks that path names an interpolation path: an errkind.Invalid error if it
// is neither PathLinear nor PathSlerp.
func CheckPath(path string) error {
	if path != PathLinear && path != PathSlerp {
		return errkind.New(errkind.Invalid, "field path: %q is neither %q nor %q", path, PathLinear, PathSlerp)
	}
	return nil
}

// Interpolate returns steps latents from za to zb along path (PathLinear or PathSlerp),
// both ends included exactly. Opposite ends have no one great circle between them: that is
// an errkind.Invalid error for PathSlerp.
func Interpolate(za, zb []float32, steps int, path string) ([][]float32, error) {
	if err := CheckPath(path); err != nil {
		return nil, err
	}
	if path == PathSlerp && math.Pi-Angle(za, zb) < 1e-6 {
		return nil, errkind.New(errkind.Invalid, "za and zb point in opposite directions, so no single great circle joins them: use path=%s", PathLinear)
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
			if path == PathSlerp {
				zs[i] = Slerp(za, zb, t)
			} else {
				zs[i] = Lerp(za, zb, t)
			}
		}
	}
	return zs, nil
}

// Sample draws n latents of the given size from the prior: N(0, I), normalised to unit
// length when sphere is set. The same seed gives the same latents.
func Sample(seed int64, n, size int, sphere bool) [][]float32 {
	rng := rand.New(rand.NewPCG(uint64(seed), SeedStream))
	zs := make([][]float32, n)
	for k := range zs {
		z := make([]float32, size)
		for i := range z {
			z[i] = float32(rng.NormFloat64())
		}
		if sphere {
			// A Gaussian draw shorter than MinNorm has probability zero in practice.
			Unit(z)
		}
		zs[k] = z
	}
	return zs
}
