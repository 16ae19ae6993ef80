package serve

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/latentzoo/latentzoo/api"
	"github.com/latentzoo/latentzoo/errkind"
)

// statusOf is the one table from error kinds to HTTP statuses. A kind missing here, and
// an error of no kind, is a 500.
var statusOf = map[errkind.Kind]int{
	errkind.Invalid:       http.StatusBadRequest,
	errkind.NotFound:      http.StatusNotFound,
	errkind.Conflict:      http.StatusConflict,
	errkind.Unprocessable: http.StatusUnprocessableEntity,
	errkind.Unsupported:   http.StatusUnsupportedMediaType,
	errkind.TooLarge:      http.StatusRequestEntityTooLarge,
	errkind.Unavailable:   http.StatusServiceUnavailable,
	errkind.Unauthorized:  http.StatusUnauthorized,
	errkind.Forbidden:     http.StatusForbidden,
}

// badRequest returns an errkind.Invalid error, answered 400 with its message.
func badRequest(format string, args ...any) error {
	return errkind.New(errkind.Invalid, format, args...)
}

// writeError writes err as a JSON error answer. An error of a known kind gets its status
// and message; a body over the limit is 413; anything else is a 500 whose details go to the
// log only.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var tooBig *http.MaxBytesError
	if errkind.Of(err) == errkind.Internal && errors.As(err, &tooBig) {
		err = errkind.New(errkind.TooLarge, "request body is over the limit of %d bytes", tooBig.Limit)
	}
	status, ok := statusOf[errkind.Of(err)]
	msg := errkind.Message(err)
	if !ok {
		status, msg = http.StatusInternalServerError, "internal error"
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, status, api.ErrorBody{Error: msg})
}

// writeJSON writes v as a JSON response with the given status, or a 500 if v cannot be
// encoded (a NaN from a broken model, say).
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body, _ = json.Marshal(api.ErrorBody{Error: "internal error: response cannot be encoded as JSON"})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n')) // a failed write is a client gone
}

// badName is the error for a model name in a path that does not unescape.
func badName(err error) error {
	return badRequest("bad model name in path: %v", err)
}

// noRoute is the error for a path that no route serves.
func noRoute(r *http.Request) error {
	return errkind.New(errkind.NotFound, "no route %s %s", r.Method, r.URL.Path)
}
