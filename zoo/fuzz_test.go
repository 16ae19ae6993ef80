package zoo

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// FuzzParseName feeds entry-name parsing arbitrary text: a name that prints back to a name
// that parses to itself, or an error.
func FuzzParseName(f *testing.F) {
	for _, s := range []string{"vae/fashion-mnist:v1", "vae/mnist", "a/b:c:d", "../x:y", "VAE/x", "oci://host/repo", "a/" + string(make([]byte, 70))} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseName(s)
		if err != nil {
			return
		}
		back, err := ParseName(n.String())
		if err != nil || back != n {
			t.Fatalf("%q parsed as %+v, whose form %q parses as %+v, %v", s, n, n.String(), back, err)
		}
	})
}

// FuzzManifest feeds a folder entry arbitrary manifest.json bytes: the entry opens, or
// fails with an error; an entry that opens validates and renders its model card.
func FuzzManifest(f *testing.F) {
	f.Add([]byte(`{"schema_version": 1, "name": "vae/x:v1", "resolution": 32, "channels": 1, "latent_size": 4, "latent_kind": "gaussian", "graphs": {"encoder": "e.onnx", "decoder": "d.onnx"}, "reconstruct": "decoder", "sample": "decoder", "files": [{"path": "e.onnx", "digest": "sha256:0000000000000000000000000000000000000000000000000000000000000000", "size": 1}, {"path": "d.onnx", "digest": "sha256:0000000000000000000000000000000000000000000000000000000000000000", "size": 1}]}`))
	f.Add([]byte(`{"schema_version": 1, "name": "x/y:z", "kind": "classifier", "graphs": {"classifier": "c.onnx"}, "files": [{"path": "c.onnx", "digest": "sha256:` + string(make([]byte, 0)) + `", "size": -1}]}`))
	f.Add([]byte(`{"files": [{"path": "../../etc/passwd"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "manifest.json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		e, err := OpenDir(dir)
		if err != nil {
			return
		}
		m := e.Manifest()
		if err := m.Validate(); err != nil {
			t.Fatalf("OpenDir took a manifest that does not validate: %v", err)
		}
		ModelCard(m)
		for _, file := range m.Files {
			if !filepath.IsLocal(file.Path) {
				t.Fatalf("a manifest listing %q opened", file.Path)
			}
		}
	})
}

// FuzzParseSource feeds source and target addresses (builtin, folders, http://, oci://
// references) to ParseSource and ParseTarget: a source that names itself, or an error.
func FuzzParseSource(f *testing.F) {
	for _, s := range []string{"builtin", "dir:///tmp/x", "./zoo", "http://h:1/p", "https://u@h/", "http://h/?q#f",
		"oci://localhost:5000/zoo/vae:v1", "oci://h/r@sha256:" + strings.Repeat("0", 64), "oci://H/R", "oci://", "ftp://x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		opts := SourceOptions{Log: slog.New(slog.DiscardHandler)}
		if src, err := ParseSource(addr, opts); err == nil && src.String() == "" {
			t.Fatalf("source %q has no name", addr)
		}
		if dst, err := ParseTarget(addr, opts); err == nil && dst.String() == "" {
			t.Fatalf("target %q has no name", addr)
		}
	})
}

// FuzzHTTPPull pulls from a latentzoo server that answers arbitrary bytes for the entry's
// manifest or for one of its files: the pull ends with an entry whose files all match the
// source's, or with an error and nothing in the store.
func FuzzHTTPPull(f *testing.F) {
	src := openStore(f)
	want := writeTestEntry(f, src, "vae/fashion-mnist:v1")
	n := Name{"vae", "fashion-mnist", "v1"}
	path := want.Manifest().Files[0].Path
	orig, err := want.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(false, orig)
	f.Add(false, append(slices.Clone(orig), 0))
	f.Add(false, []byte("tampered"))
	m, err := want.Manifest().JSON()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(true, m)
	f.Add(true, []byte(`{"schema_version": 1, "name": "vae/fashion-mnist:v1", "files": [{"path": "../x", "size": 1}]}`))
	f.Fuzz(func(t *testing.T, manifest bool, data []byte) {
		l := newLender(src)
		if manifest {
			l.rawManifest = data
		} else {
			l.override[path] = data
		}
		s, _ := lend(t, l, SourceOptions{})
		dst := openStore(t)
		res, err := dst.Pull(context.Background(), s, n, quiet)
		if err != nil {
			noEntry(t, dst)
			return
		}
		if !manifest && !bytes.Equal(data, orig) {
			t.Fatalf("pulled an entry whose %s the source tampered with", path)
		}
		for _, f := range res.Entry.Manifest().Files {
			if _, err := res.Entry.ReadFile(f.Path); err != nil {
				t.Fatalf("pulled an entry that does not read back: %v", err)
			}
		}
	})
}

// FuzzOCIFetch fetches an entry from a registry that answers an arbitrary OCI manifest or
// index, of an arbitrary media type, whose config blob is arbitrary bytes: an entry whose
// manifest validates and whose every file is a layer of the same digest and size, or an
// error.
func FuzzOCIFetch(f *testing.F) {
	cfg := []byte(`{"schema_version": 1, "name": "vae/x:v1", "resolution": 32, "channels": 1, "latent_size": 4, "latent_kind": "gaussian", "graphs": {"encoder": "e.onnx", "decoder": "d.onnx"}, "reconstruct": "decoder", "sample": "decoder", "files": [{"path": "e.onnx", "digest": "sha256:` + strings.Repeat("1", 64) + `", "size": 1}, {"path": "d.onnx", "digest": "sha256:` + strings.Repeat("2", 64) + `", "size": 1}]}`)
	layer := func(p, d string) string {
		return `{"mediaType": "` + MediaTypeGraph + `", "digest": "sha256:` + strings.Repeat(d, 64) + `", "size": 1, "annotations": {"org.opencontainers.image.title": "` + p + `"}}`
	}
	om := `{"schemaVersion": 2, "mediaType": "` + ocispec.MediaTypeImageManifest + `", "config": {"mediaType": "` + MediaTypeManifest + `", "digest": "` + DigestOf(cfg) + `", "size": ` + strconv.Itoa(len(cfg)) + `}, "layers": [` + layer("e.onnx", "1") + `, ` + layer("d.onnx", "2") + `]}`
	f.Add(ocispec.MediaTypeImageManifest, []byte(om), cfg)
	f.Add(ocispec.MediaTypeImageIndex, []byte(`{"schemaVersion": 2, "manifests": []}`), cfg)
	f.Add(ocispec.MediaTypeImageManifest, []byte(strings.Replace(om, `"size": 1,`, `"size": 2,`, 1)), cfg)
	f.Add(ocispec.MediaTypeImageManifest, []byte(om), []byte(`{}`))
	var mu sync.Mutex
	var mediaType string
	var manifest, config []byte
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.URL.Path == "/v2/":
		case strings.HasPrefix(r.URL.Path, "/v2/zoo/manifests/"):
			w.Header().Set("Content-Type", mediaType)
			w.Header().Set("Docker-Content-Digest", DigestOf(manifest))
			w.Header().Set("Content-Length", strconv.Itoa(len(manifest)))
			w.Write(manifest)
		case r.URL.Path == "/v2/zoo/blobs/"+DigestOf(config):
			w.Header().Set("Content-Length", strconv.Itoa(len(config)))
			w.Write(config)
		default:
			http.NotFound(w, r)
		}
	}))
	f.Cleanup(ts.Close)
	src, err := ParseSource("oci://"+strings.TrimPrefix(ts.URL, "http://")+"/zoo", SourceOptions{PlainHTTP: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, mt string, om, cfg []byte) {
		if strings.ContainsAny(mt, "\r\n") {
			return // not a header value a server can send
		}
		mu.Lock()
		mediaType, manifest, config = mt, om, cfg
		mu.Unlock()
		rem, err := src.Fetch(context.Background(), Name{"vae", "x", "v1"})
		if err != nil {
			return
		}
		m := rem.Manifest()
		if err := m.Validate(); err != nil {
			t.Fatalf("fetched a manifest that does not validate: %v", err)
		}
		layers := rem.(*ociRemote).layers
		for _, file := range m.Files {
			if l, ok := layers[file.Path]; !ok || l.Digest.String() != file.Digest || l.Size != file.Size {
				t.Fatalf("fetched an entry whose %s is not its layer %+v", file.Path, l)
			}
		}
	})
}
