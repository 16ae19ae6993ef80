package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/latentzoo/latentzoo/progress"
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
	pos, err := parseArgs(fs, args)
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

// progressBars shows the progress of each file of a pull or a push on w through package
// progress: one bar per file on a terminal, or plain lines (start, each quarter, end)
// otherwise. Files come one after the other.
type progressBars struct {
	w    io.Writer
	mode progress.Mode
	done string // what a finished file is: "checked" (pulls) or "sent" (pushes)
	mu   sync.Mutex
	bar  *progress.Bar // of the file under way, or nil
	path string        // of that file
}

func newProgressBars(w io.Writer, done string) *progressBars {
	return &progressBars{w: w, done: done}
}

// update shows p.
func (b *progressBars) update(p zoo.FileProgress) {
	b.mu.Lock()
	defer b.mu.Unlock()
	start := p.Done == p.Resumed && !p.Finished
	if start || b.bar == nil || b.path != p.Path {
		if b.bar != nil {
			b.bar.Close()
		}
		b.bar, b.path = b.newBar(p, start), p.Path
		if start {
			return // the new bar shows where the file starts
		}
	}
	if p.Finished {
		b.bar.Finish()
		b.bar = nil
		return
	}
	b.bar.Set(p.Done)
}

// newBar shows the file of p; announce prints its plain start line (a push that
// reports only finished files has none).
func (b *progressBars) newBar(p zoo.FileProgress, announce bool) *progress.Bar {
	quarter := 0 // the last quarter reported in plain lines
	return progress.New(b.w, p.Size, progress.Options{
		Mode: b.mode, Description: fmt.Sprintf("%-24s", p.Path), Start: p.Resumed, Bytes: true,
		Line: func(s progress.State) string {
			switch {
			case s.Event == progress.Begin && !announce:
				return ""
			case s.Event == progress.Begin && p.Resumed > 0:
				return fmt.Sprintf("%s: %s, resuming at %s", p.Path, byteSize(p.Size), byteSize(p.Resumed))
			case s.Event == progress.Begin:
				return fmt.Sprintf("%s: %s", p.Path, byteSize(p.Size))
			case s.Event == progress.End:
				return fmt.Sprintf("%s: done, %s %s", p.Path, byteSize(p.Size), b.done)
			case s.N < s.Total && int(4*s.N/s.Total) > quarter:
				quarter = int(4 * s.N / s.Total)
				return fmt.Sprintf("%s: %d%%", p.Path, 25*quarter)
			}
			return ""
		},
	})
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
