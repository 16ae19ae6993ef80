package zoo

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/latentzoo/latentzoo/zoo/registrytest"
)

// benchSize is the size of the large file of the benchmark's entry.
const benchSize = 32 << 20

// BenchmarkPull measures pulls of an entry holding one 32 MiB file, each into an empty
// store, against plain HTTP copies of the same bytes from the same servers: the
// difference is what checking digests, resumable partial files and the entry's atomic
// placement cost. MB/s counts the entry's bytes.
//
//	oci                  Store.Pull from the registry (docker-registry on loopback)
//	oci-plain-copy       GET of the same blob from the registry into a file
//	http                 Store.Pull from an HTTP source serving the API under HTTPPrefix
//	http-plain-copy      GET of the same file from that server into a file
func BenchmarkPull(b *testing.B) {
	src := openStore(b)
	m := testManifest("vae/bench:v1")
	files := testFiles("v1")
	big := make([]byte, benchSize)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	files[bigFile] = big
	e, err := src.Write(m, files)
	if err != nil {
		b.Fatal(err)
	}
	var total int64
	for _, f := range e.Manifest().Files {
		total += f.Size
	}
	n := Name{"vae", "bench", "v1"}

	reg := registrytest.Start(b)
	repo := "oci://" + reg.Addr + "/zoo/bench"
	target, err := ParseTarget(repo, plain)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := target.Push(context.Background(), e, nil); err != nil {
		b.Fatal(err)
	}
	lent := httptest.NewServer(newLender(src))
	defer lent.Close()

	pullFrom := func(addr string, opts SourceOptions) func(b *testing.B) {
		return func(b *testing.B) {
			s, err := ParseSource(addr, opts)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(total)
			for b.Loop() {
				dst := openStore(b)
				if _, err := dst.Pull(context.Background(), s, n, quiet); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				os.RemoveAll(dst.Dir())
				b.StartTimer()
			}
		}
	}
	copyFrom := func(url string) func(b *testing.B) {
		return func(b *testing.B) {
			b.SetBytes(benchSize)
			for b.Loop() {
				if err := copyURL(url, filepath.Join(b.TempDir(), "copy")); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.Run("oci", pullFrom(repo, plain))
	b.Run("oci-plain-copy", copyFrom("http://"+reg.Addr+"/v2/zoo/bench/blobs/"+DigestOf(big)))
	b.Run("http", pullFrom(lent.URL, SourceOptions{}))
	b.Run("http-plain-copy", copyFrom(lent.URL+FileURLPath(n, bigFile)))
}

// copyURL writes the body of a GET of url to a new file at name.
func copyURL(url, name string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
