package serve

import (
	"crypto/subtle"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/latentzoo/latentzoo/errkind"
)

// EnvAdminToken is the environment variable that latentzoo serve reads the admin token
// from when --admin-token is not given.
const EnvAdminToken = "LATENTZOO_ADMIN_TOKEN"

// admin guards the routes that change what the server serves (POST /models/{name}/load)
// and those that show its internals (the Go runtime's profiles under /debug/).
// With Config.AdminToken set, a request must carry it as "Authorization: Bearer TOKEN"
// (compared in constant time), wherever it comes from. Without one, only clients on the
// loopback interface may call them: a server listening beyond loopback is not open to
// whoever can reach its port. Read-only routes are not guarded.
func (s *Server) admin(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := s.authorize(r); err != nil {
			if errkind.Of(err) == errkind.Unauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="latentzoo admin"`)
			}
			writeError(w, r, s.log, err)
			return
		}
		next(w, r)
	}
}

// authorize checks an admin request; see admin.
func (s *Server) authorize(r *http.Request) error {
	if token := s.cfg.AdminToken; token != "" {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(token)) != 1 {
			return errkind.New(errkind.Unauthorized, "this route needs the server's admin token: send Authorization: Bearer TOKEN")
		}
		return nil
	}
	if !loopback(r.RemoteAddr) {
		return errkind.New(errkind.Forbidden, "this route is open to loopback clients only, since the server has no admin token: start it with --admin-token (or $%s) and send Authorization: Bearer TOKEN", EnvAdminToken)
	}
	return nil
}

// loopback reports whether a request's remote address is on the loopback interface.
func loopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// debugRoutes serves the Go runtime's profiles (net/http/pprof) under /debug/pprof/ as
// admin routes: "go tool pprof http://HOST/debug/pprof/profile" under load shows where a
// request's time goes, and the profiles reveal the process's internals, so they are not
// public.
func (s *Server) debugRoutes(r chi.Router) {
	r.Get("/debug/pprof/*", s.admin(func(w http.ResponseWriter, r *http.Request) {
		switch chi.URLParam(r, "*") {
		case "cmdline":
			pprof.Cmdline(w, r)
		case "profile":
			pprof.Profile(w, r)
		case "symbol":
			pprof.Symbol(w, r)
		case "trace":
			pprof.Trace(w, r)
		default: // the index, and the named profiles: heap, goroutine, allocs, ...
			pprof.Index(w, r)
		}
	}))
}
