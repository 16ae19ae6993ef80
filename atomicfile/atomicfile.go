// Package atomicfile writes files so that readers, and a process that crashes midway,
// never see half of one: the data goes to a temporary file beside the target, is synced,
// and is renamed over the target in one step.
//
// The trainer's run files (config, checkpoints) and the exported ONNX graphs are written
// this way. It is a package of its own because those writers share no package that owns
// files: the trainer does not depend on the zoo store.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteFile writes data to path as os.WriteFile does, but atomically: path holds either
// its old content or all of data, never a part. The file gets the permissions perm,
// whatever the umask. The temporary file is hidden (a name starting with a dot) and
// removed if anything fails.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(f.Name()) // fails harmlessly once renamed
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(f.Name(), perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
