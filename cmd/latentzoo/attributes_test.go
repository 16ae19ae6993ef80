package main

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/latentzoo/latentzoo/attributes"
	"github.com/latentzoo/latentzoo/dataset"
	"github.com/latentzoo/latentzoo/export"
	"github.com/latentzoo/latentzoo/models"
	"github.com/latentzoo/latentzoo/zoo"
)

// mnistEntry describes the built-in architecture with seeded random weights as an MNIST
// entry called name, ready for zoo.WriteEntry.
func mnistEntry(t *testing.T, name string) (*zoo.Manifest, map[string][]byte) {
	t.Helper()
	b := models.DefaultBackbone()
	m := &zoo.Manifest{
		Name: name, Family: "vae", Dataset: dataset.MNIST,
		Resolution: b.Resolution, Channels: b.Channels, LatentSize: b.Latent, LatentKind: string(models.Gaussian),
		Graphs: map[string]string{}, Reconstruct: "decoder", Sample: "decoder",
		IRVersion: export.IRVersion, Opset: export.Opset,
	}
	files := map[string][]byte{}
	for i, net := range []models.Net{b.Encoder(models.Posterior), b.Decoder("decoder")} {
		rng := rand.New(rand.NewPCG(uint64(i+1), 3))
		params := map[string][]float32{}
		for _, p := range net.Params() {
			v := make([]float32, p.Size())
			for j := range v {
				switch p.Role {
				case models.Weight:
					v[j] = float32(rng.NormFloat64() * math.Sqrt(2/float64(p.FanIn)))
				case models.Scale, models.RunningVar:
					v[j] = 1
				}
			}
			params[p.Name] = v
		}
		data, err := export.Marshal(net, params)
		if err != nil {
			t.Fatal(err)
		}
		files[net.Name+".onnx"] = data
		m.Graphs[net.Name] = net.Name + ".onnx"
	}
	return m, files
}

// TestAttributesCommand computes the directions of an MNIST entry, given as a folder and
// as a name in the local store, twice each: the entry then lists one file per digit,
// thickness and slant, each checked against its digest, and its card names them.
func TestAttributesCommand(t *testing.T) {
	home := t.TempDir()
	t.Setenv("LATENTZOO_HOME", home)
	store, err := zoo.OpenStore(home)
	if err != nil {
		t.Fatal(err)
	}
	folder := filepath.Join(t.TempDir(), "entry")
	m, files := mnistEntry(t, "vae/mnist:test")
	if err := zoo.WriteEntry(folder, m, files); err != nil {
		t.Fatal(err)
	}
	m, files = mnistEntry(t, "vae/mnist:stored")
	if _, err := store.Write(m, files); err != nil {
		t.Fatal(err)
	}
	want := []string{"digit-0", "digit-1", "digit-2", "digit-3", "digit-4", "digit-5", "digit-6", "digit-7", "digit-8", "digit-9", "slant", "thickness"}
	tests := []struct {
		name string
		arg  string
		open func() (zoo.Entry, error)
	}{
		{"folder", folder, func() (zoo.Entry, error) { return zoo.OpenDir(folder) }},
		{"store name", "vae/mnist:stored", func() (zoo.Entry, error) {
			n, err := zoo.ParseName("vae/mnist:stored")
			if err != nil {
				return nil, err
			}
			return store.Get(n)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for run := range 2 { // the second run replaces the first's directions
				if err := runAttributes([]string{tt.arg, "-limit", "1000"}); err != nil {
					t.Fatalf("run %d: %v", run, err)
				}
			}
			e, err := tt.open()
			if err != nil {
				t.Fatal(err)
			}
			man := e.Manifest()
			var names []string
			for name := range man.Attributes {
				names = append(names, name)
			}
			slices.Sort(names)
			if !slices.Equal(names, want) {
				t.Fatalf("attributes %v, want %v", names, want)
			}
			if n := len(man.Files); n != 2+1+len(want) {
				t.Errorf("%d files listed; want 2 graphs, README.md and %d attributes", n, len(want))
			}
			dirs, err := attributes.Load(e) // reads every file through its digest
			if err != nil {
				t.Fatal(err)
			}
			if d := dirs["digit-3"]; d.With < 90 || d.With+d.Without != 1000 || d.Split != dataset.Train {
				t.Errorf("digit-3: %d with, %d without, split %s; want about 100 of 1000 training digits", d.With, d.Without, d.Split)
			}
			if d := dirs["slant"]; d.With != d.Without || d.With < 90 {
				t.Errorf("slant: %d with, %d without; want the top and bottom tenth of each digit", d.With, d.Without)
			}
			card, err := e.ReadFile("README.md")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(card), "## Attribute directions") || !strings.Contains(string(card), "| thickness | `attributes/thickness.json` |") {
				t.Errorf("model card lacks the attributes:\n%s", card)
			}
		})
	}
}

func TestAttributesCommandRefuses(t *testing.T) {
	t.Setenv("LATENTZOO_HOME", t.TempDir())
	folder := filepath.Join(t.TempDir(), "entry")
	m, files := mnistEntry(t, "vae/mnist:test")
	if err := zoo.WriteEntry(folder, m, files); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no entry", nil, "need one entry name or folder"},
		{"two entries", []string{folder, folder}, "need one entry name or folder"},
		{"not in the store", []string{"vae/mnist:nothing"}, "no such entry"},
		{"too few images", []string{folder, "-limit", "100"}, "want at least 20 on each side"},
		{"unknown split", []string{folder, "-split", "dev"}, `unknown split "dev"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := runAttributes(tt.args)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error saying %q", err, tt.want)
			}
		})
	}
	e, err := zoo.OpenDir(folder)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Manifest().Attributes) != 0 {
		t.Error("a refused run changed the entry")
	}
}
