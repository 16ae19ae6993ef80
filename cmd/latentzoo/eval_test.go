package main

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latentzoo/latentzoo/export"
	"github.com/latentzoo/latentzoo/zoo"
)

// TestEvalYardstick evaluates an MNIST entry on the built-in MNIST yardstick and requires
// FID, precision, recall, both accuracies and the yardstick's name and digest in its
// manifest and card; bad yardsticks and sample counts fail before anything is written.
func TestEvalYardstick(t *testing.T) {
	t.Setenv("LATENTZOO_HOME", t.TempDir())
	folder := filepath.Join(t.TempDir(), "entry")
	m, files := mnistEntry(t, "vae/mnist:test")
	files[export.LogFile] = []byte(`{"step":50,"loss":300}` + "\n" + `{"step":100,"loss":250}` + "\n" + `{"step":100,"fid_samples":80,"samples":500}` + "\n")
	if err := zoo.WriteEntry(folder, m, files); err != nil {
		t.Fatal(err)
	}
	manifest := filepath.Join(folder, "manifest.json")
	before, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		args   []string
		saying string
	}{
		{"unknown yardstick", []string{"-yardstick", "classifier/nothing:v1"}, "classifier/nothing:v1"},
		{"yardstick of another data set", []string{"-yardstick", "classifier/fashion-mnist:v1"}, "measures fashion-mnist"},
		{"an autoencoder as yardstick", []string{"-yardstick", "vae/fashion-mnist:v1"}, "not a classifier"},
		{"one sample", []string{"-samples", "1"}, "-samples 1"},
		{"too many samples", []string{"-samples", "100001"}, "-samples 100001"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := runEval(append([]string{folder}, tc.args...))
			if err == nil || !strings.Contains(err.Error(), tc.saying) {
				t.Errorf("err = %v, want one saying %q", err, tc.saying)
			}
			if after, _ := os.ReadFile(manifest); !bytes.Equal(after, before) {
				t.Error("the entry was written")
			}
		})
	}
	if err := runEval([]string{folder, "-samples", "300", "-seed", "2"}); err != nil {
		t.Fatal(err)
	}
	e, err := zoo.OpenDir(folder)
	if err != nil {
		t.Fatal(err)
	}
	got := e.Manifest()
	for _, k := range []string{"fid_samples", "fid_reconstructions", "precision", "recall", "accuracy_originals", "accuracy_reconstructions", "test_mse"} {
		if _, ok := got.Metrics[k]; !ok {
			t.Errorf("metrics lack %s: %v", k, got.Metrics)
		}
	}
	if got.Metrics["quality_samples"] != 300 || got.Yardstick == nil || got.Yardstick.Name != "classifier/mnist:v1" || !strings.HasPrefix(got.Yardstick.Digest, "sha256:") {
		t.Errorf("samples %v, yardstick %+v", got.Metrics["quality_samples"], got.Yardstick)
	}
	// Random weights: the classifier reads the reconstructions far worse than the digits.
	if !(got.Metrics["accuracy_reconstructions"] < got.Metrics["accuracy_originals"]) || got.Metrics["accuracy_originals"] < 0.98 {
		t.Errorf("accuracy %v on reconstructions, %v on originals", got.Metrics["accuracy_reconstructions"], got.Metrics["accuracy_originals"])
	}
	card, err := e.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(card), "classifier/mnist:v1") || !strings.Contains(string(card), "fid_samples") {
		t.Error("the model card does not name the yardstick and its FID")
	}
	sheet, err := e.ReadFile(got.Pictures[zoo.PictureSheet])
	if err != nil {
		t.Fatalf("no sheet recorded (pictures %v): %v", got.Pictures, err)
	}
	im, err := png.Decode(bytes.NewReader(sheet))
	if err != nil {
		t.Fatal(err)
	}
	// Four rows (test images, reconstructions, samples, interpolation) of 32×32 cells
	// drawn twice their size.
	if h := im.Bounds().Dy(); h < 4*64 || h > 4*(64+8)+8 {
		t.Errorf("sheet is %v", im.Bounds())
	}
	for _, pic := range []string{zoo.PictureSheet, zoo.PictureCurves} {
		if !strings.Contains(string(card), "]("+got.Pictures[pic]+")") {
			t.Errorf("the model card does not show the %s (pictures %v)", pic, got.Pictures)
		}
	}
}
