package zoo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/latentzoo/latentzoo/zoo/registrytest"
)

// plain is the options of sources and targets in the local test registry.
var plain = SourceOptions{PlainHTTP: true}

// push pushes e to addr and returns what Push returned.
func push(t *testing.T, e Entry, addr string) string {
	t.Helper()
	target, err := ParseTarget(addr, plain)
	if err != nil {
		t.Fatal(err)
	}
	where, err := target.Push(context.Background(), e, nil)
	if err != nil {
		t.Fatal(err)
	}
	return where
}

// pull pulls n from the source at addr into dst.
func pull(dst *Store, addr string, n Name, opts SourceOptions) (PullResult, error) {
	src, err := ParseSource(addr, opts)
	if err != nil {
		return PullResult{}, err
	}
	return dst.Pull(context.Background(), src, n, quiet)
}

func TestOCIPushPull(t *testing.T) {
	reg := registrytest.Start(t)
	src := openStore(t)
	v1 := writeTestEntry(t, src, "vae/fashion-mnist:v1")
	v2 := writeTestEntry(t, src, "vae/fashion-mnist:v2")
	repo := "oci://" + reg.Addr + "/zoo/vae-fashion-mnist"
	where := push(t, v1, repo)
	if !strings.HasPrefix(where, repo+":v1@sha256:") {
		t.Errorf("pushed to %s, want %s:v1@sha256:...", where, repo)
	}
	push(t, v1, repo) // again: the blobs are there, the tag moves to an equal manifest
	push(t, v2, repo)
	push(t, v1, repo+":stable")

	t.Run("layout", func(t *testing.T) {
		r, err := remote.NewRepository(reg.Addr + "/zoo/vae-fashion-mnist")
		if err != nil {
			t.Fatal(err)
		}
		r.PlainHTTP = true
		desc, rc, err := r.FetchReference(context.Background(), "v1")
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		b, err := content.ReadAll(rc, desc)
		if err != nil {
			t.Fatal(err)
		}
		var om ocispec.Manifest
		if err := json.Unmarshal(b, &om); err != nil {
			t.Fatal(err)
		}
		if om.ArtifactType != ArtifactType || om.Config.MediaType != MediaTypeManifest || om.Annotations[ocispec.AnnotationTitle] != "vae/fashion-mnist:v1" {
			t.Errorf("artifact type %q, config %q, title %q", om.ArtifactType, om.Config.MediaType, om.Annotations[ocispec.AnnotationTitle])
		}
		cfg, err := content.FetchAll(context.Background(), r, om.Config)
		if err != nil {
			t.Fatal(err)
		}
		if m, err := parseManifest(cfg, "config"); err != nil || m.Name != "vae/fashion-mnist:v1" {
			t.Errorf("config blob: %v, %v; want the entry's manifest", m, err)
		}
		got := map[string]string{}
		for _, l := range om.Layers {
			got[l.Annotations[ocispec.AnnotationTitle]] = l.MediaType
		}
		want := map[string]string{
			"README.md": MediaTypeCard, "encoder.onnx": MediaTypeGraph, "decoder.onnx": MediaTypeGraph,
			"attributes/smile.bin": MediaTypeFile, bigFile: MediaTypeFile,
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("layers %v, want %v", got, want)
		}
	})

	for _, tc := range []struct {
		name, source, ask string
		want              Entry
	}{
		{"by tag", repo, "vae/fashion-mnist:v1", v1},
		{"newest tag", repo, "vae/fashion-mnist", v2},
		{"tag in the address", repo + ":stable", "vae/fashion-mnist", v1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := openStore(t)
			n, _ := ParseName(tc.ask)
			res, err := pull(dst, tc.source, n, plain)
			if err != nil {
				t.Fatal(err)
			}
			sameEntry(t, res.Entry, tc.want)
			again, err := pull(dst, tc.source, n, plain)
			if err != nil || !again.UpToDate {
				t.Errorf("second pull: up to date %v, %v", again.UpToDate, err)
			}
		})
	}
	t.Run("errors", func(t *testing.T) {
		for _, tc := range []struct {
			name, source, ask, saying string
			is                        error
		}{
			{"missing tag", repo, "vae/fashion-mnist:v9", "", ErrNotFound},
			{"missing repository", "oci://" + reg.Addr + "/zoo/nothing", "vae/fashion-mnist", "", ErrNotFound},
			{"other entry", repo, "vae/mnist:v1", "answered with entry", nil},
			{"HTTPS to a plain registry", repo, "vae/fashion-mnist:v1", "http", nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				opts := plain
				if tc.name == "HTTPS to a plain registry" {
					opts = SourceOptions{}
				}
				dst := openStore(t)
				n, _ := ParseName(tc.ask)
				_, err := pull(dst, tc.source, n, opts)
				if err == nil || (tc.is != nil && !errors.Is(err, tc.is)) || !strings.Contains(err.Error(), tc.saying) {
					t.Fatalf("pull: %v; want an error wrapping %v saying %q", err, tc.is, tc.saying)
				}
				noEntry(t, dst)
			})
		}
	})
}

// blobData is where the registry keeps the blob with digest d.
func blobData(reg *registrytest.Registry, d string) string {
	hex := strings.TrimPrefix(d, "sha256:")
	return filepath.Join(reg.Storage, "docker", "registry", "v2", "blobs", "sha256", hex[:2], hex, "data")
}

func TestOCITamperedBlob(t *testing.T) {
	reg := registrytest.Start(t)
	src := openStore(t)
	e := writeTestEntry(t, src, "vae/fashion-mnist:v1")
	repo := "oci://" + reg.Addr + "/zoo/tampered"
	push(t, e, repo)
	big := pullFiles("v1")[bigFile]
	data := blobData(reg, DigestOf(big))
	b, err := os.ReadFile(data)
	if err != nil {
		t.Fatal(err)
	}
	b[12345] ^= 0xff
	if err := os.WriteFile(data, b, 0o644); err != nil {
		t.Fatal(err)
	}
	dst := openStore(t)
	_, err = pull(dst, repo, Name{"vae", "fashion-mnist", "v1"}, plain)
	if !errors.Is(err, ErrIntegrity) {
		t.Fatalf("pull of a tampered blob: %v, want ErrIntegrity", err)
	}
	noEntry(t, dst)
}

func TestOCIManifestChecks(t *testing.T) {
	reg := registrytest.Start(t)
	r, err := remote.NewRepository(reg.Addr + "/zoo/odd")
	if err != nil {
		t.Fatal(err)
	}
	r.PlainHTTP = true
	ctx := context.Background()
	files := pullFiles("v1")
	// pack pushes the entry's files as layers, cfg as the config blob, and tags the
	// manifest.
	pack := func(tag string, cfg []byte, cfgType string, layerOf func(path string) string) {
		t.Helper()
		var layers []ocispec.Descriptor
		for p := range files {
			b := files[layerOf(p)]
			d := ocispec.Descriptor{MediaType: MediaType(p), Digest: digest.FromBytes(b), Size: int64(len(b)), Annotations: map[string]string{ocispec.AnnotationTitle: p}}
			if err := r.Push(ctx, d, strings.NewReader(string(b))); err != nil && !strings.Contains(err.Error(), "exist") {
				t.Fatal(err)
			}
			layers = append(layers, d)
		}
		cd := content.NewDescriptorFromBytes(cfgType, cfg)
		if err := r.Push(ctx, cd, strings.NewReader(string(cfg))); err != nil {
			t.Fatal(err)
		}
		desc, err := oras.PackManifest(ctx, r, oras.PackManifestVersion1_1, ArtifactType, oras.PackManifestOptions{ConfigDescriptor: &cd, Layers: layers})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Tag(ctx, desc, tag); err != nil {
			t.Fatal(err)
		}
	}
	good := rawManifest(func(*Manifest) {})
	same := func(p string) string { return p }
	pack("swapped", good, MediaTypeManifest, func(p string) string {
		if p == "encoder.onnx" {
			return "decoder.onnx" // the encoder's layer holds the decoder's bytes
		}
		return p
	})
	pack("not-ours", good, "application/vnd.oci.image.config.v1+json", same)
	pack("bad-manifest", rawManifest(func(m *Manifest) { m.Files[0].Path = "/etc/passwd" }), MediaTypeManifest, same)
	for _, tc := range []struct{ tag, saying string }{
		{"swapped", "do not hold encoder.onnx"},
		{"not-ours", "not a latentzoo entry"},
		{"bad-manifest", "file path"},
	} {
		t.Run(tc.tag, func(t *testing.T) {
			dst := openStore(t)
			_, err := pull(dst, "oci://"+reg.Addr+"/zoo/odd:"+tc.tag, Name{"vae", "fashion-mnist", "latest"}, plain)
			if err == nil || !strings.Contains(err.Error(), tc.saying) {
				t.Fatalf("pull: %v; want an error saying %q", err, tc.saying)
			}
			noEntry(t, dst)
		})
	}
}

// cuttingProxy forwards to a registry and hangs up the first GET of one blob after some
// bytes, recording the Range headers of that blob's GETs.
type cuttingProxy struct {
	proxy  *httputil.ReverseProxy
	digest string
	mu     sync.Mutex
	cut    int64 // 0 once used
	ranges []string
}

func (c *cuttingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+c.digest) {
		c.mu.Lock()
		c.ranges = append(c.ranges, r.Header.Get("Range"))
		cut := c.cut
		c.cut = 0
		c.mu.Unlock()
		if cut > 0 {
			w = &hangUpWriter{ResponseWriter: w, left: cut}
		}
	}
	c.proxy.ServeHTTP(w, r)
}

func TestOCIResume(t *testing.T) {
	reg := registrytest.Start(t)
	src := openStore(t)
	e := writeTestEntry(t, src, "vae/fashion-mnist:v1")
	push(t, e, "oci://"+reg.Addr+"/zoo/resume")
	const cut = 70_000
	target, _ := url.Parse("http://" + reg.Addr)
	cp := &cuttingProxy{proxy: httputil.NewSingleHostReverseProxy(target), digest: DigestOf(pullFiles("v1")[bigFile]), cut: cut}
	cp.proxy.ErrorLog = nil
	ts := httptest.NewServer(cp)
	defer ts.Close()
	addr := "oci://" + strings.TrimPrefix(ts.URL, "http://") + "/zoo/resume"
	dst := openStore(t)
	n := Name{"vae", "fashion-mnist", "v1"}
	if _, err := pull(dst, addr, n, plain); err == nil || !strings.Contains(err.Error(), "pull again to resume") {
		t.Fatalf("pull through a proxy that hangs up: %v; want an interruption", err)
	}
	noEntry(t, dst)
	res, err := pull(dst, addr, n, plain)
	if err != nil {
		t.Fatal(err)
	}
	sameEntry(t, res.Entry, e)
	if !slices.Contains(cp.ranges, fmt.Sprintf("bytes=%d-%d", cut, len(pullFiles("v1")[bigFile])-1)) {
		t.Errorf("the blob's GETs had ranges %q, want one from byte %d", cp.ranges, cut)
	}
}
