package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/latentzoo/latentzoo/zoo"
)

func init() {
	register("list", "list the built-in entries and those in the local store", runList)
}

// runList prints one line per entry: the local store's ($LATENTZOO_HOME, by default
// ~/.latentzoo) and then the built-in ones.
func runList(args []string) error {
	fs := flag.NewFlagSet("list", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: latentzoo list\n\nLists the entries of the local store ($LATENTZOO_HOME, by default ~/.latentzoo)\nand those built into the binary. A name resolves to the local entry first.")
	}
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	home, err := zoo.DefaultHome()
	if err != nil {
		return err
	}
	store, err := zoo.OpenStore(home)
	if err != nil {
		return err
	}
	local, err := store.List()
	if err != nil {
		return err
	}
	builtin, err := zoo.Builtin()
	if err != nil {
		return err
	}
	return printEntries(os.Stdout, local, builtin)
}

// printEntries writes a table of the local and built-in entries to w.
func printEntries(w io.Writer, local, builtin []zoo.Entry) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tFAMILY\tDATASET\tLATENT\tSOURCE")
	for _, group := range []struct {
		source  string
		entries []zoo.Entry
	}{{"local", local}, {"builtin", builtin}} {
		for _, e := range group.entries {
			m := e.Manifest()
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d %s\t%s\n", m.Name, m.Family, m.Dataset, m.LatentSize, m.LatentKind, group.source)
		}
	}
	return tw.Flush()
}
