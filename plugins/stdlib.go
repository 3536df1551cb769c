package plugins

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/prophasis/prophasis/plugins/pkg"
	"github.com/prophasis/prophasis/store"
)

// PublishStandard publishes the standard library (fsys holds one plugin
// directory per entry at its root, as plugins/std.FS does): each plugin ×
// version not in the store yet is packed and published, current only when
// newer than the plugin's current version, so a server upgrade ships new
// versions and never overwrites a user's newer one. It returns how many
// versions it published. The packages are the server's own code, so they
// need no signature even when uploads do.
func (r *Registry) PublishStandard(ctx context.Context, fsys fs.FS) (int, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return 0, fmt.Errorf("standard plugins: %w", err)
	}
	published := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		body, err := packFS(fsys, e.Name())
		if err != nil {
			return published, fmt.Errorf("standard plugin %s: %w", e.Name(), err)
		}
		p, err := pkg.Read(bytes.NewReader(body))
		if err != nil {
			return published, fmt.Errorf("standard plugin %s: %w", e.Name(), err)
		}
		m := p.Manifest
		if _, err := r.st.PluginVersion(ctx, m.Name, m.Version); err == nil {
			continue
		} else if !errors.Is(err, store.ErrNotFound) {
			return published, err
		}
		v, mp, err := r.check(body, "", nil)
		if err != nil {
			return published, fmt.Errorf("standard plugin %s: %w", e.Name(), err)
		}
		if _, _, err := r.publish(ctx, v, mp, body, true); err != nil {
			return published, fmt.Errorf("standard plugin %s: %w", e.Name(), err)
		}
		published++
	}
	return published, nil
}

// packFS packs directory dir of fsys as `prophasis plugin pack` packs a
// source tree: it copies the files into a temporary directory, restoring
// the modes embed.FS drops (files under bin/ 0755, the rest 0644), and
// packs that with pkg.Pack, so the package and its hash are the same as
// the CLI's.
func packFS(fsys fs.FS, dir string) ([]byte, error) {
	tmp, err := os.MkdirTemp("", "prophasis-std-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	root := filepath.Join(tmp, path.Base(dir))
	err = fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, dir), "/")
		dst := filepath.Join(root, filepath.FromSlash(rel))
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: not a regular file", p)
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if strings.HasPrefix(rel, "bin/") {
			mode = 0o755
		}
		if err := os.WriteFile(dst, b, mode); err != nil {
			return err
		}
		return os.Chmod(dst, mode) // whatever the umask
	})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := pkg.Pack(root, &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
