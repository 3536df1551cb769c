package pkg

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/prophasis/prophasis/plugins/archive"
	"github.com/prophasis/prophasis/plugins/manifest"
)

// mtime is every entry's modification time: packing the same directory
// twice gives the same bytes, hence the same SHA-256.
var mtime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// skipped are names Pack leaves out wherever they are: version control and
// editor litter, never part of a plugin.
var skipped = map[string]bool{".git": true, ".hg": true, ".svn": true, ".DS_Store": true}

// Pack writes the plugin in dir as a package .tar.gz to w. The archive is
// deterministic: entries sorted by path, mtime fixed, owner 0:0 without
// names, directories 0755 and files 0755 if executable by anyone, else
// 0644. It refuses, writing nothing, a directory without a valid
// manifest.json, symbolic links leaving the package (absolute or with
// ".."), devices, FIFOs and sockets, more than archive.MaxEntries entries,
// files past archive.MaxUnpackedBytes, an archive past archive.MaxBytes,
// and anything Read would refuse (a missing entrypoint or classifier, an
// entrypoint that is not executable). .git, .hg, .svn and .DS_Store are
// left out.
func Pack(dir string, w io.Writer) error {
	b, err := pack(dir)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// ReadDir packs dir in memory and reads the result: the package exactly
// as Pack would write it.
func ReadDir(dir string) (*Package, error) {
	b, err := pack(dir)
	if err != nil {
		return nil, err
	}
	return Read(bytes.NewReader(b))
}

func pack(dir string) ([]byte, error) {
	mf := filepath.Join(dir, manifest.FileName)
	data, err := readSmall(mf, manifest.MaxBytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, manifest.FileName, err)
	}
	m, err := manifest.Parse(data)
	if err == nil {
		err = m.Validate()
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, mf, err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	var entries int
	var unpacked int64
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		name := filepath.ToSlash(rel)
		if skipped[d.Name()] {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if entries++; entries > archive.MaxEntries {
			return fmt.Errorf("more than %d files and directories", archive.MaxEntries)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		h := &tar.Header{Name: name, ModTime: mtime, Format: tar.FormatPAX}
		switch mode := info.Mode(); {
		case mode.IsDir():
			h.Typeflag, h.Name, h.Mode = tar.TypeDir, name+"/", 0o755
		case mode&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			t := filepath.ToSlash(target)
			if filepath.IsAbs(target) || strings.HasPrefix(t, "/") || strings.Contains(t, "\\") || containsDotDot(t) {
				return fmt.Errorf("%s: symbolic link to %q leaves the package (links must be relative, without '..')", name, target)
			}
			h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, t, 0o777
		case mode.IsRegular():
			if unpacked += info.Size(); unpacked > archive.MaxUnpackedBytes {
				return fmt.Errorf("%s: the files add up to more than %d bytes", name, archive.MaxUnpackedBytes)
			}
			h.Typeflag, h.Size, h.Mode = tar.TypeReg, info.Size(), 0o644
			if mode&0o111 != 0 {
				h.Mode = 0o755
			}
		default:
			return fmt.Errorf("%s: %s files cannot be packed", name, typeName(mode))
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if h.Typeflag != tar.TypeReg {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		// The size was fixed in the header; a file growing meanwhile is cut.
		if _, err := io.Copy(tw, io.LimitReader(f, h.Size)); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	})
	if err == nil {
		err = tw.Close()
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("%w: pack %s: %w", ErrInvalid, dir, err)
	}
	if buf.Len() > archive.MaxBytes {
		return nil, fmt.Errorf("%w: pack %s: the package is %d bytes, more than %d", ErrInvalid, dir, buf.Len(), archive.MaxBytes)
	}
	// What Read refuses, Pack refuses: a package it wrote always uploads.
	if _, err := Read(bytes.NewReader(buf.Bytes())); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// readSmall reads a file of at most limit bytes.
func readSmall(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, errors.New("missing: a plugin directory needs a manifest.json (prophasis plugin new makes one)")
		}
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("more than %d bytes", limit)
	}
	return b, nil
}

func containsDotDot(p string) bool {
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return true
		}
	}
	return path.IsAbs(p)
}

func typeName(m fs.FileMode) string {
	switch {
	case m&fs.ModeDevice != 0:
		return "device"
	case m&fs.ModeNamedPipe != 0:
		return "FIFO"
	case m&fs.ModeSocket != 0:
		return "socket"
	}
	return "irregular"
}
