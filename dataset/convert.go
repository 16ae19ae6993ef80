package dataset

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"

	"github.com/disintegration/imaging"
)

// Convert writes img into dst as a channels×res×res float32 image in [0,1] (channel-major,
// then row-major); dst must hold channels·res·res values.
//
// An image already res×res is copied as it is. A 28×28 image asked for at 32 (the MNIST
// sizes) is padded with 2 black pixels on each side, the usual way to bring MNIST to a
// power-of-two size without resampling. Any other size is scaled to cover res×res and
// center-cropped (imaging.Fill, Lanczos filter). Colour becomes grey by ITU-R 601 luma
// (0.299 R + 0.587 G + 0.114 B, as image/color does), grey becomes colour by repeating it in
// each channel, and transparent pixels are laid over black.
func Convert(img image.Image, res, channels int, dst []float32) error {
	if channels != 1 && channels != 3 {
		return fmt.Errorf("convert: %d channels (want 1 or 3)", channels)
	}
	if len(dst) < channels*res*res {
		return fmt.Errorf("convert: destination holds %d values, want %d", len(dst), channels*res*res)
	}
	b := img.Bounds()
	if b.Empty() {
		return errors.New("convert: empty image")
	}
	switch {
	case b.Dx() == res && b.Dy() == res:
		place(img, 0, res, channels, dst)
	case b.Dx() == 28 && b.Dy() == 28 && res == 32:
		clear(dst[:channels*res*res])
		place(img, 2, res, channels, dst)
	default:
		place(imaging.Fill(img, res, res, imaging.Center, imaging.Lanczos), 0, res, channels, dst)
	}
	return nil
}

// place writes img at column and row offset off of the channels×res×res image dst.
func place(img image.Image, off, res, channels int, dst []float32) {
	b := img.Bounds()
	plane := res * res
	set := func(x, y int, r, g, bl float32) {
		i := (y+off)*res + x + off
		if channels == 1 {
			dst[i] = 0.299*r + 0.587*g + 0.114*bl
			return
		}
		dst[i], dst[plane+i], dst[2*plane+i] = r, g, bl
	}
	switch m := img.(type) {
	case *image.Gray:
		for y := range b.Dy() {
			row := m.Pix[y*m.Stride : y*m.Stride+b.Dx()]
			for x, p := range row {
				v := float32(p) / 255
				i := (y+off)*res + x + off
				for c := range channels {
					dst[c*plane+i] = v
				}
			}
		}
	case *image.NRGBA:
		for y := range b.Dy() {
			row := m.Pix[y*m.Stride : y*m.Stride+4*b.Dx()]
			for x := range b.Dx() {
				p := row[4*x : 4*x+4 : 4*x+4]
				// Products are exact; one division rounds, so opaque pixels give exactly p/255.
				a := float32(p[3])
				set(x, y, float32(p[0])*a/(255*255), float32(p[1])*a/(255*255), float32(p[2])*a/(255*255))
			}
		}
	default:
		for y := range b.Dy() {
			for x := range b.Dx() {
				// RGBA is alpha-premultiplied: the colour laid over black.
				r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
				set(x, y, float32(r)/0xffff, float32(g)/0xffff, float32(bl)/0xffff)
			}
		}
	}
}

// ToImage turns one channels×h×w float32 image in [0,1] (values outside are clamped) into
// an *image.Gray for one channel or an *image.NRGBA for three.
func ToImage(pix []float32, channels, h, w int) (image.Image, error) {
	if channels != 1 && channels != 3 {
		return nil, fmt.Errorf("to image: %d channels (want 1 or 3)", channels)
	}
	if h <= 0 || w <= 0 || len(pix) != channels*h*w {
		return nil, fmt.Errorf("to image: %d values for %d×%d×%d", len(pix), channels, h, w)
	}
	r := image.Rect(0, 0, w, h)
	if channels == 1 {
		g := image.NewGray(r)
		for i, v := range pix {
			g.Pix[i] = byte8(v)
		}
		return g, nil
	}
	m := image.NewNRGBA(r)
	plane := h * w
	for i := range plane {
		m.SetNRGBA(i%w, i/w, color.NRGBA{byte8(pix[i]), byte8(pix[plane+i]), byte8(pix[2*plane+i]), 255})
	}
	return m, nil
}

// byte8 maps [0,1] to 0..255, rounding; it clamps values outside and maps NaN to 0.
func byte8(v float32) uint8 {
	switch {
	case !(v > 0):
		return 0
	case v >= 1:
		return 255
	}
	return uint8(math.Round(float64(v) * 255))
}
