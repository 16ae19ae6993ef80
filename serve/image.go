package serve

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/png"
	"math"
	"strings"
	"sync"

	"github.com/disintegration/imaging"
	"github.com/latentzoo/latentzoo/pngread"
)

// decodeBase64 decodes an image sent as text: standard or URL-safe base64, padded or not,
// optionally as a data: URL ("data:image/png;base64,...").
func decodeBase64(field, s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(s, "data:"); ok {
		meta, payload, found := strings.Cut(rest, ",")
		if !found || !strings.HasSuffix(meta, ";base64") {
			return nil, badRequest("field %s: data URL must be base64 encoded (data:image/png;base64,...)", field)
		}
		s = payload
	}
	enc := base64.RawStdEncoding
	if strings.ContainsAny(s, "-_") {
		enc = base64.RawURLEncoding
	}
	b, err := enc.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return nil, badRequest("field %s: not valid base64: %v", field, err)
	}
	return b, nil
}

// decodeImage decodes an encoded image after checking, from its header alone, that it is
// no larger than maxSide on either side and maxPixels in all, so that no pixel memory is
// spent on an oversize image. A JPEG's EXIF orientation is applied.
func decodeImage(field string, data []byte, maxSide, maxPixels int) (_ image.Image, err error) {
	if len(data) == 0 {
		return nil, badRequest("field %s: empty image", field)
	}
	cfg, format := image.Config{}, "png"
	if w, h, ok := pngread.Size(data); ok {
		cfg.Width, cfg.Height = w, h
	} else if cfg, format, err = image.DecodeConfig(bytes.NewReader(data)); err != nil {
		return nil, badRequest("field %s: not a readable image (PNG or JPEG expected): %v", field, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, badRequest("field %s: %s image claims an empty size %dx%d", field, format, cfg.Width, cfg.Height)
	}
	if cfg.Width > maxSide || cfg.Height > maxSide {
		return nil, badRequest("field %s: %s image is %dx%d; the largest side accepted is %d", field, format, cfg.Width, cfg.Height, maxSide)
	}
	if int64(cfg.Width)*int64(cfg.Height) > int64(maxPixels) {
		return nil, badRequest("field %s: %s image is %dx%d = %d pixels; at most %d are accepted", field, format, cfg.Width, cfg.Height, cfg.Width*cfg.Height, maxPixels)
	}
	// A PNG goes through pngread, which reuses its inflater from one upload to the next.
	// Only JPEG carries an EXIF orientation; imaging reads it through a pipe and a
	// goroutine of its own, which other formats need not pay for.
	var img image.Image
	if format == "png" {
		img, err = pngread.Decode(data)
	} else {
		img, err = imaging.Decode(bytes.NewReader(data), imaging.AutoOrientation(format == "jpeg"))
	}
	if err != nil {
		return nil, badRequest("field %s: %s image is corrupt or truncated: %v", field, format, err)
	}
	return img, nil
}

// Answers' PNGs are lossless at every compression level: the pixels are the same, only the
// file's size differs. An image of at most storedPixels pixels (a model's 32×32 output, a
// small grid) is written in stored deflate blocks, since compressing it costs more time
// than its bytes cost on the wire; larger ones at zlib's fastest level. Both reuse their
// buffers.
var (
	pngStored  = png.Encoder{CompressionLevel: png.NoCompression, BufferPool: &pngBuffers{}}
	pngEncoder = png.Encoder{CompressionLevel: png.BestSpeed, BufferPool: &pngBuffers{}}
)

// storedPixels is the largest image, in pixels, that encodePNG writes uncompressed.
const storedPixels = 128 * 128

// pngBuffers is a png.EncoderBufferPool on a sync.Pool.
type pngBuffers struct{ pool sync.Pool }

func (p *pngBuffers) Get() *png.EncoderBuffer {
	b, _ := p.pool.Get().(*png.EncoderBuffer)
	return b
}

func (p *pngBuffers) Put(b *png.EncoderBuffer) { p.pool.Put(b) }

// encodePNG encodes img as PNG, uncompressed up to storedPixels pixels.
func encodePNG(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	enc := &pngEncoder
	if b := img.Bounds(); b.Dx()*b.Dy() <= storedPixels {
		enc = &pngStored
	}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("encode PNG: %w", err)
	}
	return buf.Bytes(), nil
}

// gridColumns is the number of columns of the most nearly square grid of n cells.
func gridColumns(n int) int {
	return int(math.Ceil(math.Sqrt(float64(n))))
}
