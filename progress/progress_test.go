package progress

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

// countLine is a plain line that says which event and count it was printed at.
func countLine(s State) string {
	return fmt.Sprintf("%d %d/%d", s.Event, s.N, s.Total)
}

func TestPlainLines(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  Options
		sets  []int64
		close bool // Close instead of Finish
		want  string
	}{
		{"every set", Options{Line: countLine}, []int64{1, 2}, false, "0 0/3\n1 1/3\n1 2/3\n2 3/3\n"},
		{"throttled", Options{Line: countLine, Every: time.Hour}, []int64{1, 2}, false, "0 0/3\n2 3/3\n"},
		{"first set after a silent begin", Options{Every: time.Hour, Line: func(s State) string {
			if s.Event == Begin {
				return ""
			}
			return countLine(s)
		}}, []int64{1, 2}, false, "1 1/3\n2 3/3\n"},
		{"resumed", Options{Line: countLine, Start: 2}, nil, false, "0 2/3\n2 3/3\n"},
		{"closed", Options{Line: countLine}, []int64{1}, true, "0 0/3\n1 1/3\n"},
		{"no line", Options{}, []int64{1}, false, ""},
		{"end as the last line", Options{Line: func(s State) string { return fmt.Sprint(s.N) }}, []int64{3}, false, "0\n3\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			tc.opts.Mode = Plain
			b := New(&out, 3, tc.opts)
			for _, n := range tc.sets {
				b.Set(n)
			}
			if tc.close {
				b.Close()
			} else {
				b.Finish()
			}
			b.Close() // after Finish or Close: nothing more
			b.Set(1)
			if out.String() != tc.want {
				t.Errorf("got %q, want %q", out.String(), tc.want)
			}
		})
	}
}

func TestRedraw(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   Options
		total  int64
		finish bool
		want   []string // in the output, in order
	}{
		{"finished", Options{Description: "eval", Unit: "images"}, 4, true, []string{"eval", "0%", "\r", "100%", "(4/4", "images/s", "\n"}},
		{"bytes", Options{Description: "file.onnx", Bytes: true}, 2048, true, []string{"file.onnx", "100%", "2.0/2.0 kB", "\n"}},
		{"closed", Options{Description: "train", Unit: "steps"}, 4, false, []string{"train", "steps/", "\n"}},
		{"empty", Options{Description: "empty"}, 0, true, []string{"empty", "100%", "\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			tc.opts.Mode, tc.opts.Line = Redraw, countLine
			b := New(&out, tc.total, tc.opts)
			b.Set(tc.total / 2)
			if tc.finish {
				b.Finish()
			} else {
				b.Close()
			}
			got := out.String()
			rest := got
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("output %q lacks %q (in order %q)", got, w, tc.want)
				}
				rest = rest[i+len(w):]
			}
			if !strings.HasSuffix(got, "\n") || strings.Count(got, "\n") != 1 {
				t.Errorf("output %q does not end its line once (a drawn bar prints no plain lines)", got)
			}
		})
	}
}

func TestIsTerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, tc := range []struct {
		name string
		w    io.Writer
	}{{"buffer", &bytes.Buffer{}}, {"regular file", f}} {
		if IsTerminal(tc.w) {
			t.Errorf("%s is taken for a terminal", tc.name)
		}
	}
}

func TestRates(t *testing.T) {
	for _, tc := range []struct {
		name         string
		s            State
		rate, recent float64
	}{
		{"nothing yet", State{}, 0, 0},
		{"first line", State{N: 30, Start: 10, Elapsed: 10 * time.Second}, 2, 2},
		{"after a pause", State{N: 110, Elapsed: 100 * time.Second, LastN: 100, LastElapsed: 98 * time.Second}, 1.1, 5},
		{"same instant as the last line", State{N: 40, Elapsed: 20 * time.Second, LastN: 40, LastElapsed: 20 * time.Second}, 2, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.s.Rate(); math.Abs(got-tc.rate) > 1e-9 {
				t.Errorf("Rate = %v, want %v", got, tc.rate)
			}
			if got := tc.s.RecentRate(); math.Abs(got-tc.recent) > 1e-9 {
				t.Errorf("RecentRate = %v, want %v", got, tc.recent)
			}
		})
	}
}
