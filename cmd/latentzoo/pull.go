package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/latentzoo/latentzoo/zoo"
)

func init() {
	register("pull", "fetch an entry into the local store from a folder, a latentzoo server or an OCI registry", runPull)
}

// sourceFlags are the flags of commands that reach sources or targets.
type sourceFlags struct {
	opts zoo.SourceOptions
}

func (f *sourceFlags) add(fs *flag.FlagSet) {
	fs.BoolVar(&f.opts.PlainHTTP, "plain-http", false, "talk to OCI registries over plain HTTP (local registries)")
	fs.BoolVar(&f.opts.AllowRedirects, "allow-redirects", false, "follow HTTP redirects to other hosts (each is logged); refused by default")
}

// sourceHelp describes the forms of --from.
const sourceHelp = `Sources (--from, else $` + zoo.EnvRegistry + `, else builtin):
  builtin                        the entries built into the binary
  /path, ./path, dir:///path     a folder written by "latentzoo push NAME /path", or one
                                 entry's folder (as "latentzoo export --out" writes it)
  http://host:port               another "latentzoo serve", which lends its entries
  oci://host[:port]/repo[:tag]   an OCI registry repository (with --plain-http for a local one)`

func runPull(args []string) error {
	fs := flag.NewFlagSet("pull", flag.ContinueOnError)
	var sf sourceFlags
	sf.add(fs)
	from := fs.String("from", "", "`source` to pull from (default $"+zoo.EnvRegistry+", else builtin)")
	quiet := fs.Bool("quiet", false, "no progress")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: latentzoo pull [flags] NAME\n\nFetches entry NAME (family/dataset[:tag]) into the local store ($LATENTZOO_HOME, by\ndefault ~/.latentzoo), checking every file's size and sha256 against the manifest. An\ninterrupted pull resumes where it stopped; pulling an entry the store already holds does\nnothing. A name without a tag fetches the source's newest entry of that family and data set.\n\n"+sourceHelp+"\n\nflags:")
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return fmt.Errorf("need one entry name")
	}
	n, err := zoo.ParseName(pos[0])
	if err != nil {
		return err
	}
	addr := *from
	if addr == "" {
		addr = os.Getenv(zoo.EnvRegistry)
	}
	if addr == "" {
		addr = "builtin"
	}
	src, err := zoo.ParseSource(addr, sf.opts)
	if err != nil {
		return err
	}
	store, err := openStore()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts := zoo.PullOptions{}
	if !*quiet {
		opts.Progress = newProgressBars(os.Stderr, "checked").update
	}
	res, err := store.Pull(ctx, src, n, opts)
	if err != nil {
		return err
	}
	name := res.Entry.Manifest().Name
	if res.UpToDate {
		fmt.Printf("%s is up to date in %s\n", name, store.Dir())
		return nil
	}
	fmt.Printf("pulled %s from %s into %s (%s received)\n", name, src, store.Dir(), byteSize(res.Downloaded))
	return nil
}

// progressBars shows the progress of each file of a pull or push on w: one bar per file,
// redrawn in place on a terminal, or plain lines (start, each quarter, end) otherwise.
type progressBars struct {
	w        io.Writer
	terminal bool
	done     string // what a finished file is: "checked" (pulls) or "sent" (pushes)
	mu       sync.Mutex
	last     time.Time // of the last redraw
	quarter  int       // the last quarter reported in plain lines
}

func newProgressBars(f *os.File, done string) *progressBars {
	fi, err := f.Stat()
	terminal := err == nil && fi.Mode()&os.ModeCharDevice != 0 && os.Getenv("TERM") != "dumb"
	return &progressBars{w: f, terminal: terminal, done: done}
}

// barWidth is the number of cells of a bar.
const barWidth = 30

// update shows p; files come one after the other.
func (b *progressBars) update(p zoo.FileProgress) {
	b.mu.Lock()
	defer b.mu.Unlock()
	start := p.Done == p.Resumed && !p.Finished
	if !b.terminal {
		switch {
		case start:
			b.quarter = 0
			if p.Resumed > 0 {
				fmt.Fprintf(b.w, "%s: %s, resuming at %s\n", p.Path, byteSize(p.Size), byteSize(p.Resumed))
			} else {
				fmt.Fprintf(b.w, "%s: %s\n", p.Path, byteSize(p.Size))
			}
		case p.Finished:
			fmt.Fprintf(b.w, "%s: done, %s %s\n", p.Path, byteSize(p.Size), b.done)
		case p.Done < p.Size && int(4*p.Done/p.Size) > b.quarter:
			b.quarter = int(4 * p.Done / p.Size)
			fmt.Fprintf(b.w, "%s: %d%%\n", p.Path, 25*b.quarter)
		}
		return
	}
	if !start && !p.Finished && time.Since(b.last) < 100*time.Millisecond {
		return
	}
	b.last = time.Now()
	frac := 1.0
	if p.Size > 0 {
		frac = float64(p.Done) / float64(p.Size)
	}
	cells := int(frac * barWidth)
	fmt.Fprintf(b.w, "\r%-24s [%s%s] %3.0f%% %s/%s", p.Path, strings.Repeat("#", cells), strings.Repeat(".", barWidth-cells), 100*frac, byteSize(p.Done), byteSize(p.Size))
	if p.Finished {
		fmt.Fprintln(b.w)
	}
}

// byteSize formats a number of bytes for people.
func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
