package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Check is a set of plugins run on a set of hosts on a schedule: "Webserver
// resources" = {cpu, memory} on {Webservers} every minute. Targets are hosts
// and groups; a group targets all its hosts, nested ones included.
type Check struct {
	Meta        `yaml:",inline"`
	Name        string `json:"name" yaml:"name"`
	Description string `json:"description" yaml:"description,omitempty"`
	// Plugins run on every target, by name; at least one.
	Plugins []string `json:"plugins" yaml:"plugins"`
	// Hosts and Groups are the targets.
	Hosts  []string `json:"hosts" yaml:"hosts,omitempty"`
	Groups []string `json:"groups" yaml:"groups,omitempty"`
	// Schedule is the schedule's name.
	Schedule string `json:"schedule" yaml:"schedule"`
}

// CheckStore keeps checks.
type CheckStore interface {
	// Checks returns every check, sorted by name.
	Checks(ctx context.Context) ([]Check, error)
	// Check returns one check, or an error wrapping ErrNotFound.
	Check(ctx context.Context, name string) (Check, error)
	// CreateCheck adds a check; its plugins, targets and schedule must exist.
	CreateCheck(ctx context.Context, c Check) (Check, error)
	// UpdateCheck replaces the check called name (c.Name "" keeps it).
	UpdateCheck(ctx context.Context, name string, c Check) (Check, error)
	// DeleteCheck deletes a check no service or alert rule refers to.
	DeleteCheck(ctx context.Context, name string) error
}

func (c *Check) key() *string { return &c.Name }

func (c *Check) normalize() {
	c.Plugins = sortNames(c.Plugins)
	c.Hosts = sortNames(c.Hosts)
	c.Groups = sortNames(c.Groups)
}

func (c *Check) validate() error {
	if err := validName("check", c.Name); err != nil {
		return err
	}
	what := fmt.Sprintf("check %q", c.Name)
	if err := validText(what, "description", c.Description, maxDescription); err != nil {
		return err
	}
	if len(c.Plugins) == 0 {
		return invalidf("%s: needs at least one plugin", what)
	}
	if err := validNameList(what, "plugins", c.Plugins); err != nil {
		return err
	}
	if err := validNameList(what, "hosts", c.Hosts); err != nil {
		return err
	}
	if err := validNameList(what, "groups", c.Groups); err != nil {
		return err
	}
	if c.Schedule == "" {
		return invalidf("%s: schedule is required", what)
	}
	if !nameRE.MatchString(c.Schedule) {
		return invalidf("%s: schedule %q is not a valid name", what, c.Schedule)
	}
	return nil
}

func (c *Check) refs() []ref {
	out := refsOf(kindPlugin, c.Plugins)
	out = append(out, refsOf(kindHost, c.Hosts)...)
	out = append(out, refsOf(kindGroup, c.Groups)...)
	return append(out, ref{kindSchedule, c.Schedule})
}

func diffCheck(a, b *Check) []string {
	var f fieldDiffs
	f.str("description", a.Description, b.Description)
	f.list("plugins", a.Plugins, b.Plugins)
	f.list("hosts", a.Hosts, b.Hosts)
	f.list("groups", a.Groups, b.Groups)
	f.str("schedule", a.Schedule, b.Schedule)
	return f
}

var checkOps = ops[Check]{
	kind:   kindCheck,
	load:   loadChecks,
	insert: insertCheck,
	update: updateCheck,
	diff:   diffCheck,
}

func loadChecks(ctx context.Context, q querier, name string) ([]Check, error) {
	where, args := whereName("c.name", name)
	var out []Check
	err := queryRows(ctx, q, func(rows *sql.Rows) error {
		var c Check
		var id, created, updated int64
		if err := rows.Scan(&id, &c.Name, &c.Description, &c.Schedule, &created, &updated); err != nil {
			return err
		}
		c.set(id, created, updated)
		out = append(out, c)
		return nil
	}, `SELECT c.id, c.name, c.description, s.name, c.created_at, c.updated_at
		FROM checks c JOIN schedules s ON s.id = c.schedule_id`+where+` ORDER BY c.name`, args...)
	if err != nil {
		return nil, fmt.Errorf("load checks: %w", err)
	}
	plugins, err := memberNames(ctx, q, `SELECT c.name, p.name FROM check_plugins m
		JOIN checks c ON c.id = m.check_id JOIN plugins p ON p.id = m.plugin_id`+where, args)
	if err != nil {
		return nil, fmt.Errorf("load check plugins: %w", err)
	}
	hosts, err := memberNames(ctx, q, `SELECT c.name, h.name FROM check_hosts m
		JOIN checks c ON c.id = m.check_id JOIN hosts h ON h.id = m.host_id`+where, args)
	if err != nil {
		return nil, fmt.Errorf("load check hosts: %w", err)
	}
	groups, err := memberNames(ctx, q, `SELECT c.name, g.name FROM check_groups m
		JOIN checks c ON c.id = m.check_id JOIN host_groups g ON g.id = m.group_id`+where, args)
	if err != nil {
		return nil, fmt.Errorf("load check groups: %w", err)
	}
	for i := range out {
		out[i].Plugins = plugins[out[i].Name]
		out[i].Hosts = hosts[out[i].Name]
		out[i].Groups = groups[out[i].Name]
		out[i].normalize()
	}
	return out, nil
}

func insertCheck(ctx context.Context, tx *sql.Tx, r *resolver, c *Check, now int64) (int64, error) {
	sched, err := r.id(ctx, kindSchedule, c.Schedule)
	if err != nil {
		return 0, err
	}
	var id int64
	if err := tx.QueryRowContext(ctx, `INSERT INTO checks (name, description, schedule_id, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?) RETURNING id`, c.Name, c.Description, sched, now, now).Scan(&id); err != nil {
		return 0, err
	}
	return id, writeCheckMembers(ctx, tx, r, id, c)
}

func updateCheck(ctx context.Context, tx *sql.Tx, r *resolver, id int64, c *Check, now int64) error {
	sched, err := r.id(ctx, kindSchedule, c.Schedule)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE checks SET name = ?, description = ?, schedule_id = ?, updated_at = ? WHERE id = ?`,
		c.Name, c.Description, sched, now, id); err != nil {
		return err
	}
	return writeCheckMembers(ctx, tx, r, id, c)
}

func writeCheckMembers(ctx context.Context, tx *sql.Tx, r *resolver, id int64, c *Check) error {
	for _, m := range []struct {
		k            kind
		names        []string
		table, field string
	}{
		{kindPlugin, c.Plugins, "check_plugins", "plugin_id"},
		{kindHost, c.Hosts, "check_hosts", "host_id"},
		{kindGroup, c.Groups, "check_groups", "group_id"},
	} {
		ids, err := r.idList(ctx, m.k, m.names)
		if err != nil {
			return err
		}
		if err := replaceMembers(ctx, tx, m.table, "check_id", m.field, id, ids); err != nil {
			return err
		}
	}
	return nil
}

// Checks implements CheckStore.
func (s *sqliteStore) Checks(ctx context.Context) ([]Check, error) { return listAll(ctx, s, checkOps) }

// Check implements CheckStore.
func (s *sqliteStore) Check(ctx context.Context, name string) (Check, error) {
	return getOne(ctx, s, checkOps, name)
}

// CreateCheck implements CheckStore.
func (s *sqliteStore) CreateCheck(ctx context.Context, c Check) (Check, error) {
	return createOne(ctx, s, checkOps, c)
}

// UpdateCheck implements CheckStore.
func (s *sqliteStore) UpdateCheck(ctx context.Context, name string, c Check) (Check, error) {
	return updateOne(ctx, s, checkOps, name, c)
}

// DeleteCheck implements CheckStore.
func (s *sqliteStore) DeleteCheck(ctx context.Context, name string) error {
	return deleteOne(ctx, s, checkOps, name)
}
