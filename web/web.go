// Package web is latentzoo's browser demo page: one HTML page, a script and a style sheet,
// embedded in the binary and served by the server at "/" and "/assets/". The page works
// offline, with no framework, build step, CDN or external font: it talks to the server's
// own API (GET /models, /models/{name}, /models/{name}/examples; POST /encode, /decode,
// /edit, /sample) and nothing else.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

// page holds index.html and assets/.
//
//go:embed page
var page embed.FS

// asset is one embedded file, ready to serve.
type asset struct {
	data        []byte
	contentType string
	etag        string
}

// readAssets reads the embedded files once, keyed by the path they are served at.
var readAssets = sync.OnceValues(func() (map[string]asset, error) {
	assets := map[string]asset{}
	err := fs.WalkDir(page, "page", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := page.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		ct := mime.TypeByExtension(path.Ext(p))
		if ct == "" {
			ct = http.DetectContentType(data)
		}
		route := strings.TrimPrefix(p, "page")
		if route == "/index.html" {
			route = "/"
		}
		assets[route] = asset{data: data, contentType: ct, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: read the embedded page: %w", err)
	}
	return assets, nil
})

// Handler serves the page at "/" and its files at "/assets/NAME"; any other path is 404.
// Each file carries an ETag (its sha256), so browsers revalidate rather than download it
// again.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assets, err := readAssets()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		a, ok := assets[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", a.contentType)
		w.Header().Set("ETag", a.etag)
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.data))
	})
}
