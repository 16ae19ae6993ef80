package autoencoder

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/latentzoo/latentzoo/errkind"
	"github.com/latentzoo/latentzoo/infer"
	"github.com/latentzoo/latentzoo/latent"
	"github.com/latentzoo/latentzoo/zoo"
)

// openBuiltin opens the built-in entry of family, closed at the test's end.
func openBuiltin(t *testing.T, family string) *Model {
	t.Helper()
	return openBuiltinWith(t, family, Options{Runtime: infer.Options{IntraOpThreads: 1}})
}

// openBuiltinWith is openBuiltin with opts.
func openBuiltinWith(t *testing.T, family string, opts Options) *Model {
	t.Helper()
	entries, err := zoo.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Manifest().Family != family {
			continue
		}
		m, err := Open(e, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := m.Close(); err != nil {
				t.Error(err)
			}
		})
		return m
	}
	t.Fatalf("no built-in %s entry", family)
	return nil
}

// maxDiff is the largest absolute difference between a and b, which must be as long.
func maxDiff(t *testing.T, a, b []float32) float64 {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%d values against %d", len(a), len(b))
	}
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

func TestOperations(t *testing.T) {
	for _, tt := range []struct {
		family    string
		sphere    bool
		posterior bool
	}{
		{"vae", false, true},
		{"moca", true, false},
	} {
		t.Run(tt.family, func(t *testing.T) {
			m := openBuiltin(t, tt.family)
			if m.Sphere() != tt.sphere || m.HasPosterior() != tt.posterior {
				t.Fatalf("sphere %v, posterior %v; want %v, %v", m.Sphere(), m.HasPosterior(), tt.sphere, tt.posterior)
			}
			const n = 3
			images, _, err := m.Sample("", n, 7)
			if err != nil {
				t.Fatal(err)
			}
			again, zs, err := m.Sample("", n, 7)
			if err != nil {
				t.Fatal(err)
			}
			if maxDiff(t, images, again) != 0 || !slices.Equal(zs[0], latent.Sample(7, n, m.Manifest().LatentSize, tt.sphere)[0]) {
				t.Error("the same seed gave other samples, or not the prior's draws")
			}
			// Reconstruct is Encode, then Decode.
			rec, z, err := m.Reconstruct("", images, n)
			if err != nil {
				t.Fatal(err)
			}
			enc, err := m.Encode(images, n)
			if err != nil {
				t.Fatal(err)
			}
			dec, err := m.Decode("", enc)
			if err != nil {
				t.Fatal(err)
			}
			if d := maxDiff(t, rec, dec); d > 1e-6 || !slices.Equal(z[1], enc[1]) {
				t.Errorf("Reconstruct differs from Decode(Encode) by %g", d)
			}
			if tt.sphere {
				for i, z := range enc {
					if l := latent.Norm(z); math.Abs(l-1) > 1e-5 {
						t.Errorf("latent %d has length %g, want 1", i, l)
					}
				}
			}
			// Interpolation keeps both ends exactly.
			out, path, err := m.Interpolate("", enc[0], enc[1], 5, m.DefaultPath())
			if err != nil {
				t.Fatal(err)
			}
			if len(out) != 5*m.ImageSize() || !slices.Equal(path[0], enc[0]) || !slices.Equal(path[4], enc[1]) {
				t.Errorf("interpolation of %d values, ends %v…, want 5 images from the given ends", len(out), path[0][:2])
			}
		})
	}
}

func TestInvalidInput(t *testing.T) {
	vae, moca := openBuiltin(t, "vae"), openBuiltin(t, "moca")
	size := vae.Manifest().LatentSize
	nan := make([]float64, size)
	nan[3] = math.NaN()
	tests := []struct {
		name string
		run  func() error
		want string
	}{
		{"short latent", func() error { _, err := vae.Latent("field z", make([]float64, size-1)); return err }, "latent has 31 values"},
		{"NaN latent", func() error { _, err := vae.Latent("field z", nan); return err }, "value 3 is NaN"},
		{"float32 overflow", func() error {
			v := make([]float64, size)
			v[0] = 1e39
			_, err := vae.Latent("field z", v)
			return err
		}, "value 0 is 1e+39"},
		{"zero latent on the sphere", func() error {
			_, err := moca.Latent("field z", make([]float64, moca.Manifest().LatentSize))
			return err
		}, "too short to put on the unit sphere"},
		{"unknown decoder", func() error { _, err := vae.Decode("critic", [][]float32{make([]float32, size)}); return err }, `unknown decoder "critic"`},
		{"unknown path", func() error {
			_, _, err := vae.Interpolate("", make([]float32, size), make([]float32, size), 3, "zigzag")
			return err
		}, `"zigzag" is neither`},
		{"unknown attribute", func() error { _, err := vae.Edits(map[string]float64{"no-such-attribute": 1}); return err }, `unknown attribute "no-such-attribute"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			if errkind.Of(err) != errkind.Invalid || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v (kind %v), want an invalid-input error containing %q", err, errkind.Of(err), tt.want)
			}
		})
	}
}

func TestLatentNormalisesOnSphere(t *testing.T) {
	m := openBuiltin(t, "moca")
	v := make([]float64, m.Manifest().LatentSize)
	v[0], v[1] = 3, 4
	z, err := m.Latent("field z", v)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(float64(z[0])-0.6) > 1e-7 || math.Abs(float64(z[1])-0.8) > 1e-7 {
		t.Errorf("latent %v…, want it scaled to unit length (0.6, 0.8, …)", z[:2])
	}
}
