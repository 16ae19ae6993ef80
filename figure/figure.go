// Package figure lays out rows of small images as one labelled sheet: the pictures of
// reconstructions, samples and interpolations that the docs show side by side.
package figure

import (
	"image"
	"image/color"
	"image/draw"

	"github.com/disintegration/imaging"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Row is one labelled strip of images, drawn left to right.
type Row struct {
	Label  string
	Images []image.Image
}

// Layout of a sheet, in output pixels.
const (
	pad      = 4  // between cells and around the sheet
	charW    = 7  // width of a basicfont.Face7x13 glyph
	labelGap = 10 // between the label column and the images
)

// Sheet draws rows on a white background: each label in a left column, then the row's
// images enlarged scale times without smoothing, each cell as large as the largest image.
func Sheet(rows []Row, scale int) *image.RGBA {
	scale = max(scale, 1)
	cellW, cellH, cols, labelW := 0, 0, 0, 0
	for _, r := range rows {
		cols = max(cols, len(r.Images))
		labelW = max(labelW, len(r.Label)*charW)
		for _, im := range r.Images {
			b := im.Bounds()
			cellW, cellH = max(cellW, b.Dx()*scale), max(cellH, b.Dy()*scale)
		}
	}
	if labelW > 0 {
		labelW += labelGap
	}
	w := pad + labelW + cols*(cellW+pad)
	h := pad + len(rows)*(cellH+pad)
	sheet := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(sheet, sheet.Bounds(), image.White, image.Point{}, draw.Src)
	face := basicfont.Face7x13
	for i, r := range rows {
		y := pad + i*(cellH+pad)
		d := font.Drawer{Dst: sheet, Src: image.NewUniform(color.Black), Face: face,
			Dot: fixed.P(pad, y+cellH/2+face.Ascent/2)}
		d.DrawString(r.Label)
		for j, im := range r.Images {
			b := im.Bounds()
			big := imaging.Resize(im, b.Dx()*scale, b.Dy()*scale, imaging.NearestNeighbor)
			at := image.Pt(pad+labelW+j*(cellW+pad), y)
			draw.Draw(sheet, big.Bounds().Add(at), big, image.Point{}, draw.Src)
		}
	}
	return sheet
}
