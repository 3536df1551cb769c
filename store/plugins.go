package store

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
)

// Plugin is a plugin known to the server, by name. The plugin registry
// (packages, content hashes, classifiers) is a later addition; for now the row
// is what checks and services refer to.
type Plugin struct {
	Meta        `yaml:",inline"`
	Name        string `json:"name" yaml:"name"`
	Version     string `json:"version" yaml:"version,omitempty"`
	Description string `json:"description" yaml:"description,omitempty"`
}

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
}

// versionRE is loose on purpose: semantic versions, dates, "1.2-rc1".
var versionRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.+-]*$`)

func (p *Plugin) key() *string { return &p.Name }
func (p *Plugin) normalize()   {}
func (p *Plugin) refs() []ref  { return nil }

func (p *Plugin) validate() error {
	if err := validName("plugin", p.Name); err != nil {
		return err
	}
	what := fmt.Sprintf("plugin %q", p.Name)
	if p.Version != "" && (len(p.Version) > maxVersion || !versionRE.MatchString(p.Version)) {
		return invalidf("%s: version %q must match %s (at most %d characters)", what, p.Version, versionRE, maxVersion)
	}
	return validText(what, "description", p.Description, maxDescription)
}

func diffPlugin(a, b *Plugin) []string {
	var f fieldDiffs
	f.str("version", a.Version, b.Version)
	f.str("description", a.Description, b.Description)
	return f
}

var pluginOps = ops[Plugin]{
	kind:   kindPlugin,
	load:   loadPlugins,
	insert: insertPlugin,
	update: updatePlugin,
	diff:   diffPlugin,
}

func loadPlugins(ctx context.Context, q querier, name string) ([]Plugin, error) {
	where, args := whereName("name", name)
	var out []Plugin
	err := queryRows(ctx, q, func(rows *sql.Rows) error {
		var p Plugin
		var id, created, updated int64
		if err := rows.Scan(&id, &p.Name, &p.Version, &p.Description, &created, &updated); err != nil {
			return err
		}
		p.set(id, created, updated)
		out = append(out, p)
		return nil
	}, `SELECT id, name, version, description, created_at, updated_at FROM plugins`+where+` ORDER BY name`, args...)
	if err != nil {
		return nil, fmt.Errorf("load plugins: %w", err)
	}
	return out, nil
}

func insertPlugin(ctx context.Context, tx *sql.Tx, _ *resolver, p *Plugin, now int64) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO plugins (name, version, description, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?) RETURNING id`, p.Name, p.Version, p.Description, now, now).Scan(&id)
	return id, err
}

func updatePlugin(ctx context.Context, tx *sql.Tx, _ *resolver, id int64, p *Plugin, now int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE plugins SET name = ?, version = ?, description = ?, updated_at = ? WHERE id = ?`,
		p.Name, p.Version, p.Description, now, id)
	return err
}

// Plugins implements PluginStore.
func (s *sqliteStore) Plugins(ctx context.Context) ([]Plugin, error) {
	return listAll(ctx, s, pluginOps)
}

// Plugin implements PluginStore.
func (s *sqliteStore) Plugin(ctx context.Context, name string) (Plugin, error) {
	return getOne(ctx, s, pluginOps, name)
}

// CreatePlugin implements PluginStore.
func (s *sqliteStore) CreatePlugin(ctx context.Context, p Plugin) (Plugin, error) {
	return createOne(ctx, s, pluginOps, p)
}

// UpdatePlugin implements PluginStore.
func (s *sqliteStore) UpdatePlugin(ctx context.Context, name string, p Plugin) (Plugin, error) {
	return updateOne(ctx, s, pluginOps, name, p)
}

// DeletePlugin implements PluginStore.
func (s *sqliteStore) DeletePlugin(ctx context.Context, name string) error {
	return deleteOne(ctx, s, pluginOps, name)
}
