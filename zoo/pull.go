package zoo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// FileProgress reports how one file of a pull or a push is going.
type FileProgress struct {
	Entry    string // the entry's name
	Path     string // the file's path in the entry
	Size     int64  // the file's size
	Done     int64  // bytes in place so far, those resumed included
	Resumed  int64  // bytes kept from an earlier, interrupted pull
	Finished bool   // the file is complete: checked (pull) or sent (push)
}

// PullOptions configures [Store.Pull].
type PullOptions struct {
	// Progress, when not nil, is called as each file starts, as its bytes arrive, and
	// when it is complete and checked.
	Progress func(FileProgress)
	// Log receives what a pull waits for and what it throws away; default slog.Default().
	Log *slog.Logger
}

// PullResult says what a pull did.
type PullResult struct {
	Entry Entry // the entry in the store
	// UpToDate is set when the store already held the entry as the source has it, and
	// the pull changed nothing.
	UpToDate bool
	// Downloaded counts the bytes received from the source.
	Downloaded int64
}

// Store layout beside models/: downloads/ holds the files of pulls in progress, and the
// lock files that keep concurrent pulls apart.
//
//	<dir>/downloads/sha256-<hex>.partial  a file being received, resumed where it stops
//	<dir>/downloads/sha256-<hex>          a file received and checked, until its entry is
//	                                      in place
//	<dir>/downloads/sha256-<hex>.lock     held while a pull works on that file
//	<dir>/downloads/entry-<hex>.lock      held while a pull works on an entry (hex: the
//	                                      sha256 of its name)
//	<dir>/downloads/entry-<n>.tmp/        an entry being put together
const downloadsDir = "downloads"

// Pull fetches the entry called n from src into the store and returns it.
//
// Each file is received into downloads/ under a name made of its digest, checked for its
// size and sha256 against the manifest, and only then linked into a temporary folder that
// is renamed into place once every file is there: the entry appears whole or not at all,
// and a file that fails its check is thrown away, leaving the store as it was. A pull that
// is interrupted keeps the bytes it received and the next pull of the file resumes from
// there. Pulling an entry that the store holds as src has it changes nothing. Concurrent
// pulls, in one process or several, take file locks: the second pull of an entry waits
// for the first and finds it done.
func (s *Store) Pull(ctx context.Context, src Source, n Name, opts PullOptions) (PullResult, error) {
	log := opts.Log
	if log == nil {
		log = slog.Default()
	}
	progress := opts.Progress
	if progress == nil {
		progress = func(FileProgress) {}
	}
	rem, err := src.Fetch(ctx, n)
	if err != nil {
		return PullResult{}, fmt.Errorf("pull %s: %w", n, err)
	}
	m := rem.Manifest()
	if !matches(n, m.Name) {
		return PullResult{}, fmt.Errorf("pull %s: %s answered with entry %q", n, src, m.Name)
	}
	name, err := ParseName(m.Name)
	if err != nil {
		return PullResult{}, fmt.Errorf("pull %s: %w", n, err)
	}
	if m.Name != name.String() {
		return PullResult{}, fmt.Errorf("pull %s: %s names the entry %q, not in its canonical form %q", n, src, m.Name, name)
	}
	dl := filepath.Join(s.dir, downloadsDir)
	if err := os.MkdirAll(dl, 0o755); err != nil {
		return PullResult{}, fmt.Errorf("pull %s: %w", n, err)
	}
	sum := sha256.Sum256([]byte(name.String()))
	unlock, err := lockFile(ctx, filepath.Join(dl, "entry-"+hex.EncodeToString(sum[:])+".lock"), "another pull of "+name.String(), log)
	if err != nil {
		return PullResult{}, fmt.Errorf("pull %s: %w", n, err)
	}
	defer unlock()

	if e, ok := s.holds(name, m); ok {
		return PullResult{Entry: e, UpToDate: true}, nil
	}

	// The entry is put together in downloads/, so that a failed pull leaves nothing in
	// models/, and renamed into place when whole.
	dir := s.path(name)
	tmp, err := os.MkdirTemp(dl, "entry-*.tmp")
	if err != nil {
		return PullResult{}, fmt.Errorf("pull %s: %w", n, err)
	}
	defer os.RemoveAll(tmp) // after the rename, nothing is left at tmp
	if err := os.Chmod(tmp, 0o755); err != nil {
		return PullResult{}, fmt.Errorf("pull %s: %w", n, err)
	}
	// Files that the store's entries share with the source's are linked, not fetched:
	// another tag's, or the entry's own older version.
	local := map[string]string{}
	if es, err := s.List(); err == nil {
		for _, e := range es {
			en, err := ParseName(e.Manifest().Name)
			if err != nil {
				continue
			}
			for _, f := range e.Manifest().Files {
				local[f.Digest] = filepath.Join(s.path(en), filepath.FromSlash(f.Path))
			}
		}
	}
	var res PullResult
	for _, f := range m.Files {
		got, err := s.pullFile(ctx, rem, m.Name, f, filepath.Join(tmp, filepath.FromSlash(f.Path)), local[f.Digest], progress, log)
		res.Downloaded += got
		if errors.Is(err, syscall.ENOSPC) {
			// Resuming cannot help until space is freed: the pull takes back what it wrote.
			s.dropDownloads(ctx, m.Files, log)
			return res, fmt.Errorf("pull %s from %s: the disk of the store %s is full (the pull's downloads were removed; free space and pull again): %w", m.Name, src, s.dir, err)
		}
		if err != nil {
			return res, fmt.Errorf("pull %s from %s: %w", m.Name, src, err)
		}
	}
	b, err := m.JSON()
	if err != nil {
		return res, fmt.Errorf("pull %s: %w", n, err)
	}
	if err := writeSynced(filepath.Join(tmp, manifestFile), append(b, '\n')); err != nil {
		return res, fmt.Errorf("pull %s: %w", n, err)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return res, fmt.Errorf("pull %s: %w", n, err)
	}
	if err := replaceDir(tmp, dir); err != nil {
		return res, fmt.Errorf("pull %s: %w", n, err)
	}
	// The entry holds the files now; their downloads are no longer needed.
	for _, f := range m.Files {
		if err := s.dropDownload(ctx, f, log); err != nil {
			log.Warn("a finished download was not removed", "file", f.Path, "err", err)
		}
	}
	if res.Entry, err = s.Get(name); err != nil {
		return res, err
	}
	return res, nil
}

// holds returns the store's entry called n if it has the manifest m and files of the sizes
// m lists.
func (s *Store) holds(n Name, m *Manifest) (Entry, bool) {
	e, err := s.Get(n)
	if err != nil {
		return nil, false
	}
	a, errA := json.Marshal(e.Manifest())
	b, errB := json.Marshal(m)
	if errA != nil || errB != nil || string(a) != string(b) {
		return nil, false
	}
	for _, f := range m.Files {
		fi, err := os.Stat(filepath.Join(s.path(n), filepath.FromSlash(f.Path)))
		if err != nil || !fi.Mode().IsRegular() || fi.Size() != f.Size {
			return nil, false
		}
	}
	return e, true
}

// downloadPath is the name of file f's download in the store, without a suffix.
func (s *Store) downloadPath(f File) string {
	return filepath.Join(s.dir, downloadsDir, strings.Replace(f.Digest, ":", "-", 1))
}

// pullFile gets file f of the entry called entry into a new file at dst: from the file at
// local (when not empty) if it has f's digest, else from a finished download of the same
// digest, else from rem, resuming a partial download. It returns the bytes it received.
func (s *Store) pullFile(ctx context.Context, rem Remote, entry string, f File, dst, local string, progress func(FileProgress), log *slog.Logger) (int64, error) {
	if err := ValidateDigest(f.Digest); err != nil { // before it makes a file name
		return 0, err
	}
	base := s.downloadPath(f)
	unlock, err := lockFile(ctx, base+".lock", "another pull of "+f.Path, log)
	if err != nil {
		return 0, err
	}
	defer unlock()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return 0, err
	}
	p := FileProgress{Entry: entry, Path: f.Path, Size: f.Size}
	// The store's file may be removed meanwhile: then it is fetched.
	if local != "" && checkFile(local, f) == nil && os.Link(local, dst) == nil {
		p.Done, p.Resumed, p.Finished = f.Size, f.Size, true
		progress(p)
		return 0, nil
	}
	if err := checkFile(base, f); err == nil {
		p.Done, p.Resumed, p.Finished = f.Size, f.Size, true
		progress(p)
		return 0, os.Link(base, dst)
	} else if !errors.Is(err, fs.ErrNotExist) {
		log.Warn("a finished download does not match its digest; fetching it again", "file", f.Path, "err", err)
		if err := os.Remove(base); err != nil {
			return 0, err
		}
	}
	got, err := receive(ctx, rem, f, base+".partial", p, progress, log)
	if err != nil {
		return got, err
	}
	if err := os.Rename(base+".partial", base); err != nil {
		return got, err
	}
	return got, os.Link(base, dst)
}

// receive brings the partial download at partial up to file f's size from rem and checks
// it. A download cut short keeps what it received, for the next pull to resume; one that
// is longer than f or has another digest is removed.
func receive(ctx context.Context, rem Remote, f File, partial string, p FileProgress, progress func(FileProgress), log *slog.Logger) (_ int64, err error) {
	w, err := os.OpenFile(partial, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return 0, err
	}
	defer w.Close()
	defer func() {
		if fi, serr := w.Stat(); err != nil && serr == nil && fi.Size() == 0 {
			os.Remove(partial) // nothing to resume
		}
	}()
	h := sha256.New()
	have, err := io.Copy(h, io.LimitReader(w, f.Size+1)) // resumes: hash what is there
	if err != nil {
		return 0, err
	}
	if have > f.Size || (have == f.Size && digestOf(h) != f.Digest) {
		log.Warn("discarding a partial download that does not match", "file", f.Path, "bytes", have)
		if err := w.Truncate(0); err != nil {
			return 0, err
		}
		if _, err := w.Seek(0, io.SeekStart); err != nil {
			return 0, err
		}
		h.Reset()
		have = 0
	}
	p.Done, p.Resumed = have, have
	progress(p)
	var got int64
	if have < f.Size {
		rc, err := rem.Open(ctx, f, have)
		if err != nil {
			return 0, err
		}
		defer rc.Close()
		pw := &progressWriter{w: io.MultiWriter(w, h), p: &p, progress: progress}
		got, err = io.Copy(pw, io.LimitReader(rc, f.Size-have+1))
		if have+got > f.Size {
			return got, errors.Join(fmt.Errorf("%s: more than the %d bytes the manifest lists: %w", f.Path, f.Size, ErrIntegrity), os.Remove(partial))
		}
		if err == nil && have+got < f.Size {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			// Keep what arrived for the next pull, flushed so that it survives a crash.
			return got, errors.Join(fmt.Errorf("%s: interrupted after %d of %d bytes (pull again to resume): %w", f.Path, have+got, f.Size, err), w.Sync())
		}
	}
	if d := digestOf(h); d != f.Digest {
		return got, errors.Join(fmt.Errorf("%s: digest %s, the manifest lists %s: %w", f.Path, d, f.Digest, ErrIntegrity), os.Remove(partial))
	}
	if err := w.Sync(); err != nil {
		return got, err
	}
	p.Done, p.Finished = f.Size, true
	progress(p)
	return got, nil
}

// checkFile checks the file at name against f's size and digest.
func checkFile(name string, f File) error {
	r, err := os.Open(name)
	if err != nil {
		return err
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(r, f.Size+1))
	if err != nil {
		return err
	}
	if n != f.Size || digestOf(h) != f.Digest {
		return fmt.Errorf("%s: %d bytes with digest %s, want %d bytes with %s: %w", name, n, digestOf(h), f.Size, f.Digest, ErrIntegrity)
	}
	return nil
}

// dropDownload removes the finished download of f, under its lock: a pull of another entry
// may be about to link it.
func (s *Store) dropDownload(ctx context.Context, f File, log *slog.Logger) error {
	base := s.downloadPath(f)
	unlock, err := lockFile(ctx, base+".lock", "another pull of "+f.Path, log)
	if err != nil {
		return err
	}
	defer unlock()
	if err := os.Remove(base); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// dropDownloads removes the finished and partial downloads of files, as a pull that cannot
// finish leaves none; what cannot be removed is logged.
func (s *Store) dropDownloads(ctx context.Context, files []File, log *slog.Logger) {
	for _, f := range files {
		if err := s.dropDownload(ctx, f, log); err != nil {
			log.Warn("a download was not removed", "file", f.Path, "err", err)
		}
		if err := os.Remove(s.downloadPath(f) + ".partial"); err != nil && !errors.Is(err, fs.ErrNotExist) {
			log.Warn("a partial download was not removed", "file", f.Path, "err", err)
		}
	}
}

func digestOf(h hash.Hash) string { return "sha256:" + hex.EncodeToString(h.Sum(nil)) }

// progressWriter passes writes on and reports the bytes done after each.
type progressWriter struct {
	w        io.Writer
	p        *FileProgress
	progress func(FileProgress)
}

// Write writes b on and reports the bytes done.
func (pw *progressWriter) Write(b []byte) (int, error) {
	n, err := pw.w.Write(b)
	pw.p.Done += int64(n)
	pw.progress(*pw.p)
	return n, err
}

// lockPoll is how often a pull that waits for a lock tries again.
const lockPoll = 50 * time.Millisecond

// lockFile takes an exclusive lock on the file at name, creating it, and returns the
// function that releases it. While another process or goroutine holds the lock, it logs
// once that it waits for what, and tries again until ctx ends. The lock is flock(2)'s: the
// system releases it when its holder exits, however it exits.
func lockFile(ctx context.Context, name, what string, log *slog.Logger) (func(), error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	logged := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil // closing releases the lock
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", name, err)
		}
		if !logged {
			log.Info("waiting for " + what)
			logged = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(lockPoll):
		}
	}
}
