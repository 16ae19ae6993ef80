package serve

import (
	"fmt"

	"github.com/latentzoo/latentzoo/models/modeltest"

	"github.com/latentzoo/latentzoo/export"
	"github.com/latentzoo/latentzoo/models"
	"github.com/latentzoo/latentzoo/zoo"
)

// The test models. gaussian is the built-in architecture (32×32 grey, a Gaussian posterior,
// one decoder); sphere is a small colour model with spherical latents, two decoders
// ("decoder" reconstructs, "generator" samples) and a graph that is no decoder.
const (
	gaussianName = "vae/test-gaussian:v1"
	sphereName   = "sphere/test-colour:v1"
)

// testModel describes a test entry to build.
type testModel struct {
	name     string
	backbone models.Backbone
	kind     models.LatentKind
	nets     []models.Net
	recon    string
	sample   string
	// sheet, when set, is the entry's picture zoo.PictureSheet.
	sheet []byte
}

func testModels() []testModel {
	g := models.DefaultBackbone()
	s := models.Backbone{Resolution: 16, Channels: 3, Widths: []int{8, 16}, Latent: 8}
	critic := s.Encoder(models.Deterministic)
	critic.Name = "critic"
	return []testModel{
		{
			name: gaussianName, backbone: g, kind: models.Gaussian,
			nets:  []models.Net{g.Encoder(models.Posterior), g.Decoder("decoder")},
			recon: "decoder", sample: "decoder", sheet: mustPNG(checker(12, 8, false)),
		},
		{
			name: sphereName, backbone: s, kind: models.Sphere,
			nets:  []models.Net{s.Encoder(models.Spherical), s.Decoder("decoder"), s.Decoder("generator"), critic},
			recon: "decoder", sample: "generator",
		},
	}
}

// files exports the nets of tm with seeded random parameters and describes them in a
// manifest, which zoo.WriteEntry completes with the files' digests.
func (tm testModel) files() (*zoo.Manifest, map[string][]byte, error) {
	m := &zoo.Manifest{
		Name:        tm.name,
		Family:      "test",
		Dataset:     "random",
		Resolution:  tm.backbone.Resolution,
		Channels:    tm.backbone.Channels,
		LatentSize:  tm.backbone.Latent,
		LatentKind:  string(tm.kind),
		Graphs:      map[string]string{},
		Reconstruct: tm.recon,
		Sample:      tm.sample,
		IRVersion:   export.IRVersion,
		Opset:       export.Opset,
		License:     "CC0-1.0",
	}
	files := map[string][]byte{}
	if tm.sheet != nil {
		files["pictures/sheet.png"] = tm.sheet
		m.Pictures = map[string]string{zoo.PictureSheet: "pictures/sheet.png"}
	}
	for i, net := range tm.nets {
		data, err := export.Marshal(net, modeltest.RandomParams(net, uint64(i+1)))
		if err != nil {
			return nil, nil, fmt.Errorf("export %s: %w", net.Name, err)
		}
		files[net.Name+".onnx"] = data
		m.Graphs[net.Name] = net.Name + ".onnx"
	}
	return m, files, nil
}

// entry writes tm as an entry in folder dir with zoo.WriteEntry and opens it.
func (tm testModel) entry(dir string) (zoo.Entry, error) {
	m, files, err := tm.files()
	if err != nil {
		return nil, err
	}
	if err := zoo.WriteEntry(dir, m, files); err != nil {
		return nil, err
	}
	return zoo.OpenDir(dir)
}
