package zoo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// HTTPPrefix is the root of the read-only API through which a latentzoo server lends the
// entries of its store and its built-in ones (serve/API.md):
//
//	GET /zoo/v1/entries                                          the entries, as JSON
//	GET /zoo/v1/entries/{family}/{dataset}/{tag}/manifest.json   an entry's manifest
//	GET /zoo/v1/entries/{family}/{dataset}/{tag}/files/{path}    a file, with Range
//
// A tag of "latest" that no entry carries stands for the newest entry, as in
// [Store.Resolve]; the manifest says which.
const HTTPPrefix = "/zoo/v1"

// ManifestURLPath is the URL path of entry n's manifest in the API under [HTTPPrefix].
func ManifestURLPath(n Name) string {
	return HTTPPrefix + "/entries/" + n.Family + "/" + n.Dataset + "/" + n.Tag + "/" + manifestFile
}

// FileURLPath is the URL path of the file at path of entry n in the API under
// [HTTPPrefix]. Names and paths need no escaping: their grammars hold no character that
// URLs reserve.
func FileURLPath(n Name, path string) string {
	return HTTPPrefix + "/entries/" + n.Family + "/" + n.Dataset + "/" + n.Tag + "/files/" + path
}

// ErrRedirect is wrapped by the errors of HTTP redirects that a pull refused: to another
// host without [SourceOptions.AllowRedirects], or from HTTPS to HTTP.
var ErrRedirect = errors.New("redirect refused")

// maxRedirects bounds a chain of HTTP redirects.
const maxRedirects = 10

// httpClient returns the HTTP client of sources and targets: redirects stay on the first
// request's host unless opts allow others, and never go from HTTPS to HTTP.
func httpClient(opts SourceOptions) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = time.Minute
	return &http.Client{
		Transport: t,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			from := via[0].URL
			switch {
			case len(via) >= maxRedirects:
				return fmt.Errorf("%w: more than %d redirects from %s", ErrRedirect, maxRedirects, from.Redacted())
			case from.Scheme == "https" && req.URL.Scheme != "https":
				return fmt.Errorf("%w: from %s to %s, which is not HTTPS", ErrRedirect, from.Redacted(), req.URL.Redacted())
			case req.URL.Host == from.Host:
				return nil
			case !opts.AllowRedirects:
				return fmt.Errorf("%w: %s redirects to another host, %s (allow it with --allow-redirects)", ErrRedirect, from.Redacted(), req.URL.Host)
			}
			opts.log().Warn("following a redirect to another host", "from", from.Redacted(), "to", req.URL.Redacted())
			return nil
		},
	}
}

// httpSource is another latentzoo server.
type httpSource struct {
	base   string // scheme://host[:port][/prefix], without a trailing slash
	client *http.Client
}

func newHTTPSource(addr string, opts SourceOptions) (*httpSource, error) {
	u, err := url.Parse(addr)
	if err != nil {
		return nil, fmt.Errorf("source %q: %w", addr, err)
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("source %q: want http[s]://host[:port][/prefix]", addr)
	}
	return &httpSource{base: strings.TrimSuffix(u.String(), "/"), client: httpClient(opts)}, nil
}

// String names the source by its base URL.
func (s *httpSource) String() string { return s.base }

// get sends a GET for the URL path p with the given headers.
func (s *httpSource) get(ctx context.Context, p string, header http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+p, nil)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", s, err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", s, err)
	}
	return resp, nil
}

// statusError describes an unexpected answer, with the start of its body, and closes it.
func statusError(resp *http.Response) error {
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	err := fmt.Errorf("GET %s: %s: %s", resp.Request.URL.Redacted(), resp.Status, strings.TrimSpace(string(body)))
	if resp.StatusCode == http.StatusNotFound {
		return fmt.Errorf("%w: %w", err, ErrNotFound)
	}
	return err
}

// Fetch reads n's manifest from the server.
func (s *httpSource) Fetch(ctx context.Context, n Name) (Remote, error) {
	resp, err := s.get(ctx, ManifestURLPath(n), http.Header{"Accept": {"application/json"}})
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, statusError(resp)
	}
	defer resp.Body.Close()
	m, err := readManifest(resp.Body, s.base+ManifestURLPath(n))
	if err != nil {
		return nil, err
	}
	name, err := ParseName(m.Name)
	if err != nil {
		return nil, err
	}
	return &httpRemote{src: s, m: m, name: name}, nil
}

// httpRemote is an entry on another latentzoo server.
type httpRemote struct {
	src  *httpSource
	m    *Manifest
	name Name // m.Name, parsed: files are asked for by the entry's own name
}

// Manifest returns the entry's manifest.
func (r *httpRemote) Manifest() *Manifest { return r.m }

// Open asks for the file from offset on with a Range request; a server that ignores the
// range sends the whole file, whose first offset bytes are skipped here.
func (r *httpRemote) Open(ctx context.Context, f File, offset int64) (io.ReadCloser, error) {
	h := http.Header{}
	if offset > 0 {
		h.Set("Range", fmt.Sprintf("bytes=%d-", offset))
	}
	resp, err := r.src.get(ctx, FileURLPath(r.name, f.Path), h)
	if err != nil {
		return nil, err
	}
	want := f.Size - offset // the bytes the answer should hold
	switch resp.StatusCode {
	case http.StatusPartialContent:
		if start, ok := rangeStart(resp.Header.Get("Content-Range")); !ok || start != offset {
			resp.Body.Close()
			return nil, fmt.Errorf("source %s: %s: asked for bytes from %d, got Content-Range %q", r.src, f.Path, offset, resp.Header.Get("Content-Range"))
		}
	case http.StatusOK:
		want = f.Size
	default:
		return nil, statusError(resp)
	}
	if resp.ContentLength > want {
		resp.Body.Close()
		return nil, fmt.Errorf("source %s: %s: %d bytes announced, the manifest says %d: %w", r.src, f.Path, resp.ContentLength, want, ErrIntegrity)
	}
	if resp.StatusCode == http.StatusOK && offset > 0 {
		if _, err := io.CopyN(io.Discard, resp.Body, offset); err != nil {
			resp.Body.Close()
			return nil, fmt.Errorf("source %s: %s: skipping %d bytes: %w", r.src, f.Path, offset, err)
		}
	}
	return resp.Body, nil
}

// rangeStart parses the first byte position of a Content-Range header, "bytes a-b/n".
func rangeStart(h string) (int64, bool) {
	spec, ok := strings.CutPrefix(h, "bytes ")
	if !ok {
		return 0, false
	}
	first, _, ok := strings.Cut(spec, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(first, 10, 64)
	return n, err == nil
}
