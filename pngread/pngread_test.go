package pngread

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// random returns an image of the given kind filled from seed: smooth enough that the PNG
// encoder picks every filter across its rows, noisy enough that none is trivial.
func random(kind string, w, h int, seed uint64) image.Image {
	r := rand.New(rand.NewPCG(seed, 7))
	px := func(x, y int) uint8 { return uint8(x*7+y*3) + uint8(r.IntN(24)) }
	switch kind {
	case "gray":
		m := image.NewGray(image.Rect(0, 0, w, h))
		for y := range h {
			for x := range w {
				m.SetGray(x, y, color.Gray{px(x, y)})
			}
		}
		return m
	case "rgb":
		m := image.NewRGBA(image.Rect(0, 0, w, h))
		for y := range h {
			for x := range w {
				m.SetRGBA(x, y, color.RGBA{px(x, y), px(y, x), px(x+y, x), 0xff})
			}
		}
		return m
	default: // "nrgba"
		m := image.NewNRGBA(image.Rect(0, 0, w, h))
		for y := range h {
			for x := range w {
				m.SetNRGBA(x, y, color.NRGBA{px(x, y), px(y, x), px(x+y, x), px(x, x)})
			}
		}
		return m
	}
}

// encode writes img as PNG at level.
func encode(t testing.TB, img image.Image, level png.CompressionLevel) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: level}).Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// same fails unless Decode and image/png agree on data: the same error-ness, and the same
// image type, bounds and pixels.
func same(t *testing.T, data []byte) {
	t.Helper()
	want, wantErr := png.Decode(bytes.NewReader(data))
	got, err := Decode(data)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("error %v, image/png's %v", err, wantErr)
	}
	if err != nil {
		if err.Error() != wantErr.Error() {
			t.Errorf("error %q, image/png's %q", err, wantErr)
		}
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded a %T %v unlike image/png's %T %v", got, got.Bounds(), want, want.Bounds())
	}
}

// TestCommonCase decodes the common kinds, at every compression level and so through every
// filter, on the fast path, to image/png's very image.
func TestCommonCase(t *testing.T) {
	levels := []png.CompressionLevel{png.NoCompression, png.BestSpeed, png.DefaultCompression, png.BestCompression}
	for _, kind := range []string{"gray", "rgb", "nrgba"} {
		for _, size := range [][2]int{{1, 1}, {28, 28}, {32, 32}, {97, 13}, {300, 200}} {
			for _, level := range levels {
				t.Run(fmt.Sprintf("%s/%dx%d/level%d", kind, size[0], size[1], level), func(t *testing.T) {
					data := encode(t, random(kind, size[0], size[1], uint64(size[0])), level)
					if _, ok := new(decoder).decode(data); !ok {
						t.Fatal("not decoded on the fast path")
					}
					same(t, data)
				})
			}
		}
	}
}

// TestFiles decodes PngSuite's and image/png's test files (testdata/), the common ones on
// the fast path and the rest (paletted, 16 and 4 bits, tRNS, interlaced, corrupt) through
// image/png, always to image/png's image or error.
func TestFiles(t *testing.T) {
	tests := []struct {
		file string
		fast bool
	}{
		{"basn0g08.png", true},
		{"basn2c08.png", true},
		{"basn4a08.png", true},
		{"basn6a08.png", true},
		{"ftp0n2c08.png", true}, // ancillary chunks before IDAT
		{"gray-gradient.png", true},
		{"bag.png", true},
		{"basn0g04.png", false},
		{"basn0g16.png", false},
		{"basn3p08.png", false},
		{"ftbrn2c08.png", false}, // tRNS
		{"gray-gradient.interlaced.png", false},
		{"invalid-crc32.png", false},
		{"invalid-noend.png", false},
		{"invalid-palette.png", false},
		{"invalid-trunc.png", false},
		{"invalid-zlib.png", false},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := new(decoder).decode(data); ok != tt.fast {
				t.Errorf("on the fast path: %v, want %v", ok, tt.fast)
			}
			same(t, data)
		})
	}
}

// TestDamaged cuts and corrupts a common-case file everywhere: each is decoded or refused
// as image/png decodes or refuses it, with one decoder reused throughout, so that no state
// of a refused file leaks into the next.
func TestDamaged(t *testing.T) {
	good := encode(t, random("rgb", 20, 9, 3), png.DefaultCompression)
	for n := range len(good) {
		same(t, good[:n])
	}
	for i := range len(good) {
		bad := bytes.Clone(good)
		bad[i] ^= 0x41
		same(t, bad)
		same(t, good)
	}
}

// FuzzDecode holds Decode to image/png's result on any input.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.png"))
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add(encode(f, random("nrgba", 5, 4, 1), png.BestCompression))
	f.Fuzz(func(t *testing.T, data []byte) {
		if cfg, err := png.DecodeConfig(bytes.NewReader(data)); err == nil && cfg.Width*cfg.Height > 1<<20 {
			return // a header that asks for a huge image: both would allocate it
		}
		same(t, data)
	})
}

// BenchmarkDecode decodes the 28×28 grey bag the serving benchmark uploads, here and
// through image/png.
func BenchmarkDecode(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("testdata", "bag.png"))
	if err != nil {
		b.Fatal(err)
	}
	for _, bm := range []struct {
		name   string
		decode func([]byte) (image.Image, error)
	}{
		{"pngread", Decode},
		{"image-png", func(d []byte) (image.Image, error) { return png.Decode(bytes.NewReader(d)) }},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bm.decode(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestSize reads the size of a PNG's header as image/png's DecodeConfig does, and
// declines what is not a PNG header.
func TestSize(t *testing.T) {
	good := encode(t, random("gray", 37, 23, 1), png.BestSpeed)
	huge := bytes.Clone(good)
	huge[16] = 0x80 // a width of 2^31 and more
	tests := []struct {
		name string
		data []byte
		w, h int
		ok   bool
	}{
		{"png", good, 37, 23, true},
		{"empty", nil, 0, 0, false},
		{"signature only", good[:8], 0, 0, false},
		{"cut in IHDR", good[:28], 0, 0, false},
		{"not png", []byte("GIF89a and then some bytes to fill a header up"), 0, 0, false},
		{"huge", huge, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, h, ok := Size(tt.data)
			if w != tt.w || h != tt.h || ok != tt.ok {
				t.Errorf("Size = %d, %d, %v; want %d, %d, %v", w, h, ok, tt.w, tt.h, tt.ok)
			}
		})
	}
}
