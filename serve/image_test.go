package serve

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
	"strings"
	"testing"

	"github.com/latentzoo/latentzoo/pixels"
)

// mustPNG encodes img as PNG.
func mustPNG(img image.Image) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// mustJPEG encodes img as JPEG.
func mustJPEG(img image.Image) []byte {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// mustGIF encodes img as GIF.
func mustGIF(img image.Image) []byte {
	var buf bytes.Buffer
	if err := gif.Encode(&buf, img, nil); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// pngHeader is the start of a PNG that claims to be w×h: signature and IHDR, no pixels.
func pngHeader(w, h int) []byte {
	var buf bytes.Buffer
	buf.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 8, 0 // 8-bit greyscale
	binary.Write(&buf, binary.BigEndian, uint32(len(ihdr)))
	chunk := append([]byte("IHDR"), ihdr...)
	buf.Write(chunk)
	binary.Write(&buf, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return buf.Bytes()
}

// gradient is a w×h colour image whose colour varies with the position.
func gradient(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{uint8(255 * x / max(w-1, 1)), uint8(255 * y / max(h-1, 1)), 128, 255})
		}
	}
	return img
}

func TestDecodeBase64(t *testing.T) {
	data := []byte("\x89PNG\xfb\xff\xfe")
	tests := []struct {
		name, in string
		err      string // substring of the error; empty for success
	}{
		{"standard", base64.StdEncoding.EncodeToString(data), ""},
		{"unpadded", base64.RawStdEncoding.EncodeToString(data), ""},
		{"url-safe", base64.URLEncoding.EncodeToString(data), ""},
		{"data URL", "data:image/png;base64," + base64.StdEncoding.EncodeToString(data), ""},
		{"line breaks", base64.StdEncoding.EncodeToString(data)[:4] + "\r\n" + base64.StdEncoding.EncodeToString(data)[4:], ""},
		{"data URL not base64", "data:image/png,abc", "data URL must be base64"},
		{"not base64", "not*base64!", "not valid base64"},
	}
	for _, tt := range tests {
		got, err := decodeBase64("image", tt.in)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.err == "" && !bytes.Equal(got, data):
			t.Errorf("%s: got %q, want %q", tt.name, got, data)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%s: err = %v, want it to contain %q", tt.name, err, tt.err)
		}
	}
}

func TestDecodeImage(t *testing.T) {
	good := mustPNG(gradient(20, 10))
	tests := []struct {
		name string
		data []byte
		err  string // substring of the error; empty for success
	}{
		{"png", good, ""},
		{"jpeg", mustJPEG(gradient(7, 9)), ""},
		{"grey png", mustPNG(image.NewGray(image.Rect(0, 0, 5, 3))), ""},
		{"gif", mustGIF(gradient(6, 6)), ""},
		{"empty", nil, "empty image"},
		{"not an image", []byte("hello, world"), "not a readable image"},
		{"truncated png", good[:len(good)/2], "corrupt or truncated"},
		{"huge header", pngHeader(30000, 30000), "30000x30000"},
		{"side over the limit", pngHeader(5000, 10), "largest side accepted is 4096"},
		{"area over the limit", pngHeader(4000, 4001), "at most 16000000"},
	}
	for _, tt := range tests {
		img, err := decodeImage("image", tt.data, 4096, 16_000_000)
		if tt.err == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			} else if img.Bounds().Empty() {
				t.Errorf("%s: empty image", tt.name)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%s: err = %v, want it to contain %q", tt.name, err, tt.err)
		}
	}
}

func TestImagePreprocessing(t *testing.T) {
	solid := func(w, h int, c color.Color) image.Image {
		img := image.NewNRGBA(image.Rect(0, 0, w, h))
		for y := range h {
			for x := range w {
				img.Set(x, y, c)
			}
		}
		return img
	}
	// A wide image: red | green | blue thirds. The centre crop keeps the green square.
	thirds := image.NewNRGBA(image.Rect(0, 0, 300, 100))
	for y := range 100 {
		for x := range 300 {
			thirds.Set(x, y, []color.NRGBA{{255, 0, 0, 255}, {0, 255, 0, 255}, {0, 0, 255, 255}}[x/100])
		}
	}
	tests := []struct {
		name     string
		img      image.Image
		channels int
		want     []float32 // per channel, every pixel
	}{
		{"rgb to rgb", solid(5, 7, color.NRGBA{255, 51, 0, 255}), 3, []float32{1, 0.2, 0}},
		{"rgb to grey", solid(13, 3, color.NRGBA{255, 255, 0, 255}), 1, []float32{0.299 + 0.587}},
		{"grey to rgb", solid(2, 2, color.Gray{102}), 3, []float32{0.4, 0.4, 0.4}},
		{"transparent over black", solid(4, 4, color.NRGBA{255, 255, 255, 0}), 1, []float32{0}},
		{"half transparent", solid(4, 4, color.NRGBA{255, 255, 255, 51}), 1, []float32{0.2}},
		{"centre crop", thirds, 3, []float32{0, 1, 0}},
	}
	const res = 8
	for _, tt := range tests {
		dst := make([]float32, tt.channels*res*res)
		if err := pixels.FromImage(tt.img, res, tt.channels, dst); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		for c, want := range tt.want {
			for i, v := range dst[c*res*res : (c+1)*res*res] {
				if math.Abs(float64(v-want)) > 0.01 {
					t.Errorf("%s: channel %d pixel %d = %g, want %g", tt.name, c, i, v, want)
					break
				}
			}
		}
	}
}

func TestGridColumns(t *testing.T) {
	for n, want := range map[int]int{1: 1, 2: 2, 4: 2, 5: 3, 16: 4, 17: 5, 64: 8} {
		if got := gridColumns(n); got != want {
			t.Errorf("gridColumns(%d) = %d, want %d", n, got, want)
		}
	}
}
