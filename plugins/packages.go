package plugins

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/prophasis/prophasis/plugins/archive"
	"github.com/prophasis/prophasis/store"
)

// ErrNoPackage is returned by Packages.Open for a hash it does not hold.
var ErrNoPackage = errors.New("no plugin package with that hash")

// ErrNoPackageForKind refuses a package for a plugin the agent runs
// without one (builtin collectors).
var ErrNoPackageForKind = errors.New("plugins of this kind take no package")

// Packages is the server's store of plugin packages: each .tar.gz kept
// once, named by its SHA-256 (DIR/<sha256>.tar.gz), with the plugin's row in
// the store naming the one it uses. Safe for concurrent use: files are
// written under a temporary name and renamed into place, so a reader sees a
// whole package or none.
type Packages struct {
	dir    string
	st     PackageIndex
	logger *slog.Logger
	// mu serialises uploads, so removing an unused package cannot race
	// with another plugin taking it up. Uploads are rare.
	mu sync.Mutex
}

// PackageIndex is what Packages reads to know which packages are in use:
// the plugins (their current package) and every version the registry keeps.
// store.Store is one.
type PackageIndex interface {
	store.PluginStore
	store.PluginVersionStore
}

// NewPackages returns the package store kept in dir (the server passes
// DATA/plugins), creating dir if needed.
func NewPackages(dir string, st PackageIndex, logger *slog.Logger) (*Packages, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("plugin packages: %w", err)
	}
	return &Packages{dir: dir, st: st, logger: logger.With("component", "plugins")}, nil
}

// Put checks body (a .tar.gz, at most archive.MaxBytes) against the rules
// of package archive and the plugin's entrypoint, stores it and makes it
// the plugin's package. A package no plugin uses any more is deleted. An
// invalid archive gives an error wrapping archive.ErrInvalid and changes
// nothing; an unknown plugin one wrapping store.ErrNotFound.
func (p *Packages) Put(ctx context.Context, name string, body []byte) (store.Plugin, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pl, err := p.st.Plugin(ctx, name)
	if err != nil {
		return pl, err
	}
	if pl.Kind == "builtin" {
		return pl, fmt.Errorf("plugin %q is a built-in collector: %w", name, ErrNoPackageForKind)
	}
	if len(body) > archive.MaxBytes {
		return pl, fmt.Errorf("plugin %q: %w: larger than %d bytes", name, archive.ErrInvalid, archive.MaxBytes)
	}
	sum, err := archive.Validate(bytes.NewReader(body), pl.Entrypoint)
	if err != nil {
		return pl, fmt.Errorf("plugin %q: %w", name, err)
	}
	sha := archive.SHA256(body)
	if err := p.write(sha, body); err != nil {
		return pl, err
	}
	old := pl.SHA256
	if pl, err = p.st.SetPluginPackage(ctx, name, sha); err != nil {
		return pl, err
	}
	p.logger.Info("plugin package stored", "plugin", name, "sha256", sha, "bytes", len(body),
		"files", sum.Files, "unpacked_bytes", sum.UnpackedBytes)
	if old != "" && old != sha {
		p.removeUnused(ctx, old)
	}
	return pl, nil
}

// Open returns the package called sha256, or an error wrapping
// ErrNoPackage. The caller closes it.
func (p *Packages) Open(sha256 string) (*os.File, error) {
	if !archive.ValidHash(sha256) {
		return nil, fmt.Errorf("%w: %q is not a lowercase hex SHA-256", ErrNoPackage, sha256)
	}
	f, err := os.Open(p.path(sha256))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNoPackage, sha256)
	}
	return f, err
}

func (p *Packages) path(sha string) string { return filepath.Join(p.dir, sha+".tar.gz") }

// write stores body as DIR/<sha>.tar.gz, durably, unless it is there.
func (p *Packages) write(sha string, body []byte) error {
	dst := p.path(sha)
	if _, err := os.Stat(dst); err == nil {
		return nil // content-addressed: the same bytes
	}
	f, err := os.CreateTemp(p.dir, ".upload-*")
	if err != nil {
		return fmt.Errorf("store plugin package: %w", err)
	}
	_, err = f.Write(body)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), dst)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("store plugin package: %w", err)
	}
	return nil
}

// Prune deletes every package neither a plugin nor a kept version uses (a
// deleted plugin's or version's, say) and uploads a crash cut short. The
// server runs it at start.
func (p *Packages) Prune(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	used, err := p.used(ctx)
	if err != nil {
		return fmt.Errorf("prune plugin packages: %w", err)
	}
	entries, err := os.ReadDir(p.dir)
	if err != nil {
		return fmt.Errorf("prune plugin packages: %w", err)
	}
	for _, e := range entries {
		if used[strings.TrimSuffix(e.Name(), ".tar.gz")] && strings.HasSuffix(e.Name(), ".tar.gz") {
			continue
		}
		if err := os.Remove(filepath.Join(p.dir, e.Name())); err != nil {
			return fmt.Errorf("prune plugin packages: %w", err)
		}
		p.logger.Info("unused plugin package removed", "file", e.Name())
	}
	return nil
}

// used returns the hashes of every package a plugin or a version uses.
func (p *Packages) used(ctx context.Context) (map[string]bool, error) {
	all, err := p.st.Plugins(ctx)
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	for _, pl := range all {
		if pl.SHA256 != "" {
			used[pl.SHA256] = true
		}
		vs, err := p.st.PluginVersions(ctx, pl.Name)
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			used[v.SHA256] = true
		}
	}
	return used, nil
}

// removeUnused deletes package sha unless a plugin or a version still
// uses it. Failure only leaves a file behind, so it is logged, not
// returned. The caller holds p.mu.
func (p *Packages) removeUnused(ctx context.Context, sha string) {
	used, err := p.used(ctx)
	if err != nil {
		p.logger.Warn("old plugin package kept", "sha256", sha, "err", err)
		return
	}
	if used[sha] {
		return
	}
	if err := os.Remove(p.path(sha)); err != nil && !errors.Is(err, os.ErrNotExist) {
		p.logger.Warn("old plugin package kept", "sha256", sha, "err", err)
	}
}

// publish stores body as package sha and runs record (which makes a
// plugin or version use it), under the lock that keeps removals from
// racing with it. When record fails, a package nothing uses is removed
// again: a refused upload leaves nothing behind.
func (p *Packages) publish(ctx context.Context, sha string, body []byte, record func() error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, statErr := os.Stat(p.path(sha))
	if err := p.write(sha, body); err != nil {
		return err
	}
	if err := record(); err != nil {
		if statErr != nil {
			p.removeUnused(ctx, sha)
		}
		return err
	}
	return nil
}

// forget removes package sha if nothing uses it any more (after a version
// was deleted).
func (p *Packages) forget(ctx context.Context, sha string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.removeUnused(ctx, sha)
}
