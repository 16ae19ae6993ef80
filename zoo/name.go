package zoo

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
)

// DefaultTag is the tag of a name written without one.
const DefaultTag = "latest"

// Name names an entry: family/dataset:tag, e.g. vae/fashion-mnist:v1.
type Name struct {
	Family, Dataset, Tag string
}

// String returns the name in its canonical form, tag included.
func (n Name) String() string {
	return n.Family + "/" + n.Dataset + ":" + n.Tag
}

// component is one part of a name: lowercase letters, digits, '-', '_' and '.', starting
// with a letter or digit, at most 64 characters. A name's parts are also folder names in the
// store, so the grammar keeps them clear of "..", hidden files and separators.
var component = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// ParseName parses "family/dataset[:tag]"; the tag defaults to [DefaultTag]. Each part
// matches [a-z0-9][a-z0-9._-]* (at most 64 characters) and contains no "..".
func ParseName(s string) (Name, error) {
	rest, tag, hasTag := strings.Cut(s, ":")
	if !hasTag {
		tag = DefaultTag
	}
	family, dataset, ok := strings.Cut(rest, "/")
	if !ok {
		return Name{}, fmt.Errorf("entry name %q: want family/dataset[:tag]", s)
	}
	n := Name{Family: family, Dataset: dataset, Tag: tag}
	for _, part := range []struct{ what, v string }{{"family", family}, {"data set", dataset}, {"tag", tag}} {
		if !component.MatchString(part.v) || strings.Contains(part.v, "..") {
			return Name{}, fmt.Errorf("entry name %q: %s %q must be 1 to 64 of a-z, 0-9, '.', '_', '-', start with a letter or digit and hold no \"..\"", s, part.what, part.v)
		}
	}
	return n, nil
}

// digestPattern is the one digest form entries use.
var digestPattern = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// ValidateDigest checks that d has the form "sha256:" followed by 64 lowercase hex digits.
func ValidateDigest(d string) error {
	if !digestPattern.MatchString(d) {
		return fmt.Errorf("digest %q: want sha256:<64 lowercase hex digits>", d)
	}
	return nil
}

// DigestOf returns the digest of b, "sha256:<64 hex>".
func DigestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// filePath is the grammar of a file's path in an entry: slash-separated parts of letters,
// digits, '.', '_' and '-', each starting with a letter, digit or '_'. Hence no absolute
// paths, no "." or ".." parts, no hidden files, no backslashes.
var filePath = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]*(/[A-Za-z0-9_][A-Za-z0-9._-]*)*$`)

// manifestFile is the manifest's own file name in an entry's folder.
const manifestFile = "manifest.json"

// validateFilePath checks a path listed in a manifest.
func validateFilePath(p string) error {
	if len(p) > 255 || !filePath.MatchString(p) {
		return fmt.Errorf("file path %q: want slash-separated parts of A-Z, a-z, 0-9, '.', '_', '-', none starting with '.' or '-'", p)
	}
	if p == manifestFile {
		return fmt.Errorf("file path %q is reserved for the manifest", p)
	}
	return nil
}

// compareTags orders tags naturally: runs of digits compare as numbers, so v2 < v10, and
// everything else compares bytewise; tags equal as numbers ("v1", "v01") fall back to
// bytewise order.
func compareTags(a, b string) int {
	x, y := a, b
	for x != "" && y != "" {
		rx, ry := leadingRun(x), leadingRun(y)
		c := strings.Compare(rx, ry)
		if isDigit(rx[0]) && isDigit(ry[0]) {
			nx, ny := strings.TrimLeft(rx, "0"), strings.TrimLeft(ry, "0")
			c = cmp.Or(cmp.Compare(len(nx), len(ny)), strings.Compare(nx, ny))
		}
		if c != 0 {
			return c
		}
		x, y = x[len(rx):], y[len(ry):]
	}
	// A prefix sorts first.
	return cmp.Or(cmp.Compare(len(x), len(y)), strings.Compare(a, b))
}

// leadingRun returns the leading run of digits or of non-digits of the non-empty s.
func leadingRun(s string) string {
	i := 1
	for i < len(s) && isDigit(s[i]) == isDigit(s[0]) {
		i++
	}
	return s[:i]
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
