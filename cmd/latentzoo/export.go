package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/latentzoo/latentzoo/export"
	"github.com/latentzoo/latentzoo/train"
	"github.com/latentzoo/latentzoo/zoo"
)

func init() {
	register("export", "write a trained run as a zoo entry (ONNX graphs checked against training)", runExport)
}

func runExport(args []string) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: latentzoo export RUN_FOLDER -name family/dataset[:tag] [flags]")
		fs.PrintDefaults()
	}
	nameFlag := fs.String("name", "", "entry name, family/dataset[:tag] (required)")
	out := fs.String("out", "", "write the entry into this folder instead of the local store")
	license := fs.String("license", "MIT (weights trained by latentzoo)", "licence recorded in the manifest and model card")
	checkpoint := fs.String("checkpoint", train.LastCheckpoint, "the run's checkpoint to export: "+train.LastCheckpoint+", or "+train.BestCheckpoint+" (the one whose samples scored best, for runs trained with -fid-every)")
	backend := fs.String("backend", "", "GoMLX backend for the parity check (default "+train.DefaultBackend()+")")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *nameFlag == "" {
		fs.Usage()
		return fmt.Errorf("need one run folder and -name")
	}
	name, err := zoo.ParseName(*nameFlag)
	if err != nil {
		return err
	}
	be, err := train.NewBackend(*backend)
	if err != nil {
		return err
	}
	defer be.Finalize()
	m, files, err := export.Entry(pos[0], name, export.EntryOptions{Backend: be, Checkpoint: *checkpoint, License: *license, CodeVersion: version, Report: os.Stdout})
	if err != nil {
		return err
	}
	if *out != "" {
		if err := zoo.WriteEntry(*out, m, files); err != nil {
			return err
		}
		fmt.Printf("wrote %s to %s\n", m.Name, *out)
		return nil
	}
	store, err := openStore()
	if err != nil {
		return err
	}
	if _, err := store.Write(m, files); err != nil {
		return err
	}
	fmt.Printf("wrote %s to the local store %s\n", m.Name, store.Dir())
	return nil
}
