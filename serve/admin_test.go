package serve

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestAdminToken requires POST /models/{name}/load and the runtime's profiles under
// /debug/ to be open to loopback clients only when the server has no admin token, and to
// need the token, from anywhere, when it has one; read-only routes stay open.
func TestAdminToken(t *testing.T) {
	_, store := storeServer(t)
	const token = "s3cret-token"
	open := func(t *testing.T, adminToken string) *Server {
		srv, err := New(Config{IntraOpThreads: 1, Store: store, AdminToken: adminToken, Logger: slog.New(slog.DiscardHandler)}, mustEntries(t)[0])
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Close() })
		return srv
	}
	tests := []struct {
		name, configured, remote, auth string
		status                         int
		saying                         string
	}{
		{"loopback, no token configured", "", "127.0.0.1:5000", "", 200, ""},
		{"IPv6 loopback, no token configured", "", "[::1]:5000", "", 200, ""},
		{"remote, no token configured", "", "203.0.113.9:5000", "", 403, "loopback clients only"},
		{"remote with a token the server lacks", "", "203.0.113.9:5000", "Bearer " + token, 403, "--admin-token"},
		{"remote, right token", token, "203.0.113.9:5000", "Bearer " + token, 200, ""},
		{"loopback, token configured but not sent", token, "127.0.0.1:5000", "", 401, "admin token"},
		{"remote, wrong token", token, "203.0.113.9:5000", "Bearer " + token + "x", 401, "admin token"},
		{"remote, token not as bearer", token, "203.0.113.9:5000", "Basic " + token, 401, "admin token"},
		{"remote, empty bearer", token, "203.0.113.9:5000", "Bearer ", 401, "admin token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := open(t, tt.configured)
			// call sends a request from the case's address, with its Authorization header
			// where it has one.
			call := func(method, path string, auth bool) *httptest.ResponseRecorder {
				r := httptest.NewRequest(method, path, nil)
				r.RemoteAddr = tt.remote
				if auth && tt.auth != "" {
					r.Header.Set("Authorization", tt.auth)
				}
				w := httptest.NewRecorder()
				srv.Handler().ServeHTTP(w, r)
				return w
			}
			w := call(http.MethodPost, "/models/vae/test-gaussian:v1/load", true)
			if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.saying) {
				t.Errorf("%d %s, want %d saying %q", w.Code, w.Body.String(), tt.status, tt.saying)
			}
			if tt.status == 401 && w.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			// The runtime's profiles are guarded like the load route.
			if d := call(http.MethodGet, "/debug/pprof/cmdline", true); d.Code != tt.status {
				t.Errorf("GET /debug/pprof/cmdline: %d %s, want %d", d.Code, d.Body.String(), tt.status)
			}
			// Read-only routes answer anyone.
			if g := call(http.MethodGet, "/models", false); g.Code != 200 {
				t.Errorf("GET /models from %s: %d", tt.remote, g.Code)
			}
		})
	}
}
