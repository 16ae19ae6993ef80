// Package errkind sorts latentzoo's errors into a few kinds: invalid input, not found, an
// entry that cannot be used, and so on. The packages that find a fault (the inference
// package, the zoo, the server's request parser) say what kind it is; the layer that
// answers a user (the HTTP server, the command line) maps each kind to its own answer in one
// place, without knowing which package failed.
package errkind

import (
	"errors"
	"fmt"
)

// Kind is the kind of an error.
type Kind uint8

// The kinds. The zero Kind, Internal, is every error that no package classified: a fault
// of the program or its environment rather than of what the caller asked.
const (
	Internal      Kind = iota
	Invalid            // the caller's input is wrong: a malformed field, a value out of range
	NotFound           // what the caller named does not exist: a model, an entry, a file
	Conflict           // the request contradicts the current state
	Unprocessable      // what the caller named exists but cannot be used: an entry that fails its checks
	Unsupported        // the input comes in a form that is not handled, such as a media type
	TooLarge           // the input is over a size limit
	Unavailable        // the service cannot take the request now; it may later
	Unauthorized       // the caller did not prove who it is, or proved it wrongly
	Forbidden          // the caller may not do this, whoever it is
)

var names = [...]string{"internal", "invalid", "not found", "conflict", "unprocessable", "unsupported", "too large", "unavailable", "unauthorized", "forbidden"}

// String names the kind.
func (k Kind) String() string {
	if int(k) < len(names) {
		return names[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// Error is an error of a known kind. Its message is meant for the caller: the server shows
// it to clients, so it says what was wrong with what they sent.
type Error struct {
	Kind Kind
	Err  error
}

// Error returns the message of the wrapped error.
func (e *Error) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped error, so that errors.Is sees through the kind.
func (e *Error) Unwrap() error { return e.Err }

// New returns an error of kind k with the message fmt.Sprintf(format, args...); %w wraps
// as in fmt.Errorf.
func New(k Kind, format string, args ...any) error {
	return &Error{Kind: k, Err: fmt.Errorf(format, args...)}
}

// Wrap returns err as an error of kind k, with err's message; a nil err stays nil.
func Wrap(k Kind, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: k, Err: err}
}

// Of returns the kind of the outermost *Error in err's chain, and Internal when there is
// none (a nil err included).
func Of(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// Message returns the message of the outermost *Error in err's chain: what a caller is
// told, without the context that wrapped it on its way up. It returns "" when err has no
// *Error.
func Message(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Error()
	}
	return ""
}
