package zoo

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"
	"oras.land/oras-go/v2/registry/remote/errcode"
)

// An entry in an OCI registry, in the spirit of CNCF ModelPack: an OCI image manifest
// whose artifact type is [ArtifactType], whose config blob is the entry's manifest.json
// ([MediaTypeManifest]), and whose layers are the entry's files, one each, with the media
// type [MediaType] gives and the file's path as the org.opencontainers.image.title
// annotation. Each layer's digest and size are those the entry's manifest lists.
const (
	ArtifactType      = "application/vnd.latentzoo.entry.v1"
	MediaTypeManifest = "application/vnd.latentzoo.manifest.v1+json"
	MediaTypeGraph    = "application/vnd.latentzoo.graph.v1.onnx"
	MediaTypeCard     = "application/vnd.latentzoo.card.v1.markdown"
	MediaTypeJSON     = "application/vnd.latentzoo.file.v1+json"
	MediaTypeJSONL    = "application/vnd.latentzoo.file.v1.jsonl"
	MediaTypeFile     = "application/vnd.latentzoo.file.v1.raw"
)

// MediaType returns the media type of an entry's file from its path: ONNX graphs, the
// model card (README.md), JSON, JSON Lines, PNG pictures, and anything else.
func MediaType(p string) string {
	switch {
	case p == "README.md":
		return MediaTypeCard
	case path.Ext(p) == ".onnx":
		return MediaTypeGraph
	case path.Ext(p) == ".json":
		return MediaTypeJSON
	case path.Ext(p) == ".jsonl":
		return MediaTypeJSONL
	case path.Ext(p) == ".png":
		return "image/png"
	}
	return MediaTypeFile
}

// ociRepository opens the repository of ref, host[:port]/repo, with opts' HTTP client and
// the credentials of the Docker configuration (~/.docker/config.json, as docker login and
// oras login write it), if any.
func ociRepository(ref registry.Reference, opts SourceOptions) (*remote.Repository, error) {
	repo, err := remote.NewRepository(ref.Registry + "/" + ref.Repository)
	if err != nil {
		return nil, err
	}
	repo.PlainHTTP = opts.PlainHTTP
	client := &auth.Client{Client: httpClient(opts), Cache: auth.NewCache()}
	client.SetUserAgent("latentzoo")
	if store, err := credentials.NewStoreFromDocker(credentials.StoreOptions{}); err != nil {
		opts.log().Warn("registry credentials not read", "err", err)
	} else {
		client.Credential = credentials.Credential(store)
	}
	repo.Client = client
	return repo, nil
}

// parseOCIReference parses host[:port]/repo[:tag|@digest].
func parseOCIReference(s string) (registry.Reference, error) {
	ref, err := registry.ParseReference(s)
	if err != nil {
		return registry.Reference{}, fmt.Errorf("OCI reference oci://%s: want oci://host[:port]/repository[:tag]: %w", s, err)
	}
	return ref, nil
}

// ociSource is a repository of an OCI registry.
type ociSource struct {
	ref  registry.Reference // Reference: a tag or digest pinned by the address, or ""
	repo *remote.Repository
}

func newOCISource(s string, opts SourceOptions) (*ociSource, error) {
	ref, err := parseOCIReference(s)
	if err != nil {
		return nil, err
	}
	repo, err := ociRepository(ref, opts)
	if err != nil {
		return nil, fmt.Errorf("source oci://%s: %w", s, err)
	}
	return &ociSource{ref: ref, repo: repo}, nil
}

// String names the source by its oci:// address.
func (s *ociSource) String() string { return "oci://" + s.ref.String() }

// Fetch reads the OCI manifest that n's tag (or the address's) names, then the entry's
// manifest from its config blob.
func (s *ociSource) Fetch(ctx context.Context, n Name) (Remote, error) {
	reference := cmp.Or(s.ref.Reference, n.Tag)
	desc, rc, err := s.repo.FetchReference(ctx, reference)
	if errors.Is(err, errdef.ErrNotFound) && s.ref.Reference == "" && n.Tag == DefaultTag {
		if reference, err = s.newestTag(ctx); err == nil {
			desc, rc, err = s.repo.FetchReference(ctx, reference)
		}
	}
	if errors.Is(err, errdef.ErrNotFound) {
		return nil, fmt.Errorf("%s in %s: %w", n, s, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", s, reference, err)
	}
	defer rc.Close()
	b, err := content.ReadAll(rc, desc)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", s, reference, err)
	}
	var om ocispec.Manifest
	if desc.MediaType != ocispec.MediaTypeImageManifest {
		return nil, fmt.Errorf("%s: %s is a %s, not an OCI image manifest", s, reference, desc.MediaType)
	}
	if err := json.Unmarshal(b, &om); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", s, reference, err)
	}
	if om.Config.MediaType != MediaTypeManifest {
		return nil, fmt.Errorf("%s: %s is not a latentzoo entry: its config is a %q, not %q", s, reference, om.Config.MediaType, MediaTypeManifest)
	}
	if om.Config.Size > maxManifestBytes {
		return nil, fmt.Errorf("%s: %s: the entry's manifest is over %d bytes", s, reference, maxManifestBytes)
	}
	cfg, err := content.FetchAll(ctx, s.repo, om.Config)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", s, reference, err)
	}
	m, err := parseManifest(cfg, s.String()+":"+reference)
	if err != nil {
		return nil, err
	}
	layers := map[string]ocispec.Descriptor{}
	for _, l := range om.Layers {
		layers[l.Annotations[ocispec.AnnotationTitle]] = l
	}
	for _, f := range m.Files {
		l, ok := layers[f.Path]
		if !ok || l.Digest.String() != f.Digest || l.Size != f.Size {
			return nil, fmt.Errorf("%s: %s: the layers do not hold %s as the entry's manifest lists it (%s, %d bytes): %w", s, reference, f.Path, f.Digest, f.Size, ErrIntegrity)
		}
	}
	return &ociRemote{src: s, m: m, layers: layers}, nil
}

// newestTag returns the repository's greatest tag in natural order that is a valid tag.
func (s *ociSource) newestTag(ctx context.Context) (string, error) {
	var best string
	err := s.repo.Tags(ctx, "", func(tags []string) error {
		for _, t := range tags {
			if component.MatchString(t) && !strings.Contains(t, "..") && (best == "" || compareTags(t, best) > 0) {
				best = t
			}
		}
		return nil
	})
	var resp *errcode.ErrorResponse
	if errors.As(err, &resp) && resp.StatusCode == http.StatusNotFound {
		return "", fmt.Errorf("%s: %w", s, errdef.ErrNotFound) // no such repository
	}
	if err != nil {
		return "", err
	}
	if best == "" {
		return "", fmt.Errorf("%s has no tags: %w", s, errdef.ErrNotFound)
	}
	return best, nil
}

// ociRemote is an entry in an OCI registry.
type ociRemote struct {
	src    *ociSource
	m      *Manifest
	layers map[string]ocispec.Descriptor // by path
}

// Manifest returns the entry's manifest.
func (r *ociRemote) Manifest() *Manifest { return r.m }

// Open fetches the file's layer; from an offset, with a Range request where the registry
// takes them, else by skipping.
func (r *ociRemote) Open(ctx context.Context, f File, offset int64) (io.ReadCloser, error) {
	rc, err := r.src.repo.Blobs().Fetch(ctx, r.layers[f.Path])
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", r.src, f.Path, err)
	}
	if offset == 0 {
		return rc, nil
	}
	if sk, ok := rc.(io.Seeker); ok {
		_, err = sk.Seek(offset, io.SeekStart)
	} else {
		_, err = io.CopyN(io.Discard, rc, offset)
	}
	if err != nil {
		rc.Close()
		return nil, fmt.Errorf("%s: %s: resuming at %d: %w", r.src, f.Path, offset, err)
	}
	return rc, nil
}

// ociTarget is a repository of an OCI registry to push to.
type ociTarget struct {
	ref  registry.Reference
	repo *remote.Repository
}

// String names the target by its oci:// address.
func (t *ociTarget) String() string { return "oci://" + t.ref.String() }

// Push sends the entry's files as layers, unless the registry has them already, its
// manifest as the config blob, and an OCI manifest tagged with the address's tag, or the
// entry's own. It returns the reference with the pushed manifest's digest.
func (t *ociTarget) Push(ctx context.Context, e Entry, progress func(FileProgress)) (string, error) {
	m := e.Manifest()
	n, err := ParseName(m.Name)
	if err != nil {
		return "", err
	}
	tag := cmp.Or(t.ref.Reference, n.Tag)
	if _, err := digest.Parse(tag); err == nil {
		return "", fmt.Errorf("%s: push to a tag, not a digest", t)
	}
	layers := make([]ocispec.Descriptor, 0, len(m.Files))
	for _, f := range m.Files {
		b, err := e.ReadFile(f.Path)
		if err != nil {
			return "", fmt.Errorf("push %s: %w", m.Name, err)
		}
		desc := ocispec.Descriptor{
			MediaType:   MediaType(f.Path),
			Digest:      digest.Digest(f.Digest),
			Size:        f.Size,
			Annotations: map[string]string{ocispec.AnnotationTitle: f.Path},
		}
		if err := t.pushBlob(ctx, desc, b, FileProgress{Entry: m.Name, Path: f.Path, Size: f.Size}, progress); err != nil {
			return "", err
		}
		layers = append(layers, desc)
	}
	cfg, err := m.JSON()
	if err != nil {
		return "", fmt.Errorf("push %s: %w", m.Name, err)
	}
	cfgDesc := content.NewDescriptorFromBytes(MediaTypeManifest, cfg)
	if err := t.pushBlob(ctx, cfgDesc, cfg, FileProgress{}, nil); err != nil {
		return "", err
	}
	desc, err := oras.PackManifest(ctx, t.repo, oras.PackManifestVersion1_1, ArtifactType, oras.PackManifestOptions{
		ConfigDescriptor: &cfgDesc,
		Layers:           layers,
		ManifestAnnotations: map[string]string{
			ocispec.AnnotationTitle:       m.Name,
			ocispec.AnnotationVersion:     n.Tag,
			ocispec.AnnotationDescription: fmt.Sprintf("latentzoo entry: a %s trained on %s", m.Family, m.Dataset),
		},
	})
	if err != nil {
		return "", fmt.Errorf("push %s to %s: manifest: %w", m.Name, t, err)
	}
	if err := t.repo.Tag(ctx, desc, tag); err != nil {
		return "", fmt.Errorf("push %s to %s: tag %s: %w", m.Name, t, tag, err)
	}
	return fmt.Sprintf("oci://%s/%s:%s@%s", t.ref.Registry, t.ref.Repository, tag, desc.Digest), nil
}

// pushBlob sends b as the blob desc unless the repository has it, reporting to progress
// when it is not nil.
func (t *ociTarget) pushBlob(ctx context.Context, desc ocispec.Descriptor, b []byte, p FileProgress, progress func(FileProgress)) error {
	report := func(FileProgress) {}
	if progress != nil {
		report = progress
	}
	exists, err := t.repo.Exists(ctx, desc)
	if err != nil {
		return fmt.Errorf("push to %s: %s: %w", t, desc.Digest, err)
	}
	if !exists {
		report(p)
		r := &countingReader{r: bytes.NewReader(b), report: func(n int64) { p.Done = n; report(p) }}
		if err := t.repo.Push(ctx, desc, r); err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
			return fmt.Errorf("push to %s: %s: %w", t, cmp.Or(p.Path, string(desc.Digest)), err)
		}
	}
	p.Done, p.Finished = p.Size, true
	report(p)
	return nil
}

// countingReader reports the bytes read so far after each read.
type countingReader struct {
	r      io.Reader
	n      int64
	report func(n int64)
}

// Read reads from the underlying reader and reports the count.
func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	c.report(c.n)
	return n, err
}
