package agent

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/prophasis/prophasis/plugins/archive"
	"github.com/prophasis/prophasis/plugins/sign"
	"github.com/prophasis/prophasis/wire"
)

// packages keeps the plugin packages the plan uses, each unpacked under
// DATA/plugins/<sha256>/. The agent fetches them when a plan arrives
// (syncPlan, before the scheduler sees the plan, so the first run finds its
// package) and only those it lacks: a directory named by a hash is complete,
// because it is unpacked under a temporary name and renamed into place.
// Bytes are checked against the plan's SHA-256 before anything is written,
// and unpacked with the same rules the server applied at upload (package
// plugins/archive): the agent does not trust the server blindly. A package
// that failed (network, hash mismatch, a bad archive) is retried at the next
// plan poll; meanwhile its runs report unknown with the reason. Directories
// no run of the current plan uses are removed after the scheduler has the
// new plan.
//
// Files belong to the agent's user, directories 0755 and files 0755 or
// 0644, so the unprivileged plugin user can read and run them but not
// change them. Safe for concurrent use: syncPlan writes, tasks read.
type packages struct {
	dir    string
	fetch  func(ctx context.Context, sha256 string) ([]byte, error)
	logger *slog.Logger

	// trusted are the public keys (package plugins/sign's text form) a
	// package must be signed by; none means signatures are not checked.
	trusted []string

	mu     sync.Mutex
	failed map[string]string // hash -> why its last fetch failed
}

// requireSignatures makes the cache accept only packages whose plan entry
// carries a signature by one of keys. Packages unpacked before (by an agent
// that may not have checked) are removed, so each is fetched and verified
// again.
func (p *packages) requireSignatures(keys []string) error {
	p.trusted = keys
	entries, err := os.ReadDir(p.dir)
	if err != nil {
		return fmt.Errorf("plugin packages: %w", err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(p.dir, e.Name())); err != nil {
			return fmt.Errorf("plugin packages: %w", err)
		}
	}
	return nil
}

// errHashMismatch is the message of a run whose package did not match.
const errHashMismatch = "plugin package hash mismatch"

// errSignature starts the message of a run whose package's signature is
// missing or not by a trusted key.
const errSignature = "plugin package signature refused"

// newPackages returns the package cache under dataDir/plugins. When the
// agent is root, plugins run as another user who must be able to reach the
// packages: the data directory then gets search permission for others
// (0711: they can pass through it, not list it; the credential and the
// spool keep their own 0600/0700).
func newPackages(dataDir string, fetch func(context.Context, string) ([]byte, error), logger *slog.Logger) (*packages, error) {
	dir := filepath.Join(dataDir, "plugins")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("plugin packages: %w", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, fmt.Errorf("plugin packages: %w", err)
	}
	if os.Geteuid() == 0 {
		if fi, err := os.Stat(dataDir); err == nil && fi.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(dataDir, fi.Mode().Perm()|0o011); err != nil {
				return nil, fmt.Errorf("plugin packages: let the plugin user reach them: %w", err)
			}
		}
	}
	return &packages{dir: dir, fetch: fetch, logger: logger.With("component", "packages"), failed: map[string]string{}}, nil
}

// needsPackage reports whether run runs a program from a package: it names
// one and its entrypoint is not an absolute path on the host.
func needsPackage(run wire.PlanRun) bool {
	return run.Kind != "builtin" && run.SHA256 != "" && !filepath.IsAbs(run.Entrypoint)
}

// fetchMissing downloads and unpacks every package runs need that is not
// here yet, and returns how many are still missing (to retry later).
func (p *packages) fetchMissing(ctx context.Context, runs []wire.PlanRun) int {
	missing := 0
	for _, sha := range p.needed(runs) {
		if _, err := os.Stat(filepath.Join(p.dir, sha)); err == nil {
			p.setFailed(sha, "")
			continue
		}
		if ctx.Err() != nil {
			return missing + 1
		}
		entrypoint, signature := "", ""
		for _, r := range runs {
			if needsPackage(r) && r.SHA256 == sha {
				entrypoint = r.Entrypoint
				if signature == "" {
					signature = r.Signature
				}
			}
		}
		if err := p.fetchOne(ctx, sha, entrypoint, signature); err != nil {
			if ctx.Err() != nil {
				return missing + 1
			}
			missing++
			p.setFailed(sha, err.Error())
			p.logger.Warn("plugin package not installed; retried at the next plan poll", "sha256", sha, "err", err)
			continue
		}
		p.setFailed(sha, "")
		p.logger.Info("plugin package installed", "sha256", sha)
	}
	return missing
}

// needed returns the distinct hashes runs need, sorted.
func (p *packages) needed(runs []wire.PlanRun) []string {
	var out []string
	for _, r := range runs {
		if needsPackage(r) && !slices.Contains(out, r.SHA256) {
			out = append(out, r.SHA256)
		}
	}
	slices.Sort(out)
	return out
}

// fetchOne downloads package sha, checks its hash (and, with trusted
// keys, its signature) and unpacks it.
func (p *packages) fetchOne(ctx context.Context, sha, entrypoint, signature string) error {
	if !archive.ValidHash(sha) {
		// Never let a server's string become a path.
		return fmt.Errorf("the plan names package %q, which is not a lowercase hex SHA-256", sha)
	}
	if len(p.trusted) > 0 && signature == "" {
		return fmt.Errorf("%s: package %s is not signed, and this agent runs only packages signed by its trusted keys (--plugin-keys)",
			errSignature, sha)
	}
	b, err := p.fetch(ctx, sha)
	if err != nil {
		return err
	}
	if got := archive.SHA256(b); got != sha {
		// Nothing of it was written; the bytes are dropped here.
		return fmt.Errorf("%s: the server sent %d bytes with SHA-256 %s, the plan says %s; refused", errHashMismatch, len(b), got, sha)
	}
	if len(p.trusted) > 0 {
		if _, err := sign.Verify(b, signature, p.trusted); err != nil {
			return fmt.Errorf("%s: package %s: %w; refused", errSignature, sha, err)
		}
	}
	tmp := filepath.Join(p.dir, ".tmp-"+sha)
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("unpack plugin package: %w", err)
	}
	if err := archive.Unpack(bytes.NewReader(b), tmp, entrypoint); err != nil {
		return fmt.Errorf("unpack plugin package: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(p.dir, sha)); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("unpack plugin package: %w", err)
	}
	return nil
}

// removeUnused deletes every package directory (and leftover temporary
// one) no run of runs uses: old versions.
func (p *packages) removeUnused(runs []wire.PlanRun) {
	keep := p.needed(runs)
	entries, err := os.ReadDir(p.dir)
	if err != nil {
		p.logger.Warn("old plugin packages not removed", "err", err)
		return
	}
	for _, e := range entries {
		if slices.Contains(keep, e.Name()) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(p.dir, e.Name())); err != nil {
			p.logger.Warn("old plugin package not removed", "name", e.Name(), "err", err)
			continue
		}
		p.setFailed(e.Name(), "")
		if !strings.HasPrefix(e.Name(), ".") {
			p.logger.Info("old plugin package removed", "sha256", e.Name())
		}
	}
}

// program returns the file to run for a packaged run, or why it cannot run.
func (p *packages) program(run wire.PlanRun) (path, problem string) {
	if !archive.ValidHash(run.SHA256) {
		return "", fmt.Sprintf("plugin %q: package %q is not a lowercase hex SHA-256", run.Plugin, run.SHA256)
	}
	ep, err := archive.CleanEntrypoint(run.Entrypoint)
	if err != nil {
		return "", fmt.Sprintf("plugin %q: %v", run.Plugin, err)
	}
	dir := filepath.Join(p.dir, run.SHA256)
	if _, err := os.Stat(dir); err != nil {
		p.mu.Lock()
		why := p.failed[run.SHA256]
		p.mu.Unlock()
		if why == "" {
			why = "plugin package " + run.SHA256 + " is not downloaded yet"
		}
		return "", fmt.Sprintf("plugin %q: %s", run.Plugin, why)
	}
	path = filepath.Join(dir, filepath.FromSlash(ep))
	if fi, err := os.Lstat(path); err != nil || !fi.Mode().IsRegular() {
		return "", fmt.Sprintf("plugin %q: entrypoint %q is not a file of its package %s", run.Plugin, ep, run.SHA256)
	}
	return path, ""
}

func (p *packages) setFailed(sha, why string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if why == "" {
		delete(p.failed, sha)
	} else {
		p.failed[sha] = why
	}
}
