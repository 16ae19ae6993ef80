package errkind

import (
	"errors"
	"fmt"
	"io"
	"testing"
)

func TestOfAndMessage(t *testing.T) {
	base := New(NotFound, "unknown model %q", "x")
	tests := []struct {
		name    string
		err     error
		kind    Kind
		message string
		isEOF   bool
		isBase  bool
	}{
		{"nil", nil, Internal, "", false, false},
		{"plain", errors.New("disk on fire"), Internal, "", false, false},
		{"direct", base, NotFound, `unknown model "x"`, false, true},
		{"wrapped in context", fmt.Errorf("serve: %w", base), NotFound, `unknown model "x"`, false, true},
		{"wraps a cause", New(Invalid, "read body: %w", io.EOF), Invalid, "read body: EOF", true, false},
		{"Wrap keeps the message", Wrap(TooLarge, io.ErrShortBuffer), TooLarge, io.ErrShortBuffer.Error(), false, false},
		{"outermost wins", New(Unprocessable, "entry: %w", base), Unprocessable, `entry: unknown model "x"`, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Of(tt.err); got != tt.kind {
				t.Errorf("Of = %v, want %v", got, tt.kind)
			}
			if got := Message(tt.err); got != tt.message {
				t.Errorf("Message = %q, want %q", got, tt.message)
			}
			if got := errors.Is(tt.err, io.EOF); got != tt.isEOF {
				t.Errorf("errors.Is(err, io.EOF) = %v, want %v", got, tt.isEOF)
			}
			if got := errors.Is(tt.err, base); got != tt.isBase {
				t.Errorf("errors.Is(err, base) = %v, want %v", got, tt.isBase)
			}
		})
	}
	if Wrap(Invalid, nil) != nil {
		t.Error("Wrap(Invalid, nil) is not nil")
	}
}

func TestKindString(t *testing.T) {
	for k := Internal; k <= Forbidden; k++ {
		if s := k.String(); s == "" || s[0] == 'K' {
			t.Errorf("kind %d has no name: %q", k, s)
		}
	}
	if s := Kind(200).String(); s != "Kind(200)" {
		t.Errorf("Kind(200).String() = %q", s)
	}
}
