package dataset

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/latentzoo/latentzoo/pixels"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// The real data sets are installed by make deps; these tests fail, rather than skip,
// without them, so that CI cannot pass without reading them.

func TestLoadRealData(t *testing.T) {
	tests := []struct {
		name, split   string
		res, channels int
		n             int
		classes       []string
		first         int // label of image 0
	}{
		{FashionMNIST, Train, 32, 1, 60000, FashionMNISTClasses, 9},
		{FashionMNIST, Test, 28, 3, 10000, FashionMNISTClasses, 9},
		{FashionMNIST, Test, 64, 1, 10000, FashionMNISTClasses, 9},
		{MNIST, Train, 32, 1, 8004, MNISTClasses, 0},
		{MNIST, Test, 28, 3, 1996, MNISTClasses, 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%s/%d", tt.name, tt.split, tt.res), func(t *testing.T) {
			s, err := Load(tt.name, tt.split, tt.res, tt.channels)
			if err != nil {
				t.Fatal(err)
			}
			if s.Name != tt.name || s.Split != tt.split || s.N != tt.n || s.C != tt.channels || s.H != tt.res || s.W != tt.res {
				t.Fatalf("got %s %s %d×%d×%d×%d, want %s %s %d×%d×%d×%d", s.Name, s.Split, s.N, s.C, s.H, s.W,
					tt.name, tt.split, tt.n, tt.channels, tt.res, tt.res)
			}
			if len(s.Images) != s.N*s.ImageSize() || len(s.Labels) != s.N {
				t.Fatalf("%d values and %d labels for %d images", len(s.Images), len(s.Labels), s.N)
			}
			if !slices.Equal(s.Classes, tt.classes) {
				t.Errorf("classes %q, want %q", s.Classes, tt.classes)
			}
			if s.Labels[0] != tt.first {
				t.Errorf("label of image 0 is %d, want %d", s.Labels[0], tt.first)
			}
			count := make([]int, len(s.Classes))
			for _, l := range s.Labels {
				count[l]++
			}
			for c, n := range count {
				if n < s.N/20 {
					t.Errorf("class %d has only %d of %d images", c, n, s.N)
				}
			}
			var sum float64
			for i, v := range s.Images {
				if !(v >= 0 && v <= 1) {
					t.Fatalf("value %d is %g, outside [0,1]", i, v)
				}
				sum += float64(v)
			}
			// Both sets are light strokes on black: a mean far from this means garbled pixels.
			if mean := sum / float64(len(s.Images)); mean < 0.05 || mean > 0.4 {
				t.Errorf("mean pixel %.3f, want between 0.05 and 0.4", mean)
			}
		})
	}
}

func TestPadding(t *testing.T) {
	for _, name := range []string{FashionMNIST, MNIST} {
		t.Run(name, func(t *testing.T) {
			raw, err := Load(name, Test, 28, 1)
			if err != nil {
				t.Fatal(err)
			}
			padded, err := Load(name, Test, 32, 3)
			if err != nil {
				t.Fatal(err)
			}
			for _, i := range []int{0, 1, raw.N / 2, raw.N - 1} {
				src, dst := raw.Image(i), padded.Image(i)
				for c := range 3 {
					for y := range 32 {
						for x := range 32 {
							want := float32(0)
							if x >= 2 && x < 30 && y >= 2 && y < 30 {
								want = src[(y-2)*28+x-2]
							}
							if got := dst[c*32*32+y*32+x]; got != want {
								t.Fatalf("image %d channel %d (%d,%d) = %g, want %g", i, c, x, y, got, want)
							}
						}
					}
				}
			}
		})
	}
}

// TestGolden compares one padded Fashion-MNIST image with testdata; go test -update
// rewrites it.
func TestGolden(t *testing.T) {
	s, err := Load(FashionMNIST, Train, 32, 1)
	if err != nil {
		t.Fatal(err)
	}
	img, err := pixels.ToImage(s.Image(0), 1, 32, 32)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "fashion-mnist-train-0-32.png")
	if *update {
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	golden, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	g, ok := golden.(*image.Gray)
	if !ok || g.Rect != image.Rect(0, 0, 32, 32) {
		t.Fatalf("golden is %T %v, want a 32×32 *image.Gray", golden, golden.Bounds())
	}
	if !bytes.Equal(g.Pix, img.(*image.Gray).Pix) {
		t.Errorf("fashion-mnist train image 0 at 32×32 differs from %s", path)
	}
}

func TestParseDigitsMatchesJSON(t *testing.T) {
	dir, err := mnistDir()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "src", "digits", "7.json"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseDigits(b)
	if err != nil {
		t.Fatal(err)
	}
	var want struct{ Data []float64 }
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want.Data) {
		t.Fatalf("%d values, encoding/json finds %d", len(got), len(want.Data))
	}
	for i, v := range want.Data {
		// Three decimals of k/255 are within 0.0005 of it.
		if d := math.Abs(float64(got[i])/255 - v); d > 0.0005 {
			t.Fatalf("value %d: byte %d for %g", i, got[i], v)
		}
	}
}

func TestParseDigits(t *testing.T) {
	tests := []struct {
		in      string
		want    []byte
		wantErr string
	}{
		{`{"data":[0,1,0.5]}`, []byte{0, 255, 128}, ""},
		{"{ \"data\" :\n[ 0.2 , 0.624 ,1 ] }\n", []byte{51, 159, 255}, ""},
		{`{"data":[1e-1]}`, []byte{26}, ""},
		{`{"data":[]}`, nil, "invalid syntax"},
		{`{"data":[0,]}`, nil, "invalid syntax"},
		{`{"data":[0.2 0.3]}`, nil, "want , or ]"},
		{`{"data":[2]}`, nil, "outside [0,1]"},
		{`{"data":[-0.1]}`, nil, "outside [0,1]"},
		{`{"data":[0]`, nil, "want }"},
		{`{"data":[0]} x`, nil, "after the closing"},
		{`{"pixels":[0]}`, nil, `want "data"`},
		{``, nil, "want {"},
	}
	for _, tt := range tests {
		got, err := parseDigits([]byte(tt.in))
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseDigits(%q) error %v, want one containing %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, tt.want) {
			t.Errorf("parseDigits(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, split   string
		res, channels int
		wantErr       string
	}{
		{"cifar-10", Train, 32, 1, "unknown data set"},
		{FashionMNIST, "validation", 32, 1, "unknown split"},
		{FashionMNIST, Train, 0, 1, "resolution"},
		{FashionMNIST, Train, 100000, 1, "resolution"},
		{MNIST, Train, 32, 2, "channels"},
		{FolderPrefix + "/nonexistent/latentzoo", Train, 32, 1, "no such file"},
	}
	for _, tt := range tests {
		_, err := Load(tt.name, tt.split, tt.res, tt.channels)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("Load(%q, %q, %d, %d) error %v, want one containing %q", tt.name, tt.split, tt.res, tt.channels, err, tt.wantErr)
		}
	}
}

func TestMissingData(t *testing.T) {
	t.Setenv("LATENTZOO_FASHION_MNIST", t.TempDir())
	t.Setenv("LATENTZOO_MNIST", t.TempDir())
	for _, name := range []string{FashionMNIST, MNIST} {
		if _, err := Load(name, Train, 28, 1); err == nil || !strings.Contains(err.Error(), "no such file") {
			t.Errorf("Load(%s) from an empty folder: error %v, want a missing file", name, err)
		}
	}
}

// grid returns a set of n images of one channel, 2×2 pixels, image i filled with i/255.
func grid(n int) *Set {
	s := &Set{Name: "grid", N: n, C: 1, H: 2, W: 2, Images: make([]float32, 4*n), Labels: make([]int, n)}
	for i := range n {
		for j := range 4 {
			s.Images[4*i+j] = float32(i) / 255
		}
		s.Labels[i] = i
	}
	return s
}

func TestPermutation(t *testing.T) {
	s := grid(1000)
	p := s.Permutation(42, 3)
	if !slices.Equal(p, s.Permutation(42, 3)) {
		t.Fatal("same seed and epoch gave different orders")
	}
	sorted := slices.Sorted(slices.Values(p))
	for i, v := range sorted {
		if v != i {
			t.Fatalf("not a permutation of 0..999: sorted[%d] = %d", i, v)
		}
	}
	for _, other := range [][2]int64{{42, 4}, {43, 3}, {42, 0}} {
		if slices.Equal(p, s.Permutation(other[0], int(other[1]))) {
			t.Errorf("seed %d epoch %d gave the same order as seed 42 epoch 3", other[0], other[1])
		}
	}
	// Pinned: a change here would break resuming runs made with earlier builds.
	if got, want := grid(10).Permutation(1, 0), []int{7, 6, 1, 3, 2, 4, 8, 9, 0, 5}; !slices.Equal(got, want) {
		t.Errorf("Permutation(1, 0) of 10 = %v, want %v", got, want)
	}
	if got := grid(0).Permutation(1, 0); len(got) != 0 {
		t.Errorf("Permutation of an empty set = %v", got)
	}
}

func TestBatchAndSubset(t *testing.T) {
	s := grid(10)
	dst := make([]float32, 3*4)
	s.Batch([]int{7, 0, 7}, dst)
	want := []float32{7, 7, 7, 7, 0, 0, 0, 0, 7, 7, 7, 7}
	for i := range want {
		want[i] /= 255
	}
	if !slices.Equal(dst, want) {
		t.Errorf("Batch = %v, want %v", dst, want)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Batch into a short slice did not panic")
			}
		}()
		s.Batch([]int{1, 2}, make([]float32, 7))
	}()

	for _, tt := range []struct {
		n    int
		want []int
	}{
		{3, []int{0, 3, 6}},
		{4, []int{0, 2, 5, 7}},
		{10, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{20, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{0, []int{}},
	} {
		sub := s.Subset(tt.n)
		if sub.N != len(tt.want) || !slices.Equal(sub.Labels, tt.want) {
			t.Errorf("Subset(%d) labels %v, want %v", tt.n, sub.Labels, tt.want)
			continue
		}
		for i, j := range tt.want {
			if sub.Image(i)[0] != float32(j)/255 {
				t.Errorf("Subset(%d) image %d is not image %d", tt.n, i, j)
			}
		}
	}
	sub := s.Subset(2)
	sub.Images[0] = 1
	if s.Images[0] != 0 {
		t.Error("Subset shares memory with its set")
	}
}

func BenchmarkLoadFashionMNIST(b *testing.B) {
	for b.Loop() {
		if _, err := Load(FashionMNIST, Train, 32, 1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoadMNIST(b *testing.B) {
	for b.Loop() {
		if _, err := Load(MNIST, Train, 32, 1); err != nil {
			b.Fatal(err)
		}
	}
}
