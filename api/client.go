package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Error is an error answer of the server: its HTTP status and the message of its body.
type Error struct {
	Status  int
	Message string
}

// Error says the status and the server's message.
func (e *Error) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
}

// Client calls a latentzoo server's HTTP API. Its zero value is not usable: make one with
// NewClient.
type Client struct {
	base *url.URL
	http *http.Client
}

// NewClient returns a client of the server at base, e.g. "http://127.0.0.1:8080", sending
// its requests with hc (http.DefaultClient when nil).
func NewClient(base string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(strings.TrimSuffix(base, "/"))
	if err != nil {
		return nil, fmt.Errorf("api: server address %q: %w", base, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("api: server address %q: want an http or https URL", base)
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{base: u, http: hc}, nil
}

// do sends a request to path with body (JSON-encoded unless nil) and decodes a 200 answer's
// JSON into out. Any other status is an *Error.
func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("api: encode %s request: %w", path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, rd)
	if err != nil {
		return fmt.Errorf("api: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("api: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("api: %s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var eb ErrorBody
		if json.Unmarshal(data, &eb) != nil || eb.Error == "" {
			eb.Error = strings.TrimSpace(string(data))
		}
		return &Error{Status: resp.StatusCode, Message: eb.Error}
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("api: %s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// images posts req to an endpoint that answers images.
func (c *Client) images(ctx context.Context, path string, req *Request) (*Images, error) {
	var out Images
	if err := c.do(ctx, http.MethodPost, path, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Reconstruct posts req (Image, and optionally Model and Decoder) to /reconstruct.
func (c *Client) Reconstruct(ctx context.Context, req *Request) (*Images, error) {
	return c.images(ctx, "/reconstruct", req)
}

// Decode posts req (Z, and optionally Model and Decoder) to /decode.
func (c *Client) Decode(ctx context.Context, req *Request) (*Images, error) {
	return c.images(ctx, "/decode", req)
}

// Interpolate posts req (A or ZA, B or ZB, and optionally Steps, Path, Model, Decoder) to
// /interpolate.
func (c *Client) Interpolate(ctx context.Context, req *Request) (*Images, error) {
	return c.images(ctx, "/interpolate", req)
}

// Sample posts req (optionally N, Seed, Model, Decoder) to /sample.
func (c *Client) Sample(ctx context.Context, req *Request) (*Images, error) {
	return c.images(ctx, "/sample", req)
}

// Edit posts req (Attributes, Image or one latent in Z, and optionally Model and Decoder)
// to /edit.
func (c *Client) Edit(ctx context.Context, req *Request) (*Images, error) {
	return c.images(ctx, "/edit", req)
}

// Encode posts req (Image, and optionally Model) to /encode.
func (c *Client) Encode(ctx context.Context, req *Request) (*Encoding, error) {
	var out Encoding
	if err := c.do(ctx, http.MethodPost, "/encode", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Models lists the served models.
func (c *Client) Models(ctx context.Context) (*ModelList, error) {
	var out ModelList
	if err := c.do(ctx, http.MethodGet, "/models", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Model describes the served model called name.
func (c *Client) Model(ctx context.Context, name string) (*ModelDetail, error) {
	var out ModelDetail
	if err := c.do(ctx, http.MethodGet, "/models/"+url.PathEscape(name), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Examples returns n test images of the model's data set (n ≤ 0 leaves the server's
// default), drawn by seed when seed is not nil.
func (c *Client) Examples(ctx context.Context, name string, n int, seed *int64) (*Examples, error) {
	q := url.Values{}
	if n > 0 {
		q.Set("n", strconv.Itoa(n))
	}
	if seed != nil {
		q.Set("seed", strconv.FormatInt(*seed, 10))
	}
	path := "/models/" + name + "/examples"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out Examples
	if err := c.do(ctx, http.MethodGet, path, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Load asks the server to serve the entry called name from its store.
func (c *Client) Load(ctx context.Context, name string) (*Loaded, error) {
	var out Loaded
	if err := c.do(ctx, http.MethodPost, "/models/"+name+"/load", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Health asks whether the server process is up.
func (c *Client) Health(ctx context.Context) (*Status, error) {
	var out Status
	if err := c.do(ctx, http.MethodGet, "/healthz", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Ready asks whether the server takes requests; a draining server answers an *Error with
// status 503.
func (c *Client) Ready(ctx context.Context) (*Status, error) {
	var out Status
	if err := c.do(ctx, http.MethodGet, "/readyz", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
