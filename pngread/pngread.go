// Package pngread decodes the PNG files a server is sent most (8 bits a sample, not
// interlaced, grey or RGB, with or without alpha) with an inflater and buffers reused
// across calls, and hands every other file to image/png. image/png allocates a new zlib
// reader for every image, which for a small upload is most of the decoding's time and
// garbage.
//
// Decode returns the same image as image/png's Decode, of the same type, or defers to it:
// any file outside the common case, malformed or not, is decoded by image/png, so errors
// are image/png's own.
package pngread

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/png"
	"io"
	"sync"
)

// signature is the 8 bytes every PNG file starts with.
const signature = "\x89PNG\r\n\x1a\n"

// The colour types of the common case, as IHDR numbers them.
const (
	grey      = 0
	rgb       = 2
	greyAlpha = 4
	rgbAlpha  = 6
)

// bytesPerPixel is each common colour type's bytes per pixel at 8 bits a sample.
var bytesPerPixel = map[byte]int{grey: 1, rgb: 3, greyAlpha: 2, rgbAlpha: 4}

// decoder is the state reused from one call to the next.
type decoder struct {
	idat bytes.Buffer // the concatenated IDAT payloads
	src  bytes.Reader
	zr   io.ReadCloser // a zlib reader, reset onto src for each image
	cur  []byte        // the scanline being filtered back, filter byte first
	prev []byte        // the scanline above it
}

var decoders = sync.Pool{New: func() any { return new(decoder) }}

// Decode decodes the PNG file data. Like image/png, it allocates the whole image the
// header asks for: check the size first (Size) when data is untrusted.
func Decode(data []byte) (image.Image, error) {
	d := decoders.Get().(*decoder)
	img, ok := d.decode(data)
	decoders.Put(d)
	if ok {
		return img, nil
	}
	return png.Decode(bytes.NewReader(data))
}

// header is what decode uses of IHDR.
type header struct {
	width, height int
	colour        byte
}

// decode decodes data when it is a well-formed PNG of the common case; ok is false when it
// is anything else, for image/png to decode or to reject.
func (d *decoder) decode(data []byte) (img image.Image, ok bool) {
	h, ok := d.chunks(data)
	if !ok {
		return nil, false
	}
	d.src.Reset(d.idat.Bytes())
	if d.zr == nil {
		zr, err := zlib.NewReader(&d.src)
		if err != nil {
			return nil, false
		}
		d.zr = zr
	} else if err := d.zr.(zlib.Resetter).Reset(&d.src, nil); err != nil {
		return nil, false
	}
	bpp := bytesPerPixel[h.colour]
	row := bpp * h.width
	d.cur = grow(d.cur, 1+row)
	d.prev = grow(d.prev, 1+row)
	clear(d.prev)
	var pix []byte
	var stride int
	switch h.colour {
	case grey:
		m := image.NewGray(image.Rect(0, 0, h.width, h.height))
		img, pix, stride = m, m.Pix, m.Stride
	case rgb:
		m := image.NewRGBA(image.Rect(0, 0, h.width, h.height))
		img, pix, stride = m, m.Pix, m.Stride
	default:
		m := image.NewNRGBA(image.Rect(0, 0, h.width, h.height))
		img, pix, stride = m, m.Pix, m.Stride
	}
	for y := range h.height {
		if _, err := io.ReadFull(d.zr, d.cur); err != nil {
			return nil, false
		}
		if !unfilter(d.cur[0], d.cur[1:], d.prev[1:], bpp) {
			return nil, false
		}
		out := pix[y*stride : (y+1)*stride]
		line := d.cur[1:]
		switch h.colour {
		case grey, rgbAlpha:
			copy(out, line)
		case rgb:
			for x := range h.width {
				out[4*x], out[4*x+1], out[4*x+2], out[4*x+3] = line[3*x], line[3*x+1], line[3*x+2], 0xff
			}
		case greyAlpha:
			for x := range h.width {
				v, a := line[2*x], line[2*x+1]
				out[4*x], out[4*x+1], out[4*x+2], out[4*x+3] = v, v, v, a
			}
		}
		d.cur, d.prev = d.prev, d.cur
	}
	// The stream must end with the pixels (which also checks its Adler-32) and the IDAT
	// data with the stream.
	var one [1]byte
	if n, err := d.zr.Read(one[:]); n != 0 || err != io.EOF || d.src.Len() != 0 {
		return nil, false
	}
	return img, true
}

// chunks walks data's chunks, checking each CRC, and gathers the IDAT payloads into d.idat.
// ok is false unless data is IHDR of the common case, then chunks image/png ignores, one
// run of IDAT chunks among them, and IEND.
func (d *decoder) chunks(data []byte) (h header, ok bool) {
	if len(data) < len(signature) || string(data[:len(signature)]) != signature {
		return h, false
	}
	d.idat.Reset()
	rest := data[len(signature):]
	const (
		start = iota
		seenIHDR
		inIDAT
		afterIDAT
	)
	stage := start
	for {
		if len(rest) < 12 {
			return h, false
		}
		n := binary.BigEndian.Uint32(rest)
		if n > 0x7fffffff || uint64(n) > uint64(len(rest)-12) {
			return h, false
		}
		kind, body := string(rest[4:8]), rest[8:8+n]
		if crc32.ChecksumIEEE(rest[4:8+n]) != binary.BigEndian.Uint32(rest[8+n:]) {
			return h, false
		}
		rest = rest[12+n:]
		if stage == start && kind != "IHDR" {
			return h, false
		}
		switch kind {
		case "IHDR":
			if stage != start || n != 13 {
				return h, false
			}
			w, ht := binary.BigEndian.Uint32(body), binary.BigEndian.Uint32(body[4:])
			depth, colour := body[8], body[9]
			if w == 0 || ht == 0 || w > 1<<24 || ht > 1<<24 || depth != 8 || body[10] != 0 || body[11] != 0 || body[12] != 0 {
				return h, false
			}
			if _, common := bytesPerPixel[colour]; !common {
				return h, false
			}
			h = header{width: int(w), height: int(ht), colour: colour}
			stage = seenIHDR
		case "IDAT":
			if stage == afterIDAT {
				return h, false
			}
			d.idat.Write(body)
			stage = inIDAT
		case "IEND":
			return h, stage == afterIDAT && n == 0
		case "PLTE", "tRNS":
			return h, false
		}
		if stage == inIDAT && (len(rest) < 8 || string(rest[4:8]) != "IDAT") {
			stage = afterIDAT
		}
	}
}

// unfilter undoes PNG filter ftype on the scanline cur, prev being the scanline above it
// (zeros for the first), bpp bytes to a pixel; false for an unknown filter.
func unfilter(ftype byte, cur, prev []byte, bpp int) bool {
	switch ftype {
	case 0: // none
	case 1: // sub
		for i := bpp; i < len(cur); i++ {
			cur[i] += cur[i-bpp]
		}
	case 2: // up
		for i, p := range prev {
			cur[i] += p
		}
	case 3: // average
		for i := range bpp {
			cur[i] += prev[i] / 2
		}
		for i := bpp; i < len(cur); i++ {
			cur[i] += uint8((int(cur[i-bpp]) + int(prev[i])) / 2)
		}
	case 4: // Paeth
		for i := range bpp {
			cur[i] += prev[i]
		}
		for i := bpp; i < len(cur); i++ {
			cur[i] += paeth(cur[i-bpp], prev[i], prev[i-bpp])
		}
	default:
		return false
	}
	return true
}

// paeth is the Paeth predictor of the left, above and upper-left bytes.
func paeth(a, b, c uint8) uint8 {
	pc := int(c)
	pa := int(b) - pc
	pb := int(a) - pc
	pc = pa + pb
	if pa < 0 {
		pa = -pa
	}
	if pb < 0 {
		pb = -pb
	}
	if pc < 0 {
		pc = -pc
	}
	if pa <= pb && pa <= pc {
		return a
	}
	if pb <= pc {
		return b
	}
	return c
}

// grow returns b resized to n bytes, reallocated only when it is too short.
func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

// Size is the width and height data's IHDR chunk gives, read in place (image.DecodeConfig
// buffers its reader); ok is false unless data starts with the PNG signature and an IHDR
// chunk. It checks nothing else: Decode does.
func Size(data []byte) (width, height int, ok bool) {
	if len(data) < len(signature)+8+13 || string(data[:len(signature)]) != signature || string(data[12:16]) != "IHDR" {
		return 0, 0, false
	}
	w, h := binary.BigEndian.Uint32(data[16:]), binary.BigEndian.Uint32(data[20:])
	if w > 0x7fffffff || h > 0x7fffffff {
		return 0, 0, false
	}
	return int(w), int(h), true
}
