package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/latentzoo/latentzoo/zoo"
)

func init() {
	register("push", "publish an entry to a folder or an OCI registry", runPush)
}

func runPush(args []string) error {
	fs := flag.NewFlagSet("push", flag.ContinueOnError)
	var sf sourceFlags
	sf.add(fs)
	quiet := fs.Bool("quiet", false, "no progress")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: latentzoo push [flags] NAME TARGET

Publishes entry NAME, from the local store or the built-in entries, to TARGET:
  /path, ./path, dir:///path     a folder; the entry goes to <family>/<dataset>/<tag>/ in it
  oci://host[:port]/repo[:tag]   an OCI registry repository; the tag defaults to the entry's
                                 (with --plain-http for a local registry)
Every file is checked against the manifest as it is read. Pull it elsewhere with
"latentzoo pull --from TARGET NAME".

flags:`)
		fs.PrintDefaults()
	}
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		fs.Usage()
		return fmt.Errorf("need an entry name and a target")
	}
	target, err := zoo.ParseTarget(pos[1], sf.opts)
	if err != nil {
		return err
	}
	e, err := resolveEntry(pos[0])
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var progress func(zoo.FileProgress)
	if !*quiet {
		progress = newProgressBars(os.Stderr, "sent").update
	}
	where, err := target.Push(ctx, e, progress)
	if err != nil {
		return err
	}
	fmt.Printf("pushed %s to %s\n", e.Manifest().Name, where)
	return nil
}
