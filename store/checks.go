package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
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
	// Attempts is how many consecutive results must agree on a new state
	// before it is confirmed (a soft state until then, a hard one after);
	// 0 means 1, every change confirmed at once.
	Attempts int `json:"attempts" yaml:"attempts,omitempty"`
	// Flapping tunes flapping detection for the check's results; zero
	// fields mean the server's defaults.
	Flapping Flapping `json:"flapping,omitzero" yaml:"flapping,omitempty"`
	// Classifiers override, for this check, the classifier of some of its
	// plugins: plugin name -> Lua source. Every key is one of Plugins.
	Classifiers map[string]string `json:"classifiers,omitempty" yaml:"classifiers,omitempty"`
	// Versions pin some of the check's plugins to a version the registry
	// keeps: plugin name -> version. A plugin not listed follows its
	// current version ("latest"). Every key is one of Plugins and the
	// version must exist.
	Versions map[string]string `json:"versions,omitempty" yaml:"versions,omitempty"`
	// Params set the parameters of some of the check's plugins: plugin
	// name -> parameter name -> value. They overlay the defaults of the
	// plugin's manifest and are checked against its declared types when
	// the check is saved (when the store has a CodeChecker).
	Params map[string]map[string]string `json:"params,omitempty" yaml:"params,omitempty"`
}

// Flapping is when a check's state counts as flapping: over the last Window
// results, the share of them that changed state rose to Start (flapping
// begins) or fell to Stop (it ends). Zero fields mean the server's defaults;
// Start and Stop are set together.
type Flapping struct {
	Window int     `json:"window" yaml:"window,omitempty"`
	Start  float64 `json:"start" yaml:"start,omitempty"`
	Stop   float64 `json:"stop" yaml:"stop,omitempty"`
}

// Limits of checks.
const (
	// MaxAttempts bounds Check.Attempts.
	MaxAttempts = 100
	// MaxFlapWindow bounds Flapping.Window; a window needs at least two
	// results to see a change.
	MaxFlapWindow = 1000
)

// EffectiveAttempts returns Attempts, or 1 when it is 0.
func (c Check) EffectiveAttempts() int { return max(c.Attempts, 1) }

func (f Flapping) validate(what string) error {
	if f.Window != 0 && (f.Window < 2 || f.Window > MaxFlapWindow) {
		return invalidf("%s: flapping.window %d must be 0 (the default) or between 2 and %d", what, f.Window, MaxFlapWindow)
	}
	if f.Start == 0 && f.Stop == 0 {
		return nil
	}
	if !(f.Stop >= 0 && f.Stop < f.Start && f.Start <= 1) { // written so NaN fails too
		return invalidf("%s: flapping.start %s and flapping.stop %s must satisfy 0 <= stop < start <= 1 (or both be 0 for the defaults)",
			what, strconv.FormatFloat(f.Start, 'g', -1, 64), strconv.FormatFloat(f.Stop, 'g', -1, 64))
	}
	return nil
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
	if len(c.Classifiers) == 0 {
		c.Classifiers = nil
	}
	if len(c.Versions) == 0 {
		c.Versions = nil
	}
	for p, ps := range c.Params {
		if len(ps) == 0 {
			delete(c.Params, p)
		}
	}
	if len(c.Params) == 0 {
		c.Params = nil
	}
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
	if c.Attempts < 0 || c.Attempts > MaxAttempts {
		return invalidf("%s: attempts %d must be between 0 and %d", what, c.Attempts, MaxAttempts)
	}
	if err := c.Flapping.validate(what); err != nil {
		return err
	}
	for _, p := range sortedKeys(c.Classifiers) {
		field := "classifiers[" + strconv.Quote(p) + "]"
		if _, ok := slices.BinarySearch(c.Plugins, p); !ok {
			return invalidf("%s: %s: %q is not one of the check's plugins %s", what, field, p, showList(c.Plugins))
		}
		if c.Classifiers[p] == "" {
			return invalidf("%s: %s is empty; leave the plugin out to use its own classifier", what, field)
		}
		if err := validText(what, field, c.Classifiers[p], MaxClassifierBytes); err != nil {
			return err
		}
	}
	return validatePins(what, c)
}

// checkCheckCode runs the code checker over the check's classifiers.
func checkCheckCode(cc CodeChecker, c *Check) error {
	return checkClassifiers(cc, fmt.Sprintf("check %q: classifiers", c.Name), c.Classifiers)
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
	f.int("attempts", a.Attempts, b.Attempts)
	f.int("flapping.window", a.Flapping.Window, b.Flapping.Window)
	f.float("flapping.start", a.Flapping.Start, b.Flapping.Start)
	f.float("flapping.stop", a.Flapping.Stop, b.Flapping.Stop)
	for _, p := range unionKeys(a.Classifiers, b.Classifiers) {
		f.code("classifiers["+strconv.Quote(p)+"]", a.Classifiers[p], b.Classifiers[p])
	}
	for _, p := range unionKeys(a.Versions, b.Versions) {
		f.str("versions["+strconv.Quote(p)+"]", a.Versions[p], b.Versions[p])
	}
	diffParams(&f, a.Params, b.Params)
	return f
}

var checkOps = ops[Check]{
	kind:   kindCheck,
	load:   loadChecks,
	insert: insertCheck,
	update: updateCheck,
	diff:   diffCheck,
	code:   checkCheckCode,
}

func loadChecks(ctx context.Context, q querier, name string) ([]Check, error) {
	where, args := whereName("c.name", name)
	var out []Check
	err := queryRows(ctx, q, func(rows *sql.Rows) error {
		var c Check
		var id, created, updated int64
		var versions, params string
		if err := rows.Scan(&id, &c.Name, &c.Description, &c.Schedule, &c.Attempts,
			&c.Flapping.Window, &c.Flapping.Start, &c.Flapping.Stop, &versions, &params, &created, &updated); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(versions), &c.Versions); err != nil {
			return fmt.Errorf("check %q: versions: %w", c.Name, err)
		}
		if err := json.Unmarshal([]byte(params), &c.Params); err != nil {
			return fmt.Errorf("check %q: params: %w", c.Name, err)
		}
		c.set(id, created, updated)
		out = append(out, c)
		return nil
	}, `SELECT c.id, c.name, c.description, s.name, c.attempts, c.flap_window, c.flap_start, c.flap_stop, c.versions, c.params, c.created_at, c.updated_at
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
	classifiers, err := checkClassifierSources(ctx, q, where, args)
	if err != nil {
		return nil, fmt.Errorf("load check classifiers: %w", err)
	}
	for i := range out {
		out[i].Classifiers = classifiers[out[i].Name]
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
	versions, params, err := pinsJSON(c)
	if err != nil {
		return 0, err
	}
	var id int64
	if err := tx.QueryRowContext(ctx, `INSERT INTO checks (name, description, schedule_id, attempts,
		flap_window, flap_start, flap_stop, versions, params, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, c.Name, c.Description, sched, c.Attempts,
		c.Flapping.Window, c.Flapping.Start, c.Flapping.Stop, versions, params, now, now).Scan(&id); err != nil {
		return 0, err
	}
	return id, writeCheckMembers(ctx, tx, r, id, c)
}

func updateCheck(ctx context.Context, tx *sql.Tx, r *resolver, id int64, c *Check, now int64) error {
	sched, err := r.id(ctx, kindSchedule, c.Schedule)
	if err != nil {
		return err
	}
	versions, params, err := pinsJSON(c)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE checks SET name = ?, description = ?, schedule_id = ?, attempts = ?,
		flap_window = ?, flap_start = ?, flap_stop = ?, versions = ?, params = ?, updated_at = ? WHERE id = ?`,
		c.Name, c.Description, sched, c.Attempts, c.Flapping.Window, c.Flapping.Start, c.Flapping.Stop, versions, params, now, id); err != nil {
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
	// Classifiers after plugins: their plugins are the check's.
	if _, err := tx.ExecContext(ctx, `DELETE FROM check_classifiers WHERE check_id = ?`, id); err != nil {
		return fmt.Errorf("clear check_classifiers: %w", err)
	}
	for _, p := range sortedKeys(c.Classifiers) {
		pid, err := r.id(ctx, kindPlugin, p)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO check_classifiers (check_id, plugin_id, source) VALUES (?, ?, ?)`,
			id, pid, c.Classifiers[p]); err != nil {
			return fmt.Errorf("write check_classifiers: %w", err)
		}
	}
	return checkPins(ctx, tx, r, c)
}

// checkClassifierSources loads the classifier overrides as check name ->
// plugin name -> source; where and args select checks as loadChecks does.
func checkClassifierSources(ctx context.Context, q querier, where string, args []any) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	err := queryRows(ctx, q, func(rows *sql.Rows) error {
		var check, plugin, source string
		if err := rows.Scan(&check, &plugin, &source); err != nil {
			return err
		}
		if out[check] == nil {
			out[check] = map[string]string{}
		}
		out[check][plugin] = source
		return nil
	}, `SELECT c.name, p.name, m.source FROM check_classifiers m
		JOIN checks c ON c.id = m.check_id JOIN plugins p ON p.id = m.plugin_id`+where, args...)
	return out, err
}

// unionKeys returns the keys of a and b, sorted, each once.
func unionKeys(a, b map[string]string) []string {
	keys := sortedKeys(a)
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// Checks implements CheckStore.
func (s *sqlStore) Checks(ctx context.Context) ([]Check, error) { return listAll(ctx, s, checkOps) }

// Check implements CheckStore.
func (s *sqlStore) Check(ctx context.Context, name string) (Check, error) {
	return getOne(ctx, s, checkOps, name)
}

// CreateCheck implements CheckStore.
func (s *sqlStore) CreateCheck(ctx context.Context, c Check) (Check, error) {
	return createOne(ctx, s, checkOps, c)
}

// UpdateCheck implements CheckStore.
func (s *sqlStore) UpdateCheck(ctx context.Context, name string, c Check) (Check, error) {
	return updateOne(ctx, s, checkOps, name, c)
}

// DeleteCheck implements CheckStore.
func (s *sqlStore) DeleteCheck(ctx context.Context, name string) error {
	return deleteOne(ctx, s, checkOps, name)
}
