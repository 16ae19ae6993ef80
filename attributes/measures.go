package attributes

import (
	"math"

	"github.com/latentzoo/latentzoo/dataset"
)

// Measure is a number computed from an image's pixels, whose top and bottom make the
// images with and without a measured attribute.
type Measure struct {
	Name        string
	Description string
	// Func measures one channels×h×w image with values in [0,1]; colour images are
	// measured on the mean of their channels.
	Func func(pix []float32, channels, h, w int) float64
}

// coveredLevel is the grey level above which a pixel counts as covered by the object: the
// data sets draw light objects on black, and the darkest parts of a garment are a little
// above zero.
const coveredLevel = 0.05

// Measures returns the measured attributes of data set set: thickness and slant for MNIST,
// brightness, area and edges for every other set.
//
//   - brightness: the mean grey level of the covered pixels (those above 0.05): light
//     objects against dark ones, whatever their size.
//   - area: the share of the image's pixels that are covered: large objects against small.
//   - edges: the texture inside the object: the mean Sobel gradient magnitude over its
//     interior pixels (the outline against the background left out) relative to their mean
//     grey level: patterned and detailed objects against plain ones, whatever their
//     brightness.
//   - thickness: the stroke's width in pixels, from image moments: the ink (the grey levels'
//     sum, m00) divided by the length of the bar with the same spread along its principal
//     axis, √(12·λ), λ the larger eigenvalue of the ink's covariance. A straight stroke of
//     width w measures w exactly.
//   - slant: the horizontal shift per row down the image, from image moments: −μ11/μ02,
//     positive for digits leaning right (their top to the right of their foot).
func Measures(set string) []Measure {
	if set == dataset.MNIST {
		return []Measure{
			{"thickness", "stroke thickness (ink over the principal axis's length, from image moments)", Thickness},
			{"slant", "slant to the right (−μ11/μ02, from image moments)", Slant},
		}
	}
	return []Measure{
		{"brightness", "brightness (mean grey level of the covered pixels)", Brightness},
		{"area", "area covered (share of pixels above 0.05)", Area},
		{"edges", "edge density inside the object (mean Sobel gradient magnitude over the interior pixels, relative to their grey level)", Edges},
	}
}

// grey returns the image as one h×w plane: the image itself for one channel, else the mean
// of the channels.
func grey(pix []float32, channels, h, w int) []float32 {
	if channels == 1 {
		return pix[:h*w]
	}
	g := make([]float32, h*w)
	for c := range channels {
		for i := range g {
			g[i] += pix[c*h*w+i] / float32(channels)
		}
	}
	return g
}

// Brightness is the mean grey level of the covered pixels, 0 for an empty image.
func Brightness(pix []float32, channels, h, w int) float64 {
	var sum float64
	n := 0
	for _, v := range grey(pix, channels, h, w) {
		if v > coveredLevel {
			sum += float64(v)
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// Area is the share of the pixels that are covered.
func Area(pix []float32, channels, h, w int) float64 {
	n := 0
	for _, v := range grey(pix, channels, h, w) {
		if v > coveredLevel {
			n++
		}
	}
	return float64(n) / float64(h*w)
}

// Edges is the texture inside the object: the mean Sobel gradient magnitude over the
// interior pixels (covered, and their eight neighbours too, so the outline against the
// background does not count) divided by their mean grey level, so that a pattern measures
// the same whatever its brightness; 0 for an image with no interior.
func Edges(pix []float32, channels, h, w int) float64 {
	g := grey(pix, channels, h, w)
	at := func(x, y int) float64 { return float64(g[y*w+x]) }
	interior := func(x, y int) bool {
		for dy := -1; dy <= 1; dy++ {
			for dx := -1; dx <= 1; dx++ {
				if g[(y+dy)*w+x+dx] <= coveredLevel {
					return false
				}
			}
		}
		return true
	}
	var grad, level float64
	for y := 1; y < h-1; y++ {
		for x := 1; x < w-1; x++ {
			if !interior(x, y) {
				continue
			}
			gx := at(x+1, y-1) + 2*at(x+1, y) + at(x+1, y+1) - at(x-1, y-1) - 2*at(x-1, y) - at(x-1, y+1)
			gy := at(x-1, y+1) + 2*at(x, y+1) + at(x+1, y+1) - at(x-1, y-1) - 2*at(x, y-1) - at(x+1, y-1)
			grad += math.Hypot(gx, gy)
			level += at(x, y)
		}
	}
	if level == 0 {
		return 0
	}
	return grad / level
}

// moments are an image's ink and its second central moments, y counted down the rows.
type moments struct {
	m00, mu20, mu02, mu11 float64
}

func momentsOf(g []float32, h, w int) moments {
	var m00, mx, my float64
	for y := range h {
		for x := range w {
			v := float64(g[y*w+x])
			m00 += v
			mx += v * float64(x)
			my += v * float64(y)
		}
	}
	if m00 == 0 {
		return moments{}
	}
	cx, cy := mx/m00, my/m00
	m := moments{m00: m00}
	for y := range h {
		for x := range w {
			v := float64(g[y*w+x])
			dx, dy := float64(x)-cx, float64(y)-cy
			m.mu20 += v * dx * dx
			m.mu02 += v * dy * dy
			m.mu11 += v * dx * dy
		}
	}
	m.mu20 /= m00
	m.mu02 /= m00
	m.mu11 /= m00
	return m
}

// Thickness is the stroke width in pixels: the ink divided by √(12·λ), the length of a
// uniform bar with the ink's variance λ along its principal axis; 0 for an empty image.
func Thickness(pix []float32, channels, h, w int) float64 {
	m := momentsOf(grey(pix, channels, h, w), h, w)
	// The larger eigenvalue of [[mu20, mu11], [mu11, mu02]].
	mean, diff := (m.mu20+m.mu02)/2, (m.mu20-m.mu02)/2
	lambda := mean + math.Sqrt(diff*diff+m.mu11*m.mu11)
	if lambda <= 0 {
		return 0
	}
	return m.m00 / math.Sqrt(12*lambda)
}

// Slant is −μ11/μ02: the columns the stroke moves right per row up the image; positive for
// strokes leaning right, 0 for an empty or flat image.
func Slant(pix []float32, channels, h, w int) float64 {
	m := momentsOf(grey(pix, channels, h, w), h, w)
	if m.mu02 <= 0 {
		return 0
	}
	return -m.mu11 / m.mu02
}
