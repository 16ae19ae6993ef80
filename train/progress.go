package train

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// progress draws a progress bar (step, loss, images/s, ETA) on a terminal, or prints a
// plain line every few seconds when the output is not one (CI logs).
type progress struct {
	w          io.Writer
	tty        bool
	total      int64
	startStep  int64
	start      time.Time
	last       time.Time
	batchSize  int
	lineEvery  time.Duration
	drawnWidth int
}

func newProgress(w io.Writer, total, startStep int64, batchSize int) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	now := time.Now()
	return &progress{w: w, tty: tty, total: total, startStep: startStep, start: now, batchSize: batchSize, lineEvery: 10 * time.Second}
}

// rate is the images per second since the progress started.
func (p *progress) rate(step int64) float64 {
	el := time.Since(p.start).Seconds()
	if el <= 0 {
		return 0
	}
	return float64((step-p.startStep)*int64(p.batchSize)) / el
}

func (p *progress) update(step int64, loss float64, force bool) {
	now := time.Now()
	every := p.lineEvery
	if p.tty {
		every = 200 * time.Millisecond
	}
	if !force && now.Sub(p.last) < every {
		return
	}
	p.last = now
	ips := p.rate(step)
	eta := "?"
	if ips > 0 {
		left := float64((p.total-step)*int64(p.batchSize)) / ips
		eta = (time.Duration(left) * time.Second).Round(time.Second).String()
	}
	frac := float64(step) / float64(max(p.total, 1))
	const width = 24
	filled := int(frac * width)
	bar := strings.Repeat("=", filled) + strings.Repeat(" ", width-filled)
	line := fmt.Sprintf("step %d/%d [%s] %3.0f%% loss %.4g | %.0f img/s | ETA %s", step, p.total, bar, 100*frac, loss, ips, eta)
	if p.tty {
		pad := max(0, p.drawnWidth-len(line))
		fmt.Fprintf(p.w, "\r%s%s", line, strings.Repeat(" ", pad))
		p.drawnWidth = len(line)
	} else {
		fmt.Fprintln(p.w, line)
	}
}

func (p *progress) done() {
	if p.tty {
		fmt.Fprintln(p.w)
	}
}
