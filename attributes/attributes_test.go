package attributes_test

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/latentzoo/latentzoo/autoencoder"
	"github.com/latentzoo/latentzoo/models/modeltest"

	"github.com/latentzoo/latentzoo/attributes"
	"github.com/latentzoo/latentzoo/dataset"
	"github.com/latentzoo/latentzoo/export"
	"github.com/latentzoo/latentzoo/infer"
	"github.com/latentzoo/latentzoo/models"
	"github.com/latentzoo/latentzoo/zoo"
)

// testEntry exports an encoder and a decoder of backbone b with seeded random weights
// (weights scaled by their fan-in) as a zoo entry in dir, and opens it as the server does.
// Random convolutional features keep images apart, so the classes of a data set have
// distinct mean latents.
func testEntry(t *testing.T, dir string, b models.Backbone, kind models.EncoderKind, latent models.LatentKind) (zoo.Entry, *autoencoder.Model) {
	t.Helper()
	m := &zoo.Manifest{
		Name: "test/attributes:v1", Family: "test", Dataset: dataset.FashionMNIST,
		Resolution: b.Resolution, Channels: b.Channels, LatentSize: b.Latent, LatentKind: string(latent),
		Graphs: map[string]string{}, Reconstruct: "decoder", Sample: "decoder",
		IRVersion: export.IRVersion, Opset: export.Opset,
	}
	files := map[string][]byte{}
	for i, net := range []models.Net{b.Encoder(kind), b.Decoder("decoder")} {
		data, err := export.Marshal(net, modeltest.RandomParams(net, uint64(i+1)))
		if err != nil {
			t.Fatal(err)
		}
		files[net.Name+".onnx"] = data
		m.Graphs[net.Name] = net.Name + ".onnx"
	}
	if err := zoo.WriteEntry(dir, m, files); err != nil {
		t.Fatal(err)
	}
	e, err := zoo.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	model, err := autoencoder.Open(e, autoencoder.Options{Runtime: infer.Options{IntraOpThreads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { model.Close() })
	return e, model
}

// classMeans are the mean latents of each class of set.
func classMeans(zs [][]float32, labels []int, classes int) [][]float64 {
	means := make([][]float64, classes)
	counts := make([]int, classes)
	for i, z := range zs {
		c := labels[i]
		if means[c] == nil {
			means[c] = make([]float64, len(z))
		}
		for j, v := range z {
			means[c][j] += float64(v)
		}
		counts[c]++
	}
	for c := range means {
		for j := range means[c] {
			means[c][j] /= float64(counts[c])
		}
	}
	return means
}

func dist(z []float32, mean []float64) float64 {
	var s float64
	for j, v := range z {
		d := float64(v) - mean[j]
		s += d * d
	}
	return math.Sqrt(s)
}

// cosine is the cosine of the angle between z and mean.
func cosine(z []float32, mean []float64) float64 {
	var zz, mm, zm float64
	for j, v := range z {
		zz += float64(v) * float64(v)
		mm += mean[j] * mean[j]
		zm += float64(v) * mean[j]
	}
	return zm / math.Sqrt(zz*mm)
}

// TestClassDirectionsMoveTowardTheClass computes the directions of a real encoder on
// Fashion-MNIST's training images and edits held-out test images of every other class
// along each class's direction: the edited latents must come nearer that class's mean
// latent (in distance for Gaussian latents, in angle on the sphere, after the edit's
// renormalisation), on average and most of them. The encoder's weights are random, so the
// classes overlap more than in a trained model: 60 to 90% of the images move nearer, and a
// direction of the wrong sign or class moves most away.
func TestClassDirectionsMoveTowardTheClass(t *testing.T) {
	tests := []struct {
		name   string
		b      models.Backbone
		kind   models.EncoderKind
		latent models.LatentKind
	}{
		{"gaussian", models.DefaultBackbone(), models.Posterior, models.Gaussian},
		{"sphere", models.Backbone{Resolution: 16, Channels: 3, Widths: []int{8, 16}, Latent: 8}, models.Spherical, models.Sphere},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, model := testEntry(t, filepath.Join(t.TempDir(), "entry"), tt.b, tt.kind, tt.latent)
			sphere := tt.latent == models.Sphere
			train, err := dataset.Load(dataset.FashionMNIST, dataset.Train, tt.b.Resolution, tt.b.Channels)
			if err != nil {
				t.Fatal(err)
			}
			train = train.Subset(3000)
			dirs, err := attributes.Compute(model, train, attributes.Options{})
			if err != nil {
				t.Fatal(err)
			}
			test, err := dataset.Load(dataset.FashionMNIST, dataset.Test, tt.b.Resolution, tt.b.Channels)
			if err != nil {
				t.Fatal(err)
			}
			test = test.Subset(1000)
			zs, err := model.Encode(test.Images, test.N)
			if err != nil {
				t.Fatal(err)
			}
			means := classMeans(zs, test.Labels, len(test.Classes))
			for c, class := range test.Classes {
				d := dirs[c]
				if d.Name != attributes.ClassName(dataset.FashionMNIST, class) || d.Kind != attributes.KindClass {
					t.Fatalf("direction %d is %s %s, want class %s", c, d.Kind, d.Name, class)
				}
				closer, others := 0, 0
				var before, after float64 // mean squared distance, or mean cosine on the sphere
				for i, z := range zs {
					if test.Labels[i] == c {
						continue
					}
					others++
					edited, err := attributes.Apply(z, []attributes.Edit{{Direction: &d, Strength: 1}}, sphere)
					if err != nil {
						t.Fatal(err)
					}
					b, a := math.Pow(dist(z, means[c]), 2), math.Pow(dist(edited, means[c]), 2)
					if sphere {
						b, a = -cosine(z, means[c]), -cosine(edited, means[c])
					}
					before += b
					after += a
					if a < b {
						closer++
					}
				}
				share := float64(closer) / float64(others)
				t.Logf("%s: %.1f%% of %d test images of other classes move nearer its mean latent", d.Name, 100*share, others)
				if after >= before || share <= 0.5 {
					t.Errorf("%s: the other classes' images move nearer its mean latent on average %v, %.1f%% of them; want on average and most", d.Name, after < before, 100*share)
				}
			}
		})
	}
}

// TestComputeCounts checks what the directions record and that the measured attributes
// take the same share of each class on both sides.
func TestComputeCounts(t *testing.T) {
	_, model := testEntry(t, filepath.Join(t.TempDir(), "entry"), models.DefaultBackbone(), models.Posterior, models.Gaussian)
	set, err := dataset.Load(dataset.FashionMNIST, dataset.Test, 32, 1)
	if err != nil {
		t.Fatal(err)
	}
	set = set.Subset(1000) // 100 of each class, or nearly
	perClass := make([]int, len(set.Classes))
	for _, l := range set.Labels {
		perClass[l]++
	}
	side := 0
	for _, n := range perClass {
		side += n / 10
	}
	dirs, err := attributes.Compute(model, set, attributes.Options{Fraction: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range dirs {
		names = append(names, d.Name)
	}
	want := []string{"t-shirt-top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle-boot", "brightness", "area", "edges"}
	if !slices.Equal(names, want) {
		t.Fatalf("attributes %v, want %v", names, want)
	}
	for i, d := range dirs {
		wantWith, wantWithout := side, side
		if i < len(set.Classes) {
			wantWith, wantWithout = perClass[i], set.N-perClass[i]
		}
		if d.With != wantWith || d.Without != wantWithout || d.Dataset != dataset.FashionMNIST || d.Split != dataset.Test || len(d.Vector) != 32 || d.Norm() == 0 {
			t.Errorf("%s: with %d, without %d, %s %s, %d values of norm %g; want with %d, without %d, fashion-mnist test, 32 values", d.Name, d.With, d.Without, d.Dataset, d.Split, len(d.Vector), d.Norm(), wantWith, wantWithout)
		}
	}
	t.Run("too few images", func(t *testing.T) {
		_, err := attributes.Compute(model, set.Subset(100), attributes.Options{})
		if err == nil {
			t.Fatal("100 images gave directions from 10 a class; want an error asking for 20")
		}
	})
	t.Run("overlapping top and bottom", func(t *testing.T) {
		if _, err := attributes.Compute(model, set, attributes.Options{Fraction: 0.5}); err == nil {
			t.Fatal("fraction 0.5 accepted")
		}
	})
}

// TestAttachLoad stores directions in an entry and reads them back through the manifest,
// digests checked, replacing the directions stored before.
func TestAttachLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "entry")
	e, _ := testEntry(t, dir, models.DefaultBackbone(), models.Posterior, models.Gaussian)
	vec := func(v float32) []float32 {
		z := make([]float32, 32)
		for i := range z {
			z[i] = v
		}
		return z
	}
	write := func(dirs ...attributes.Direction) (zoo.Entry, error) {
		m := *e.Manifest()
		files := map[string][]byte{}
		for _, f := range m.Files {
			b, err := e.ReadFile(f.Path)
			if err != nil {
				t.Fatal(err)
			}
			files[f.Path] = b
		}
		if err := attributes.Attach(&m, files, dirs); err != nil {
			return nil, err
		}
		if err := zoo.WriteEntry(dir, &m, files); err != nil {
			t.Fatal(err)
		}
		return zoo.OpenDir(dir)
	}
	var err error
	if e, err = write(attributes.Direction{Name: "old", Kind: attributes.KindClass, Vector: vec(1)}); err != nil {
		t.Fatal(err)
	}
	e, err = write(attributes.Direction{Name: "sneaker", Kind: attributes.KindClass, With: 5, Without: 45, Vector: vec(0.5)},
		attributes.Direction{Name: "slant", Kind: attributes.KindMeasure, With: 3, Without: 3, Vector: vec(-2)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := attributes.Load(e)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["sneaker"].With != 5 || got["sneaker"].Vector[3] != 0.5 || got["slant"].Vector[0] != -2 {
		t.Fatalf("loaded %v", got)
	}
	if p := e.Manifest().Attributes["sneaker"]; p != "attributes/sneaker.json" {
		t.Errorf("sneaker is stored in %q", p)
	}
	for _, f := range e.Manifest().Files {
		if f.Path == "attributes/old.json" {
			t.Error("the replaced attribute's file is still listed")
		}
	}
	bad := []struct {
		name string
		d    attributes.Direction
	}{
		{"wrong size", attributes.Direction{Name: "short", Vector: []float32{1}}},
		{"NaN", attributes.Direction{Name: "nan", Vector: append(vec(0)[:31], float32(math.NaN()))}},
		{"bad name", attributes.Direction{Name: "Big Smile", Vector: vec(1)}},
		{"empty name", attributes.Direction{Vector: vec(1)}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := write(tt.d); err == nil {
				t.Errorf("attached %+v", tt.d)
			}
		})
	}
}

// errSize stands for the error of a direction whose size is not the latent's.
var errSize = errors.New("size")

func TestApply(t *testing.T) {
	up := &attributes.Direction{Name: "up", Vector: []float32{1, 1}}
	right := &attributes.Direction{Name: "right", Vector: []float32{1, 0}}
	tests := []struct {
		name   string
		z      []float32
		edits  []attributes.Edit
		sphere bool
		want   []float32
		err    error
	}{
		{"none", []float32{0.5, -1}, nil, false, []float32{0.5, -1}, nil},
		{"one", []float32{0.5, -1}, []attributes.Edit{{up, 2}}, false, []float32{2.5, 1}, nil},
		{"two", []float32{0.5, -1}, []attributes.Edit{{up, 1}, {right, -0.5}}, false, []float32{1, 0}, nil},
		{"sphere renormalised", []float32{0, 1}, []attributes.Edit{{right, 1}}, true, []float32{float32(1 / math.Sqrt2), float32(1 / math.Sqrt2)}, nil},
		{"sphere, no edit", []float32{0.6, 0.8}, nil, true, []float32{0.6, 0.8}, nil},
		{"sphere to the origin", []float32{1, 0}, []attributes.Edit{{right, -1}}, true, nil, attributes.ErrNoDirection},
		{"beyond float32", []float32{1, 0}, []attributes.Edit{{right, 1e300}}, false, nil, attributes.ErrOutOfRange},
		{"infinite on the sphere", []float32{1, 0}, []attributes.Edit{{right, 1e308}, {up, 1e308}}, true, nil, attributes.ErrOutOfRange},
		{"wrong size", []float32{1, 0, 0}, []attributes.Edit{{right, 1}}, false, nil, errSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			z := slices.Clone(tt.z)
			got, err := attributes.Apply(z, tt.edits, tt.sphere)
			if !slices.Equal(z, tt.z) {
				t.Errorf("Apply modified its input: %v", z)
			}
			if tt.err != nil {
				if err == nil || (tt.err != errSize && !errors.Is(err, tt.err)) {
					t.Fatalf("got %v, %v; want error %v", got, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if math.Abs(float64(got[i]-tt.want[i])) > 1e-6 {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestClassName(t *testing.T) {
	tests := []struct{ set, class, want string }{
		{dataset.FashionMNIST, "T-shirt/top", "t-shirt-top"},
		{dataset.FashionMNIST, "Ankle boot", "ankle-boot"},
		{dataset.FashionMNIST, "Bag", "bag"},
		{dataset.MNIST, "7", "digit-7"},
		{"folder:/photos", "  Red  Cars!! ", "red-cars"},
		{"folder:/photos", "___", "class"},
	}
	for _, tt := range tests {
		if got := attributes.ClassName(tt.set, tt.class); got != tt.want {
			t.Errorf("ClassName(%q, %q) = %q, want %q", tt.set, tt.class, got, tt.want)
		}
	}
}

// Example of the numbers a direction file records.
func ExampleDirection_Norm() {
	d := attributes.Direction{Name: "up", Vector: []float32{3, 4}}
	fmt.Println(d.Norm())
	// Output: 5
}
