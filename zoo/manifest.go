// Package zoo holds latentzoo's model entries: the manifest format, the local store, and the
// entries built into the binary.
package zoo

import (
	"encoding/json"
	"fmt"
)

// SchemaVersion is the manifest format version written by this code.
const SchemaVersion = 1

// File is one file of an entry, addressed by its digest.
type File struct {
	Path   string `json:"path"`   // relative to the entry's folder, e.g. "encoder.onnx"
	Digest string `json:"digest"` // "sha256:<64 hex>"
	Size   int64  `json:"size"`   // bytes
}

// The kinds of entry.
const (
	// KindAutoencoder entries encode images to latents and decode latents to images. An
	// empty kind is one, as every entry was before classifiers joined the zoo.
	KindAutoencoder = "autoencoder"
	// KindClassifier entries are yardsticks: one graph, ClassifierRole, that takes "image"
	// and gives "logits" and "features", on whose features eval measures FID, precision
	// and recall.
	KindClassifier = "classifier"
)

// The pictures an entry may carry, keys of Manifest.Pictures.
const (
	// PictureSheet is a sheet of test images, their reconstructions, prior samples and an
	// interpolation, drawn by eval.
	PictureSheet = "sheet"
	// PictureCurves is the training run's loss and sample-FID curves, drawn by eval
	// from the training log.
	PictureCurves = "curves"
)

// ClassifierRole is the key of a classifier entry's one graph.
const ClassifierRole = "classifier"

// Manifest describes a zoo entry: what the model is, how it was trained, how it scored, and
// the files that make it up.
type Manifest struct {
	SchemaVersion int    `json:"schema_version"`
	Name          string `json:"name"` // family/dataset:tag
	// Kind is KindAutoencoder (or empty) or KindClassifier.
	Kind       string `json:"kind,omitempty"`
	Family     string `json:"family"`
	Dataset    string `json:"dataset"`
	Resolution int    `json:"resolution"`
	Channels   int    `json:"channels"`
	LatentSize int    `json:"latent_size"`
	LatentKind string `json:"latent_kind"` // "gaussian" or "sphere"
	// Graphs maps a graph's role ("encoder", "decoder", "generator", ...) to its file.
	Graphs map[string]string `json:"graphs"`
	// Reconstruct and Sample name the graph (a key of Graphs) that decodes for each use.
	Reconstruct string `json:"reconstruct"`
	Sample      string `json:"sample"`
	IRVersion   int    `json:"ir_version"`
	Opset       int    `json:"opset"`
	// Training is the run's config as written by train, and the code version that ran it.
	Training    json.RawMessage `json:"training,omitempty"`
	CodeVersion string          `json:"code_version,omitempty"`
	// Run summarises the training run from its loss log.
	Run *RunSummary `json:"run,omitempty"`
	// Parity is the largest absolute difference, per graph, between ONNX Runtime and the
	// training graph on random inputs, measured by export.
	Parity map[string]float64 `json:"parity,omitempty"`
	// Metrics are measured by eval on the data set's test split.
	Metrics map[string]float64 `json:"metrics,omitempty"`
	// Yardstick names the classifier entry on whose features eval measured the metrics
	// that need one (FID, precision, recall, the accuracy of reconstructions), so that
	// numbers from different yardsticks are never compared by accident.
	Yardstick *YardstickRef `json:"yardstick,omitempty"`
	// Classes names a classifier's classes, in the order of its logits.
	Classes []string `json:"classes,omitempty"`
	// Attributes maps an attribute name to its latent direction (file listed in Files).
	Attributes map[string]string `json:"attributes,omitempty"`
	// Pictures maps a picture of the entry (PictureSheet, PictureCurves) to its PNG file
	// (listed in Files); the model card shows them.
	Pictures map[string]string `json:"pictures,omitempty"`
	License  string            `json:"license,omitempty"`
	Files    []File            `json:"files"`
}

// YardstickRef identifies a yardstick entry: its name and the digest of its manifest.
type YardstickRef struct {
	Name   string `json:"name"`
	Digest string `json:"digest"`
}

// IsClassifier reports whether the entry is a classifier (a yardstick).
func (m *Manifest) IsClassifier() bool { return m.Kind == KindClassifier }

// RunSummary describes how an entry's training run went.
type RunSummary struct {
	Steps  int64   `json:"steps"`
	Epochs float64 `json:"epochs"`
	// Final is the metrics of the loss log's last line at or before the exported
	// checkpoint's step, FinalStep that line's step.
	Final     map[string]float64 `json:"final"`
	FinalStep int64              `json:"final_step,omitempty"`
	ImgPerSec float64            `json:"img_per_s"`
	Seconds   float64            `json:"seconds"`
	Backend   string             `json:"backend"`
	// Checkpoint is the checkpoint exported ("best" when chosen by its samples' score;
	// empty for the last) and CheckpointStep the step it was saved at.
	Checkpoint     string `json:"checkpoint,omitempty"`
	CheckpointStep int64  `json:"checkpoint_step,omitempty"`
}

// Validate checks the manifest's internal consistency: a valid name (see [ParseName]), files
// with safe relative paths, well-formed digests and sizes, each listed once, and graphs and
// attributes that refer to listed files.
func (m *Manifest) Validate() error {
	if m.SchemaVersion != SchemaVersion {
		return fmt.Errorf("manifest %s: schema version %d, want %d", m.Name, m.SchemaVersion, SchemaVersion)
	}
	switch m.Kind {
	case "", KindAutoencoder, KindClassifier:
	default:
		return fmt.Errorf("manifest %s: unknown kind %q (want %s or %s)", m.Name, m.Kind, KindAutoencoder, KindClassifier)
	}
	if m.Resolution <= 0 || m.Channels <= 0 {
		return fmt.Errorf("manifest %s: resolution and channels must be positive", m.Name)
	}
	if !m.IsClassifier() && m.LatentSize <= 0 {
		return fmt.Errorf("manifest %s: latent size must be positive", m.Name)
	}
	if !m.IsClassifier() && m.LatentKind != "gaussian" && m.LatentKind != "sphere" {
		return fmt.Errorf("manifest %s: unknown latent kind %q", m.Name, m.LatentKind)
	}
	if _, err := ParseName(m.Name); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	files := map[string]bool{}
	for _, f := range m.Files {
		if err := validateFilePath(f.Path); err != nil {
			return fmt.Errorf("manifest %s: %w", m.Name, err)
		}
		if err := ValidateDigest(f.Digest); err != nil {
			return fmt.Errorf("manifest %s: file %s: %w", m.Name, f.Path, err)
		}
		if f.Size < 0 {
			return fmt.Errorf("manifest %s: file %s: negative size %d", m.Name, f.Path, f.Size)
		}
		if files[f.Path] {
			return fmt.Errorf("manifest %s: file %s listed twice", m.Name, f.Path)
		}
		files[f.Path] = true
	}
	if m.IsClassifier() {
		if _, ok := m.Graphs[ClassifierRole]; !ok || len(m.Graphs) != 1 {
			return fmt.Errorf("manifest %s: a classifier has one graph, %q; it has %v", m.Name, ClassifierRole, m.Graphs)
		}
	} else if _, ok := m.Graphs["encoder"]; !ok {
		return fmt.Errorf("manifest %s: no encoder graph", m.Name)
	}
	for role, path := range m.Graphs {
		if !files[path] {
			return fmt.Errorf("manifest %s: graph %s file %q is not listed in files", m.Name, role, path)
		}
	}
	for attr, path := range m.Attributes {
		if !files[path] {
			return fmt.Errorf("manifest %s: attribute %s file %q is not listed in files", m.Name, attr, path)
		}
	}
	for pic, path := range m.Pictures {
		if pic != PictureSheet && pic != PictureCurves {
			return fmt.Errorf("manifest %s: unknown picture %q (want %s or %s)", m.Name, pic, PictureSheet, PictureCurves)
		}
		if !files[path] {
			return fmt.Errorf("manifest %s: picture %s file %q is not listed in files", m.Name, pic, path)
		}
	}
	if m.IsClassifier() {
		return nil
	}
	for _, use := range []string{m.Reconstruct, m.Sample} {
		if _, ok := m.Graphs[use]; !ok {
			return fmt.Errorf("manifest %s: graph %q named for reconstruct/sample is not in graphs", m.Name, use)
		}
	}
	return nil
}

// JSON is the manifest as an entry's manifest.json holds it: indented JSON, the form every
// writer of entries (folder, store, pull, push, the HTTP source) uses, so that its digest
// is the same wherever the entry lies.
func (m *Manifest) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", m.Name, err)
	}
	return b, nil
}

// Digest is the digest of the manifest's JSON: it names one version of the entry, files
// and metadata together. It is "" for a manifest that cannot be encoded.
func (m *Manifest) Digest() string {
	b, err := m.JSON()
	if err != nil {
		return ""
	}
	return DigestOf(b)
}
