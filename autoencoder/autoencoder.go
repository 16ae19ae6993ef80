// Package autoencoder runs a zoo entry as an autoencoder: it opens the entry's graphs in
// ONNX Runtime (through infer) and encodes, decodes, reconstructs, samples, interpolates and
// edits latents with them, following the entry's manifest alone, so that every family runs
// through the same code. The server, eval, figure and attributes all use it, so what is
// measured is what is served.
//
// Errors that the caller's input causes (a latent of the wrong size, an unknown decoder or
// attribute) are errkind.Invalid; an entry whose graphs do not fit its manifest is
// errkind.Unprocessable.
package autoencoder

import (
	"errors"
	"fmt"
	"image"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/latentzoo/latentzoo/attributes"
	"github.com/latentzoo/latentzoo/errkind"
	"github.com/latentzoo/latentzoo/infer"
	"github.com/latentzoo/latentzoo/latent"
	"github.com/latentzoo/latentzoo/models"
	"github.com/latentzoo/latentzoo/pixels"
	"github.com/latentzoo/latentzoo/zoo"
)

// Tensor names of the contract between exported graphs and their users: encoders take
// "image" and give "mu" and "logvar" or "z"; decoders take "z" and give "image".
const (
	TensorImage  = "image"
	TensorZ      = "z"
	TensorMu     = "mu"
	TensorLogVar = "logvar"
)

// EncoderRole is the key of the encoder among a manifest's graphs.
const EncoderRole = "encoder"

// Options configures Open.
type Options struct {
	// Runtime is how ONNX Runtime runs the graphs (device, threads).
	Runtime infer.Options
	// Logger receives a line for each graph opened or passed over; default none.
	Logger *slog.Logger
	// Observe, when set, is called after each run of a graph with the graph's role, the
	// batch size and the run's duration (for metrics).
	Observe func(role string, batch int, d time.Duration)
	// Batching gathers concurrent calls of a graph into one run; off when zero.
	Batching Batching
}

// graph is one ONNX graph of a model, open in ONNX Runtime.
type graph struct {
	role string
	sess *infer.Session
	// batcher, when batching is on, gathers the graph's concurrent runs.
	batcher *batcher
}

// Model is a zoo entry with its graphs open. It is safe for concurrent use. It follows the
// manifest alone: the encoder's outputs say whether latents are a Gaussian posterior's mean
// ("mu", "logvar") or given directly ("z"), and every other graph that maps "z" to "image"
// can decode.
type Model struct {
	manifest   *zoo.Manifest
	encoder    *graph
	decoders   map[string]*graph // by role
	posterior  bool              // the encoder gives mu and logvar
	sphere     bool              // latents live on the unit sphere
	observe    func(role string, batch int, d time.Duration)
	attributes map[string]*attributes.Direction
	examples   examplePool
}

// Encoding is the encoder's answer for a batch: latents, and for Gaussian posteriors the
// mean (equal to Z) and log-variance.
type Encoding struct {
	Z, Mu, LogVar [][]float32
}

// Open opens the graphs of entry e. Graphs that neither encode nor map "z" to "image" (a
// critic, say) are passed over; the encoder and the graphs the manifest names to
// reconstruct and sample must be there. Close releases the graphs.
func Open(e zoo.Entry, opts Options) (_ *Model, err error) {
	man := e.Manifest()
	if err := man.Validate(); err != nil {
		return nil, err
	}
	if man.IsClassifier() {
		return nil, errkind.New(errkind.Unprocessable, "%s is a classifier (a yardstick), not an autoencoder: it has no latent to encode to or decode from", man.Name)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Model{
		manifest: man,
		decoders: map[string]*graph{},
		sphere:   man.LatentKind == string(models.Sphere),
		observe:  opts.Observe,
	}
	if m.observe == nil {
		m.observe = func(string, int, time.Duration) {}
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, m.Close())
		}
	}()
	for _, role := range slices.Sorted(maps.Keys(man.Graphs)) {
		g, err := openGraph(e, role, man.Graphs[role], opts.Runtime)
		if err != nil {
			return nil, fmt.Errorf("model %s: %w", man.Name, err)
		}
		log.Info("graph loaded", "model", man.Name, "graph", role, "provider", g.sess.Provider())
		if role == EncoderRole {
			m.encoder = g
			if m.posterior, err = m.checkEncoder(); err != nil {
				return nil, err
			}
			continue
		}
		if why := m.checkDecoder(g); why != nil {
			log.Info("graph is not a decoder, not served", "model", man.Name, "graph", role, "why", why)
			if err := g.sess.Close(); err != nil {
				return nil, fmt.Errorf("model %s: %w", man.Name, err)
			}
			continue
		}
		m.decoders[role] = g
	}
	for _, role := range []string{man.Reconstruct, man.Sample} {
		if m.decoders[role] == nil {
			return nil, errkind.New(errkind.Unprocessable, "model %s: graph %q, named to reconstruct or sample, does not map z to image", man.Name, role)
		}
	}
	if opts.Batching.MaxBatch > 1 {
		image := []int64{int64(man.Channels), int64(man.Resolution), int64(man.Resolution)}
		m.encoder.batcher = newBatcher(m.encoder, TensorImage, image, opts.Batching, m.observe)
		for _, g := range m.decoders {
			g.batcher = newBatcher(g, TensorZ, []int64{int64(man.LatentSize)}, opts.Batching, m.observe)
		}
	}
	if m.attributes, err = attributes.Load(e); err != nil {
		return nil, fmt.Errorf("model %s: %w", man.Name, err)
	}
	return m, nil
}

// openGraph reads one graph's file from the entry and opens it.
func openGraph(e zoo.Entry, role, path string, opts infer.Options) (*graph, error) {
	data, err := e.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("graph %s: %w", role, err)
	}
	sess, err := infer.Open(data, opts)
	if err != nil {
		return nil, fmt.Errorf("graph %s (%s): %w", role, path, err)
	}
	return &graph{role: role, sess: sess}, nil
}

// fits reports whether a tensor's shape, batch first, matches want in every fixed
// dimension after the batch.
func fits(info infer.TensorInfo, want ...int) bool {
	if len(info.Shape) != len(want)+1 {
		return false
	}
	for i, w := range want {
		if d := info.Shape[i+1]; d >= 0 && d != int64(w) {
			return false
		}
	}
	return true
}

func findTensor(infos []infer.TensorInfo, name string) (infer.TensorInfo, bool) {
	i := slices.IndexFunc(infos, func(t infer.TensorInfo) bool { return t.Name == name })
	if i < 0 {
		return infer.TensorInfo{}, false
	}
	return infos[i], true
}

// checkEncoder checks the encoder's signature against the manifest and reports whether it
// gives a Gaussian posterior.
func (m *Model) checkEncoder() (posterior bool, err error) {
	man, s := m.manifest, m.encoder.sess
	in := s.Inputs()
	if len(in) != 1 || in[0].Name != TensorImage || !fits(in[0], man.Channels, man.Resolution, man.Resolution) {
		return false, errkind.New(errkind.Unprocessable, "model %s: encoder must take one input %q of shape [N, %d, %d, %d], has %v", man.Name, TensorImage, man.Channels, man.Resolution, man.Resolution, in)
	}
	out := s.Outputs()
	isLatent := func(name string) bool {
		t, ok := findTensor(out, name)
		return ok && fits(t, man.LatentSize)
	}
	switch {
	case isLatent(TensorMu) && isLatent(TensorLogVar):
		return true, nil
	case isLatent(TensorZ):
		return false, nil
	}
	return false, errkind.New(errkind.Unprocessable, "model %s: encoder must give %q and %q, or %q, of shape [N, %d]; it gives %v", man.Name, TensorMu, TensorLogVar, TensorZ, man.LatentSize, out)
}

// checkDecoder checks that g maps latents "z" to images "image" of the manifest's size.
func (m *Model) checkDecoder(g *graph) error {
	man := m.manifest
	in := g.sess.Inputs()
	if len(in) != 1 || in[0].Name != TensorZ || !fits(in[0], man.LatentSize) {
		return fmt.Errorf("it takes %v, not one input %q of shape [N, %d]", in, TensorZ, man.LatentSize)
	}
	if t, ok := findTensor(g.sess.Outputs(), TensorImage); !ok || !fits(t, man.Channels, man.Resolution, man.Resolution) {
		return fmt.Errorf("it gives %v, not %q of shape [N, %d, %d, %d]", g.sess.Outputs(), TensorImage, man.Channels, man.Resolution, man.Resolution)
	}
	return nil
}

// Close closes every open graph, once the calls queued for them are done.
func (m *Model) Close() error {
	var errs []error
	for _, g := range append(slices.Collect(maps.Values(m.decoders)), m.encoder) {
		if g == nil {
			continue
		}
		if g.batcher != nil {
			g.batcher.close()
		}
		errs = append(errs, g.sess.Close())
	}
	return errors.Join(errs...)
}

// Manifest is the entry's manifest. The caller must not change it.
func (m *Model) Manifest() *zoo.Manifest { return m.manifest }

// Name is the model's zoo name.
func (m *Model) Name() string { return m.manifest.Name }

// Sphere reports whether the model's latents live on the unit sphere.
func (m *Model) Sphere() bool { return m.sphere }

// HasPosterior reports whether the encoder gives a Gaussian posterior (mu and logvar)
// rather than the latent alone.
func (m *Model) HasPosterior() bool { return m.posterior }

// ImageSize is the number of values of one CHW image.
func (m *Model) ImageSize() int {
	return m.manifest.Channels * m.manifest.Resolution * m.manifest.Resolution
}

// Decoders lists the roles of the graphs that decode, sorted.
func (m *Model) Decoders() []string { return slices.Sorted(maps.Keys(m.decoders)) }

// Graph describes one open graph: where it runs and its tensors.
type Graph struct {
	Provider        string
	Inputs, Outputs []infer.TensorInfo
}

// Graphs describes every open graph, the encoder included, by role.
func (m *Model) Graphs() map[string]Graph {
	gs := map[string]Graph{}
	all := maps.Clone(m.decoders)
	all[EncoderRole] = m.encoder
	for role, g := range all {
		gs[role] = Graph{Provider: g.sess.Provider(), Inputs: g.sess.Inputs(), Outputs: g.sess.Outputs()}
	}
	return gs
}

// DecoderRole checks that the model has a decoding graph called role, "" naming def, and
// returns its role; an unknown one is an errkind.Invalid error that lists the decoders.
func (m *Model) DecoderRole(role, def string) (string, error) {
	g, err := m.decoder(role, def)
	if err != nil {
		return "", err
	}
	return g.role, nil
}

// decoder returns the decoding graph called role; "" is def.
func (m *Model) decoder(role, def string) (*graph, error) {
	if role == "" {
		role = def
	}
	if g := m.decoders[role]; g != nil {
		return g, nil
	}
	return nil, errkind.New(errkind.Invalid, "unknown decoder %q for model %s (decoders: %s)", role, m.Name(), strings.Join(m.Decoders(), ", "))
}

// run runs g on a batch given as its one input, alone or gathered with other calls, and
// returns g's outputs, each checked to hold the number of values sizes gives for its name.
func (m *Model) run(g *graph, input string, shape []int64, data []float32, sizes map[string]int) (map[string][]float32, error) {
	var outs map[string][]float32
	if g.batcher != nil {
		var err error
		if outs, err = g.batcher.run(int(shape[0]), data); err != nil {
			return nil, fmt.Errorf("model %s: %w", m.Name(), err)
		}
	} else {
		start := time.Now()
		res, err := g.sess.Run(map[string]infer.Tensor{input: {Shape: shape, Data: data}})
		if err != nil {
			return nil, fmt.Errorf("model %s graph %s: %w", m.Name(), g.role, err)
		}
		m.observe(g.role, int(shape[0]), time.Since(start))
		outs = make(map[string][]float32, len(res))
		for name, t := range res {
			outs[name] = t.Data
		}
	}
	for name, size := range sizes {
		if n := len(outs[name]); n != size {
			return nil, fmt.Errorf("model %s graph %s: output %q has %d values, want %d", m.Name(), g.role, name, n, size)
		}
	}
	return outs, nil
}

// FromImage converts img to one CHW example of the model in dst (ImageSize values), the
// same way training data was converted: a 28×28 image meets a 32×32 model padded.
func (m *Model) FromImage(img image.Image, dst []float32) error {
	if err := pixels.FromImage(img, m.manifest.Resolution, m.manifest.Channels, dst); err != nil {
		return errkind.Wrap(errkind.Invalid, err)
	}
	return nil
}

// Latent checks that v, named label in errors (a request field, say), is one latent of the
// model: of the right length and finite as float32. It returns it as float32, on the unit
// sphere for sphere latents.
func (m *Model) Latent(label string, v []float64) ([]float32, error) {
	if len(v) != m.manifest.LatentSize {
		return nil, errkind.New(errkind.Invalid, "%s: latent has %d values, model %s wants %d", label, len(v), m.Name(), m.manifest.LatentSize)
	}
	z := make([]float32, len(v))
	for i, x := range v {
		z[i] = float32(x)
		if math.IsNaN(float64(z[i])) || math.IsInf(float64(z[i]), 0) {
			return nil, errkind.New(errkind.Invalid, "%s: value %d is %v; latents must be finite float32 numbers", label, i, x)
		}
	}
	if m.sphere {
		if err := latent.Normalize(label, z); err != nil {
			return nil, err
		}
	}
	return z, nil
}

// Posterior runs the encoder on n CHW images laid end to end.
func (m *Model) Posterior(images []float32, n int) (Encoding, error) {
	man := m.manifest
	shape := []int64{int64(n), int64(man.Channels), int64(man.Resolution), int64(man.Resolution)}
	names := []string{TensorZ}
	if m.posterior {
		names = []string{TensorMu, TensorLogVar}
	}
	sizes := map[string]int{}
	for _, name := range names {
		sizes[name] = n * man.LatentSize
	}
	outs, err := m.run(m.encoder, TensorImage, shape, images, sizes)
	if err != nil {
		return Encoding{}, err
	}
	if !m.posterior {
		return Encoding{Z: split(outs[TensorZ], n)}, nil
	}
	mu := split(outs[TensorMu], n)
	return Encoding{Z: mu, Mu: mu, LogVar: split(outs[TensorLogVar], n)}, nil
}

// Encode returns the latents of n CHW images laid end to end: the posterior mean for
// Gaussian encoders, the unit latent for sphere ones. It makes Model an
// attributes.Encoder.
func (m *Model) Encode(images []float32, n int) ([][]float32, error) {
	enc, err := m.Posterior(images, n)
	return enc.Z, err
}

// Decode runs the decoding graph called role ("" for the manifest's reconstruct graph) on
// the latents zs and returns the images, CHW, end to end.
func (m *Model) Decode(role string, zs [][]float32) ([]float32, error) {
	g, err := m.decoder(role, m.manifest.Reconstruct)
	if err != nil {
		return nil, err
	}
	return m.decode(g, zs)
}

func (m *Model) decode(g *graph, zs [][]float32) ([]float32, error) {
	flat := slices.Concat(zs...)
	shape := []int64{int64(len(zs)), int64(m.manifest.LatentSize)}
	outs, err := m.run(g, TensorZ, shape, flat, map[string]int{TensorImage: len(zs) * m.ImageSize()})
	if err != nil {
		return nil, err
	}
	return outs[TensorImage], nil
}

// Reconstruct encodes n CHW images laid end to end and decodes their latents with the
// graph called role ("" for the manifest's reconstruct graph); it returns the images and
// the latents.
func (m *Model) Reconstruct(role string, images []float32, n int) ([]float32, [][]float32, error) {
	g, err := m.decoder(role, m.manifest.Reconstruct)
	if err != nil {
		return nil, nil, err
	}
	zs, err := m.Encode(images, n)
	if err != nil {
		return nil, nil, err
	}
	out, err := m.decode(g, zs)
	return out, zs, err
}

// Sample decodes n latents drawn from the prior with seed (latent.Sample) with the graph
// called role ("" for the manifest's sampling graph); it returns the images and the
// latents.
func (m *Model) Sample(role string, n int, seed int64) ([]float32, [][]float32, error) {
	g, err := m.decoder(role, m.manifest.Sample)
	if err != nil {
		return nil, nil, err
	}
	zs := latent.Sample(seed, n, m.manifest.LatentSize, m.sphere)
	out, err := m.decode(g, zs)
	return out, zs, err
}

// DefaultPath is the model's interpolation path: the great circle for sphere latents, a
// straight line otherwise.
func (m *Model) DefaultPath() string {
	if m.sphere {
		return latent.PathSlerp
	}
	return latent.PathLinear
}

// Interpolate decodes steps latents from za to zb, both ends included, along path
// (latent.PathLinear or latent.PathSlerp) with the graph called role ("" for the
// manifest's reconstruct graph); it returns the images and the latents. For sphere latents
// the straight line is put back on the sphere, which fails where it passes the origin.
func (m *Model) Interpolate(role string, za, zb []float32, steps int, path string) ([]float32, [][]float32, error) {
	g, err := m.decoder(role, m.manifest.Reconstruct)
	if err != nil {
		return nil, nil, err
	}
	zs, err := latent.Interpolate(za, zb, steps, path)
	if err != nil {
		return nil, nil, err
	}
	if m.sphere && path == latent.PathLinear {
		for _, z := range zs {
			if !latent.Unit(z) {
				return nil, nil, errkind.New(errkind.Invalid, "the straight line from a to b passes through the origin, which has no direction on the sphere: use path=%s", latent.PathSlerp)
			}
		}
	}
	out, err := m.decode(g, zs)
	return out, zs, err
}

// split cuts data into n rows of equal length.
func split(data []float32, n int) [][]float32 {
	size := len(data) / n
	rows := make([][]float32, n)
	for i := range rows {
		rows[i] = data[i*size : (i+1)*size : (i+1)*size]
	}
	return rows
}

// Reconstructor reconstructs through one decoding graph of a model and samples through its
// sampling graph, for evaluation (evaluate.Reconstructor and evaluate.Generator).
type Reconstructor struct {
	m    *Model
	role string
}

// Reconstructor returns the model's reconstruction through the graph called role ("" for
// the manifest's reconstruct graph).
func (m *Model) Reconstructor(role string) Reconstructor { return Reconstructor{m, role} }

// Reconstruct encodes n CHW images laid end to end and decodes their latents.
func (r Reconstructor) Reconstruct(images []float32, n int) ([]float32, error) {
	out, _, err := r.m.Reconstruct(r.role, images, n)
	return out, err
}

// Generate decodes the latents zs with the manifest's sampling graph.
func (r Reconstructor) Generate(zs [][]float32) ([]float32, error) {
	return r.m.Decode(r.m.manifest.Sample, zs)
}

// Prior draws n latents from the model's prior with seed (latent.Sample).
func (r Reconstructor) Prior(seed int64, n int) [][]float32 {
	return latent.Sample(seed, n, r.m.manifest.LatentSize, r.m.sphere)
}
