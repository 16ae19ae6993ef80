package main

import (
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/latentzoo/latentzoo/figure"
	"github.com/latentzoo/latentzoo/zoo"
)

// TestFigure draws the built-in entries and checks the sheet: one row of test images,
// then reconstructions, samples and an interpolation per entry, n images a row.
func TestFigure(t *testing.T) {
	entries, err := zoo.Builtin()
	if err != nil || len(entries) == 0 {
		t.Fatalf("built-in entries: %v, %v", entries, err)
	}
	out := filepath.Join(t.TempDir(), "sheet.png")
	args := []string{"-out", out, "-n", "4", "-scale", "1"}
	// The test images, then per entry a reconstruction row per decoding graph (AVAE's
	// decoder and generator), its samples and an interpolation.
	rows, firstSamples := 1, 0
	for _, e := range entries {
		m := e.Manifest()
		if m.IsClassifier() { // a yardstick draws no images
			continue
		}
		decoders := len(figure.GraphRoles(m.Graphs))
		if firstSamples == 0 {
			firstSamples = rows + decoders
		}
		args = append(args, m.Name)
		rows += decoders + 2
	}
	if err := runFigure(args); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	im, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// Cells are 32 pixels high with 4 between rows and around the sheet.
	if h := im.Bounds().Dy(); h != 4+rows*(32+4) {
		t.Errorf("sheet is %d pixels high, want %d rows", h, rows)
	}
	// The images are not blank: the last cell of the first sample row has some ink.
	x0, y0 := im.Bounds().Dx()-4-32, 4+firstSamples*(32+4)
	ink := false
	for y := y0; y < y0+32; y++ {
		for x := x0; x < x0+32; x++ {
			ink = ink || color.GrayModel.Convert(im.At(x, y)).(color.Gray).Y > 32
		}
	}
	if !ink {
		t.Error("the first entry's last sample is black")
	}
	for _, bad := range [][]string{
		{"-n", "4", entries[0].Manifest().Name},              // no -out
		{"-out", out, "-n", "1", entries[0].Manifest().Name}, // one image a row cannot interpolate
		{"-out", out, "nosuch/fashion-mnist:v1"},             // unknown entry
	} {
		if err := runFigure(bad); err == nil {
			t.Errorf("figure %v: no error", bad)
		}
	}
}
