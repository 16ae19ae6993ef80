// Package attributes computes named directions in a model's latent space and applies them
// to latents, the way the DC-VAE supplement (section A.2) edits images: the direction of an
// attribute is the mean latent of images that have it minus the mean latent of images that
// do not, and an edit adds a multiple of it to an image's latent.
//
// Which attributes a data set gets:
//
//   - A class attribute for every class of a labelled set (Fashion-MNIST's ten garments,
//     MNIST's digits as "digit-0" to "digit-9", a folder's class subfolders): the mean latent
//     of the images of the class minus the mean latent of all the other images.
//   - Measured attributes, computed from the pixels of each image as the model sees it (see
//     [Measures]). For MNIST: "thickness" and "slant" of the stroke, from image moments. For
//     every other set: "brightness", "area" and "edges". The images "with" the attribute are
//     the top Options.Fraction of the measure, those "without" the bottom Fraction. In a
//     labelled set both are taken class by class, the same number from each class, so that
//     the two groups hold the same mix of classes and the direction carries the measure
//     rather than the class.
//
// Each [Direction] records how many images it averaged on each side. The supplement used 20
// and 20; the data sets here allow thousands, and Options.MinImages refuses fewer than 20.
// Directions are stored in a zoo entry as one JSON file each, attributes/NAME.json, named in
// the manifest's Attributes (see [Attach]).
package attributes

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/latentzoo/latentzoo/dataset"
	"github.com/latentzoo/latentzoo/latent"
	"github.com/latentzoo/latentzoo/zoo"
)

// The kinds of attribute.
const (
	KindClass   = "class"   // a class of the data set against the other classes
	KindMeasure = "measure" // the top of a pixel measure against its bottom
)

// Direction is one attribute's direction in latent space, with how it was made.
type Direction struct {
	// Name is the attribute's name, as requests give it: lower case letters, digits and
	// dashes.
	Name string `json:"name"`
	// Kind is KindClass or KindMeasure.
	Kind string `json:"kind"`
	// Description says what the images with and without the attribute are.
	Description string `json:"description"`
	// Dataset and Split are where the images came from.
	Dataset string `json:"dataset"`
	Split   string `json:"split"`
	// With and Without are the numbers of images averaged on each side.
	With    int `json:"with"`
	Without int `json:"without"`
	// Vector is the mean latent with the attribute minus the mean latent without it.
	Vector []float32 `json:"direction"`
}

// Norm is the length of the direction.
func (d *Direction) Norm() float64 { return latent.Norm(d.Vector) }

// Encoder maps a batch of n CHW images, laid end to end, to their latents; serve.Model is
// one.
type Encoder interface {
	Encode(images []float32, n int) ([][]float32, error)
}

// Options tune [Compute]. Zero fields take the defaults documented on each.
type Options struct {
	// Fraction is the share of images (of each class, in a labelled set) taken from the top
	// and from the bottom of a measure; default 0.1.
	Fraction float64
	// MinImages is the fewest images accepted on either side of an attribute; default 20,
	// the supplement's count.
	MinImages int
	// Batch is the encoder's batch size; default 256.
	Batch int
}

func (o Options) withDefaults() Options {
	if o.Fraction <= 0 {
		o.Fraction = 0.1
	}
	if o.MinImages <= 0 {
		o.MinImages = 20
	}
	if o.Batch <= 0 {
		o.Batch = 256
	}
	return o
}

// Compute encodes every image of set with enc and returns the directions of the set's
// attributes (see the package documentation), classes first, in class order, then the
// measures.
func Compute(enc Encoder, set *dataset.Set, opts Options) ([]Direction, error) {
	opts = opts.withDefaults()
	if opts.Fraction >= 0.5 {
		return nil, fmt.Errorf("attributes: fraction %g: the top and bottom must not overlap (want less than 0.5)", opts.Fraction)
	}
	if set.N == 0 {
		return nil, fmt.Errorf("attributes: %s %s has no images", set.Name, set.Split)
	}
	zs, err := encodeAll(enc, set, opts.Batch)
	if err != nil {
		return nil, err
	}
	var dirs []Direction
	labelled := len(set.Classes) > 0 && !slices.Contains(set.Labels, -1)
	if labelled {
		for c, class := range set.Classes {
			d, err := classDirection(set, zs, c, class, opts)
			if err != nil {
				return nil, err
			}
			dirs = append(dirs, d)
		}
	}
	for _, ms := range Measures(set.Name) {
		values := make([]float64, set.N)
		for i := range set.N {
			values[i] = ms.Func(set.Image(i), set.C, set.H, set.W)
		}
		d, err := measureDirection(set, zs, values, labelled, ms, opts)
		if err != nil {
			return nil, err
		}
		dirs = append(dirs, d)
	}
	names := map[string]bool{}
	for _, d := range dirs {
		if names[d.Name] {
			return nil, fmt.Errorf("attributes: two attributes of %s are called %q (rename the class folder)", set.Name, d.Name)
		}
		names[d.Name] = true
	}
	return dirs, nil
}

// encodeAll encodes the images of set in batches and checks each latent's length against
// the first.
func encodeAll(enc Encoder, set *dataset.Set, batch int) ([][]float32, error) {
	size := set.ImageSize()
	zs := make([][]float32, 0, set.N)
	for start := 0; start < set.N; start += batch {
		n := min(batch, set.N-start)
		got, err := enc.Encode(set.Images[start*size:(start+n)*size], n)
		if err != nil {
			return nil, fmt.Errorf("attributes: encode images %d-%d: %w", start, start+n, err)
		}
		if len(got) != n {
			return nil, fmt.Errorf("attributes: encode images %d-%d: %d latents back, want %d", start, start+n, len(got), n)
		}
		zs = append(zs, got...)
	}
	for i, z := range zs {
		if len(z) != len(zs[0]) || len(z) == 0 {
			return nil, fmt.Errorf("attributes: latent %d has %d values, latent 0 has %d", i, len(z), len(zs[0]))
		}
	}
	return zs, nil
}

// difference is the mean of the latents in with minus the mean of those in without.
func difference(zs [][]float32, with, without []int) []float32 {
	size := len(zs[0])
	sum := func(idx []int) []float64 {
		s := make([]float64, size)
		for _, i := range idx {
			for j, v := range zs[i] {
				s[j] += float64(v)
			}
		}
		return s
	}
	a, b := sum(with), sum(without)
	d := make([]float32, size)
	for j := range d {
		d[j] = float32(a[j]/float64(len(with)) - b[j]/float64(len(without)))
	}
	return d
}

// classDirection is the direction of class c: its images against all the others.
func classDirection(set *dataset.Set, zs [][]float32, c int, class string, opts Options) (Direction, error) {
	var with, without []int
	for i, l := range set.Labels {
		if l == c {
			with = append(with, i)
		} else {
			without = append(without, i)
		}
	}
	name := ClassName(set.Name, class)
	if len(with) < opts.MinImages || len(without) < opts.MinImages {
		return Direction{}, fmt.Errorf("attributes: class %q of %s %s has %d images against %d; want at least %d on each side (use more images)", class, set.Name, set.Split, len(with), len(without), opts.MinImages)
	}
	return Direction{
		Name:        name,
		Kind:        KindClass,
		Description: fmt.Sprintf("class %q: the mean latent of its %d images minus that of the %d images of the other classes", class, len(with), len(without)),
		Dataset:     set.Name,
		Split:       set.Split,
		With:        len(with),
		Without:     len(without),
		Vector:      difference(zs, with, without),
	}, nil
}

// measureDirection is the direction of a measured attribute: the images at the top of the
// measure against those at the bottom, class by class when the set is labelled.
func measureDirection(set *dataset.Set, zs [][]float32, values []float64, labelled bool, ms Measure, opts Options) (Direction, error) {
	groups := [][]int{make([]int, set.N)}
	if labelled {
		groups = make([][]int, len(set.Classes))
		for i, l := range set.Labels {
			groups[l] = append(groups[l], i)
		}
	} else {
		for i := range groups[0] {
			groups[0][i] = i
		}
	}
	var with, without []int
	for _, g := range groups {
		k := int(opts.Fraction * float64(len(g)))
		if k == 0 {
			continue // a class too small to give one image each way
		}
		// Sort by the measure; ties keep the set's order, so the choice is reproducible.
		slices.SortStableFunc(g, func(a, b int) int { return cmpFloat(values[a], values[b]) })
		without = append(without, g[:k]...)
		with = append(with, g[len(g)-k:]...)
	}
	if len(with) < opts.MinImages {
		return Direction{}, fmt.Errorf("attributes: measure %s of %s %s: %d images on each side; want at least %d (use more images or a larger fraction)", ms.Name, set.Name, set.Split, len(with), opts.MinImages)
	}
	per := ""
	if labelled {
		per = ", taken class by class in equal shares"
	}
	return Direction{
		Name: ms.Name,
		Kind: KindMeasure,
		Description: fmt.Sprintf("%s: the mean latent of the %d images with the highest measure minus that of the %d with the lowest (top and bottom %g%%%s)",
			ms.Description, len(with), len(without), 100*opts.Fraction, per),
		Dataset: set.Name,
		Split:   set.Split,
		With:    len(with),
		Without: len(without),
		Vector:  difference(zs, with, without),
	}, nil
}

// cmpFloat orders floats, NaN first.
func cmpFloat(a, b float64) int {
	switch {
	case a < b || (math.IsNaN(a) && !math.IsNaN(b)):
		return -1
	case a > b || (math.IsNaN(b) && !math.IsNaN(a)):
		return 1
	}
	return 0
}

// ClassName is the attribute name of a class of data set set: its name in lower case with
// every run of other characters than letters and digits turned into one dash
// ("T-shirt/top" is "t-shirt-top", "Ankle boot" "ankle-boot"); MNIST's digits are
// "digit-0" to "digit-9".
func ClassName(set, class string) string {
	if set == dataset.MNIST {
		class = "digit-" + class
	}
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(class) {
		if ('a' <= r && r <= 'z') || ('0' <= r && r <= '9') {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
			continue
		}
		dash = true
	}
	if b.Len() == 0 {
		return "class"
	}
	return b.String()
}

// filePrefix is the folder of an entry that holds its attribute files.
const filePrefix = "attributes/"

// Attach stores dirs in an entry about to be written: it removes the files of the
// attributes m names now from files, adds one file attributes/NAME.json per direction, and
// points m.Attributes at them. zoo.WriteEntry then lists each file with its digest.
func Attach(m *zoo.Manifest, files map[string][]byte, dirs []Direction) error {
	for _, path := range m.Attributes {
		delete(files, path)
	}
	m.Attributes = make(map[string]string, len(dirs))
	for _, d := range dirs {
		if err := d.check(m.LatentSize); err != nil {
			return err
		}
		b, err := json.MarshalIndent(d, "", "  ")
		if err != nil {
			return fmt.Errorf("attribute %s: %w", d.Name, err)
		}
		path := filePrefix + d.Name + ".json"
		if _, taken := files[path]; taken {
			return fmt.Errorf("attribute %s: the entry already has a file %s", d.Name, path)
		}
		files[path] = append(b, '\n')
		m.Attributes[d.Name] = path
	}
	return nil
}

// Load reads the attribute directions of entry e, checking each against the manifest: the
// name it is filed under, and one finite value per latent dimension.
func Load(e zoo.Entry) (map[string]*Direction, error) {
	m := e.Manifest()
	dirs := make(map[string]*Direction, len(m.Attributes))
	for name, path := range m.Attributes {
		b, err := e.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", name, err)
		}
		d := new(Direction)
		if err := json.Unmarshal(b, d); err != nil {
			return nil, fmt.Errorf("attribute %s: %s: %w", name, path, err)
		}
		if d.Name != name {
			return nil, fmt.Errorf("attribute %s: %s holds attribute %q", name, path, d.Name)
		}
		if err := d.check(m.LatentSize); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		dirs[name] = d
	}
	return dirs, nil
}

// check checks that d has a valid name and size finite values.
func (d *Direction) check(size int) error {
	if d.Name == "" || ClassName("", d.Name) != d.Name {
		return fmt.Errorf("attribute %q: a name is lower case letters and digits joined by single dashes", d.Name)
	}
	if len(d.Vector) != size {
		return fmt.Errorf("attribute %s: direction has %d values, the latent %d", d.Name, len(d.Vector), size)
	}
	for i, v := range d.Vector {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("attribute %s: direction value %d is %v", d.Name, i, v)
		}
	}
	return nil
}

// Errors of [Apply] that the strengths asked for cause.
var (
	// ErrNoDirection: an edit of a sphere latent lands on the origin, which has no direction
	// to normalise.
	ErrNoDirection = errors.New("the edited latent is the zero vector, which has no direction on the sphere")
	// ErrOutOfRange: the edited latent has values beyond float32's range.
	ErrOutOfRange = errors.New("the edited latent has values beyond float32's range")
)

// Apply returns z plus strength times each direction, in the order given; with sphere set
// the result is scaled back to unit length. z is not modified. Strengths that bring a sphere
// latent to the origin give ErrNoDirection, and values beyond float32's range
// ErrOutOfRange.
func Apply(z []float32, edits []Edit, sphere bool) ([]float32, error) {
	out := make([]float64, len(z))
	for i, v := range z {
		out[i] = float64(v)
	}
	for _, e := range edits {
		if len(e.Direction.Vector) != len(z) {
			return nil, fmt.Errorf("attribute %s: direction has %d values, the latent %d", e.Direction.Name, len(e.Direction.Vector), len(z))
		}
		for i, v := range e.Direction.Vector {
			out[i] += e.Strength * float64(v)
		}
	}
	norm := 1.0
	if sphere {
		if norm = latent.Norm(out); norm < latent.MinNorm {
			return nil, ErrNoDirection
		}
	}
	res := make([]float32, len(z))
	for i, v := range out {
		res[i] = float32(v / norm)
		if math.IsInf(float64(res[i]), 0) || math.IsNaN(float64(res[i])) {
			return nil, ErrOutOfRange
		}
	}
	return res, nil
}

// Edit is one step of an edit: a direction and how far to go along it. Strength 1 adds the
// whole difference between the mean latents with and without the attribute; negative
// strengths take the attribute away.
type Edit struct {
	Direction *Direction
	Strength  float64
}
