package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// Every subcommand parses its command line with parseArgs, so that flags may come before,
// between or after the positional arguments ("latentzoo pull NAME -from DIR"), with the
// syntax of package flag ("-f v", "--f=v", "--" ends the flags).

// parseArgs parses the flags of fs out of args, wherever they stand, and returns the
// positional arguments in order. Every argument after a "--" is positional.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if endedFlags(fs, args[:len(args)-len(rest)]) {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// parseNoArgs is parseArgs for commands that take flags only.
func parseNoArgs(fs *flag.FlagSet, args []string) error {
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return fmt.Errorf("unexpected arguments %q", pos)
	}
	return nil
}

// endedFlags reports whether the arguments fs.Parse consumed end with the "--" that ends
// the flags rather than with a flag's value "--" ("-out --").
func endedFlags(fs *flag.FlagSet, consumed []string) bool {
	n := len(consumed)
	if n == 0 || consumed[n-1] != "--" {
		return false
	}
	if prev := consumed[max(n-2, 0)]; n >= 2 && strings.HasPrefix(prev, "-") && !strings.Contains(prev, "=") {
		if f := fs.Lookup(strings.TrimPrefix(prev[1:], "-")); f != nil && !isBoolFlag(f) {
			return false
		}
	}
	return true
}

// isBoolFlag reports whether f takes no value, as package flag decides.
func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// prescan parses, out of args, the flags fs defines and passes over every other
// argument, silently: it reads a few flags (train's -family) before the command
// defines its other flags, whose defaults depend on them. The command's own parse
// reports any errors.
func prescan(fs *flag.FlagSet, args []string) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	for len(args) > 0 {
		err := fs.Parse(args)
		rest := fs.Args()
		if err == nil {
			if endedFlags(fs, args[:len(args)-len(rest)]) || len(rest) == 0 {
				return
			}
			rest = rest[1:] // a positional argument, or the value of a flag fs lacks
		}
		if len(rest) == len(args) { // bad syntax ("---x"), which package flag leaves in place
			rest = rest[1:]
		}
		args = rest
	}
}
