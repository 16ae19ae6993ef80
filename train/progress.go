package train

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/latentzoo/latentzoo/progress"
)

// progressLineEvery is the least time between plain progress lines (CI logs).
const progressLineEvery = 10 * time.Second

// trainProgress shows the steps of a run through package progress: a bar with the loss
// on a terminal, or a plain line (step, bar, loss, images/s, ETA) every
// progressLineEvery otherwise.
type trainProgress struct {
	bar  *progress.Bar
	loss float64
}

func newProgress(w io.Writer, total, startStep int64, batchSize int) *trainProgress {
	p := &trainProgress{}
	p.bar = progress.New(w, total, progress.Options{
		Start: startStep, Unit: "steps", Every: progressLineEvery, Throttle: 200 * time.Millisecond,
		Line: func(s progress.State) string {
			if s.Event == progress.Begin {
				return ""
			}
			return progressLine(s, p.loss, batchSize)
		},
	})
	return p
}

// progressLine is the plain line of state s: "step 120/1000 [===     ]  12% loss 3.2 |
// 5400 img/s | ETA 1m30s", the rate and ETA from the steps since the last line, so that
// they read true again as soon as a paused run goes on.
func progressLine(s progress.State, loss float64, batchSize int) string {
	ips := s.RecentRate() * float64(batchSize)
	eta := "?"
	if ips > 0 {
		left := float64((s.Total-s.N)*int64(batchSize)) / ips
		eta = (time.Duration(left) * time.Second).Round(time.Second).String()
	}
	frac := s.Fraction()
	const width = 24
	filled := int(frac * width)
	bar := strings.Repeat("=", filled) + strings.Repeat(" ", width-filled)
	return fmt.Sprintf("step %d/%d [%s] %3.0f%% loss %.4g | %.0f img/s | ETA %s", s.N, s.Total, bar, 100*frac, loss, ips, eta)
}

// update shows step with its loss; final marks the run's last step.
func (p *trainProgress) update(step int64, loss float64, final bool) {
	p.loss = loss
	p.bar.Describe(fmt.Sprintf("loss %.4g", loss))
	if final {
		p.bar.Finish()
		return
	}
	p.bar.Set(step)
}

// done ends the progress where it stands.
func (p *trainProgress) done() { p.bar.Close() }
