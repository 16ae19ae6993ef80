package main

import (
	"errors"
	"flag"
	"fmt"

	"github.com/latentzoo/latentzoo/zoo"
)

func init() {
	register("rm", "remove entries from the local store", runRm)
}

func runRm(args []string) error {
	fs := flag.NewFlagSet("rm", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: latentzoo rm NAME...\n\nRemoves entries from the local store ($LATENTZOO_HOME, by default ~/.latentzoo). Names\nare exact: family/dataset:tag (a name without a tag means the tag \"latest\").")
	}
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		fs.Usage()
		return fmt.Errorf("need an entry name")
	}
	var names []zoo.Name
	for _, s := range pos { // every name is checked before anything is removed
		n, err := zoo.ParseName(s)
		if err != nil {
			return err
		}
		names = append(names, n)
	}
	store, err := openStore()
	if err != nil {
		return err
	}
	builtin, err := zoo.Builtin()
	if err != nil {
		return err
	}
	for _, n := range names {
		if _, err := store.Get(n); errors.Is(err, zoo.ErrNotFound) {
			for _, b := range builtin {
				if b.Manifest().Name == n.String() {
					return fmt.Errorf("%s is built into the binary, not in the local store: it cannot be removed", n)
				}
			}
			return fmt.Errorf("%s: %w (see latentzoo list)", n, err)
		}
	}
	for _, n := range names {
		if err := store.Remove(n); err != nil {
			return err
		}
		fmt.Printf("removed %s\n", n)
	}
	return nil
}
