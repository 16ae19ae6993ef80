// Package pixels converts between images and the float32 tensors the models read and
// write: any image to a channels×res×res tensor in [0,1], the same way for training data and
// for a server's uploads, and tensors back to images, one or a grid of them.
package pixels

import (
	"errors"
	"fmt"
	"image"
	"math"

	"github.com/disintegration/imaging"
)

// FromImage writes img into dst as a channels×res×res float32 image in [0,1] (channel-major,
// then row-major); dst must hold channels·res·res values.
//
// An image already res×res is copied as it is. A 28×28 image asked for at 32 (the MNIST
// sizes) is padded with 2 black pixels on each side, the usual way to bring MNIST to a
// power-of-two size without resampling. Any other size is scaled to cover res×res and
// center-cropped (imaging.Fill, Lanczos filter). Colour becomes grey by ITU-R 601 luma
// (0.299 R + 0.587 G + 0.114 B, as image/color does), grey becomes colour by repeating it in
// each channel, and transparent pixels are laid over black.
func FromImage(img image.Image, res, channels int, dst []float32) error {
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
	return Grid(pix, 1, channels, h, w, 1), nil
}

// Grid lays out n CHW images of size channels×h×w from data in a grid of cols columns, row
// by row; cells past n stay black. One channel gives an *image.Gray, three an *image.NRGBA.
// data must hold n such images.
func Grid(data []float32, n, channels, h, w, cols int) image.Image {
	rows := (n + cols - 1) / cols
	rect := image.Rect(0, 0, cols*w, rows*h)
	var grey *image.Gray
	var rgb *image.NRGBA
	if channels == 1 {
		grey = image.NewGray(rect)
	} else {
		rgb = image.NewNRGBA(rect)
	}
	plane := h * w
	for k := range n {
		ex := data[k*channels*plane : (k+1)*channels*plane]
		ox, oy := (k%cols)*w, (k/cols)*h
		for y := range h {
			for x := range w {
				i := y*w + x
				if grey != nil {
					grey.Pix[(oy+y)*grey.Stride+ox+x] = Byte(ex[i])
					continue
				}
				p := rgb.Pix[(oy+y)*rgb.Stride+4*(ox+x):]
				p[0], p[1], p[2], p[3] = Byte(ex[i]), Byte(ex[plane+i]), Byte(ex[2*plane+i]), 255
			}
		}
	}
	if grey != nil {
		return grey
	}
	return rgb
}

// Byte maps a value in [0,1] to 0..255, rounding; it clamps values outside and maps NaN
// to 0.
func Byte(v float32) uint8 {
	switch {
	case !(v > 0):
		return 0
	case v >= 1:
		return 255
	}
	return uint8(math.Round(float64(v) * 255))
}
