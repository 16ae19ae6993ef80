package figure

import (
	"bytes"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testLog is a training log as train writes it: loss lines every 50 steps and, every
// 200, a sample-FID line.
func testLog() []byte {
	var b strings.Builder
	for step := 50; step <= 1000; step += 50 {
		fmt.Fprintf(&b, `{"step":%d,"epoch":%g,"loss":%g,"metrics":{"rec":%g},"img_per_s":900}`+"\n", step, float64(step)/469, 250+4000/float64(step), 240+3000/float64(step))
		if step%200 == 0 {
			fmt.Fprintf(&b, `{"step":%d,"fid_samples":%g,"samples":2000,"best":true}`+"\n", step, 100+float64((step-600)*(step-600))/4000)
		}
	}
	return []byte(b.String())
}

// TestCurves draws the curves of a log with FID lines (two panels) and of one without (one
// panel), and holds the first to its golden file.
func TestCurves(t *testing.T) {
	both, err := Curves(testLog(), "vae/test")
	if err != nil {
		t.Fatal(err)
	}
	var lossOnly strings.Builder
	for _, line := range strings.SplitAfter(string(testLog()), "\n") {
		if !strings.Contains(line, "fid_samples") {
			lossOnly.WriteString(line)
		}
	}
	one, err := Curves([]byte(lossOnly.String()), "vae/test")
	if err != nil {
		t.Fatal(err)
	}
	wb, wo := width(t, both), width(t, one)
	if wb < 2*wo-10 || wb > 2*wo+10 {
		t.Errorf("with FID %d pixels wide, without %d: want two panels beside one", wb, wo)
	}
	golden := filepath.Join("testdata", "curves.golden.png")
	if *update {
		if err := os.WriteFile(golden, both, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./figure -update to create it)", err)
	}
	if !bytes.Equal(both, want) {
		t.Errorf("curves differ from %s (look at them, then run go test ./figure -update)", golden)
	}
}

func width(t *testing.T, b []byte) int {
	t.Helper()
	im, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return im.Bounds().Dx()
}

// TestCurvesRefuses: a log that is not JSON lines, or has no loss, is an error.
func TestCurvesRefuses(t *testing.T) {
	for _, tc := range []struct{ name, log, saying string }{
		{"not JSON", "{\"step\": 1, \"loss\": 2}\nnot json\n", "line 2"},
		{"no loss", `{"step": 1, "fid_samples": 3}` + "\n", "no loss"},
		{"empty", "", "no loss"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Curves([]byte(tc.log), "x"); err == nil || !strings.Contains(err.Error(), tc.saying) {
				t.Errorf("err = %v, want one saying %q", err, tc.saying)
			}
		})
	}
}
