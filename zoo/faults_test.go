package zoo

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// tree lists every path under dir with its size, for comparing a store before and after;
// the downloads folder and its lock files, which pulls keep for their locks, are left out.
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == downloadsDir || strings.HasSuffix(rel, ".lock") {
			return nil
		}
		if d.IsDir() {
			out = append(out, rel+"/")
		} else {
			out = append(out, fmt.Sprintf("%s %d", rel, info.Size()))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// TestPullIntoFullDisk pulls an entry larger than the file system the store is on (a
// 128 KiB tmpfs the test mounts): the pull fails saying the disk is full, and the store is
// as it was, no partial file or half entry left. It skips where tmpfs cannot be mounted.
func TestPullIntoFullDisk(t *testing.T) {
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=128k", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	dst, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	before := tree(t, dir)
	src := openStore(t)
	writeTestEntry(t, src, "vae/fashion-mnist:v1") // 300 KB of weights among its files
	s, _ := lend(t, newLender(src), SourceOptions{})
	_, err = dst.Pull(context.Background(), s, Name{"vae", "fashion-mnist", "v1"}, quiet)
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "is full") {
		t.Fatalf("pull into a full disk: %v, want an error saying the disk is full", err)
	}
	noEntry(t, dst)
	if after := tree(t, dir); !slices.Equal(after, before) {
		t.Errorf("the store changed:\nbefore %v\nafter  %v", before, after)
	}
}
