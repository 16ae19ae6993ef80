package attributes_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/latentzoo/latentzoo/attributes"
	"github.com/latentzoo/latentzoo/zoo"
)

// memEntry is an entry held in memory: a manifest and its files, unchecked.
type memEntry struct {
	m     *zoo.Manifest
	files map[string][]byte
}

func (e memEntry) Manifest() *zoo.Manifest { return e.m }

func (e memEntry) ReadFile(p string) ([]byte, error) {
	b, ok := e.files[p]
	if !ok {
		return nil, fmt.Errorf("%s: not listed", p)
	}
	return b, nil
}

// FuzzLoad feeds Load arbitrary attribute-file bytes under an arbitrary name: it returns a
// direction filed under its own name with one finite value per latent dimension, or an
// error.
func FuzzLoad(f *testing.F) {
	f.Add("smile", []byte(`{"name": "smile", "kind": "class", "direction": [1, 2, 3, 4]}`), 4)
	f.Add("smile", []byte(`{"name": "smile", "direction": [1, 2, 3]}`), 4)
	f.Add("a-b", []byte(`{"name": "a-b", "direction": [1e39, 0]}`), 2)
	f.Add("x", []byte(`{"name": "x", "direction": [NaN]}`), 1)
	f.Add("Big Smile", []byte(`{"name": "Big Smile", "direction": [0]}`), 1)
	f.Add("y", []byte(`[]`), 0)
	f.Fuzz(func(t *testing.T, name string, data []byte, size int) {
		const path = "attributes/a.json"
		e := memEntry{
			m:     &zoo.Manifest{LatentSize: size, Attributes: map[string]string{name: path}},
			files: map[string][]byte{path: data},
		}
		dirs, err := attributes.Load(e)
		if err != nil {
			return
		}
		d := dirs[name]
		if d == nil || d.Name != name || len(d.Vector) != size {
			t.Fatalf("Load took %q for attribute %q of a latent of %d: %+v", data, name, size, d)
		}
		if attributes.ClassName("", name) != name {
			t.Fatalf("Load took the name %q", name)
		}
		for _, v := range d.Vector {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("Load took the value %v", v)
			}
		}
	})
}
