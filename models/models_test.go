package models

import (
	"slices"
	"strings"
	"testing"
)

// backbones are the backbones the tests describe nets on: the built-in one, and one of
// each variation a config can ask for.
func backbones() map[string]Backbone {
	def := DefaultBackbone()
	bn := def
	bn.BatchNorm = true
	sn := def
	sn.SpectralNorm = true
	rgb := Backbone{Resolution: 64, Channels: 3, Widths: []int{16, 32, 64, 128}, Latent: 64, BatchNorm: true, SpectralNorm: true}
	one := Backbone{Resolution: 8, Channels: 1, Widths: []int{8}, Latent: 4}
	return map[string]Backbone{"default": def, "batchnorm": bn, "spectralnorm": sn, "rgb64": rgb, "one-stage": one}
}

// nets are every net a backbone describes, by name.
func nets(b Backbone) map[string]Net {
	ns := map[string]Net{
		"decoder":       b.Decoder("decoder"),
		"noisy-decoder": b.NoisyDecoder("generator", 3),
		"critic":        b.Critic(),
		"discriminator": b.Discriminator(),
	}
	for _, k := range []EncoderKind{Posterior, SharedVariance, Deterministic, Spherical} {
		ns["encoder/"+string(k)] = b.Encoder(k)
	}
	return ns
}

// TestNetsValidate requires every net of every backbone to validate (unique layer names,
// heads on known layers, shapes that chain), to have unique parameter names of positive
// size, and to give the outputs of the contract at the backbone's sizes.
func TestNetsValidate(t *testing.T) {
	for bname, b := range backbones() {
		if err := b.Validate(); err != nil {
			t.Fatalf("backbone %s: %v", bname, err)
		}
		img := []int{b.Channels, b.Resolution, b.Resolution}
		for nname, n := range nets(b) {
			t.Run(bname+"/"+nname, func(t *testing.T) {
				if err := n.Validate(); err != nil {
					t.Fatal(err)
				}
				seen := map[string]bool{}
				for _, p := range n.Params() {
					if seen[p.Name] {
						t.Errorf("parameter %s named twice", p.Name)
					}
					seen[p.Name] = true
					if p.Size() <= 0 {
						t.Errorf("parameter %s has shape %v", p.Name, p.Shape)
					}
					if !strings.HasPrefix(p.Name, n.Name+"/") {
						t.Errorf("parameter %s outside net %s", p.Name, n.Name)
					}
					if p.Role == Weight && p.FanIn <= 0 {
						t.Errorf("weight %s has fan-in %d", p.Name, p.FanIn)
					}
				}
				shapes, err := n.OutShapes()
				if err != nil {
					t.Fatal(err)
				}
				var want map[string][]int
				switch {
				case n.Input == "z":
					want = map[string][]int{"image": img}
				case nname == "encoder/posterior" || nname == "encoder/shared-variance":
					want = map[string][]int{"mu": {b.Latent}, "logvar": {b.Latent}}
				case strings.HasPrefix(nname, "encoder/"):
					want = map[string][]int{"z": {b.Latent}}
				case nname == "critic":
					want = map[string][]int{"logit": {1}}
				case nname == "discriminator":
					mid := []int{b.Widths[b.MidStage()], b.MidSide(), b.MidSide()}
					bottom := b.Resolution >> len(b.Widths)
					want = map[string][]int{"logit": {1}, "features": {b.Widths[len(b.Widths)-1] * bottom * bottom},
						"embed": {EmbedSize}, "embed_mid": {EmbedSize}, "patch": mid}
				}
				if len(shapes) != len(want) {
					t.Errorf("outputs %v, want %v", shapes, want)
				}
				for name, s := range want {
					if !slices.Equal(shapes[name], s) {
						t.Errorf("output %s has shape %v, want %v", name, shapes[name], s)
					}
				}
			})
		}
	}
}

// TestValidateRefusesBrokenNets requires Validate to catch each kind of broken net.
func TestValidateRefusesBrokenNets(t *testing.T) {
	b := DefaultBackbone()
	for _, tc := range []struct {
		name   string
		mutate func(n *Net)
		want   string
	}{
		{"duplicate layer", func(n *Net) { n.Trunk[1].Name = n.Trunk[0].Name }, "duplicate"},
		{"no outputs", func(n *Net) { n.Outputs = nil }, "no outputs"},
		{"unknown head source", func(n *Net) { n.Outputs[0].From = "nosuch" }, "unknown trunk layer"},
		{"conv channels", func(n *Net) { n.Trunk[0].In = 3 }, "want [3, H, W]"},
		{"dense features", func(n *Net) { n.Outputs[0].Layers[0].In++ }, "dense"},
		{"input shape", func(n *Net) { n.InShape = []int{3, 32, 32} }, "want [1, H, W]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := b.Encoder(Posterior)
			n.Trunk = slices.Clone(n.Trunk)
			n.Outputs = slices.Clone(n.Outputs)
			for i := range n.Outputs {
				n.Outputs[i].Layers = slices.Clone(n.Outputs[i].Layers)
			}
			tc.mutate(&n)
			err := n.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one saying %q", err, tc.want)
			}
		})
	}
}

// TestBackboneValidate checks the backbone's own constraints.
func TestBackboneValidate(t *testing.T) {
	for _, tc := range []struct {
		b    Backbone
		want string // a part of the error; empty: valid
	}{
		{DefaultBackbone(), ""},
		{Backbone{Resolution: 32, Channels: 2, Widths: []int{8}, Latent: 4}, "channels"},
		{Backbone{Resolution: 32, Channels: 1, Latent: 4}, "width"},
		{Backbone{Resolution: 32, Channels: 1, Widths: []int{8}}, "latent"},
		{Backbone{Resolution: 32, Channels: 1, Widths: []int{8, 0}, Latent: 4}, "positive"},
		{Backbone{Resolution: 12, Channels: 1, Widths: []int{8, 8, 8}, Latent: 4}, "multiple of 8"},
	} {
		err := tc.b.Validate()
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: err = %v, want %q", tc.b, err, tc.want)
		}
	}
}

// TestFamiliesDescribeValidNets requires every family's description to name itself, to
// export an encoder and the graphs it reconstructs and samples with (a classifier: its one
// net, and no latent), to have a latent kind that fits its encoder, and to give valid nets
// named as it exports them.
func TestFamiliesDescribeValidNets(t *testing.T) {
	if len(Names()) == 0 {
		t.Fatal("no family is described")
	}
	latent := map[EncoderKind]LatentKind{Posterior: Gaussian, SharedVariance: Gaussian, Deterministic: Gaussian, Spherical: Sphere}
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			f, err := Lookup(name)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case f.Name != name:
				t.Errorf("family %s calls itself %s", name, f.Name)
			case f.Description == "":
				t.Error("no description")
			case f.Classifier:
				if !slices.Equal(f.Exported, []string{ClassifierNet}) || f.Latent != "" || f.Encoder != "" || f.Reconstruct != "" || f.Sample != "" {
					t.Errorf("classifier family %+v: want it to export %s alone, with no latent or decoders", f, ClassifierNet)
				}
			case !slices.Contains(f.Exported, "encoder"):
				t.Errorf("exports %v, no encoder", f.Exported)
			case !slices.Contains(f.Exported, f.Reconstruct) || !slices.Contains(f.Exported, f.Sample):
				t.Errorf("reconstructs with %q and samples with %q, exports %v", f.Reconstruct, f.Sample, f.Exported)
			case latent[f.Encoder] != f.Latent:
				t.Errorf("encoder %q with latent %q", f.Encoder, f.Latent)
			}
			for bname, b := range backbones() {
				b.Classes = 10
				ns := f.Nets(b)
				var names []string
				for _, n := range ns {
					names = append(names, n.Name)
					if err := n.Validate(); err != nil {
						t.Errorf("backbone %s: %v", bname, err)
					}
				}
				if !slices.Equal(names, f.Exported) {
					t.Errorf("backbone %s: nets %v, exports %v", bname, names, f.Exported)
				}
			}
		})
	}
	if _, err := Lookup("nosuch"); err == nil {
		t.Error("an unknown family was found")
	}
}

// TestDropNoise checks that DropNoise leaves the decoder's parameters: its first layer's
// weight shrinks to the rows that read z, and a wrong size is refused.
func TestDropNoise(t *testing.T) {
	b := DefaultBackbone()
	const noise = 3
	fc := b.NoisyDecoder("generator", noise).Trunk[0]
	name := fc.Params("generator")[0].Name
	w := make([]float32, (b.Latent+noise)*fc.Out)
	for i := range w {
		w[i] = float32(i)
	}
	params := map[string][]float32{name: w}
	if err := b.DropNoise("generator", noise, params); err != nil {
		t.Fatal(err)
	}
	want := b.Decoder("generator").Trunk[0].Params("generator")[0]
	if got := params[name]; len(got) != want.Size() || got[len(got)-1] != float32(want.Size()-1) {
		t.Errorf("kept %d values ending in %v, want the first %d", len(got), got[len(got)-1], want.Size())
	}
	if err := b.DropNoise("generator", noise, map[string][]float32{name: w[:5]}); err == nil {
		t.Errorf("%s of 5 values accepted", name)
	}
}

// TestClassifier checks the classifier's signature: features of Latent values and logits
// of Classes, on every test backbone.
func TestClassifier(t *testing.T) {
	for bname, b := range backbones() {
		b.Classes = 7
		n := b.Classifier()
		shapes, err := n.OutShapes()
		if err != nil {
			t.Fatalf("backbone %s: %v", bname, err)
		}
		if got := shapes["features"]; !slices.Equal(got, []int{b.Latent}) {
			t.Errorf("backbone %s: features of shape %v, want [%d]", bname, got, b.Latent)
		}
		if got := shapes["logits"]; !slices.Equal(got, []int{7}) {
			t.Errorf("backbone %s: logits of shape %v, want [7]", bname, got)
		}
	}
}
