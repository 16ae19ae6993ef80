package pixels

import (
	"bytes"
	"image"
	"image/color"
	"math"
	"strings"
	"testing"
)

// uniform returns a w×h NRGBA image of one colour.
func uniform(w, h int, c color.NRGBA) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.SetNRGBA(x, y, c)
		}
	}
	return m
}

func TestConvertUniform(t *testing.T) {
	orange := color.NRGBA{200, 100, 50, 255}
	luma := (0.299*200 + 0.587*100 + 0.114*50) / 255
	tests := []struct {
		name     string
		img      image.Image
		res, ch  int
		want     []float64 // per channel, every pixel
		inBorder float64   // the 2-pixel border, when padded
	}{
		{"colour same size to rgb", uniform(8, 8, orange), 8, 3, []float64{200. / 255, 100. / 255, 50. / 255}, -1},
		{"colour same size to grey", uniform(8, 8, orange), 8, 1, []float64{luma}, -1},
		{"colour odd size to rgb", uniform(17, 61, orange), 12, 3, []float64{200. / 255, 100. / 255, 50. / 255}, -1},
		{"colour upscaled to grey", uniform(5, 3, orange), 16, 1, []float64{luma}, -1},
		{"half transparent over black", uniform(9, 9, color.NRGBA{255, 255, 255, 128}), 4, 1, []float64{128. / 255}, -1},
		{"transparent", uniform(9, 9, color.NRGBA{255, 0, 0, 0}), 9, 3, []float64{0, 0, 0}, -1},
		{"grey to rgb", &image.Gray{Pix: bytes.Repeat([]byte{77}, 6*6), Stride: 6, Rect: image.Rect(0, 0, 6, 6)}, 6, 3, []float64{77. / 255, 77. / 255, 77. / 255}, -1},
		{"28 padded to 32", uniform(28, 28, orange), 32, 1, []float64{luma}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := make([]float32, tt.ch*tt.res*tt.res)
			if err := FromImage(tt.img, tt.res, tt.ch, dst); err != nil {
				t.Fatal(err)
			}
			for c := range tt.ch {
				for y := range tt.res {
					for x := range tt.res {
						want := tt.want[c]
						if tt.inBorder >= 0 && (x < 2 || y < 2 || x >= tt.res-2 || y >= tt.res-2) {
							want = tt.inBorder
						}
						// Lanczos on 8 bits is off by at most one step.
						if got := dst[c*tt.res*tt.res+y*tt.res+x]; math.Abs(float64(got)-want) > 1.01/255 {
							t.Fatalf("channel %d (%d,%d) = %g, want %g", c, x, y, got, want)
						}
					}
				}
			}
		})
	}
}

// TestConvertSubImage checks that each pixel lands in its place, for images whose bounds do
// not start at the origin.
func TestConvertSubImage(t *testing.T) {
	grey := image.NewGray(image.Rect(0, 0, 40, 40))
	rgb := image.NewNRGBA(grey.Rect)
	for y := range 40 {
		for x := range 40 {
			grey.SetGray(x, y, color.Gray{uint8(x + 5*y)})
			rgb.SetNRGBA(x, y, color.NRGBA{uint8(x), uint8(y), uint8(x + y), 255})
		}
	}
	r := image.Rect(3, 5, 23, 25)
	for _, img := range []image.Image{grey.SubImage(r), rgb.SubImage(r)} {
		dst := make([]float32, 3*20*20)
		if err := FromImage(img, 20, 3, dst); err != nil {
			t.Fatal(err)
		}
		for c := range 3 {
			for y := range 20 {
				for x := range 20 {
					cr, cg, cb, _ := img.At(x+3, y+5).RGBA()
					want := float32([]uint32{cr, cg, cb}[c]>>8) / 255
					if got := dst[c*400+y*20+x]; got != want {
						t.Fatalf("%T channel %d (%d,%d) = %g, want %g", img, c, x, y, got, want)
					}
				}
			}
		}
	}
}

func TestConvertGenericModel(t *testing.T) {
	m := image.NewGray16(image.Rect(0, 0, 3, 3))
	m.SetGray16(1, 2, color.Gray16{0xffff})
	dst := make([]float32, 9)
	if err := FromImage(m, 3, 1, dst); err != nil {
		t.Fatal(err)
	}
	for i, v := range dst {
		want := float32(0)
		if i == 2*3+1 {
			want = 1
		}
		if math.Abs(float64(v-want)) > 1e-6 {
			t.Errorf("pixel %d = %g, want %g", i, v, want)
		}
	}
}

func TestConvertErrors(t *testing.T) {
	img := uniform(4, 4, color.NRGBA{A: 255})
	tests := []struct {
		img     image.Image
		res, ch int
		dst     int
		wantErr string
	}{
		{img, 4, 2, 32, "channels"},
		{img, 4, 3, 47, "destination"},
		{image.NewGray(image.Rect(0, 0, 0, 5)), 4, 1, 16, "empty"},
	}
	for _, tt := range tests {
		err := FromImage(tt.img, tt.res, tt.ch, make([]float32, tt.dst))
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("FromImage(%v, %d, %d) error %v, want one containing %q", tt.img.Bounds(), tt.res, tt.ch, err, tt.wantErr)
		}
	}
}

func TestToImage(t *testing.T) {
	pix := []float32{0, 0.5, 1, 2, -1, float32(math.NaN()), 0.2, 0.4, 0.6, 0.8, 1, 0}
	grey, err := ToImage(pix, 1, 3, 4)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := grey.(*image.Gray).Pix, []byte{0, 128, 255, 255, 0, 0, 51, 102, 153, 204, 255, 0}; string(got) != string(want) {
		t.Errorf("grey pixels %v, want %v", got, want)
	}
	rgb, err := ToImage(pix, 3, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rgb.At(1, 1), (color.NRGBA{255, 102, 0, 255}); got != want {
		t.Errorf("rgb (1,1) = %v, want %v", got, want)
	}
	back := make([]float32, 12)
	if err := FromImage(rgb, 2, 3, back); err != nil {
		t.Fatal(err)
	}
	if back[6] != 0.2 || back[3] != 1 || back[4] != 0 {
		t.Errorf("round trip gave %v", back)
	}
	for _, bad := range [][3]int{{2, 2, 3}, {3, 2, 3}, {1, 0, 12}} {
		if _, err := ToImage(pix, bad[0], bad[1], bad[2]); err == nil {
			t.Errorf("ToImage(%d values, %d, %d, %d) gave no error", len(pix), bad[0], bad[1], bad[2])
		}
	}
}

func TestGrid(t *testing.T) {
	const res = 2
	// Five grey examples, example k filled with k/4, in a grid of 3 columns.
	data := make([]float32, 5*res*res)
	for k := range 5 {
		for i := range res * res {
			data[k*res*res+i] = float32(k) / 4
		}
	}
	img := Grid(data, 5, 1, res, res, 3).(*image.Gray)
	if got := img.Bounds().Size(); got != image.Pt(3*res, 2*res) {
		t.Fatalf("grid is %v, want %v", got, image.Pt(3*res, 2*res))
	}
	for k := range 6 {
		want := uint8(0) // the sixth cell is empty
		if k < 5 {
			want = Byte(float32(k) / 4)
		}
		x, y := (k%3)*res+1, (k/3)*res+1
		if got := img.GrayAt(x, y).Y; got != want {
			t.Errorf("cell %d: grey %d, want %d", k, got, want)
		}
	}
	rgb := Grid([]float32{1, 0, 0.5}, 1, 3, 1, 1, 1).(*image.NRGBA)
	if got, want := rgb.NRGBAAt(0, 0), (color.NRGBA{255, 0, 128, 255}); got != want {
		t.Errorf("RGB pixel %v, want %v", got, want)
	}
}

func TestByte(t *testing.T) {
	tests := []struct {
		in   float32
		want uint8
	}{
		{-1, 0}, {0, 0}, {0.5, 128}, {1, 255}, {2, 255},
		{float32(math.NaN()), 0}, {float32(math.Inf(1)), 255}, {float32(math.Inf(-1)), 0},
	}
	for _, tt := range tests {
		if got := Byte(tt.in); got != tt.want {
			t.Errorf("Byte(%g) = %d, want %d", tt.in, got, tt.want)
		}
	}
}
