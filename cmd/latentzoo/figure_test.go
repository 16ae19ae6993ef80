package main

import (
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"

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
	for _, e := range entries {
		if !e.Manifest().IsClassifier() { // a yardstick draws no images
			args = append(args, e.Manifest().Name)
		}
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
	rows := 1 + 3*(len(args)-6) // the test images, then 3 rows per entry named

	if h := im.Bounds().Dy(); h != 4+rows*(32+4) {
		t.Errorf("sheet is %d pixels high, want %d rows", h, rows)
	}
	// The images are not blank: the last cell of the first sample row has some ink.
	x0, y0 := im.Bounds().Dx()-4-32, 4+2*(32+4)
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
