package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latentzoo/latentzoo/export"
	"github.com/latentzoo/latentzoo/models"
	"github.com/latentzoo/latentzoo/progress"
	"github.com/latentzoo/latentzoo/zoo"
	"github.com/latentzoo/latentzoo/zoo/registrytest"
)

// entryName is the entry the command tests push and pull.
const entryName = "vae/cmd-test:v1"

// writeEntry writes entryName into the store at home: the default backbone's encoder and
// decoder with zero parameters, and the model card.
func writeEntry(t *testing.T, home string) {
	t.Helper()
	b := models.DefaultBackbone()
	m := &zoo.Manifest{
		Name: entryName, Family: "vae", Dataset: "cmd-test",
		Resolution: b.Resolution, Channels: b.Channels, LatentSize: b.Latent, LatentKind: "gaussian",
		Graphs: map[string]string{}, Reconstruct: "decoder", Sample: "decoder",
		IRVersion: export.IRVersion, Opset: export.Opset, License: "CC0-1.0",
	}
	files := map[string][]byte{}
	for _, net := range []models.Net{b.Encoder(models.Posterior), b.Decoder("decoder")} {
		params := map[string][]float32{}
		for _, p := range net.Params() {
			params[p.Name] = make([]float32, p.Size())
		}
		data, err := export.Marshal(net, params)
		if err != nil {
			t.Fatal(err)
		}
		files[net.Name+".onnx"] = data
		m.Graphs[net.Name] = net.Name + ".onnx"
	}
	files["README.md"] = zoo.ModelCard(m)
	store, err := zoo.OpenStore(home)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Write(m, files); err != nil {
		t.Fatal(err)
	}
}

// run runs a command with $LATENTZOO_HOME at home and returns what it printed on stdout.
func run(t *testing.T, home string, cmd func([]string) error, args ...string) (string, error) {
	t.Helper()
	t.Setenv("LATENTZOO_HOME", home)
	t.Setenv(zoo.EnvRegistry, "")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	out := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		out <- string(b)
	}()
	err = cmd(args)
	os.Stdout = stdout
	w.Close()
	return <-out, err
}

// mustRun is run for commands that must succeed.
func mustRun(t *testing.T, home string, cmd func([]string) error, args ...string) string {
	t.Helper()
	out, err := run(t, home, cmd, args...)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return out
}

func TestPushPullThroughFolder(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	writeEntry(t, a)
	folder := filepath.Join(t.TempDir(), "shared")
	if out := mustRun(t, a, runPush, "--quiet", entryName, folder); !strings.Contains(out, "pushed "+entryName) {
		t.Errorf("push said %q", out)
	}
	if out := mustRun(t, b, runPull, "--from", folder, entryName); !strings.Contains(out, "pulled "+entryName) {
		t.Errorf("pull said %q", out)
	}
	if out := mustRun(t, b, runPull, "--from", "dir://"+folder, "vae/cmd-test"); !strings.Contains(out, "is up to date") {
		t.Errorf("second pull said %q", out)
	}
	if out := mustRun(t, b, runList); !strings.Contains(out, entryName) {
		t.Errorf("list after the pull: %q", out)
	}
	out := mustRun(t, b, runInspect, entryName)
	for _, want := range []string{
		"32, gaussian",
		"encoder.onnx",
		"image float32[1 32 32]",
		"mu float32[32]",
		"logvar float32[32]",
		"z float32[32]",
		"model card (README.md):",
		"## Inference",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect does not say %q:\n%s", want, out)
		}
	}
	if out := mustRun(t, b, runInspect, "--json", entryName); !strings.Contains(out, `"name": "`+entryName+`"`) {
		t.Errorf("inspect --json: %q", out)
	}
	if out := mustRun(t, b, runRm, entryName); !strings.Contains(out, "removed "+entryName) {
		t.Errorf("rm said %q", out)
	}
	if out := mustRun(t, b, runList); strings.Contains(out, entryName) {
		t.Errorf("list after rm: %q", out)
	}
	// $LATENTZOO_REGISTRY stands for --from.
	t.Setenv("LATENTZOO_HOME", b)
	t.Setenv(zoo.EnvRegistry, folder)
	if err := runPull([]string{"--quiet", entryName}); err != nil {
		t.Errorf("pull from $%s: %v", zoo.EnvRegistry, err)
	}
}

func TestPushPullThroughRegistry(t *testing.T) {
	reg := registrytest.Start(t)
	a, b := t.TempDir(), t.TempDir()
	writeEntry(t, a)
	repo := "oci://" + reg.Addr + "/latentzoo/cmd-test"
	if out := mustRun(t, a, runPush, "--plain-http", entryName, repo); !strings.Contains(out, repo+":v1@sha256:") {
		t.Errorf("push said %q", out)
	}
	mustRun(t, b, runPull, "--plain-http", "--from", repo, entryName)
	if out := mustRun(t, b, runInspect, entryName); !strings.Contains(out, "## Metrics") {
		t.Errorf("the pulled entry's model card is missing:\n%s", out)
	}
}

func TestZooCommandErrors(t *testing.T) {
	home := t.TempDir()
	writeEntry(t, home)
	for _, tc := range []struct {
		name   string
		cmd    func([]string) error
		args   []string
		saying string
	}{
		{"pull without a name", runPull, nil, "need one entry name"},
		{"pull of a bad name", runPull, []string{"--from", home, "vae/../x"}, "entry name"},
		{"pull of an absolute path as name", runPull, []string{"--from", home, "/etc/passwd"}, "entry name"},
		{"pull from an unknown scheme", runPull, []string{"--from", "ftp://host/x", entryName}, "unknown scheme"},
		{"pull of a missing entry", runPull, []string{"--from", t.TempDir(), "vae/missing:v1"}, "no such"},
		{"pull of a missing built-in", runPull, []string{"vae/missing:v1"}, "built-in"},
		{"push to a server", runPush, []string{entryName, "http://127.0.0.1:1"}, "read-only"},
		{"push of a missing entry", runPush, []string{"vae/missing:v1", t.TempDir()}, "no such entry"},
		{"push without a target", runPush, []string{entryName}, "need an entry name and a target"},
		{"push to a bad OCI reference", runPush, []string{entryName, "oci://host-only"}, "oci://host[:port]/repository"},
		{"rm of a missing entry", runRm, []string{"vae/missing:v1"}, "no such entry"},
		{"rm of a bad name", runRm, []string{entryName, "VAE/x"}, "entry name"},
		{"inspect of a missing entry", runInspect, []string{"vae/missing:v1"}, "no such entry"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := run(t, home, tc.cmd, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.saying) {
				t.Errorf("error %v, want one saying %q", err, tc.saying)
			}
		})
	}
	// A bad name among good ones removes nothing.
	if out := mustRun(t, home, runList); !strings.Contains(out, entryName) {
		t.Errorf("rm with a bad name removed %s: %q", entryName, out)
	}
}

func TestProgressBars(t *testing.T) {
	steps := []zoo.FileProgress{
		{Path: "encoder.onnx", Size: 1000, Done: 0},
		{Path: "encoder.onnx", Size: 1000, Done: 300},
		{Path: "encoder.onnx", Size: 1000, Done: 600},
		{Path: "encoder.onnx", Size: 1000, Done: 1000, Finished: true},
		{Path: "decoder.onnx", Size: 2048, Done: 1024, Resumed: 1024},
		{Path: "decoder.onnx", Size: 2048, Done: 2048, Resumed: 1024, Finished: true},
	}
	for _, tc := range []struct {
		name string
		mode progress.Mode
		want []string // the plain output, or what a drawn one shows, in order
	}{
		{"plain", progress.Plain, []string{"encoder.onnx: 1000 B\nencoder.onnx: 25%\nencoder.onnx: 50%\nencoder.onnx: done, 1000 B checked\n" +
			"decoder.onnx: 2.0 KiB, resuming at 1.0 KiB\ndecoder.onnx: done, 2.0 KiB checked\n"}},
		{"terminal", progress.Redraw, []string{"\rencoder.onnx ", "0%", "\rencoder.onnx ", "100%", "1.0/1.0 kB", "\n",
			"\rdecoder.onnx ", "50%", "\rdecoder.onnx ", "100%", "2.0/2.0 kB", "\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			bars := &progressBars{w: &out, mode: tc.mode, done: "checked"}
			for _, p := range steps {
				bars.update(p)
			}
			got := out.String()
			if tc.mode == progress.Plain {
				if got != tc.want[0] {
					t.Errorf("got\n%q\nwant\n%q", got, tc.want[0])
				}
				return
			}
			rest := got
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("got\n%q\nwant, in order, %q (lacks %q)", got, tc.want, w)
				}
				rest = rest[i+len(w):]
			}
			if strings.Count(got, "\n") != 2 {
				t.Errorf("got\n%q\nwant one line per file", got)
			}
		})
	}
}
