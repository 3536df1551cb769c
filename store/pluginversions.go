package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// PluginVersion is one version of a plugin as the registry published it: a
// snapshot of its package (how agents run it, its classifier, its manifest)
// kept side by side with the plugin's other versions. The plugin's row is
// its current version, copied from one of these (PublishPluginVersion,
// SetPluginVersion); checks follow it unless they pin another
// (Check.Versions).
type PluginVersion struct {
	Plugin  string `json:"plugin"`
	Version string `json:"version"`
	// SHA256 names the package (lowercase hex SHA-256 of its .tar.gz).
	SHA256 string `json:"sha256"`
	// Manifest is the package's manifest.json as uploaded.
	Manifest    json.RawMessage `json:"manifest"`
	Description string          `json:"description"`
	// Kind, Entrypoint, Args, Timeout, Classifier and History are as in
	// Plugin; the Classifier is the package's Lua source.
	Kind       string   `json:"kind"`
	Entrypoint string   `json:"entrypoint"`
	Args       []string `json:"args,omitempty"`
	Timeout    Duration `json:"timeout,omitzero"`
	Classifier string   `json:"classifier"`
	History    int      `json:"history"`
	// Signer is the id of the trusted key whose signature of the package
	// the registry verified, "" for an unsigned package; Signature is the
	// signature's text, handed to agents that verify packages themselves.
	Signer    string `json:"signer,omitempty"`
	Signature string `json:"signature,omitempty"`
	// Size is the package's size in bytes.
	Size int64 `json:"size"`
	// UploadedAt is set by the store; UploadedBy names who published it
	// ("" for the shipped standard library).
	UploadedAt time.Time `json:"uploaded_at"`
	UploadedBy string    `json:"uploaded_by,omitempty"`
}

// Limits of plugin versions.
const (
	// MaxManifestBytes bounds PluginVersion.Manifest.
	MaxManifestBytes = 256 << 10
	maxSignatureLen  = 4 << 10
)

// PluginVersionStore keeps the versions of plugins.
type PluginVersionStore interface {
	// PublishPluginVersion stores v in one transaction: the plugin is
	// created if it is new; the same version with the same SHA-256 again
	// changes nothing, except that a verified signature (Signer set) is
	// added to a version stored without one; the same version with other content is an error
	// wrapping ErrConflict naming both hashes. With makeCurrent, or when
	// the plugin is new, v becomes the plugin's current version (copied
	// into its row; the agents' plans change); a plugin created by hand
	// keeps its row otherwise. v.Classifier goes through the CodeChecker. It
	// returns the plugin as stored.
	PublishPluginVersion(ctx context.Context, v PluginVersion, makeCurrent bool) (Plugin, error)
	// PluginVersions returns the plugin's versions, newest upload first,
	// or an error wrapping ErrNotFound for an unknown plugin.
	PluginVersions(ctx context.Context, plugin string) ([]PluginVersion, error)
	// PluginVersion returns one version, or an error wrapping ErrNotFound.
	PluginVersion(ctx context.Context, plugin, version string) (PluginVersion, error)
	// SetPluginVersion makes a stored version the plugin's current one
	// (a rollback or a roll forward) and returns the plugin as stored.
	SetPluginVersion(ctx context.Context, plugin, version string) (Plugin, error)
	// DeletePluginVersion deletes a version that is neither the plugin's
	// current one nor pinned by a check (those are ErrConflict, naming
	// who uses it).
	DeletePluginVersion(ctx context.Context, plugin, version string) error
}

// asPlugin is the plugin row v makes when it is current.
func (v *PluginVersion) asPlugin() Plugin {
	return Plugin{Name: v.Plugin, Version: v.Version, Description: v.Description, Kind: v.Kind, Entrypoint: v.Entrypoint,
		Args: v.Args, Timeout: v.Timeout, SHA256: v.SHA256, Classifier: v.Classifier, History: v.History}
}

func (v *PluginVersion) validate() error {
	if v.Kind == "" {
		v.Kind = "builtin"
	}
	if v.Kind == "builtin" && v.Entrypoint == "" {
		v.Entrypoint = v.Plugin
	}
	p := v.asPlugin()
	if err := p.validate(); err != nil {
		return err
	}
	what := fmt.Sprintf("plugin %q", v.Plugin)
	if v.Version == "" {
		return invalidf("%s: a published version needs a version", what)
	}
	if !sha256RE.MatchString(v.SHA256) {
		return invalidf("%s version %s: package hash %q is not 64 lowercase hex digits", what, v.Version, v.SHA256)
	}
	if len(v.Manifest) == 0 {
		v.Manifest = json.RawMessage("{}")
	}
	if len(v.Manifest) > MaxManifestBytes || !json.Valid(v.Manifest) {
		return invalidf("%s version %s: manifest must be JSON of at most %d bytes", what, v.Version, MaxManifestBytes)
	}
	if v.Size < 0 {
		return invalidf("%s version %s: size %d is negative", what, v.Version, v.Size)
	}
	if err := validText(what, "signer", v.Signer, maxDescription); err != nil {
		return err
	}
	if err := validText(what, "signature", v.Signature, maxSignatureLen); err != nil {
		return err
	}
	return validText(what, "uploaded_by", v.UploadedBy, maxDescription)
}

// versionColumns are plugin_versions' columns as loadPluginVersions reads
// them, qualified with v.
const versionColumns = `p.name, v.version, v.sha256, v.manifest, v.description, v.kind, v.entrypoint, v.args, v.timeout_ms,
	v.classifier, v.history, v.signer, v.signature, v.size, v.uploaded_at, v.uploaded_by`

// loadPluginVersions reads the versions the condition selects (on p, the
// plugin, and v, the version), newest upload first.
func loadPluginVersions(ctx context.Context, q querier, where string, args ...any) ([]PluginVersion, error) {
	var out []PluginVersion
	err := queryRows(ctx, q, func(rows *sql.Rows) error {
		var v PluginVersion
		var manifest, vargs string
		var timeout, uploaded int64
		if err := rows.Scan(&v.Plugin, &v.Version, &v.SHA256, &manifest, &v.Description, &v.Kind, &v.Entrypoint, &vargs,
			&timeout, &v.Classifier, &v.History, &v.Signer, &v.Signature, &v.Size, &uploaded, &v.UploadedBy); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(vargs), &v.Args); err != nil {
			return fmt.Errorf("plugin %q version %s: args: %w", v.Plugin, v.Version, err)
		}
		v.Manifest = json.RawMessage(manifest)
		v.Timeout = Duration(time.Duration(timeout) * time.Millisecond)
		v.UploadedAt = fromMillis(uploaded)
		out = append(out, v)
		return nil
	}, `SELECT `+versionColumns+` FROM plugin_versions v JOIN plugins p ON p.id = v.plugin_id WHERE `+where+
		` ORDER BY v.uploaded_at DESC, v.id DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("load plugin versions: %w", err)
	}
	return out, nil
}

// PublishPluginVersion implements PluginVersionStore.
func (s *sqlStore) PublishPluginVersion(ctx context.Context, v PluginVersion, makeCurrent bool) (Plugin, error) {
	if err := v.validate(); err != nil {
		return Plugin{}, err
	}
	if s.checker != nil && v.Classifier != "" {
		if err := s.checker.CheckClassifier(v.Plugin, v.Classifier); err != nil {
			return Plugin{}, &codeError{what: fmt.Sprintf("plugin %q version %s: classifier", v.Plugin, v.Version), err: err}
		}
	}
	args, err := json.Marshal(v.Args)
	if err != nil {
		return Plugin{}, err
	}
	if len(v.Args) == 0 {
		args = []byte("[]")
	}
	var out Plugin
	unchanged := false
	err = s.writeData(ctx, func(tx *sql.Tx) error {
		now := s.nowMillis()
		r := newResolver(tx)
		id, ok, err := r.lookup(ctx, kindPlugin, v.Plugin)
		if err != nil {
			return err
		}
		current := !ok || makeCurrent
		if !ok {
			p := v.asPlugin()
			if id, err = insertPlugin(ctx, tx, r, &p, now); err != nil {
				return fmt.Errorf("create plugin %q: %w", v.Plugin, err)
			}
		}
		var oldSHA, oldSig string
		err = tx.QueryRowContext(ctx, `SELECT sha256, signature FROM plugin_versions WHERE plugin_id = ? AND version = ?`,
			id, v.Version).Scan(&oldSHA, &oldSig)
		switch {
		case err == nil && oldSHA == v.SHA256 && oldSig == "" && v.Signer != "":
			// The same package, now with a verified signature (the
			// standard library, signed by the operator for agents that
			// require signatures): keep it, and the plans carry it.
			if _, err := tx.ExecContext(ctx, `UPDATE plugin_versions SET signer = ?, signature = ? WHERE plugin_id = ? AND version = ?`,
				v.Signer, v.Signature, id, v.Version); err != nil {
				return fmt.Errorf("publish plugin %q: %w", v.Plugin, err)
			}
			out, err = loadOne(ctx, tx, pluginOps, v.Plugin)
			return err
		case err == nil && oldSHA == v.SHA256:
			unchanged = true
			out, err = loadOne(ctx, tx, pluginOps, v.Plugin)
			return err
		case err == nil:
			return conflictf("plugin %q version %s already exists with package SHA-256 %s; this package is %s: give it a new version",
				v.Plugin, v.Version, oldSHA, v.SHA256)
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("publish plugin %q: %w", v.Plugin, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO plugin_versions (plugin_id, version, sha256, manifest, description, kind,
			entrypoint, args, timeout_ms, classifier, history, signer, signature, size, uploaded_at, uploaded_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, v.Version, v.SHA256, string(v.Manifest), v.Description, v.Kind, v.Entrypoint, string(args),
			time.Duration(v.Timeout).Milliseconds(), v.Classifier, v.History, v.Signer, v.Signature, v.Size, now, v.UploadedBy); err != nil {
			return fmt.Errorf("publish plugin %q version %s: %w", v.Plugin, v.Version, err)
		}
		if current {
			if err := copyVersion(ctx, tx, id, &v, now); err != nil {
				return err
			}
		}
		out, err = loadOne(ctx, tx, pluginOps, v.Plugin)
		return err
	})
	if err == nil && !unchanged {
		s.changes.notify()
	}
	return out, err
}

// copyVersion makes v the current version of plugin id.
func copyVersion(ctx context.Context, tx *sql.Tx, id int64, v *PluginVersion, now int64) error {
	p := v.asPlugin()
	args, err := pluginArgsJSON(&p)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE plugins SET version = ?, description = ?, kind = ?, entrypoint = ?, args = ?,
		timeout_ms = ?, classifier = ?, history = ?, package_sha256 = ?, updated_at = ? WHERE id = ?`,
		p.Version, p.Description, p.Kind, p.Entrypoint, args, time.Duration(p.Timeout).Milliseconds(), p.Classifier, p.History,
		p.SHA256, now, id); err != nil {
		return fmt.Errorf("make plugin %q version %s current: %w", v.Plugin, v.Version, err)
	}
	return nil
}

// PluginVersions implements PluginVersionStore.
func (s *sqlStore) PluginVersions(ctx context.Context, plugin string) ([]PluginVersion, error) {
	var out []PluginVersion
	err := s.read(ctx, func(q querier) error {
		if _, ok, err := newResolver(q).lookup(ctx, kindPlugin, plugin); err != nil {
			return err
		} else if !ok {
			return notFoundf("plugin %q not found", plugin)
		}
		var err error
		out, err = loadPluginVersions(ctx, q, `p.name = ?`, plugin)
		return err
	})
	if out == nil && err == nil {
		out = []PluginVersion{}
	}
	return out, err
}

// PluginVersion implements PluginVersionStore.
func (s *sqlStore) PluginVersion(ctx context.Context, plugin, version string) (PluginVersion, error) {
	var out []PluginVersion
	err := s.read(ctx, func(q querier) error {
		var err error
		out, err = loadPluginVersions(ctx, q, `p.name = ? AND v.version = ?`, plugin, version)
		return err
	})
	if err != nil {
		return PluginVersion{}, err
	}
	if len(out) == 0 {
		return PluginVersion{}, notFoundf("plugin %q has no version %q", plugin, version)
	}
	return out[0], nil
}

// SetPluginVersion implements PluginVersionStore.
func (s *sqlStore) SetPluginVersion(ctx context.Context, plugin, version string) (Plugin, error) {
	var out Plugin
	err := s.write(ctx, func(tx *sql.Tx) error {
		id, ok, err := newResolver(tx).lookup(ctx, kindPlugin, plugin)
		if err != nil {
			return err
		}
		if !ok {
			return notFoundf("plugin %q not found", plugin)
		}
		vs, err := loadPluginVersions(ctx, tx, `p.id = ? AND v.version = ?`, id, version)
		if err != nil {
			return err
		}
		if len(vs) == 0 {
			return notFoundf("plugin %q has no version %q", plugin, version)
		}
		if err := copyVersion(ctx, tx, id, &vs[0], s.nowMillis()); err != nil {
			return err
		}
		out, err = loadOne(ctx, tx, pluginOps, plugin)
		return err
	})
	return out, err
}

// DeletePluginVersion implements PluginVersionStore.
func (s *sqlStore) DeletePluginVersion(ctx context.Context, plugin, version string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		p, err := loadPlugins(ctx, tx, plugin)
		if err != nil {
			return err
		}
		if len(p) == 0 {
			return notFoundf("plugin %q not found", plugin)
		}
		vs, err := loadPluginVersions(ctx, tx, `p.name = ? AND v.version = ?`, plugin, version)
		if err != nil {
			return err
		}
		if len(vs) == 0 {
			return notFoundf("plugin %q has no version %q", plugin, version)
		}
		if p[0].Version == version && p[0].SHA256 == vs[0].SHA256 {
			return conflictf("plugin %q version %s is the current version; roll back or forward to another first", plugin, version)
		}
		checks, err := loadChecks(ctx, tx, "")
		if err != nil {
			return err
		}
		var users []string
		for _, c := range checks {
			if c.Versions[plugin] == version {
				users = append(users, "check "+c.Name)
			}
		}
		if len(users) > 0 {
			return conflictf("plugin %q version %s is pinned by %s; unpin it there first", plugin, version, showList(users))
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM plugin_versions WHERE plugin_id = (SELECT id FROM plugins WHERE name = ?) AND version = ?`,
			plugin, version)
		return err
	})
}

// pluginTrendRules returns the names of the trend rules the plugins' current
// versions ship ("<plugin>.<rule>", as the registry installs them), which
// Apply keeps when a document does not list them: they belong to the
// plugin, and a document written by hand would otherwise delete them.
func pluginTrendRules(ctx context.Context, q querier) (map[string]bool, error) {
	out := map[string]bool{}
	err := queryRows(ctx, q, func(rows *sql.Rows) error {
		var plugin, manifest string
		if err := rows.Scan(&plugin, &manifest); err != nil {
			return err
		}
		var m struct {
			TrendRules []struct {
				Name string `json:"name"`
			} `json:"trend_rules"`
		}
		if json.Unmarshal([]byte(manifest), &m) != nil {
			return nil // not the registry's to judge here
		}
		for _, tr := range m.TrendRules {
			out[plugin+"."+tr.Name] = true
		}
		return nil
	}, `SELECT p.name, v.manifest FROM plugin_versions v JOIN plugins p ON p.id = v.plugin_id
		WHERE v.version = p.version AND v.sha256 = p.package_sha256`)
	if err != nil {
		return nil, fmt.Errorf("load plugin trend rules: %w", err)
	}
	return out, nil
}
