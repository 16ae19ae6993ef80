package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latentzoo/latentzoo/zoo"
)

func TestPrintEntries(t *testing.T) {
	var local []zoo.Entry
	for _, name := range []string{"vae/fashion-mnist:v2", "sphere/mnist:v1"} {
		n, err := zoo.ParseName(name)
		if err != nil {
			t.Fatal(err)
		}
		m := &zoo.Manifest{
			Name: name, Family: n.Family, Dataset: n.Dataset,
			Resolution: 32, Channels: 1, LatentSize: 16, LatentKind: "sphere",
			Graphs:      map[string]string{"encoder": "encoder.onnx", "decoder": "decoder.onnx"},
			Reconstruct: "decoder", Sample: "decoder",
		}
		dir := filepath.Join(t.TempDir(), "entry")
		files := map[string][]byte{"encoder.onnx": []byte("e"), "decoder.onnx": []byte("d")}
		if err := zoo.WriteEntry(dir, m, files); err != nil {
			t.Fatal(err)
		}
		e, err := zoo.OpenDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		local = append(local, e)
	}
	var out bytes.Buffer
	if err := printEntries(&out, local[:1], local[1:]); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"NAME                  FAMILY  DATASET        LATENT     SOURCE",
		"vae/fashion-mnist:v2  vae     fashion-mnist  16 sphere  local",
		"sphere/mnist:v1       sphere  mnist          16 sphere  builtin",
		"",
	}, "\n")
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}

func TestListArgs(t *testing.T) {
	t.Setenv("LATENTZOO_HOME", t.TempDir())
	if err := runList([]string{"extra"}); err == nil {
		t.Error("list with an argument succeeded")
	}
	if err := runList(nil); err != nil {
		t.Errorf("list of an empty store: %v", err)
	}
}
