package serve

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/png"
	"math"
	"strings"

	"github.com/disintegration/imaging"
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
// spent on an oversize image. EXIF orientation is applied.
func decodeImage(field string, data []byte, maxSide, maxPixels int) (image.Image, error) {
	if len(data) == 0 {
		return nil, badRequest("field %s: empty image", field)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
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
	img, err := imaging.Decode(bytes.NewReader(data), imaging.AutoOrientation(true))
	if err != nil {
		return nil, badRequest("field %s: %s image is corrupt or truncated: %v", field, format, err)
	}
	return img, nil
}

// toByte maps a value in [0,1] to 0..255, clamping values outside and NaN to the range.
func toByte(v float32) uint8 {
	if !(v > 0) { // also NaN
		return 0
	}
	if v >= 1 {
		return 255
	}
	return uint8(math.Round(float64(v) * 255))
}

// tileImage lays out n CHW examples of size channels×res×res from data in a grid of cols
// columns, row by row; cells past n stay black. One channel gives a grey image, three an
// RGB one.
func tileImage(data []float32, n, channels, res, cols int) image.Image {
	rows := (n + cols - 1) / cols
	rect := image.Rect(0, 0, cols*res, rows*res)
	var grey *image.Gray
	var rgb *image.NRGBA
	if channels == 1 {
		grey = image.NewGray(rect)
	} else {
		rgb = image.NewNRGBA(rect)
	}
	plane := res * res
	for k := range n {
		ex := data[k*channels*plane : (k+1)*channels*plane]
		ox, oy := (k%cols)*res, (k/cols)*res
		for y := range res {
			for x := range res {
				i := y*res + x
				if grey != nil {
					grey.Pix[(oy+y)*grey.Stride+ox+x] = toByte(ex[i])
					continue
				}
				p := rgb.Pix[(oy+y)*rgb.Stride+4*(ox+x):]
				p[0], p[1], p[2], p[3] = toByte(ex[i]), toByte(ex[plane+i]), toByte(ex[2*plane+i]), 255
			}
		}
	}
	if grey != nil {
		return grey
	}
	return rgb
}

// encodePNG encodes img as PNG.
func encodePNG(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("encode PNG: %w", err)
	}
	return buf.Bytes(), nil
}

// gridColumns is the number of columns of the most nearly square grid of n cells.
func gridColumns(n int) int {
	return int(math.Ceil(math.Sqrt(float64(n))))
}
