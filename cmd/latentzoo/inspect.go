package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	onnx "github.com/owulveryck/onnx-go"
	"github.com/owulveryck/onnx-go/backend/x/gorgonnx"

	"github.com/latentzoo/latentzoo/zoo"
)

func init() {
	register("inspect", "show an entry: manifest, files, graph inputs and outputs, model card", runInspect)
}

func runInspect(args []string) error {
	fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the manifest as JSON and nothing else")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: latentzoo inspect [--json] NAME\n\nShows entry NAME from the local store or the built-in entries: what it is, its files\nwith their sizes and digests, each ONNX graph's inputs and outputs as github.com/owulveryck/onnx-go\nreads them from the file, and the model card (README.md).\n\nflags:")
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
	e, err := resolveEntry(pos[0])
	if err != nil {
		return err
	}
	if *asJSON {
		b, err := json.MarshalIndent(e.Manifest(), "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Printf("%s\n", b)
		return err
	}
	return inspect(os.Stdout, e)
}

// inspect writes a description of e to w.
func inspect(w io.Writer, e zoo.Entry) error {
	m := e.Manifest()
	fmt.Fprintf(w, "%s\n\n", m.Name)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "family\t%s\ndata set\t%s\nimages\t%d×%d, %d channel(s)\nlatent\t%d, %s\n", m.Family, m.Dataset, m.Resolution, m.Resolution, m.Channels, m.LatentSize, m.LatentKind)
	fmt.Fprintf(tw, "reconstruct\t%s\nsample\t%s\nONNX\tIR %d, opset %d\n", m.Reconstruct, m.Sample, m.IRVersion, m.Opset)
	if m.CodeVersion != "" {
		fmt.Fprintf(tw, "code version\t%s\n", m.CodeVersion)
	}
	for _, k := range slices.Sorted(maps.Keys(m.Metrics)) {
		fmt.Fprintf(tw, "metric %s\t%.6g\n", k, m.Metrics[k])
	}
	if len(m.Attributes) > 0 {
		fmt.Fprintf(tw, "attributes\t%s\n", strings.Join(slices.Sorted(maps.Keys(m.Attributes)), ", "))
	}
	fmt.Fprintf(tw, "license\t%s\n", m.License)
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintf(w, "\nfiles:\n")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	var total int64
	for _, f := range m.Files {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", f.Path, byteSize(f.Size), f.Digest)
		total += f.Size
	}
	fmt.Fprintf(tw, "  (total)\t%s\t\n", byteSize(total))
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintf(w, "\ngraphs (read with onnx-go; it reports fixed dimensions only, so the dynamic batch N is left out):\n")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, role := range slices.Sorted(maps.Keys(m.Graphs)) {
		data, err := e.ReadFile(m.Graphs[role])
		if err != nil {
			return err
		}
		ins, outs, err := graphSignature(data)
		if err != nil {
			return fmt.Errorf("graph %s (%s): %w", role, m.Graphs[role], err)
		}
		fmt.Fprintf(tw, "  %s\t%s\tin: %s\tout: %s\n", role, m.Graphs[role], strings.Join(ins, ", "), strings.Join(outs, ", "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	if slices.ContainsFunc(m.Files, func(f zoo.File) bool { return f.Path == "README.md" }) {
		card, err := e.ReadFile("README.md")
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "\nmodel card (README.md):\n\n%s", card)
	} else {
		fmt.Fprintf(w, "\nno model card (README.md)\n")
	}
	return nil
}

// graphSignature decodes an ONNX model with onnx-go and describes its inputs and outputs
// as "name dtype[fixed dims]", initializers left out.
func graphSignature(data []byte) (ins, outs []string, err error) {
	g := gorgonnx.NewGraph()
	model := onnx.NewModel(g)
	if err := model.UnmarshalBinary(data); err != nil {
		return nil, nil, fmt.Errorf("onnx-go: %w", err)
	}
	describe := func(ids []int64) []string {
		var out []string
		for _, id := range ids {
			node, ok := g.Node(id).(*gorgonnx.Node)
			if !ok {
				continue
			}
			desc := node.GetName()
			if t := node.GetTensor(); t != nil {
				desc += fmt.Sprintf(" %v%v", t.Dtype(), []int(t.Shape()))
			}
			out = append(out, desc)
		}
		return out
	}
	return describe(model.Input), describe(model.Output), nil
}
