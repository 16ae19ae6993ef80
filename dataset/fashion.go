package dataset

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"

	"github.com/latentzoo/latentzoo/pixels"
)

// FashionMNISTDir is where the Debian package dataset-fashion-mnist installs the data set;
// $LATENTZOO_FASHION_MNIST overrides it.
const FashionMNISTDir = "/usr/share/datasets/fashion-mnist"

// FashionMNISTClasses names Fashion-MNIST's labels 0 to 9.
var FashionMNISTClasses = []string{
	"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
	"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
}

// loadFashionMNIST reads Fashion-MNIST's own splits: "train" is train-*-ubyte.gz (60,000
// images) and "test" is t10k-*-ubyte.gz (10,000), in file order.
func loadFashionMNIST(split string, res, channels int) (*Set, error) {
	dir := os.Getenv("LATENTZOO_FASHION_MNIST")
	if dir == "" {
		dir = FashionMNISTDir
	}
	prefix := "train"
	if split == Test {
		prefix = "t10k"
	}
	dims, pix, err := readIdx(filepath.Join(dir, prefix+"-images-idx3-ubyte.gz"), 3)
	if err != nil {
		return nil, fmt.Errorf("fashion-mnist (install the Debian package dataset-fashion-mnist or set LATENTZOO_FASHION_MNIST): %w", err)
	}
	ldims, lab, err := readIdx(filepath.Join(dir, prefix+"-labels-idx1-ubyte.gz"), 1)
	if err != nil {
		return nil, fmt.Errorf("fashion-mnist: %w", err)
	}
	if ldims[0] != dims[0] {
		return nil, fmt.Errorf("fashion-mnist %s: %d images but %d labels", split, dims[0], ldims[0])
	}
	labels := make([]int, len(lab))
	for i, l := range lab {
		if int(l) >= len(FashionMNISTClasses) {
			return nil, fmt.Errorf("fashion-mnist %s: image %d has label %d", split, i, l)
		}
		labels[i] = int(l)
	}
	return fromGray(FashionMNIST, split, pix, dims[2], dims[1], labels, FashionMNISTClasses, res, channels)
}

// maxIdxBytes bounds the data an idx header may announce.
const maxIdxBytes = 1 << 30

// readIdx reads a gzipped idx file of unsigned bytes with ndim dimensions and returns the
// dimensions and the data.
func readIdx(path string, ndim int) (dims []int, data []byte, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	z, err := gzip.NewReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	var magic [4]byte
	if _, err := io.ReadFull(z, magic[:]); err != nil {
		return nil, nil, fmt.Errorf("%s: header: %w", path, err)
	}
	if magic != [4]byte{0, 0, 0x08, byte(ndim)} {
		return nil, nil, fmt.Errorf("%s: not an idx file of %d-dimensional unsigned bytes (magic % x)", path, ndim, magic)
	}
	size := 1
	for range ndim {
		var d uint32
		if err := binary.Read(z, binary.BigEndian, &d); err != nil {
			return nil, nil, fmt.Errorf("%s: header: %w", path, err)
		}
		if d == 0 || int64(size)*int64(d) > maxIdxBytes {
			return nil, nil, fmt.Errorf("%s: dimensions %v×%d out of range", path, dims, d)
		}
		dims = append(dims, int(d))
		size *= int(d)
	}
	data = make([]byte, size)
	if _, err := io.ReadFull(z, data); err != nil {
		return nil, nil, fmt.Errorf("%s: data: %w", path, err)
	}
	// Reading to the end also checks the gzip checksum.
	switch _, err := io.ReadFull(z, make([]byte, 1)); {
	case err == nil:
		return nil, nil, fmt.Errorf("%s: more data than the %d bytes the header announces", path, size)
	case !errors.Is(err, io.EOF):
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return dims, data, nil
}

// fromGray builds a set from len(labels) grey w×h images stored back to back in pix.
func fromGray(name, split string, pix []byte, w, h int, labels []int, classes []string, res, channels int) (*Set, error) {
	s := &Set{
		Name: name, Split: split,
		N: len(labels), C: channels, H: res, W: res,
		Labels: labels, Classes: classes,
	}
	s.Images = make([]float32, s.N*s.ImageSize())
	err := parallel(s.N, func(i int) error {
		img := &image.Gray{Pix: pix[i*w*h : (i+1)*w*h], Stride: w, Rect: image.Rect(0, 0, w, h)}
		if err := pixels.FromImage(img, res, channels, s.Image(i)); err != nil {
			return fmt.Errorf("%s %s image %d: %w", name, split, i, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}
