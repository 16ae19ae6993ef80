package attributes

import (
	"math"
	"slices"
	"testing"
)

// canvas is an h×w grey image with f(x, y) at each pixel.
func canvas(h, w int, f func(x, y int) float32) []float32 {
	pix := make([]float32, h*w)
	for y := range h {
		for x := range w {
			pix[y*w+x] = f(x, y)
		}
	}
	return pix
}

// bar is a 1-valued bar of the given width and length in a 32×32 image, its foot centred
// at (16, 26); each row up it moves shear columns right.
func bar(width, length int, shear float64) []float32 {
	return canvas(32, 32, func(x, y int) float32 {
		up := 26 - y
		if up < 0 || up >= length {
			return 0
		}
		left := 16 - float64(width)/2 + shear*float64(up)
		if float64(x) >= math.Round(left) && float64(x) < math.Round(left)+float64(width) {
			return 1
		}
		return 0
	})
}

func TestMeasures(t *testing.T) {
	square := func(v float32) []float32 {
		return canvas(32, 32, func(x, y int) float32 {
			if x >= 8 && x < 24 && y >= 8 && y < 24 {
				return v
			}
			return 0
		})
	}
	stripes := canvas(32, 32, func(x, y int) float32 {
		if x >= 8 && x < 24 && y >= 8 && y < 24 {
			return float32(x / 2 % 2)
		}
		return 0
	})
	// pattern is a square of vertical stripes two pixels wide, at levels b and 0.6·b.
	pattern := func(b float32) []float32 {
		return canvas(32, 32, func(x, y int) float32 {
			if x >= 8 && x < 24 && y >= 8 && y < 24 {
				return b * (0.6 + 0.4*float32(x/2%2))
			}
			return 0
		})
	}
	empty := make([]float32, 32*32)
	// A colour image of 3 planes whose mean is the grey square of 0.6.
	colour := append(append(square(0.3), square(0.6)...), square(0.9)...)
	tests := []struct {
		name     string
		measure  func([]float32, int, int, int) float64
		pix      []float32
		channels int
		want     float64
		tol      float64
	}{
		{"brightness of a grey square", Brightness, square(0.6), 1, 0.6, 1e-6},
		{"brightness ignores the black around", Brightness, square(1), 1, 1, 1e-6},
		{"brightness of colour is the channels' mean", Brightness, colour, 3, 0.6, 1e-6},
		{"brightness of nothing", Brightness, empty, 1, 0, 0},
		{"area of a quarter", Area, square(0.6), 1, 0.25, 1e-9},
		{"area of stripes", Area, stripes, 1, 0.125, 1e-9},
		{"area of nothing", Area, empty, 1, 0, 0},
		{"edges of nothing", Edges, empty, 1, 0, 0},
		{"edges of a plain square leave out its outline", Edges, square(1), 1, 0, 0},
		{"edges of thin stripes, which have no interior", Edges, stripes, 1, 0, 0},
		{"thickness of a bar 2 wide", Thickness, bar(2, 20, 0), 1, 2, 0.02},
		{"thickness of a bar 5 wide", Thickness, bar(5, 20, 0), 1, 5, 0.05},
		{"thickness of a lying bar", Thickness, transpose(bar(4, 20, 0), 32), 1, 4, 0.04},
		{"thickness of nothing", Thickness, empty, 1, 0, 0},
		{"slant of an upright bar", Slant, bar(3, 20, 0), 1, 0, 1e-9},
		{"slant of a bar leaning right", Slant, bar(3, 20, 0.5), 1, 0.5, 0.02},
		{"slant of a bar leaning left", Slant, bar(3, 20, -0.25), 1, -0.25, 0.02},
		{"slant of nothing", Slant, empty, 1, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.measure(tt.pix, tt.channels, 32, 32); math.Abs(got-tt.want) > tt.tol {
				t.Errorf("got %g, want %g ± %g", got, tt.want, tt.tol)
			}
		})
	}
	t.Run("a pattern has edges, whatever its brightness", func(t *testing.T) {
		bright, dim := Edges(pattern(1), 1, 32, 32), Edges(pattern(0.5), 1, 32, 32)
		if bright <= 0.5 || math.Abs(bright-dim) > 1e-9 {
			t.Errorf("edges of a striped square %g, of the same at half brightness %g; want the same, above 0.5", bright, dim)
		}
	})
	t.Run("a thicker bar is thicker", func(t *testing.T) {
		if a, b := Thickness(bar(2, 18, 0.3), 1, 32, 32), Thickness(bar(4, 18, 0.3), 1, 32, 32); a >= b {
			t.Errorf("slanted bars: width 2 measures %g, width 4 %g", a, b)
		}
	})
}

// transpose swaps the rows and columns of a side×side image.
func transpose(pix []float32, side int) []float32 {
	return canvas(side, side, func(x, y int) float32 { return pix[x*side+y] })
}

func TestMeasuresBySet(t *testing.T) {
	names := func(ms []Measure) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.Name)
		}
		return out
	}
	tests := []struct {
		set  string
		want []string
	}{
		{"mnist", []string{"thickness", "slant"}},
		{"fashion-mnist", []string{"brightness", "area", "edges"}},
		{"folder:/photos", []string{"brightness", "area", "edges"}},
	}
	for _, tt := range tests {
		if got := names(Measures(tt.set)); !slices.Equal(got, tt.want) {
			t.Errorf("Measures(%q) = %v, want %v", tt.set, got, tt.want)
		}
	}
}
