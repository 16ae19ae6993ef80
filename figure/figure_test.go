package figure

import (
	"bytes"
	"flag"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// gradient is a w×h grey image whose pixel (x, y) is (x+y)·step.
func gradient(w, h int, step uint8) image.Image {
	im := image.NewGray(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			im.SetGray(x, y, color.Gray{Y: uint8(x+y) * step})
		}
	}
	return im
}

func TestSheet(t *testing.T) {
	rows := []Row{
		{Label: "input", Images: []image.Image{gradient(4, 4, 30), gradient(4, 4, 10)}},
		{Label: "vae rec", Images: []image.Image{gradient(4, 4, 20)}},
		{Label: "", Images: []image.Image{gradient(2, 3, 60), gradient(4, 4, 5), gradient(4, 4, 40)}},
	}
	got := Sheet(rows, 3)
	for _, tc := range []struct {
		name string
		x, y int
		want color.Gray
	}{
		// Label column: len("vae rec")·7 + 10 = 59; cells 12×12.
		{name: "first cell's corner", x: pad + 59, y: pad, want: color.Gray{0}},
		{name: "first cell, source pixel (1,2)", x: pad + 59 + 3*1 + 1, y: pad + 3*2 + 2, want: color.Gray{90}},
		{name: "second row's cell, source pixel (3,3)", x: pad + 59 + 9, y: pad + 12 + pad + 9, want: color.Gray{120}},
		{name: "gap between cells is white", x: pad + 59 + 12 + 1, y: pad + 1, want: color.Gray{255}},
		{name: "a small image leaves its cell's rest white", x: pad + 59 + 7, y: 2*(pad+12) + pad + 10, want: color.Gray{255}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if g := color.GrayModel.Convert(got.At(tc.x, tc.y)).(color.Gray); g != tc.want {
				t.Errorf("pixel (%d,%d) = %v, want %v", tc.x, tc.y, g, tc.want)
			}
		})
	}
	if b := got.Bounds(); b.Dx() != pad+59+3*(12+pad) || b.Dy() != pad+3*(12+pad) {
		t.Errorf("sheet is %v", b)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, got); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "sheet.golden.png")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./figure -update to create it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("sheet differs from %s (look at it, then run go test ./figure -update)", golden)
	}
}
