package main

import (
	"flag"
	"fmt"
	"time"

	"github.com/latentzoo/latentzoo/triton"
	"github.com/latentzoo/latentzoo/zoo"
)

func init() {
	register("triton", "write entries as a Triton Inference Server model repository (one model per graph, an ensemble per entry)", runTriton)
}

func runTriton(args []string) error {
	fs := flag.NewFlagSet("triton", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: latentzoo triton NAME|ENTRY_FOLDER... --out DIR [flags]\n\nWrites each entry's graphs as Triton models (DIR/MODEL/1/model.onnx and config.pbtxt,\nnamed FAMILY_DATASET_GRAPH as latentzoo serve's Open Inference Protocol models) and per\nautoencoder an ensemble FAMILY_DATASET_reconstruct; see docs/triton.md.\n\nflags:")
		fs.PrintDefaults()
	}
	out := fs.String("out", "", "repository folder to write (required; must not exist or be empty)")
	var opts triton.Options
	fs.IntVar(&opts.MaxBatchSize, "max-batch", 64, "every model's max_batch_size")
	fs.DurationVar(&opts.MaxQueueDelay, "max-queue-delay", 100*time.Microsecond, "the dynamic batcher's max_queue_delay")
	fs.IntVar(&opts.Instances, "instances", 1, "instances of each graph (kind KIND_AUTO: on a GPU where Triton has one)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if *out == "" || len(pos) == 0 {
		fs.Usage()
		return fmt.Errorf("need entries and --out")
	}
	var entries []zoo.Entry
	for _, arg := range pos {
		e, err := openEntry(arg)
		if err != nil {
			return err
		}
		entries = append(entries, e)
	}
	names, err := triton.Write(*out, entries, opts)
	if err != nil {
		return err
	}
	for _, n := range names {
		fmt.Println(n)
	}
	fmt.Printf("wrote %d models to %s\n", len(names), *out)
	return nil
}
