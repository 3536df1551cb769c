package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Plugin is a plugin known to the server, by name: how agents run it, its
// package (if any), and how the server classifies its results.
type Plugin struct {
	Meta        `yaml:",inline"`
	Name        string `json:"name" yaml:"name"`
	Version     string `json:"version" yaml:"version,omitempty"`
	Description string `json:"description" yaml:"description,omitempty"`
	// Kind says how the agent runs the plugin: "builtin" (a collector in
	// the agent, Entrypoint names it), "nagios" and "munin" (those plugins,
	// unchanged), or "exec" (prints a JSON object). Default "builtin",
	// with the plugin's name as the collector's.
	Kind string `json:"kind" yaml:"kind,omitempty"`
	// Entrypoint is the program to run: a path inside the plugin's package
	// or an absolute path on the host (a Debian-installed Nagios plugin);
	// for builtin plugins the collector's name.
	Entrypoint string `json:"entrypoint" yaml:"entrypoint,omitempty"`
	// Args are passed to the program (Nagios thresholds, say).
	Args []string `json:"args,omitempty" yaml:"args,omitempty"`
	// Timeout bounds one run; zero means the agent's default (10 s).
	Timeout Duration `json:"timeout,omitzero" yaml:"timeout,omitempty"`
	// SHA256 names the plugin's package (lowercase hex SHA-256 of its
	// .tar.gz), "" for none. Read-only here: creating and updating a
	// plugin keep it; SetPluginPackage changes it, after the package is
	// stored (package plugins).
	SHA256 string `json:"sha256,omitempty" yaml:"-"`
	// Classifier is the Lua source of the function that turns the plugin's
	// last results into a state; "" means the built-in default for the
	// plugin's kind. A check may override it per plugin.
	Classifier string `json:"classifier" yaml:"classifier,omitempty"`
	// History is n, how many results the classifier sees, the new one
	// included (values[1] .. values[n]); 0 means DefaultHistory.
	History int `json:"history" yaml:"history,omitempty"`
}

// DefaultHistory is the History of a plugin that sets none: enough results
// for "3 of the last 5" rules and short trends, few enough that keeping
// them per host x plugin in memory costs little.
const DefaultHistory = 10

// EffectiveHistory returns History, or DefaultHistory when it is 0.
func (p Plugin) EffectiveHistory() int {
	if p.History == 0 {
		return DefaultHistory
	}
	return p.History
}

// PluginKinds are the kinds of plugin an agent can run.
var PluginKinds = []string{"builtin", "nagios", "munin", "exec"}

// Limits of plugins.
const (
	maxPluginArgs   = 64
	maxPluginArgLen = 1024
	maxPluginTimout = time.Hour
	// MaxClassifierBytes bounds one classifier's Lua source (a plugin's
	// or a check's override).
	MaxClassifierBytes = 64 << 10
	// MaxHistory bounds Plugin.History.
	MaxHistory = 1000
)

// PluginStore keeps plugins. Configuration documents refer to plugins by name
// but do not create or delete them.
type PluginStore interface {
	// Plugins returns every plugin, sorted by name.
	Plugins(ctx context.Context) ([]Plugin, error)
	// Plugin returns one plugin, or an error wrapping ErrNotFound.
	Plugin(ctx context.Context, name string) (Plugin, error)
	// CreatePlugin adds a plugin.
	CreatePlugin(ctx context.Context, p Plugin) (Plugin, error)
	// UpdatePlugin replaces the plugin called name (p.Name "" keeps it).
	UpdatePlugin(ctx context.Context, name string, p Plugin) (Plugin, error)
	// DeletePlugin deletes a plugin no check or service refers to.
	DeletePlugin(ctx context.Context, name string) error
	// SetPluginPackage records the SHA-256 of the plugin's package (""
	// removes it) and returns the plugin as stored. The agents' plans
	// change with it.
	SetPluginPackage(ctx context.Context, name, sha256 string) (Plugin, error)
}

// versionRE is loose on purpose: semantic versions, dates, "1.2-rc1".
var versionRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.+-]*$`)

func (p *Plugin) key() *string { return &p.Name }
func (p *Plugin) normalize() {
	if p.Kind == "" {
		p.Kind = "builtin"
	}
	if p.Kind == "builtin" && p.Entrypoint == "" {
		p.Entrypoint = p.Name
	}
}
func (p *Plugin) refs() []ref { return nil }

func (p *Plugin) validate() error {
	if err := validName("plugin", p.Name); err != nil {
		return err
	}
	what := fmt.Sprintf("plugin %q", p.Name)
	if p.Version != "" && (len(p.Version) > maxVersion || !versionRE.MatchString(p.Version)) {
		return invalidf("%s: version %q must match %s (at most %d characters)", what, p.Version, versionRE, maxVersion)
	}
	if !slices.Contains(PluginKinds, p.Kind) {
		return invalidf("%s: kind %q must be one of %s", what, p.Kind, strings.Join(PluginKinds, ", "))
	}
	if p.Entrypoint == "" {
		return invalidf("%s: entrypoint is required for %s plugins", what, p.Kind)
	}
	if err := validText(what, "entrypoint", p.Entrypoint, maxPluginArgLen); err != nil {
		return err
	}
	if strings.ContainsRune(p.Entrypoint, 0) || strings.Contains(p.Entrypoint, "..") {
		return invalidf("%s: entrypoint %q must not contain '..' or NUL", what, p.Entrypoint)
	}
	if len(p.Args) > maxPluginArgs {
		return invalidf("%s: %d args, more than %d", what, len(p.Args), maxPluginArgs)
	}
	for i, a := range p.Args {
		if len(a) > maxPluginArgLen || strings.ContainsRune(a, 0) {
			return invalidf("%s: args[%d] must be at most %d bytes without NUL", what, i, maxPluginArgLen)
		}
	}
	if time.Duration(p.Timeout) < 0 || time.Duration(p.Timeout) > maxPluginTimout {
		return invalidf("%s: timeout %s must be between 0 and %s", what, time.Duration(p.Timeout), maxPluginTimout)
	}
	if p.History < 0 || p.History > MaxHistory {
		return invalidf("%s: history %d must be between 0 and %d", what, p.History, MaxHistory)
	}
	if err := validText(what, "classifier", p.Classifier, MaxClassifierBytes); err != nil {
		return err
	}
	return validText(what, "description", p.Description, maxDescription)
}

// checkPluginCode runs the code checker over the plugin's classifier.
func checkPluginCode(c CodeChecker, p *Plugin) error {
	if p.Classifier == "" {
		return nil
	}
	if err := c.CheckClassifier(p.Name, p.Classifier); err != nil {
		return &codeError{what: fmt.Sprintf("plugin %q: classifier", p.Name), err: err}
	}
	return nil
}

func diffPlugin(a, b *Plugin) []string {
	var f fieldDiffs
	f.str("version", a.Version, b.Version)
	f.str("description", a.Description, b.Description)
	f.str("kind", a.Kind, b.Kind)
	f.str("entrypoint", a.Entrypoint, b.Entrypoint)
	f.str("args", strings.Join(a.Args, " "), strings.Join(b.Args, " "))
	f.str("timeout", time.Duration(a.Timeout).String(), time.Duration(b.Timeout).String())
	f.code("classifier", a.Classifier, b.Classifier)
	f.int("history", a.History, b.History)
	return f
}

var pluginOps = ops[Plugin]{
	kind:   kindPlugin,
	load:   loadPlugins,
	insert: insertPlugin,
	update: updatePlugin,
	diff:   diffPlugin,
	code:   checkPluginCode,
}

func loadPlugins(ctx context.Context, q querier, name string) ([]Plugin, error) {
	where, args := whereName("name", name)
	var out []Plugin
	err := queryRows(ctx, q, func(rows *sql.Rows) error {
		var p Plugin
		var id, created, updated, timeout int64
		var args string
		if err := rows.Scan(&id, &p.Name, &p.Version, &p.Description, &p.Kind, &p.Entrypoint, &args, &timeout, &p.SHA256, &p.Classifier, &p.History, &created, &updated); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(args), &p.Args); err != nil {
			return fmt.Errorf("plugin %q: args: %w", p.Name, err)
		}
		p.Timeout = Duration(time.Duration(timeout) * time.Millisecond)
		p.set(id, created, updated)
		out = append(out, p)
		return nil
	}, `SELECT id, name, version, description, kind, entrypoint, args, timeout_ms, package_sha256, classifier, history, created_at, updated_at FROM plugins`+where+` ORDER BY name`, args...)
	if err != nil {
		return nil, fmt.Errorf("load plugins: %w", err)
	}
	return out, nil
}

func insertPlugin(ctx context.Context, tx *sql.Tx, _ *resolver, p *Plugin, now int64) (int64, error) {
	var id int64
	args, err := pluginArgsJSON(p)
	if err != nil {
		return 0, err
	}
	err = tx.QueryRowContext(ctx, `INSERT INTO plugins (name, version, description, kind, entrypoint, args, timeout_ms,
		classifier, history, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, p.Name, p.Version, p.Description, p.Kind, p.Entrypoint, args,
		time.Duration(p.Timeout).Milliseconds(), p.Classifier, p.History, now, now).Scan(&id)
	return id, err
}

func updatePlugin(ctx context.Context, tx *sql.Tx, _ *resolver, id int64, p *Plugin, now int64) error {
	args, err := pluginArgsJSON(p)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE plugins SET name = ?, version = ?, description = ?, kind = ?, entrypoint = ?,
		args = ?, timeout_ms = ?, classifier = ?, history = ?, updated_at = ? WHERE id = ?`,
		p.Name, p.Version, p.Description, p.Kind, p.Entrypoint, args, time.Duration(p.Timeout).Milliseconds(),
		p.Classifier, p.History, now, id)
	return err
}

func pluginArgsJSON(p *Plugin) (string, error) {
	if len(p.Args) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(p.Args)
	return string(b), err
}

// Plugins implements PluginStore.
func (s *sqlStore) Plugins(ctx context.Context) ([]Plugin, error) {
	return listAll(ctx, s, pluginOps)
}

// Plugin implements PluginStore.
func (s *sqlStore) Plugin(ctx context.Context, name string) (Plugin, error) {
	return getOne(ctx, s, pluginOps, name)
}

// CreatePlugin implements PluginStore.
func (s *sqlStore) CreatePlugin(ctx context.Context, p Plugin) (Plugin, error) {
	return createOne(ctx, s, pluginOps, p)
}

// UpdatePlugin implements PluginStore.
func (s *sqlStore) UpdatePlugin(ctx context.Context, name string, p Plugin) (Plugin, error) {
	return updateOne(ctx, s, pluginOps, name, p)
}

// DeletePlugin implements PluginStore.
func (s *sqlStore) DeletePlugin(ctx context.Context, name string) error {
	return deleteOne(ctx, s, pluginOps, name)
}

// sha256RE is a package hash as the plugin registry writes it.
var sha256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// SetPluginPackage implements PluginStore.
func (s *sqlStore) SetPluginPackage(ctx context.Context, name, sha256 string) (Plugin, error) {
	if sha256 != "" && !sha256RE.MatchString(sha256) {
		return Plugin{}, invalidf("plugin %q: package hash %q is not 64 lowercase hex digits", name, sha256)
	}
	var out Plugin
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE plugins SET package_sha256 = ?, updated_at = ? WHERE name = ?`, sha256, s.nowMillis(), name)
		if err != nil {
			return fmt.Errorf("set package of plugin %q: %w", name, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("set package of plugin %q: %w", name, err)
		} else if n == 0 {
			return notFoundf("plugin %q not found", name)
		}
		out, err = loadOne(ctx, tx, pluginOps, name)
		return err
	})
	return out, err
}
