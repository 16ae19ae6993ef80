package serve

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/latentzoo/latentzoo/attributes"
	"github.com/latentzoo/latentzoo/infer"
	"github.com/latentzoo/latentzoo/models"
	"github.com/latentzoo/latentzoo/zoo"
)

// Tensor names of the contract between exported graphs and the server (DESIGN.md).
const (
	tensorImage  = "image"
	tensorZ      = "z"
	tensorMu     = "mu"
	tensorLogVar = "logvar"
)

// encoderRole is the key of the encoder in a manifest's graphs.
const encoderRole = "encoder"

// graph is one ONNX graph of a model, open in ONNX Runtime.
type graph struct {
	role string
	sess *infer.Session
}

// model is a zoo entry with its graphs open, shared by all requests. It follows the
// manifest alone: the encoder's outputs say whether latents are a Gaussian posterior's mean
// ("mu", "logvar") or given directly ("z"), and every other graph that maps "z" to "image"
// can decode.
type model struct {
	manifest  *zoo.Manifest
	encoder   *graph
	decoders  map[string]*graph // by role
	posterior bool              // the encoder gives mu and logvar
	sphere    bool              // latents live on the unit sphere
	// users counts the requests using the model, which a load that replaces it waits for
	// before closing it.
	users sync.WaitGroup
	// observe records each run of a graph on a batch, taking the run's duration.
	observe func(role string, batch int, d time.Duration)
	// attributes are the entry's attribute directions by name, for /edit.
	attributes map[string]*attributes.Direction
	// examples holds the test images of /models/{name}/examples, loaded when first asked.
	examples examplePool
}

// encoding is the encoder's answer for a batch: latents, and for Gaussian posteriors the
// mean (equal to z) and log-variance.
type encoding struct {
	z, mu, logvar [][]float32
}

// loadModel opens the graphs of the entry e with the given ONNX Runtime options.
func loadModel(e zoo.Entry, opts infer.Options, log *slog.Logger) (_ *model, err error) {
	man := e.Manifest()
	if err := man.Validate(); err != nil {
		return nil, err
	}
	m := &model{
		manifest: man,
		decoders: map[string]*graph{},
		sphere:   man.LatentKind == string(models.Sphere),
		observe:  func(string, int, time.Duration) {},
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, m.close())
		}
	}()
	for _, role := range slices.Sorted(maps.Keys(man.Graphs)) {
		g, err := openGraph(e, role, man.Graphs[role], opts)
		if err != nil {
			return nil, fmt.Errorf("model %s: %w", man.Name, err)
		}
		log.Info("graph loaded", "model", man.Name, "graph", role, "provider", g.sess.Provider())
		if role == encoderRole {
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
			return nil, fmt.Errorf("model %s: graph %q, named to reconstruct or sample, does not map z to image", man.Name, role)
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
func (m *model) checkEncoder() (posterior bool, err error) {
	man, s := m.manifest, m.encoder.sess
	in := s.Inputs()
	if len(in) != 1 || in[0].Name != tensorImage || !fits(in[0], man.Channels, man.Resolution, man.Resolution) {
		return false, fmt.Errorf("model %s: encoder must take one input %q of shape [N, %d, %d, %d], has %v", man.Name, tensorImage, man.Channels, man.Resolution, man.Resolution, in)
	}
	out := s.Outputs()
	latent := func(name string) bool {
		t, ok := findTensor(out, name)
		return ok && fits(t, man.LatentSize)
	}
	switch {
	case latent(tensorMu) && latent(tensorLogVar):
		return true, nil
	case latent(tensorZ):
		return false, nil
	}
	return false, fmt.Errorf("model %s: encoder must give %q and %q, or %q, of shape [N, %d]; it gives %v", man.Name, tensorMu, tensorLogVar, tensorZ, man.LatentSize, out)
}

// checkDecoder checks that g maps latents "z" to images "image" of the manifest's size.
func (m *model) checkDecoder(g *graph) error {
	man := m.manifest
	in := g.sess.Inputs()
	if len(in) != 1 || in[0].Name != tensorZ || !fits(in[0], man.LatentSize) {
		return fmt.Errorf("it takes %v, not one input %q of shape [N, %d]", in, tensorZ, man.LatentSize)
	}
	if t, ok := findTensor(g.sess.Outputs(), tensorImage); !ok || !fits(t, man.Channels, man.Resolution, man.Resolution) {
		return fmt.Errorf("it gives %v, not %q of shape [N, %d, %d, %d]", g.sess.Outputs(), tensorImage, man.Channels, man.Resolution, man.Resolution)
	}
	return nil
}

// close closes every open graph.
func (m *model) close() error {
	var errs []error
	if m.encoder != nil {
		errs = append(errs, m.encoder.sess.Close())
	}
	for _, g := range m.decoders {
		errs = append(errs, g.sess.Close())
	}
	return errors.Join(errs...)
}

// decoderRoles lists the roles of the decoder graphs, sorted.
func (m *model) decoderRoles() []string { return slices.Sorted(maps.Keys(m.decoders)) }

// graphs maps the role of every open graph, the encoder included, to the graph.
func (m *model) graphs() map[string]*graph {
	gs := maps.Clone(m.decoders)
	gs[encoderRole] = m.encoder
	return gs
}

// name is the model's zoo name.
func (m *model) name() string { return m.manifest.Name }

// imageSize is the number of values of one CHW image.
func (m *model) imageSize() int {
	return m.manifest.Channels * m.manifest.Resolution * m.manifest.Resolution
}

// run runs g on a batch given as its one input and returns g's outputs, each checked to
// hold the number of values sizes gives for its name.
func (m *model) run(g *graph, input string, shape []int64, data []float32, sizes map[string]int) (map[string]infer.Tensor, error) {
	start := time.Now()
	outs, err := g.sess.Run(map[string]infer.Tensor{input: {Shape: shape, Data: data}})
	if err != nil {
		return nil, fmt.Errorf("model %s graph %s: %w", m.name(), g.role, err)
	}
	m.observe(g.role, int(shape[0]), time.Since(start))
	for name, size := range sizes {
		if n := len(outs[name].Data); n != size {
			return nil, fmt.Errorf("model %s graph %s: output %q has %d values, want %d", m.name(), g.role, name, n, size)
		}
	}
	return outs, nil
}

// encode runs the encoder on n CHW images laid end to end in images.
func (m *model) encode(images []float32, n int) (encoding, error) {
	man := m.manifest
	shape := []int64{int64(n), int64(man.Channels), int64(man.Resolution), int64(man.Resolution)}
	names := []string{tensorZ}
	if m.posterior {
		names = []string{tensorMu, tensorLogVar}
	}
	sizes := map[string]int{}
	for _, name := range names {
		sizes[name] = n * man.LatentSize
	}
	outs, err := m.run(m.encoder, tensorImage, shape, images, sizes)
	if err != nil {
		return encoding{}, err
	}
	if !m.posterior {
		return encoding{z: split(outs[tensorZ].Data, n)}, nil
	}
	mu := split(outs[tensorMu].Data, n)
	return encoding{z: mu, mu: mu, logvar: split(outs[tensorLogVar].Data, n)}, nil
}

// decode runs the decoder graph g on the latents zs and returns the images, CHW, end to
// end.
func (m *model) decode(g *graph, zs [][]float32) ([]float32, error) {
	flat := slices.Concat(zs...)
	shape := []int64{int64(len(zs)), int64(m.manifest.LatentSize)}
	outs, err := m.run(g, tensorZ, shape, flat, map[string]int{tensorImage: len(zs) * m.imageSize()})
	if err != nil {
		return nil, err
	}
	return outs[tensorImage].Data, nil
}

// reconstruct encodes n images and decodes their latents with g; it returns the images
// and the latents.
func (m *model) reconstruct(g *graph, images []float32, n int) ([]float32, [][]float32, error) {
	enc, err := m.encode(images, n)
	if err != nil {
		return nil, nil, err
	}
	out, err := m.decode(g, enc.z)
	return out, enc.z, err
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

// Model is a zoo entry opened as the server opens it, for use outside a server: the
// evaluation measures exactly what is served.
type Model struct{ m *model }

// OpenModel opens the graphs of entry e in ONNX Runtime.
func OpenModel(e zoo.Entry, opts infer.Options) (*Model, error) {
	m, err := loadModel(e, opts, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	return &Model{m: m}, nil
}

// Reconstruct encodes n CHW images laid end to end and decodes their latents with the
// manifest's reconstruction graph.
func (m *Model) Reconstruct(images []float32, n int) ([]float32, error) {
	return m.ReconstructWith(m.m.manifest.Reconstruct, images, n)
}

// ReconstructWith is Reconstruct through the decoder graph called role (the manifest's
// graphs other than the encoder).
func (m *Model) ReconstructWith(role string, images []float32, n int) ([]float32, error) {
	g, ok := m.m.decoders[role]
	if !ok {
		return nil, fmt.Errorf("model %s has no decoder %q (has %v)", m.m.name(), role, m.m.decoderRoles())
	}
	out, _, err := m.m.reconstruct(g, images, n)
	return out, err
}

// Sample decodes n latents drawn from the prior with seed (as POST /sample does) with
// the manifest's sampling graph.
func (m *Model) Sample(n int, seed int64) ([]float32, error) {
	return m.m.decode(m.m.decoders[m.m.manifest.Sample], sampleLatents(seed, n, m.m.manifest.LatentSize, m.m.sphere))
}

// Interpolate encodes images a and b (CHW each) and decodes steps latents from one to the
// other, both ends included, along the latent kind's default path (as POST /interpolate
// does): the great circle for sphere latents, a straight line otherwise.
func (m *Model) Interpolate(a, b []float32, steps int) ([]float32, error) {
	enc, err := m.m.encode(slices.Concat(a, b), 2)
	if err != nil {
		return nil, err
	}
	path := pathLinear
	if m.m.sphere {
		path = pathSlerp
	}
	zs, err := interpolate(enc.z[0], enc.z[1], steps, path)
	if err != nil {
		return nil, err
	}
	return m.m.decode(m.m.decoders[m.m.manifest.Reconstruct], zs)
}

// Close closes the model's graphs.
func (m *Model) Close() error { return m.m.close() }
