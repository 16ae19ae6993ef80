package serve

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/latentzoo/latentzoo/zoo"
)

// testBodyLimit is the body limit of the test server, small enough to exceed cheaply.
const testBodyLimit = 1 << 20

// testServer serves the test models, the Gaussian one by default.
var testServer *Server

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "latentzoo-serve-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	entries, err := testEntries(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// One thread per operator, as latentzoo serve runs by default.
	testServer, err = New(Config{IntraOpThreads: 1, MaxBodyBytes: testBodyLimit, Logger: slog.New(slog.DiscardHandler)}, entries...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer testServer.Close()
	return m.Run()
}

// testEntries builds every test model as an entry under dir.
func testEntries(dir string) ([]zoo.Entry, error) {
	var entries []zoo.Entry
	for i, tm := range testModels() {
		e, err := tm.entry(filepath.Join(dir, fmt.Sprint(i)))
		if err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// mustEntries builds the test entries in a temporary folder of t.
func mustEntries(t testing.TB) []zoo.Entry {
	t.Helper()
	entries, err := testEntries(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

// part is one part of a multipart form: a file part when file is set.
type part struct {
	name string
	data []byte
	file bool
}

func text(name, value string) part    { return part{name: name, data: []byte(value)} }
func file(name string, b []byte) part { return part{name: name, data: b, file: true} }

// newFormRequest builds a multipart POST.
func newFormRequest(t testing.TB, target string, parts ...part) *http.Request {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, p := range parts {
		var w interface{ Write([]byte) (int, error) }
		var err error
		if p.file {
			w, err = mw.CreateFormFile(p.name, p.name+".bin")
		} else {
			w, err = mw.CreateFormField(p.name)
		}
		if err != nil {
			t.Fatal(err)
		}
		w.Write(p.data)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, target, &body)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	return r
}

// newJSONRequest builds a JSON POST of body.
func newJSONRequest(t testing.TB, target string, body any) *http.Request {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(b))
	r.Header.Set("Content-Type", "application/json")
	return r
}

// asJSON asks for a JSON answer.
func asJSON(r *http.Request) *http.Request {
	r.Header.Set("Accept", "application/json")
	return r
}

// serve runs r through the test server's handler.
func serve(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	testServer.Handler().ServeHTTP(w, r)
	return w
}

// wantPNG checks a 200 PNG answer and decodes it.
func wantPNG(t testing.TB, w *httptest.ResponseRecorder) image.Image {
	t.Helper()
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "image/png" {
		t.Fatalf("got %d %s: %s; want 200 image/png", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	img, err := png.Decode(w.Body)
	if err != nil {
		t.Fatalf("answer is no PNG: %v", err)
	}
	return img
}

// wantJSON checks a 200 JSON answer and decodes it into v.
func wantJSONBody(t testing.TB, w *httptest.ResponseRecorder, v any) {
	t.Helper()
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("got %d %s: %s; want 200 application/json", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	if err := json.Unmarshal(w.Body.Bytes(), v); err != nil {
		t.Fatalf("answer is no JSON: %v", err)
	}
}

// pngs decodes the base64 PNGs of a JSON answer.
func pngs(t testing.TB, b64 []string) []image.Image {
	t.Helper()
	imgs := make([]image.Image, len(b64))
	for i, s := range b64 {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("image %d: %v", i, err)
		}
		if imgs[i], err = png.Decode(bytes.NewReader(b)); err != nil {
			t.Fatalf("image %d: %v", i, err)
		}
	}
	return imgs
}

// maxDiff is the largest difference of two same-size images in any 8-bit channel.
func maxDiff(t testing.TB, a, b image.Image) int {
	t.Helper()
	if a.Bounds().Size() != b.Bounds().Size() {
		t.Fatalf("images are %v and %v", a.Bounds().Size(), b.Bounds().Size())
	}
	d := 0
	for y := range a.Bounds().Dy() {
		for x := range a.Bounds().Dx() {
			ca := color.NRGBAModel.Convert(a.At(a.Bounds().Min.X+x, a.Bounds().Min.Y+y)).(color.NRGBA)
			cb := color.NRGBAModel.Convert(b.At(b.Bounds().Min.X+x, b.Bounds().Min.Y+y)).(color.NRGBA)
			for _, p := range [][2]uint8{{ca.R, cb.R}, {ca.G, cb.G}, {ca.B, cb.B}} {
				d = max(d, abs(int(p[0])-int(p[1])))
			}
		}
	}
	return d
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// crop is the cell of a strip or grid at column col and row row, for square cells of side
// res.
func crop(img image.Image, res, col, row int) image.Image {
	return region(img, image.Rect(col*res, row*res, (col+1)*res, (row+1)*res))
}

// region is the part r of img, r relative to img's top left corner.
func region(img image.Image, r image.Rectangle) image.Image {
	return img.(interface {
		SubImage(image.Rectangle) image.Image
	}).SubImage(r.Add(img.Bounds().Min))
}

// isVaried reports whether an image has more than one pixel value: a decoder's output is
// not flat, so a flat image means nothing was decoded.
func isVaried(img image.Image) bool {
	first := img.At(img.Bounds().Min.X, img.Bounds().Min.Y)
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			if img.At(x, y) != first {
				return true
			}
		}
	}
	return false
}

// Test images: odd sizes, grey and colour, PNG and JPEG.
var (
	greyPNG    = mustPNG(checker(37, 23, false))
	colourPNG  = mustPNG(checker(50, 64, true))
	colourJPEG = mustJPEG(checker(81, 40, true))
	greyJPEG   = mustJPEG(checker(9, 13, false))
)

// checker is a w×h checkerboard with a colour ramp, grey or colour.
func checker(w, h int, colour bool) image.Image {
	if !colour {
		img := image.NewGray(image.Rect(0, 0, w, h))
		for y := range h {
			for x := range w {
				img.SetGray(x, y, color.Gray{uint8((x/4+y/4)%2*200 + 20)})
			}
		}
		return img
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetRGBA(x, y, color.RGBA{uint8(255 * x / w), uint8((x/5 + y/5) % 2 * 255), uint8(255 * y / h), 255})
		}
	}
	return img
}

// newServer is a server of the test entries with cfg, closed at the test's end, and a
// function that runs a request through its handler.
func newServer(t *testing.T, cfg Config) (*Server, func(*http.Request) *httptest.ResponseRecorder) {
	t.Helper()
	s, err := New(cfg, mustEntries(t)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, func(r *http.Request) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, r)
		return w
	}
}
