package dataset

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"image"
	_ "image/jpeg" // register the decoders DecodeConfig needs
	_ "image/png"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/disintegration/imaging"
	"github.com/latentzoo/latentzoo/pixels"
)

// Limits on the images of a folder, checked before decoding pixels.
const (
	MaxImageFileBytes = 64 << 20 // bytes in one file
	MaxImageSide      = 16384    // pixels in width or height
	MaxImagePixels    = 64 << 20 // pixels in width × height
)

// folderTestEvery puts about one image in folderTestEvery in the test split of a folder
// without train/ and test/ subfolders.
const folderTestEvery = 10

// folderImage is one image file of a folder source.
type folderImage struct {
	path  string // on disk
	split string
	class string // "" for an image without one
}

// loadFolder reads the images under root as the package documentation describes.
func loadFolder(root, split string, res, channels int) (*Set, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("folder %s: %w", root, err)
	}
	all, err := listFolder(root)
	if err != nil {
		return nil, err
	}
	var classes []string
	var files []folderImage
	for _, f := range all {
		if f.class != "" && !slices.Contains(classes, f.class) {
			classes = append(classes, f.class)
		}
		if f.split == split {
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("folder %s: no PNG or JPEG images in the %s split", root, split)
	}
	slices.Sort(classes)
	s := &Set{
		Name: FolderPrefix + root, Split: split,
		N: len(files), C: channels, H: res, W: res,
		Labels: make([]int, len(files)), Classes: classes,
	}
	s.Images = make([]float32, s.N*s.ImageSize())
	err = parallel(len(files), func(i int) error {
		s.Labels[i] = slices.Index(classes, files[i].class) // -1 for ""
		img, err := readImage(files[i].path)
		if err != nil {
			return err
		}
		if err := pixels.FromImage(img, res, channels, s.Image(i)); err != nil {
			return fmt.Errorf("%s: %w", files[i].path, err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("folder %s: %w", root, err)
	}
	return s, nil
}

// listFolder lists root's images in lexical order of their paths, with split and class.
func listFolder(root string) ([]folderImage, error) {
	splitDirs := false
	for _, sp := range []string{Train, Test} {
		if fi, err := os.Stat(filepath.Join(root, sp)); err == nil && fi.IsDir() {
			splitDirs = true
		}
	}
	var out []folderImage
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		hidden := path != root && strings.HasPrefix(d.Name(), ".")
		if d.IsDir() {
			if hidden {
				return filepath.SkipDir
			}
			return nil
		}
		ext := strings.ToLower(filepath.Ext(path))
		if hidden || ext != ".png" && ext != ".jpg" && ext != ".jpeg" {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		parts := strings.Split(filepath.ToSlash(rel), "/")
		f := folderImage{path: path}
		if splitDirs {
			if parts[0] != Train && parts[0] != Test {
				return nil // beside the split folders: in neither split
			}
			f.split, parts = parts[0], parts[1:]
		} else {
			f.split = Train
			h := fnv.New32a()
			h.Write([]byte(filepath.ToSlash(rel)))
			if h.Sum32()%folderTestEvery == 0 {
				f.split = Test
			}
		}
		if len(parts) > 1 {
			f.class = parts[0]
		}
		out = append(out, f)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("folder %s: %w", root, err)
	}
	return out, nil
}

// readImage decodes one PNG or JPEG file, JPEGs turned upright by their EXIF orientation,
// after checking its size and its header's dimensions against the limits.
func readImage(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxImageFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(b) > MaxImageFileBytes {
		return nil, fmt.Errorf("%s: more than the limit of %d bytes", path, MaxImageFileBytes)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: not a readable PNG or JPEG: %w", path, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > MaxImageSide || cfg.Height > MaxImageSide ||
		cfg.Width*cfg.Height > MaxImagePixels {
		return nil, fmt.Errorf("%s: %s of %d×%d pixels is outside the limits (%d a side, %d in all)",
			path, format, cfg.Width, cfg.Height, MaxImageSide, MaxImagePixels)
	}
	img, err := imaging.Decode(bytes.NewReader(b), imaging.AutoOrientation(true))
	if err != nil {
		return nil, fmt.Errorf("%s: corrupt %s: %w", path, format, err)
	}
	return img, nil
}
