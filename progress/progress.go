// Package progress shows how a long task is going: training steps, the files of a pull
// or a push, the images of an evaluation. On a terminal it draws a bar that is redrawn in
// place; anywhere else (a pipe, a file, a CI log) it prints plain lines that the caller
// formats, so that logs stay readable and keep the formats people and scripts read.
//
// The bars are drawn by github.com/schollz/progressbar/v3. It is chosen over
// github.com/vbauerster/mpb because GoMLX, which trains latentzoo's models, already
// depends on it, so it adds no module to the build; and because latentzoo's tasks show
// one bar at a time, which is what progressbar draws, while mpb's strength is many bars
// at once behind a container and a rendering goroutine.
package progress

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Mode says how a Bar shows itself.
type Mode int

const (
	// Auto redraws a bar when the output is a terminal and prints plain lines otherwise.
	Auto Mode = iota
	// Plain prints the lines of Options.Line only.
	Plain
	// Redraw draws a bar redrawn in place, as on a terminal.
	Redraw
)

// IsTerminal reports whether w is a terminal that a bar can be redrawn on: a character
// device, with $TERM not "dumb".
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0 && os.Getenv("TERM") != "dumb"
}

// Event is the moment a plain line is asked for.
type Event int

const (
	// Begin is New.
	Begin Event = iota
	// Advance is a Set, at most one per Options.Every.
	Advance
	// End is Finish.
	End
)

// State is where a task stands when a plain line is asked for.
type State struct {
	Event Event
	// N is the count done out of Total; Start is the count the task began at (a
	// resumed run or download), so that N-Start is the work of this process.
	N, Start, Total int64
	// Elapsed is the time since New.
	Elapsed time.Duration
	// LastN and LastElapsed are N and Elapsed at the last plain line printed; LastElapsed
	// is 0 before the first.
	LastN       int64
	LastElapsed time.Duration
}

// RecentRate is the count per second done since the last plain line, or since New before
// it: unlike Rate, it recovers at once from a pause (a stopped process, a machine busy
// elsewhere).
func (s State) RecentRate() float64 {
	if s.LastElapsed <= 0 || s.Elapsed <= s.LastElapsed {
		return s.Rate()
	}
	return float64(s.N-s.LastN) / (s.Elapsed - s.LastElapsed).Seconds()
}

// Rate is the count per second done since New.
func (s State) Rate() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.N-s.Start) / s.Elapsed.Seconds()
}

// Fraction is N/Total, 0 to 1.
func (s State) Fraction() float64 {
	return float64(s.N) / float64(max(s.Total, 1))
}

// Options configure a Bar.
type Options struct {
	Mode Mode
	// Description is shown before a drawn bar; Bar.Describe changes it.
	Description string
	// Start is the count the task begins at.
	Start int64
	// Bytes shows the counts of a drawn bar as sizes, with a transfer rate.
	Bytes bool
	// Unit names what is counted ("steps", "images") in a drawn bar's rate.
	Unit string
	// Width is the number of cells of a drawn bar (default 30).
	Width int
	// Throttle is the least time between redraws of a drawn bar (default 100ms).
	Throttle time.Duration
	// Line formats a plain line; "" prints none. Without it, plain output is silent.
	Line func(State) string
	// Every is the least time between plain lines at Advance events; Begin and End
	// lines are always printed, except an End line that repeats the last line.
	Every time.Duration
}

// Bar shows the progress of one task on a writer. Its methods are safe for concurrent use.
type Bar struct {
	mu       sync.Mutex
	w        io.Writer
	opts     Options
	bar      *progressbar.ProgressBar // nil when plain
	total, n int64
	start    time.Time
	last     time.Time // of the last plain line
	lastN    int64     // the count at the last plain line
	printed  bool      // a plain line has been printed
	lastLine string
	finished bool
	closed   bool
}

// New shows a task that counts to total on w and, in plain mode, prints the Begin line.
func New(w io.Writer, total int64, opts Options) *Bar {
	b := &Bar{w: w, opts: opts, total: total, n: opts.Start, start: time.Now()}
	redraw := opts.Mode == Redraw || opts.Mode == Auto && IsTerminal(w)
	if redraw {
		width, throttle := opts.Width, opts.Throttle
		if width <= 0 {
			width = 30
		}
		if throttle <= 0 {
			throttle = 100 * time.Millisecond
		}
		po := []progressbar.Option{
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(opts.Description),
			progressbar.OptionSetWidth(width),
			progressbar.OptionThrottle(throttle),
			progressbar.OptionShowBytes(opts.Bytes),
			progressbar.OptionShowCount(),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
		}
		if !opts.Bytes {
			po = append(po, progressbar.OptionShowIts())
			if opts.Unit != "" {
				po = append(po, progressbar.OptionSetItsString(opts.Unit))
			}
		}
		// The library refuses a total of 0; an empty task is one that is done at once.
		b.bar = progressbar.NewOptions64(max(total, 1), po...)
		if opts.Start > 0 {
			b.bar.Set64(min(opts.Start, total))
		}
		b.bar.RenderBlank() // shows the bar at once, where it starts
		return b
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.plain(Begin)
	return b
}

// plain prints the line of event e, if any. b.mu is held.
func (b *Bar) plain(e Event) {
	if b.opts.Line == nil {
		return
	}
	now := time.Now()
	st := State{Event: e, N: b.n, Start: b.opts.Start, Total: b.total, Elapsed: now.Sub(b.start)}
	if b.printed {
		st.LastN, st.LastElapsed = b.lastN, b.last.Sub(b.start)
	}
	line := b.opts.Line(st)
	if line == "" || e == End && line == b.lastLine { // a task that ends as its last line said prints it once
		return
	}
	fmt.Fprintln(b.w, line)
	b.last, b.lastN, b.printed, b.lastLine = now, b.n, true, line
}

// Set moves the task to count n.
func (b *Bar) Set(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished || b.closed {
		return
	}
	b.n = n
	if b.bar != nil {
		b.bar.Set64(min(n, max(b.total, 1)))
		return
	}
	if b.printed && time.Since(b.last) < b.opts.Every {
		return
	}
	b.plain(Advance)
}

// Describe changes the description shown before a drawn bar.
func (b *Bar) Describe(d string) {
	if b.bar != nil {
		b.bar.Describe(d)
	}
}

// Finish marks the task done at its total: a drawn bar shows it full and ends its line;
// plain output prints the End line.
func (b *Bar) Finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished || b.closed {
		return
	}
	b.finished, b.n = true, b.total
	if b.bar != nil {
		b.bar.Finish()
		return
	}
	b.plain(End)
}

// Close stops showing the task where it stands, as when a run is interrupted: a drawn
// bar's line is ended; plain output prints nothing more. After Finish it does nothing.
func (b *Bar) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished || b.closed {
		return
	}
	b.closed = true
	if b.bar != nil {
		b.bar.Exit()
	}
}
