package zoo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// ModelCard renders an entry's model card (its README.md) from the manifest, in the style
// of the ONNX Model Zoo: input, preprocessing, output, data set, training, validation,
// metrics and licence.
func ModelCard(m *Manifest) []byte {
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# %s\n\n", m.Name)
	p("A model of the `%s` family trained on %s by latentzoo's own `train` and `export` commands; metrics by `latentzoo eval`.\n\n", m.Family, m.Dataset)

	if path, ok := m.Pictures[PictureSheet]; ok {
		p("![Test images, their reconstructions, prior samples and an interpolation](%s)\n\n", path)
		p("From the top: test images, their reconstructions, samples from the prior and an interpolation between the first two test images' latents.\n\n")
	}
	if m.IsClassifier() {
		classifierSections(m, p)
	} else {
		autoencoderSections(m, p)
	}
	p("## Dataset\n\n%s (training split for training, test split for the metrics below).\n\n", m.Dataset)

	p("## Training\n\n")
	if m.Run != nil {
		p("%d steps (%.1f epochs) on the `%s` backend, %.0f s at %.0f images/s.", m.Run.Steps, m.Run.Epochs, m.Run.Backend, m.Run.Seconds, m.Run.ImgPerSec)
		if m.Run.FinalStep > 0 && m.Run.FinalStep < m.Run.Steps {
			p(" Loss-log line of step %d, the last up to the exported checkpoint:", m.Run.FinalStep)
		} else {
			p(" Final loss-log line:")
		}
		for _, k := range sortedKeys(m.Run.Final) {
			p(" %s %.4g;", k, m.Run.Final[k])
		}
		p("\n\n")
		if m.Run.Checkpoint != "" {
			p("Exported from the %s checkpoint, step %d: the one whose prior samples scored the lowest FID on the yardstick during training (the `fid_samples` lines of the log).\n\n", m.Run.Checkpoint, m.Run.CheckpointStep)
		}
	}
	if path, ok := m.Pictures[PictureCurves]; ok {
		p("![The training loss, and the sample FID scored during training](%s)\n\n", path)
	}
	if len(m.Training) > 0 {
		var pretty bytes.Buffer
		if json.Indent(&pretty, m.Training, "", "  ") == nil {
			p("Configuration (`train-config.json`; the loss log is `train-log.jsonl`):\n\n```json\n%s\n```\n\n", pretty.String())
		}
	}
	if m.CodeVersion != "" {
		p("Exported by latentzoo `%s`", m.CodeVersion)
		var run struct {
			CodeVersion string `json:"code_version"`
		}
		if json.Unmarshal(m.Training, &run) == nil && run.CodeVersion != "" {
			p("; trained by latentzoo `%s`", run.CodeVersion)
		}
		p(".\n\n")
	}

	p("## Validation\n\n")
	if len(m.Parity) > 0 {
		p("Export parity (max |ONNX Runtime − training graph| on random inputs):")
		for _, k := range sortedKeys(m.Parity) {
			p(" %s %.2g;", k, m.Parity[k])
		}
		p("\n\n")
	}
	p("## Metrics\n\n")
	if len(m.Metrics) == 0 {
		p("Not measured yet: run `latentzoo eval %s`.\n\n", m.Name)
	} else {
		p("| metric | value |\n| --- | --- |\n")
		for _, k := range sortedKeys(m.Metrics) {
			p("| %s | %.6g |\n", k, m.Metrics[k])
		}
		p("\n")
		if y := m.Yardstick; y != nil {
			p("`fid_samples`, `fid_reconstructions`, `precision`, `recall` and the accuracies were measured on the features of the yardstick `%s` (manifest %s), latentzoo's own classifier, not Inception: they compare with other latentzoo entries measured on the same yardstick, not with papers. FID compares %g prior samples (or the test images' reconstructions) with the test images; precision and recall use k = 3 nearest neighbours (Kynkäänniemi et al. 2019).\n\n", y.Name, y.Digest, m.Metrics["quality_samples"])
		} else if _, ok := m.Metrics["fid_floor"]; ok {
			p("`fid_floor` is the FID between %g training images and the test split on this yardstick's features: what a model whose samples were as good as the data would score.\n\n", m.Metrics["floor_images"])
		}
		if _, ok := m.Metrics["test_latent_spread"]; ok {
			p("`test_latent_spread` is the largest singular value of the test set's latents over the smallest: 1 when they spread evenly over every direction (MoCA's isotropy check), large when they crowd into fewer.\n\n")
		}
	}
	if len(m.Attributes) > 0 {
		p("## Attribute directions\n\n")
		p("Made by `latentzoo attributes` as in the DC-VAE supplement (A.2): each is the mean latent of images with the attribute minus the mean latent of images without it, for a class its images against the other classes', for a pixel measure the top of the measure against its bottom, class by class. `POST /edit` adds them to a latent with the strengths asked. Each file records how it was made and how many images it averaged on each side.\n\n")
		p("| attribute | file |\n| --- | --- |\n")
		for _, k := range sortedKeys(m.Attributes) {
			p("| %s | `%s` |\n", k, m.Attributes[k])
		}
		p("\n")
	}
	license := m.License
	if license == "" {
		license = "not stated"
	}
	p("## License\n\n%s\n", license)
	return b.Bytes()
}

// autoencoderSections are the card's Model and Inference sections for an autoencoder.
func autoencoderSections(m *Manifest, p func(string, ...any)) {
	p("## Model\n\n| graph | file |\n| --- | --- |\n")
	for _, role := range sortedKeys(m.Graphs) {
		p("| %s | `%s` |\n", role, m.Graphs[role])
	}
	p("\nReconstruction decodes with `%s`, sampling with `%s`. ONNX IR %d, opset %d; the batch dimension `N` is dynamic.\n\n", m.Reconstruct, m.Sample, m.IRVersion, m.Opset)

	latent := fmt.Sprintf("`z` float32 [N, %d]", m.LatentSize)
	p("## Inference\n\n### Input\n\n")
	p("- encoder: `image` float32 [N, %d, %d, %d], NCHW.\n", m.Channels, m.Resolution, m.Resolution)
	p("- decoders: %s.\n\n", latent)
	p("### Preprocessing\n\n")
	p("Pixels scaled to [0, 1]; %s; resized and centre-cropped to %d×%d (28×28 images are zero-padded by 2 pixels on each side).\n\n",
		map[int]string{1: "converted to grey (ITU-R 601 luma)", 3: "RGB"}[m.Channels], m.Resolution, m.Resolution)
	p("### Output\n\n")
	if m.LatentKind == "sphere" {
		p("- encoder: `z`, a point on the unit sphere.\n")
	} else {
		p("- encoder: `mu` and `logvar` of a diagonal Gaussian posterior (or `z` for deterministic encoders); the latent is `mu`.\n")
	}
	p("- decoders: `image` float32 [N, %d, %d, %d] in [0, 1].\n\n", m.Channels, m.Resolution, m.Resolution)
	p("Prior for sampling: %s.\n\n", map[string]string{"gaussian": "N(0, I)", "sphere": "a normalised N(0, I) draw (uniform on the sphere)"}[m.LatentKind])

}

// classifierSections are the card's Model and Inference sections for a classifier.
func classifierSections(m *Manifest, p func(string, ...any)) {
	p("## Model\n\nA classifier of %d classes, kept as a yardstick: `latentzoo eval` measures FID, precision and recall on its `features`, and checks that reconstructions keep their class with its `logits`. The image endpoints of `latentzoo serve` do not serve it.\n\n", len(m.Classes))
	p("| graph | file |\n| --- | --- |\n")
	for _, role := range sortedKeys(m.Graphs) {
		p("| %s | `%s` |\n", role, m.Graphs[role])
	}
	p("\nONNX IR %d, opset %d; the batch dimension `N` is dynamic.\n\n", m.IRVersion, m.Opset)
	p("## Inference\n\n### Input\n\n- `image` float32 [N, %d, %d, %d], NCHW, pixels in [0, 1], converted as for the autoencoders (28×28 images are zero-padded by 2 pixels on each side).\n\n", m.Channels, m.Resolution, m.Resolution)
	p("### Output\n\n- `logits` float32 [N, %d], one per class: %s.\n- `features` float32 [N, F], the layer before the head.\n\n", len(m.Classes), "`"+strings.Join(m.Classes, "`, `")+"`")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
