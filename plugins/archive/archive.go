// Package archive is the plugin package format's archive: a gzip-compressed
// tar holding a plugin's files. Validate checks an archive without writing
// anything (the server, at upload); Unpack checks it again while writing it
// under a fresh directory (the agent, which never trusts the server
// blindly). Both apply the same rules, so an archive the server accepted is
// one the agent can unpack.
//
// It imports the standard library only: the agent and the server's plugin
// registry (package plugins) both import it.
package archive

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Limits of an archive. MaxBytes bounds the compressed archive (the upload
// and the download); MaxUnpackedBytes the sum of its files' sizes, so a
// small archive cannot fill a disk (a gzip bomb); MaxEntries the number of
// entries, so headers alone cannot exhaust memory or inodes.
const (
	MaxBytes         = 32 << 20
	MaxUnpackedBytes = 256 << 20
	MaxEntries       = 10000
	maxNameLen       = 1024
)

// ErrInvalid marks an archive that breaks a rule; test with errors.Is. Its
// message says which entry and which rule.
var ErrInvalid = errors.New("invalid plugin archive")

// Summary describes a valid archive.
type Summary struct {
	// Files, Dirs and Links count the entries by type.
	Files, Dirs, Links int
	// UnpackedBytes is the sum of the regular files' sizes.
	UnpackedBytes int64
}

// SHA256 returns the lowercase hex SHA-256 of b: the name of a package.
func SHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// ValidHash reports whether s looks like a package name: 64 lowercase hex
// digits. Both sides check it before putting a hash into a file path.
func ValidHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// CleanEntrypoint returns entrypoint as a clean slash-separated path inside
// the package, or an error when it is absolute, empty or leaves the package.
func CleanEntrypoint(entrypoint string) (string, error) {
	e := path.Clean(strings.TrimPrefix(entrypoint, "./"))
	if entrypoint == "" || !fs.ValidPath(e) || e == "." || strings.Contains(e, "\\") {
		return "", fmt.Errorf("%w: entrypoint %q must be a relative path inside the package", ErrInvalid, entrypoint)
	}
	return e, nil
}

// Validate reads a whole archive and checks every rule: gzip and tar are
// readable; entry names are relative, without "..", unique and not under a
// symbolic link; symbolic links point inside the package (relative, without
// ".."); hard links name an earlier regular file; there are no device files,
// FIFOs or sockets; at most MaxEntries entries and MaxUnpackedBytes of
// files; and entrypoint is a regular file in it.
func Validate(r io.Reader, entrypoint string) (Summary, error) {
	return walk(r, entrypoint, nil)
}

// Unpack checks the archive as Validate does while writing it under dir,
// which must not exist yet. Directories get mode 0755, files 0755 when the
// archive marks them executable by anyone and 0644 otherwise, so another
// user can read and run them but not change them. On error dir is removed.
func Unpack(r io.Reader, dir, entrypoint string) (err error) {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("unpack: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	// Mkdir's mode is subject to the umask; the modes are a promise.
	if err := os.Chmod(dir, 0o755); err != nil {
		return fmt.Errorf("unpack: %w", err)
	}
	_, err = walk(r, entrypoint, func(e entry, body io.Reader) error { return write(dir, e, body) })
	return err
}

// entry is one checked tar entry.
type entry struct {
	name   string // clean, slash-separated, relative
	typ    byte   // tar.TypeReg, TypeDir, TypeSymlink or TypeLink
	target string // link target (clean, relative to the package for TypeLink)
	exec   bool
}

// walk reads the archive and checks each entry; with do set it hands each
// valid entry to it, in archive order.
func walk(r io.Reader, entrypoint string, do func(entry, io.Reader) error) (Summary, error) {
	var sum Summary
	ep, err := CleanEntrypoint(entrypoint)
	if err != nil {
		return sum, err
	}
	zr, err := gzip.NewReader(r)
	if err != nil {
		return sum, fmt.Errorf("%w: not gzip: %w", ErrInvalid, err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	seen := map[string]byte{} // name -> type
	for n := 0; ; n++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return sum, fmt.Errorf("%w: read tar: %w", ErrInvalid, err)
		}
		if n >= MaxEntries {
			return sum, fmt.Errorf("%w: more than %d entries", ErrInvalid, MaxEntries)
		}
		if h.Typeflag == tar.TypeXGlobalHeader {
			continue // PAX metadata, not a file
		}
		e, err := check(h, seen)
		if err != nil {
			return sum, err
		}
		if e.name == "" {
			continue // the root directory itself
		}
		var body io.Reader
		switch e.typ {
		case tar.TypeReg:
			sum.Files++
			if h.Size < 0 || h.Size > MaxUnpackedBytes-sum.UnpackedBytes {
				return sum, fmt.Errorf("%w: files unpack to more than %d bytes", ErrInvalid, MaxUnpackedBytes)
			}
			sum.UnpackedBytes += h.Size
			body = tr
		case tar.TypeDir:
			sum.Dirs++
		default:
			sum.Links++
		}
		seen[e.name] = e.typ
		for dir := path.Dir(e.name); dir != "."; dir = path.Dir(dir) {
			seen[dir] = tar.TypeDir // created implicitly, if not listed
		}
		if do != nil {
			if err := do(e, body); err != nil {
				return sum, err
			}
		}
	}
	// Reading to the end of the gzip stream checks its CRC.
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return sum, fmt.Errorf("%w: read gzip: %w", ErrInvalid, err)
	}
	switch typ, ok := seen[ep]; {
	case !ok:
		return sum, fmt.Errorf("%w: entrypoint %q is not in the archive", ErrInvalid, ep)
	case typ != tar.TypeReg && typ != tar.TypeLink:
		return sum, fmt.Errorf("%w: entrypoint %q is not a regular file", ErrInvalid, ep)
	}
	return sum, nil
}

// check applies the rules to one header, given the entries before it.
func check(h *tar.Header, seen map[string]byte) (entry, error) {
	bad := func(format string, args ...any) (entry, error) {
		return entry{}, fmt.Errorf("%w: entry %q: %s", ErrInvalid, h.Name, fmt.Sprintf(format, args...))
	}
	if len(h.Name) > maxNameLen || strings.ContainsRune(h.Name, 0) || strings.Contains(h.Name, "\\") {
		return bad("name too long or with NUL or backslash")
	}
	if strings.HasPrefix(h.Name, "/") {
		return bad("absolute path")
	}
	for _, part := range strings.Split(h.Name, "/") {
		if part == ".." {
			return bad("path contains '..'")
		}
	}
	name := path.Clean(h.Name)
	if name == "." {
		if h.Typeflag != tar.TypeDir {
			return bad("the package root must be a directory")
		}
		return entry{}, nil
	}
	if !fs.ValidPath(name) {
		return bad("not a valid relative path")
	}
	if typ, dup := seen[name]; dup && (typ != tar.TypeDir || h.Typeflag != tar.TypeDir) {
		return bad("appears twice")
	}
	// Every parent must be a directory of the archive or not mentioned;
	// never a link, so a later entry cannot be written through one.
	for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
		if typ, ok := seen[dir]; ok && typ != tar.TypeDir {
			return bad("lies under %q, which is not a directory", dir)
		}
	}
	e := entry{name: name, exec: h.Mode&0o111 != 0}
	switch h.Typeflag {
	case tar.TypeReg: // the reader already turns the old TypeRegA into TypeReg
		e.typ = tar.TypeReg
	case tar.TypeDir:
		e.typ = tar.TypeDir
	case tar.TypeSymlink:
		// Relative and without "..": resolving it only ever descends from
		// the link's directory, whatever other links it passes through.
		t := h.Linkname
		if t == "" || strings.HasPrefix(t, "/") || strings.ContainsRune(t, 0) || strings.Contains(t, "\\") {
			return bad("symbolic link to %q: links must be relative", t)
		}
		for _, part := range strings.Split(t, "/") {
			if part == ".." {
				return bad("symbolic link to %q leaves the package", t)
			}
		}
		e.typ, e.target = tar.TypeSymlink, t
	case tar.TypeLink:
		t := path.Clean(h.Linkname)
		if typ, ok := seen[t]; !ok || typ != tar.TypeReg || !fs.ValidPath(t) {
			return bad("hard link to %q, which is not an earlier regular file of the package", h.Linkname)
		}
		e.typ, e.target = tar.TypeLink, t
	case tar.TypeChar, tar.TypeBlock:
		return bad("device files are not allowed")
	case tar.TypeFifo:
		return bad("FIFOs are not allowed")
	default:
		return bad("entry type %q is not allowed", h.Typeflag)
	}
	return e, nil
}

// write creates one checked entry under dir. Parents the archive does not
// list are created; none of them is a link (check saw to it).
func write(dir string, e entry, body io.Reader) error {
	dst := filepath.Join(dir, filepath.FromSlash(e.name))
	if err := mkdirAll(dir, filepath.Dir(dst)); err != nil {
		return err
	}
	switch e.typ {
	case tar.TypeDir:
		return mkdirAll(dir, dst)
	case tar.TypeSymlink:
		if err := os.Symlink(e.target, dst); err != nil {
			return fmt.Errorf("unpack %s: %w", e.name, err)
		}
		return nil
	case tar.TypeLink:
		if err := os.Link(filepath.Join(dir, filepath.FromSlash(e.target)), dst); err != nil {
			return fmt.Errorf("unpack %s: %w", e.name, err)
		}
		return nil
	}
	mode := os.FileMode(0o644)
	if e.exec {
		mode = 0o755
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("unpack %s: %w", e.name, err)
	}
	_, err = io.Copy(f, body)
	if err == nil {
		err = f.Chmod(mode) // past the umask
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("unpack %s: %w", e.name, err)
	}
	return nil
}

// mkdirAll creates p (inside root) and its missing parents with mode 0755.
func mkdirAll(root, p string) error {
	if p == root {
		return nil
	}
	fi, err := os.Lstat(p)
	switch {
	case err == nil && fi.IsDir():
		return nil
	case err == nil:
		return fmt.Errorf("unpack: %s exists and is not a directory", p)
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("unpack: %w", err)
	}
	if err := mkdirAll(root, filepath.Dir(p)); err != nil {
		return err
	}
	if err := os.Mkdir(p, 0o755); err != nil {
		return fmt.Errorf("unpack: %w", err)
	}
	return os.Chmod(p, 0o755)
}
