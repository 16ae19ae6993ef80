package web

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	h := Handler()
	tests := []struct {
		path   string
		status int
		ctype  string
		holds  string
	}{
		{"/", http.StatusOK, "text/html; charset=utf-8", `<script src="/assets/app.js" defer></script>`},
		{"/assets/app.js", http.StatusOK, "text/javascript; charset=utf-8", `"/edit"`},
		{"/assets/style.css", http.StatusOK, "text/css; charset=utf-8", "image-rendering: pixelated"},
		{"/index.html", http.StatusNotFound, "", ""},
		{"/assets/", http.StatusNotFound, "", ""},
		{"/assets/nothing.js", http.StatusNotFound, "", ""},
		{"/assets/../web.go", http.StatusNotFound, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, tt.path, nil))
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
			if tt.status != http.StatusOK {
				return
			}
			if got := w.Header().Get("Content-Type"); got != tt.ctype {
				t.Errorf("Content-Type %q, want %q", got, tt.ctype)
			}
			if !strings.Contains(w.Body.String(), tt.holds) {
				t.Errorf("body lacks %q", tt.holds)
			}
			etag := w.Header().Get("ETag")
			if etag == "" {
				t.Fatal("no ETag")
			}
			r := httptest.NewRequest(http.MethodGet, tt.path, nil)
			r.Header.Set("If-None-Match", etag)
			w = httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusNotModified {
				t.Errorf("revalidation with the ETag: status %d, want 304", w.Code)
			}
		})
	}
}

// TestOffline checks that the page loads nothing from elsewhere: no absolute URL, no CSS
// import, and every file the HTML names is one of the embedded assets.
func TestOffline(t *testing.T) {
	external := regexp.MustCompile(`(?i)https?:|@import|url\(|(src|href)="//`)
	refs := regexp.MustCompile(`(?:src|href)="([^"]*)"`)
	err := fs.WalkDir(page, "page", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := page.ReadFile(p)
		if err != nil {
			return err
		}
		if m := external.Find(b); m != nil {
			t.Errorf("%s refers outside the server: %q", p, m)
		}
		for _, ref := range refs.FindAllSubmatch(b, -1) {
			name := "page" + string(ref[1])
			if _, err := fs.Stat(page, name); err != nil {
				t.Errorf("%s names %s, which is not embedded", p, ref[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
