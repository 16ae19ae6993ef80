package train

import (
	"bytes"
	"regexp"
	"testing"
	"time"

	"github.com/latentzoo/latentzoo/progress"
)

func TestProgressLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    progress.State
		loss float64
		want string
	}{
		{"start", progress.State{N: 0, Total: 100}, 0, "step 0/100 [                        ]   0% loss 0 | 0 img/s | ETA ?"},
		{"quarter", progress.State{N: 25, Total: 100, Elapsed: 10 * time.Second}, 3.14159, "step 25/100 [======                  ]  25% loss 3.142 | 80 img/s | ETA 30s"},
		{"resumed", progress.State{N: 75, Start: 50, Total: 100, Elapsed: 10 * time.Second}, 0.5, "step 75/100 [==================      ]  75% loss 0.5 | 80 img/s | ETA 10s"},
		// 50 steps in 95 s (a pause among them), then 10 in the last 5 s: the line reads
		// the last 5 s, not the 19 img/s of the whole.
		{"after a pause", progress.State{N: 60, Total: 100, Elapsed: 100 * time.Second, LastN: 50, LastElapsed: 95 * time.Second}, 2, "step 60/100 [==============          ]  60% loss 2 | 64 img/s | ETA 20s"},
		{"end", progress.State{N: 100, Total: 100, Elapsed: time.Minute}, 1e-5, "step 100/100 [========================] 100% loss 1e-05 | 53 img/s | ETA 0s"},
	} {
		if got := progressLine(tc.s, tc.loss, 32); got != tc.want {
			t.Errorf("%s: got\n%q\nwant\n%q", tc.name, got, tc.want)
		}
	}
}

// TestProgressPlainLines checks what a run prints where the output is no terminal: a line
// at the first step, none before progressLineEvery, and one at the last step.
func TestProgressPlainLines(t *testing.T) {
	var out bytes.Buffer
	p := newProgress(&out, 3, 0, 32)
	p.update(1, 2.5, false)
	p.update(2, 2, false)
	p.update(3, 1.5, true)
	p.done()
	re := regexp.MustCompile(`^step 1/3 \[========                \]  33% loss 2.5 \| \d+ img/s \| ETA \S+\n` +
		`step 3/3 \[========================\] 100% loss 1.5 \| \d+ img/s \| ETA 0s\n$`)
	if !re.MatchString(out.String()) {
		t.Errorf("plain progress %q does not match %s", out.String(), re)
	}
}
