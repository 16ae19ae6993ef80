package main

import (
	"errors"
	"flag"
	"io"
	"slices"
	"strings"
	"testing"
)

// testFlags is a flag set with a string, an int and a bool flag.
func testFlags() (fs *flag.FlagSet, out *string, n *int, quiet *bool) {
	fs = flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs, fs.String("out", "", ""), fs.Int("n", 1, ""), fs.Bool("quiet", false, "")
}

func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		pos   []string
		out   string
		n     int
		quiet bool
		err   string
	}{
		{"none", nil, nil, "", 1, false, ""},
		{"flags first", []string{"-out", "o", "--n=3", "a", "b"}, []string{"a", "b"}, "o", 3, false, ""},
		{"flags after", []string{"a", "-out", "o", "b", "-quiet"}, []string{"a", "b"}, "o", 1, true, ""},
		{"flags between", []string{"a", "-n", "2", "b"}, []string{"a", "b"}, "", 2, false, ""},
		{"dash dash ends the flags", []string{"a", "--", "-out", "b"}, []string{"a", "-out", "b"}, "", 1, false, ""},
		{"dash dash after a bool", []string{"-quiet", "--", "-n"}, []string{"-n"}, "", 1, true, ""},
		{"dash dash as a value", []string{"-out", "--", "a", "-n", "4"}, []string{"a"}, "--", 4, false, ""},
		{"lone dash is positional", []string{"-", "-quiet"}, []string{"-"}, "", 1, true, ""},
		{"unknown flag", []string{"a", "-x"}, nil, "", 1, false, "flag provided but not defined: -x"},
		{"bad value", []string{"-n", "two"}, nil, "", 1, false, "invalid value"},
		{"missing value", []string{"a", "-out"}, nil, "", 1, false, "flag needs an argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs, out, n, quiet := testFlags()
			pos, err := parseArgs(fs, tc.args)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(pos, tc.pos) || *out != tc.out || *n != tc.n || *quiet != tc.quiet {
				t.Errorf("positional %q, -out %q, -n %d, -quiet %v; want %q, %q, %d, %v", pos, *out, *n, *quiet, tc.pos, tc.out, tc.n, tc.quiet)
			}
		})
	}
}

func TestParseArgsHelp(t *testing.T) {
	fs, _, _, _ := testFlags()
	if _, err := parseArgs(fs, []string{"a", "-h"}); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h gave %v, want flag.ErrHelp", err)
	}
}

func TestParseNoArgs(t *testing.T) {
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"-n", "2"}, ""},
		{[]string{"stray", "-n", "2"}, `unexpected arguments ["stray"]`},
	} {
		fs, _, _, _ := testFlags()
		err := parseNoArgs(fs, tc.args)
		if got := errString(err); got != tc.err {
			t.Errorf("%q: error %q, want %q", tc.args, got, tc.err)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestPrescan(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		family string
	}{
		{"absent", []string{"-epochs", "3"}, "vae"},
		{"among other flags", []string{"-epochs", "3", "-family", "moca", "-no-gan"}, "moca"},
		{"with equals", []string{"--family=wae", "-out", "o"}, "wae"},
		{"after help", []string{"-h", "-family", "dcvae"}, "dcvae"},
		{"after bad syntax", []string{"---x", "-family", "avae"}, "avae"},
		{"after dash dash", []string{"--", "-family", "moca"}, "vae"},
		{"missing value", []string{"-family"}, "vae"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("pre", flag.ContinueOnError)
			family := fs.String("family", "vae", "")
			prescan(fs, tc.args)
			if *family != tc.family {
				t.Errorf("family %q, want %q", *family, tc.family)
			}
		})
	}
}
