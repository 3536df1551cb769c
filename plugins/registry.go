package plugins

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/prophasis/prophasis/plugins/archive"
	"github.com/prophasis/prophasis/plugins/manifest"
	"github.com/prophasis/prophasis/plugins/pkg"
	"github.com/prophasis/prophasis/plugins/sign"
	"github.com/prophasis/prophasis/store"
)

// ErrBadPackage marks an upload the registry refuses for what it holds (an
// invalid archive or manifest, lint errors, a missing or bad signature);
// the error says why. Test with errors.Is.
var ErrBadPackage = errors.New("bad plugin package")

// MaxPackageBytes bounds an uploaded package: the package format's own
// limit (archive.MaxBytes), since nothing larger can be a valid package.
const MaxPackageBytes = archive.MaxBytes

// RegistryStore is what the registry keeps its versions and trend rules
// in; store.Store is one.
type RegistryStore interface {
	PackageIndex
	store.TrendRuleStore
	store.CheckStore
	store.GroupStore
	store.AgentStore
}

// Registry is the server's plugin registry: it checks uploaded packages,
// keeps them content-addressed (Packages) and publishes them as plugin
// versions in the store, several side by side; it rolls plugins back and
// forward and installs the trend rules their manifests ship. Safe for
// concurrent use.
type Registry struct {
	st      RegistryStore
	pkgs    *Packages
	trusted []string
	logger  *slog.Logger
}

// NewRegistry returns the registry over st and pkgs. With trusted public
// keys (package sign's text form), it accepts only packages signed by one
// of them; without, signatures are optional and kept unverified.
func NewRegistry(st RegistryStore, pkgs *Packages, trusted []string, logger *slog.Logger) *Registry {
	return &Registry{st: st, pkgs: pkgs, trusted: trusted, logger: logger.With("component", "registry")}
}

// RequiresSignatures reports whether uploads must be signed.
func (r *Registry) RequiresSignatures() bool { return len(r.trusted) > 0 }

// Upload checks a package (.tar.gz body, its detached signature or "")
// and publishes it as a version of the plugin its manifest names, uploaded
// by by. It becomes the plugin's current version when it is newer (by
// semantic version) than the current one, or the plugin is new; the
// trend rules of a version that becomes current are installed as
// "<plugin>.<rule>". A package the registry refuses gives an error wrapping
// ErrBadPackage and writes nothing; the same version with other content
// one wrapping store.ErrConflict; uploading the same package twice is
// harmless.
func (r *Registry) Upload(ctx context.Context, body []byte, signature, by string) (store.PluginVersion, error) {
	v, _, err := r.UploadVersion(ctx, body, signature, by)
	return v, err
}

// UploadVersion is Upload that also reports whether the version is new
// (false: the same package was already published).
func (r *Registry) UploadVersion(ctx context.Context, body []byte, signature, by string) (store.PluginVersion, bool, error) {
	v, m, err := r.check(body, signature, r.trusted)
	if err != nil {
		return v, false, err
	}
	v.UploadedBy = by
	return r.publish(ctx, v, m, body, false)
}

// check reads, lints and verifies a package (against trusted; none makes
// the signature optional) and returns the version it would publish.
func (r *Registry) check(body []byte, signature string, trusted []string) (store.PluginVersion, *manifest.Manifest, error) {
	var v store.PluginVersion
	if len(body) > MaxPackageBytes {
		return v, nil, fmt.Errorf("%w: %d bytes, more than %d", ErrBadPackage, len(body), MaxPackageBytes)
	}
	p, err := pkg.Read(bytes.NewReader(body))
	if err != nil {
		return v, nil, fmt.Errorf("%w: %w", ErrBadPackage, err)
	}
	var problems []string
	for _, f := range pkg.Lint(p) {
		if f.Severity == pkg.SeverityError {
			problems = append(problems, f.String())
		}
	}
	if len(problems) > 0 {
		return v, nil, fmt.Errorf("%w: %s %s fails lint (run `prophasis plugin lint`):\n%s", ErrBadPackage,
			p.Manifest.Name, p.Manifest.Version, strings.Join(problems, "\n"))
	}
	signature = strings.TrimSpace(signature)
	signer := ""
	switch {
	case len(trusted) > 0 && signature == "":
		return v, nil, fmt.Errorf("%w: this server accepts only packages signed by one of its trusted keys; sign it (`prophasis plugin sign`) and send the signature",
			ErrBadPackage)
	case len(trusted) > 0:
		if signer, err = sign.Verify(body, signature, trusted); err != nil {
			return v, nil, fmt.Errorf("%w: signature: %w", ErrBadPackage, err)
		}
	case len(signature) > 4<<10:
		return v, nil, fmt.Errorf("%w: signature over 4 KiB", ErrBadPackage)
	}
	m := p.Manifest
	raw, err := json.Marshal(m)
	if err != nil {
		return v, nil, fmt.Errorf("%w: manifest: %w", ErrBadPackage, err)
	}
	v = store.PluginVersion{
		Plugin: m.Name, Version: m.Version, SHA256: p.SHA256, Manifest: raw, Description: m.Description,
		Kind: m.Kind, Entrypoint: m.Entrypoint, Args: m.Args, Timeout: store.Duration(m.TimeoutDuration()),
		Classifier: p.Classifier, History: m.History, Signer: signer, Signature: signature, Size: p.Size,
	}
	return v, &m, nil
}

// publish writes the package and the version, then the trend rules of a
// version that became current. It becomes current when the plugin is new
// or the version is newer than the current one; with shipped (the standard
// library), only when the current one is itself a registry version, so a
// plugin a user made by hand under the same name is never replaced by an
// upgrade of the server.
func (r *Registry) publish(ctx context.Context, v store.PluginVersion, m *manifest.Manifest, body []byte, shipped bool) (store.PluginVersion, bool, error) {
	var pl store.Plugin
	created := true
	was := r.currentManifest(ctx, v.Plugin)
	// Deciding whether v becomes current and publishing it happen under
	// the package store's lock, so two uploads at once cannot both see
	// the old current version and leave the lower one current.
	err := r.pkgs.publish(ctx, v.SHA256, body, func() error {
		if old, err := r.st.PluginVersion(ctx, v.Plugin, v.Version); err == nil && old.SHA256 == v.SHA256 {
			created = false
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		current, err := r.becomesCurrent(ctx, v, shipped)
		if err != nil {
			return err
		}
		pl, err = r.st.PublishPluginVersion(ctx, v, current)
		return err
	})
	if err != nil {
		if errors.Is(err, store.ErrInvalid) {
			// A classifier the engine cannot compile, say.
			return v, false, fmt.Errorf("%w: %w", ErrBadPackage, err)
		}
		return v, false, err
	}
	stored, err := r.st.PluginVersion(ctx, v.Plugin, v.Version)
	if err != nil {
		return v, false, err
	}
	if pl.Version == v.Version && pl.SHA256 == v.SHA256 {
		if err := r.installTrendRules(ctx, m, was); err != nil {
			return stored, created, err
		}
	}
	level := slog.LevelInfo
	if shipped {
		level = slog.LevelDebug // the server logs one line for the library
	}
	r.logger.Log(ctx, level, "plugin version published", "plugin", v.Plugin, "version", v.Version, "sha256", v.SHA256,
		"current", pl.Version, "signer", v.Signer, "by", v.UploadedBy)
	return stored, created, nil
}

// becomesCurrent reports whether v should become its plugin's current
// version: the plugin is new, or v is newer than the current version; for
// the shipped library, only when the current version is itself one the
// registry keeps (see publish).
func (r *Registry) becomesCurrent(ctx context.Context, v store.PluginVersion, shipped bool) (bool, error) {
	cur, err := r.st.Plugin(ctx, v.Plugin)
	if errors.Is(err, store.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if manifest.CompareVersions(v.Version, cur.Version) <= 0 {
		return false, nil
	}
	if !shipped {
		return true, nil
	}
	kept, err := r.st.PluginVersion(ctx, v.Plugin, cur.Version)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	if err == nil && kept.SHA256 == cur.SHA256 {
		return true, nil
	}
	r.logger.Warn("standard plugin published beside a plugin of the same name made by hand; roll forward to use it",
		"plugin", v.Plugin, "version", v.Version)
	return false, nil
}

// TrendRuleName is the store's name of trend rule rule of plugin: the
// manifest's "<plugin>:<rule>" with '.' for ':' (store names have no ':').
func TrendRuleName(plugin, rule string) string { return plugin + "." + rule }

// currentManifest returns the manifest of plugin's current version when
// it is a registry version (nil for a plugin made by hand, or none).
func (r *Registry) currentManifest(ctx context.Context, plugin string) *manifest.Manifest {
	cur, err := r.st.Plugin(ctx, plugin)
	if err != nil {
		return nil
	}
	v, err := r.st.PluginVersion(ctx, plugin, cur.Version)
	if err != nil || v.SHA256 != cur.SHA256 {
		return nil
	}
	m, err := manifest.Parse(v.Manifest)
	if err != nil {
		return nil
	}
	return &m
}

// installTrendRules creates or updates the trend rules m ships, and deletes
// those that was (the version current before, nil for none) shipped and m
// no longer does, so an upgrade or a rollback leaves exactly the new
// current version's rules. A dropped rule still named by a service or an
// alert rule is kept (the store refuses to delete it) and logged.
func (r *Registry) installTrendRules(ctx context.Context, m, was *manifest.Manifest) error {
	if was != nil {
		ships := map[string]bool{}
		for _, tr := range m.TrendRules {
			ships[tr.Name] = true
		}
		for _, tr := range was.TrendRules {
			if ships[tr.Name] {
				continue
			}
			name := TrendRuleName(m.Name, tr.Name)
			switch err := r.st.DeleteTrendRule(ctx, name); {
			case err == nil:
				r.logger.Info("trend rule removed with the plugin version that shipped it", "rule", name, "version", m.Version)
			case errors.Is(err, store.ErrNotFound):
			case errors.Is(err, store.ErrConflict):
				r.logger.Warn("trend rule the current plugin version no longer ships is kept: it is in use", "rule", name, "err", err)
			default:
				return fmt.Errorf("plugin %s: remove trend rule %s: %w", m.Name, name, err)
			}
		}
	}
	for _, tr := range m.TrendRules {
		rule := store.TrendRule{Name: TrendRuleName(m.Name, tr.Name), Description: tr.Description, Selector: tr.Selector, Expr: tr.Expr}
		w, err := manifest.ParseDuration(tr.Window)
		if err != nil {
			return fmt.Errorf("%w: trend rule %s: window: %w", ErrBadPackage, tr.Name, err)
		}
		rule.Window = store.Duration(w)
		if tr.Interval != "" {
			iv, err := manifest.ParseDuration(tr.Interval)
			if err != nil {
				return fmt.Errorf("%w: trend rule %s: interval: %w", ErrBadPackage, tr.Name, err)
			}
			rule.Interval = store.Duration(iv)
		}
		if _, err = r.st.UpdateTrendRule(ctx, rule.Name, rule); errors.Is(err, store.ErrNotFound) {
			_, err = r.st.CreateTrendRule(ctx, rule)
		}
		if err != nil {
			return fmt.Errorf("plugin %s: install trend rule %s: %w", m.Name, rule.Name, err)
		}
	}
	return nil
}

// Rollback makes version the plugin's current version; version "" means
// the highest version below the current one. The trend rules of that
// version's manifest are installed, and those only the version it replaces
// shipped are removed.
func (r *Registry) Rollback(ctx context.Context, plugin, version string) (store.Plugin, error) {
	cur, err := r.st.Plugin(ctx, plugin)
	if err != nil {
		return cur, err
	}
	if version == "" {
		vs, err := r.st.PluginVersions(ctx, plugin)
		if err != nil {
			return cur, err
		}
		for _, v := range vs {
			if manifest.CompareVersions(v.Version, cur.Version) < 0 &&
				(version == "" || manifest.CompareVersions(v.Version, version) > 0) {
				version = v.Version
			}
		}
		if version == "" {
			return cur, fmt.Errorf("%w: plugin %q has no version below its current %s to roll back to", store.ErrConflict, plugin, cur.Version)
		}
	}
	v, err := r.st.PluginVersion(ctx, plugin, version)
	if err != nil {
		return cur, err
	}
	was := r.currentManifest(ctx, plugin)
	pl, err := r.st.SetPluginVersion(ctx, plugin, version)
	if err != nil {
		return pl, err
	}
	if m, err := manifest.Parse(v.Manifest); err == nil {
		if err := r.installTrendRules(ctx, &m, was); err != nil {
			return pl, err
		}
	}
	r.logger.Info("plugin version set", "plugin", plugin, "version", version, "was", cur.Version)
	return pl, nil
}

// DeleteVersion deletes a version that is neither current nor pinned, and
// its package when nothing else uses it.
func (r *Registry) DeleteVersion(ctx context.Context, plugin, version string) error {
	v, err := r.st.PluginVersion(ctx, plugin, version)
	if err != nil {
		return err
	}
	if err := r.st.DeletePluginVersion(ctx, plugin, version); err != nil {
		return err
	}
	r.pkgs.forget(ctx, v.SHA256)
	return nil
}

// VersionHosts is a version with the hosts whose plans run it.
type VersionHosts struct {
	store.PluginVersion
	// Current says it is the plugin's current version.
	Current bool `json:"current"`
	// Hosts run it (through checks that pin it, or that follow the
	// current version when it is current), sorted.
	Hosts []string `json:"hosts"`
}

// Versions lists the plugin's versions, newest upload first, each with the
// hosts that run it, resolved as the agents' plans are (a check's pin,
// else the current version; groups expanded; hosts whose agent reported a
// platform the version is not built for left out). A plugin whose current
// version the registry does not keep (edited by hand) shows no hosts for
// "latest".
func (r *Registry) Versions(ctx context.Context, plugin string) ([]VersionHosts, error) {
	cur, err := r.st.Plugin(ctx, plugin)
	if err != nil {
		return nil, err
	}
	checks, err := r.st.Checks(ctx)
	if err != nil {
		return nil, err
	}
	vs, err := r.st.PluginVersions(ctx, plugin)
	if err != nil {
		return nil, err
	}
	// Where a version runs: the platform each host's agent reported, as
	// the plan leaves out versions built for other platforms.
	agents, err := r.st.Agents(ctx)
	if err != nil {
		return nil, err
	}
	platform := map[string]string{}
	for _, a := range agents { // newest first: the first one counts
		if _, seen := platform[a.Host]; !seen && a.RevokedAt.IsZero() && a.OS != "" && a.Arch != "" {
			platform[a.Host] = a.OS + "/" + a.Arch
		}
	}
	platforms := map[string][]string{} // version -> its manifest's platforms
	for _, v := range vs {
		if m, err := manifest.Parse(v.Manifest); err == nil {
			platforms[v.Version] = m.Platforms
		}
	}
	hosts := map[string]map[string]bool{} // version -> hosts
	add := func(ver, h string) {
		if ps := platforms[ver]; len(ps) > 0 && platform[h] != "" && !slices.Contains(ps, platform[h]) {
			return
		}
		if hosts[ver] == nil {
			hosts[ver] = map[string]bool{}
		}
		hosts[ver][h] = true
	}
	for _, c := range checks {
		if !slices.Contains(c.Plugins, plugin) {
			continue
		}
		ver := c.Versions[plugin]
		if ver == "" {
			ver = cur.Version
		}
		for _, h := range c.Hosts {
			add(ver, h)
		}
		for _, g := range c.Groups {
			hs, err := r.st.GroupHosts(ctx, g)
			if err != nil {
				return nil, err
			}
			for _, h := range hs {
				add(ver, h)
			}
		}
	}
	out := make([]VersionHosts, len(vs))
	for i, v := range vs {
		current := v.Version == cur.Version && v.SHA256 == cur.SHA256
		out[i] = VersionHosts{PluginVersion: v, Current: current, Hosts: []string{}}
		for h := range hosts[v.Version] {
			out[i].Hosts = append(out[i].Hosts, h)
		}
		slices.Sort(out[i].Hosts)
	}
	return out, nil
}
