package dataset

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeFile writes b to root/rel, making folders as needed.
func writeFile(t *testing.T, root, rel string, b []byte) {
	t.Helper()
	path := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeImage encodes img as PNG or JPEG by rel's extension and writes it to root/rel.
func writeImage(t *testing.T, root, rel string, img image.Image) {
	t.Helper()
	var buf bytes.Buffer
	var err error
	if ext := strings.ToLower(filepath.Ext(rel)); ext == ".png" {
		err = png.Encode(&buf, img)
	} else {
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 100})
	}
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, root, rel, buf.Bytes())
}

// greyImage returns a w×h *image.Gray of one value.
func greyImage(w, h int, v uint8) *image.Gray {
	return &image.Gray{Pix: bytes.Repeat([]byte{v}, w*h), Stride: w, Rect: image.Rect(0, 0, w, h)}
}

func TestFolderSplitDirs(t *testing.T) {
	root := t.TempDir()
	writeImage(t, root, "train/cats/a.png", greyImage(50, 30, 10))
	writeImage(t, root, "train/cats/b.jpg", uniform(17, 61, color.NRGBA{200, 100, 50, 255}))
	writeImage(t, root, "train/d.JPEG", uniform(100, 7, color.NRGBA{0, 0, 255, 255}))
	writeImage(t, root, "train/dogs/c.png", uniform(28, 28, color.NRGBA{255, 255, 255, 128}))
	writeImage(t, root, "test/birds/e.png", greyImage(9, 9, 99))
	// Neither hidden files nor other kinds nor files beside the split folders are read.
	writeFile(t, root, "train/.hidden.png", []byte("not an image"))
	writeFile(t, root, "train/.git/x.png", []byte("not an image"))
	writeFile(t, root, "train/notes.txt", []byte("not an image"))
	writeFile(t, root, "stray.png", []byte("not an image"))

	tests := []struct {
		split    string
		channels int
		labels   []int
		centre   [][3]float64 // per image, per channel (grey: luma in [0])
		corner   []float64    // per image, pixel (0,0) of channel 0
	}{
		{Train, 3, []int{1, 1, -1, 2},
			[][3]float64{{10, 10, 10}, {200, 100, 50}, {0, 0, 255}, {128, 128, 128}},
			[]float64{10, 200, 0, 0}},
		{Train, 1, []int{1, 1, -1, 2},
			[][3]float64{{10}, {0.299*200 + 0.587*100 + 0.114*50}, {0.114 * 255}, {128}},
			[]float64{10, 0.299*200 + 0.587*100 + 0.114*50, 0.114 * 255, 0}},
		{Test, 1, []int{0}, [][3]float64{{99}}, []float64{99}},
	}
	for _, tt := range tests {
		s, err := Load(FolderPrefix+root, tt.split, 32, tt.channels)
		if err != nil {
			t.Fatal(err)
		}
		if s.Name != FolderPrefix+root || s.N != len(tt.labels) || s.C != tt.channels {
			t.Fatalf("%s: got %s with %d×%d channels, want %d×%d", tt.split, s.Name, s.N, s.C, len(tt.labels), tt.channels)
		}
		if want := []string{"birds", "cats", "dogs"}; !slices.Equal(s.Classes, want) {
			t.Errorf("%s: classes %q, want %q", tt.split, s.Classes, want)
		}
		if !slices.Equal(s.Labels, tt.labels) {
			t.Errorf("%s: labels %v, want %v", tt.split, s.Labels, tt.labels)
		}
		for i := range s.N {
			img := s.Image(i)
			for c := range tt.channels {
				// Slack for JPEG and resampling.
				if got, want := float64(img[c*32*32+16*32+16])*255, tt.centre[i][c]; math.Abs(got-want) > 3 {
					t.Errorf("%s image %d channel %d centre %.1f/255, want %.1f/255", tt.split, i, c, got, want)
				}
			}
			if got, want := float64(img[0])*255, tt.corner[i]; math.Abs(got-want) > 3 {
				t.Errorf("%s image %d corner %.1f/255, want %.1f/255", tt.split, i, got, want)
			}
		}
	}
}

// TestFolderHashSplit checks the split of a folder without split folders: disjoint, covering
// every image, and stable when images are added. Each image's value identifies it.
func TestFolderHashSplit(t *testing.T) {
	root := t.TempDir()
	const n = 40
	for i := range n {
		writeImage(t, root, fmtName(i), greyImage(5+i%7, 3+i%5, uint8(10+5*i)))
	}
	members := func() map[uint8]string {
		m := map[uint8]string{}
		for _, split := range []string{Train, Test} {
			s, err := Load(root, split, 4, 1)
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Classes) != 0 || slices.ContainsFunc(s.Labels, func(l int) bool { return l != -1 }) {
				t.Errorf("%s: classes %q and labels %v for a folder without classes", split, s.Classes, s.Labels)
			}
			for i := range s.N {
				v := uint8(math.Round(float64(s.Image(i)[5]) * 255))
				if prev, dup := m[v]; dup {
					t.Errorf("image of value %d in %s and %s", v, prev, split)
				}
				m[v] = split
			}
		}
		return m
	}
	before := members()
	tests := 0
	for i := range n {
		switch before[uint8(10+5*i)] {
		case Test:
			tests++
		case "":
			t.Errorf("image %d is in no split", i)
		}
	}
	if tests == 0 || tests > n/4 {
		t.Errorf("%d of %d images in test, want about a tenth", tests, n)
	}
	writeImage(t, root, fmtName(n), greyImage(6, 6, 250))
	after := members()
	for v, split := range before {
		if after[v] != split {
			t.Errorf("adding an image moved image of value %d from %s to %s", v, split, after[v])
		}
	}
}

// fmtName names the i-th image of TestFolderHashSplit.
func fmtName(i int) string {
	return "img-" + string(rune('a'+i/26)) + string(rune('a'+i%26)) + ".png"
}

// pngHeader returns the start of a PNG whose header announces w×h grey pixels.
func pngHeader(w, h uint32) []byte {
	ihdr := binary.BigEndian.AppendUint32([]byte("IHDR"), w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 0, 0, 0, 0) // 8-bit grey, no interlace
	b := []byte("\x89PNG\r\n\x1a\n")
	b = binary.BigEndian.AppendUint32(b, 13)
	b = append(b, ihdr...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(ihdr))
}

func TestFolderBadFiles(t *testing.T) {
	var noise bytes.Buffer
	m := image.NewGray(image.Rect(0, 0, 64, 64))
	for i := range m.Pix {
		m.Pix[i] = uint8(i * 7919)
	}
	if err := png.Encode(&noise, m); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		file    string
		content []byte
		wantErr string
	}{
		{"garbage", "bad.png", []byte("this is not a PNG"), "not a readable PNG or JPEG"},
		{"truncated", "cut.png", noise.Bytes()[:noise.Len()/2], "corrupt png"},
		{"huge header", "huge.png", pngHeader(100000, 100000), "outside the limits"},
		{"wide header", "wide.png", pngHeader(MaxImageSide+1, 1), "outside the limits"},
		{"bad jpeg", "fake.jpg", []byte("\xff\xd8\xff\xe0 not really"), "fake.jpg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeImage(t, root, "train/good.png", greyImage(8, 8, 1))
			writeFile(t, root, "train/"+tt.file, tt.content)
			_, err := Load(root, Train, 8, 1)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), tt.file) {
				t.Errorf("error %v, want one naming %s and containing %q", err, tt.file, tt.wantErr)
			}
		})
	}
	if _, err := Load(t.TempDir(), Train, 8, 1); err == nil || !strings.Contains(err.Error(), "no PNG or JPEG images") {
		t.Errorf("empty folder: error %v", err)
	}
}

// uniform returns a w×h NRGBA image of one colour.
func uniform(w, h int, c color.NRGBA) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	draw.Draw(m, m.Bounds(), image.NewUniform(c), image.Point{}, draw.Src)
	return m
}
