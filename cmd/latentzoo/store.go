package main

import (
	"fmt"
	"os"

	"github.com/latentzoo/latentzoo/autoencoder"
	"github.com/latentzoo/latentzoo/dataset"
	"github.com/latentzoo/latentzoo/zoo"
)

// openStore opens the local store at $LATENTZOO_HOME or ~/.latentzoo.
func openStore() (*zoo.Store, error) {
	home, err := zoo.DefaultHome()
	if err != nil {
		return nil, err
	}
	return zoo.OpenStore(home)
}

// resolveEntry finds the entry named arg in the local store, then among the built-in ones.
func resolveEntry(arg string) (zoo.Entry, error) {
	n, err := zoo.ParseName(arg)
	if err != nil {
		return nil, err
	}
	store, err := openStore()
	if err != nil {
		return nil, err
	}
	return store.Resolve(n)
}

// openEntry opens an entry given as a folder, or by name from the local store or the
// built-in ones.
func openEntry(arg string) (zoo.Entry, error) {
	if st, err := os.Stat(arg); err == nil && st.IsDir() {
		return zoo.OpenDir(arg)
	}
	return resolveEntry(arg)
}

// openWritableEntry opens an entry given as a folder or a name in the local store, with a
// function that rewrites it in place.
func openWritableEntry(arg string) (zoo.Entry, func(*zoo.Manifest, map[string][]byte) error, error) {
	if st, err := os.Stat(arg); err == nil && st.IsDir() {
		e, err := zoo.OpenDir(arg)
		if err != nil {
			return nil, nil, err
		}
		return e, func(m *zoo.Manifest, files map[string][]byte) error { return zoo.WriteEntry(arg, m, files) }, nil
	}
	name, err := zoo.ParseName(arg)
	if err != nil {
		return nil, nil, err
	}
	store, err := openStore()
	if err != nil {
		return nil, nil, err
	}
	e, err := store.Get(name)
	if err != nil {
		return nil, nil, fmt.Errorf("%w (eval records into the local store or a folder; built-in entries are read-only: give their folder)", err)
	}
	return e, func(m *zoo.Manifest, files map[string][]byte) error { _, err := store.Write(m, files); return err }, nil
}

// entryWork is what eval and attributes work with: a writable entry, its data set's split
// and its graphs open in ONNX Runtime as the server opens them.
type entryWork struct {
	entry zoo.Entry
	write func(*zoo.Manifest, map[string][]byte) error
	set   *dataset.Set
	model *autoencoder.Model
}

// openEntryWork opens the entry given as a folder or a local store name, loads split of its
// data set (limit images, evenly spread, when positive) and opens its graphs. The caller
// closes the model.
func openEntryWork(arg, split string, limit int) (*entryWork, error) {
	entry, write, err := openWritableEntry(arg)
	if err != nil {
		return nil, err
	}
	man := entry.Manifest()
	set, err := dataset.Load(man.Dataset, split, man.Resolution, man.Channels)
	if err != nil {
		return nil, err
	}
	if limit > 0 && limit < set.N {
		set = set.Subset(limit)
	}
	model, err := autoencoder.Open(entry, autoencoder.Options{})
	if err != nil {
		return nil, err
	}
	return &entryWork{entry: entry, write: write, set: set, model: model}, nil
}

// rewrite rewrites the entry with its manifest and files changed by update: it reads every
// file the manifest lists, lets update change a copy of the manifest and the files, writes
// the model card anew from the changed manifest, and writes the entry back in place.
func (w *entryWork) rewrite(update func(*zoo.Manifest, map[string][]byte) error) error {
	man := w.entry.Manifest()
	files := map[string][]byte{}
	for _, f := range man.Files {
		b, err := w.entry.ReadFile(f.Path)
		if err != nil {
			return err
		}
		files[f.Path] = b
	}
	updated := *man
	if err := update(&updated, files); err != nil {
		return err
	}
	files["README.md"] = zoo.ModelCard(&updated)
	return w.write(&updated, files)
}
