package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// AlertRule says: when something in Scope goes from one of the From states to
// one of the To states, and stays there for Delay, notify through Modules, and
// again every Repeat while it lasts.
type AlertRule struct {
	Meta        `yaml:",inline"`
	Name        string `json:"name" yaml:"name"`
	Description string `json:"description" yaml:"description,omitempty"`
	// From and To are states (see States); empty means any state.
	From []string `json:"from" yaml:"from,omitempty"`
	To   []string `json:"to" yaml:"to,omitempty"`
	// Scope limits the rule to some hosts, groups, checks and services;
	// an empty scope is everything.
	Scope Scope `json:"scope" yaml:"scope,omitempty"`
	// Modules are the names of the notifiers to use (email, webhook, ...);
	// at least one.
	Modules []string `json:"modules" yaml:"modules"`
	// Delay is how long the new state must last before notifying; zero
	// notifies at once.
	Delay Duration `json:"delay" yaml:"delay,omitempty"`
	// Repeat re-sends the notification this often while the state lasts;
	// zero sends it once.
	Repeat Duration `json:"repeat" yaml:"repeat,omitempty"`
}

// Scope is what an alert rule watches. Lists are alternatives: a change
// matches when its host is in Hosts or in one of Groups, or its check is in
// Checks, or it is a service in Services.
type Scope struct {
	Hosts    []string `json:"hosts" yaml:"hosts,omitempty"`
	Groups   []string `json:"groups" yaml:"groups,omitempty"`
	Checks   []string `json:"checks" yaml:"checks,omitempty"`
	Services []string `json:"services" yaml:"services,omitempty"`
}

// States are the states alert rules may name, mildest first: the check and
// host states (ok, minor, major, critical, unknown) and the service states
// (ok, degraded, failed).
var States = []string{"ok", "minor", "major", "critical", "degraded", "failed", "unknown"}

// AlertRuleStore keeps alert rules.
type AlertRuleStore interface {
	// AlertRules returns every alert rule, sorted by name.
	AlertRules(ctx context.Context) ([]AlertRule, error)
	// AlertRule returns one alert rule, or an error wrapping ErrNotFound.
	AlertRule(ctx context.Context, name string) (AlertRule, error)
	// CreateAlertRule adds an alert rule; what its scope names must exist.
	CreateAlertRule(ctx context.Context, a AlertRule) (AlertRule, error)
	// UpdateAlertRule replaces the rule called name (a.Name "" keeps it).
	UpdateAlertRule(ctx context.Context, name string, a AlertRule) (AlertRule, error)
	// DeleteAlertRule deletes an alert rule.
	DeleteAlertRule(ctx context.Context, name string) error
}

// alertSpec is the JSON of the spec column: the parts of a rule the alerting
// work will grow.
type alertSpec struct {
	From    []string `json:"from"`
	To      []string `json:"to"`
	Scope   Scope    `json:"scope"`
	Modules []string `json:"modules"`
	DelayMS int64    `json:"delay_ms"`
	RepeatM int64    `json:"repeat_ms"`
}

func sortStates(states []string) []string {
	if states == nil {
		return []string{}
	}
	// Mildest first; names that are not states (validation rejects them)
	// sort last.
	rank := func(s string) int {
		if i := slices.Index(States, s); i >= 0 {
			return i
		}
		return len(States)
	}
	slices.SortFunc(states, func(a, b string) int {
		if c := rank(a) - rank(b); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return states
}

func (a *AlertRule) key() *string { return &a.Name }

func (a *AlertRule) normalize() {
	a.From = sortStates(a.From)
	a.To = sortStates(a.To)
	a.Modules = sortNames(a.Modules)
	a.Scope.Hosts = sortNames(a.Scope.Hosts)
	a.Scope.Groups = sortNames(a.Scope.Groups)
	a.Scope.Checks = sortNames(a.Scope.Checks)
	a.Scope.Services = sortNames(a.Scope.Services)
}

func (a *AlertRule) validate() error {
	if err := validName("alert rule", a.Name); err != nil {
		return err
	}
	what := fmt.Sprintf("alert rule %q", a.Name)
	if err := validText(what, "description", a.Description, maxDescription); err != nil {
		return err
	}
	for _, l := range []struct {
		field  string
		states []string
	}{{"from", a.From}, {"to", a.To}} {
		for i, st := range l.states {
			if !slices.Contains(States, st) {
				return invalidf("%s: %s: unknown state %q (states are %v)", what, l.field, st, States)
			}
			if i > 0 && l.states[i-1] == st {
				return invalidf("%s: %s lists %q twice", what, l.field, st)
			}
		}
	}
	if len(a.Modules) == 0 {
		return invalidf("%s: needs at least one module to notify through", what)
	}
	for _, l := range []struct {
		field string
		names []string
	}{{"modules", a.Modules}, {"scope.hosts", a.Scope.Hosts}, {"scope.groups", a.Scope.Groups},
		{"scope.checks", a.Scope.Checks}, {"scope.services", a.Scope.Services}} {
		if err := validNameList(what, l.field, l.names); err != nil {
			return err
		}
	}
	if a.Delay < 0 || a.Delay.Std() > 366*24*time.Hour {
		return invalidf("%s: delay %s must be between 0s and 366d", what, a.Delay)
	}
	if a.Repeat != 0 && (a.Repeat.Std() < time.Minute || a.Repeat.Std() > 366*24*time.Hour) {
		return invalidf("%s: repeat %s must be 0s (never) or between 1m and 366d", what, a.Repeat)
	}
	return nil
}

func (a *AlertRule) refs() []ref {
	out := refsOf(kindHost, a.Scope.Hosts)
	out = append(out, refsOf(kindGroup, a.Scope.Groups)...)
	out = append(out, refsOf(kindCheck, a.Scope.Checks)...)
	return append(out, refsOf(kindService, a.Scope.Services)...)
}

func diffAlertRule(a, b *AlertRule) []string {
	var f fieldDiffs
	f.str("description", a.Description, b.Description)
	f.list("from", a.From, b.From)
	f.list("to", a.To, b.To)
	f.list("scope.hosts", a.Scope.Hosts, b.Scope.Hosts)
	f.list("scope.groups", a.Scope.Groups, b.Scope.Groups)
	f.list("scope.checks", a.Scope.Checks, b.Scope.Checks)
	f.list("scope.services", a.Scope.Services, b.Scope.Services)
	f.list("modules", a.Modules, b.Modules)
	f.duration("delay", a.Delay, b.Delay)
	f.duration("repeat", a.Repeat, b.Repeat)
	return f
}

var alertRuleOps = ops[AlertRule]{
	kind:   kindAlertRule,
	load:   loadAlertRules,
	insert: insertAlertRule,
	update: updateAlertRule,
	diff:   diffAlertRule,
}

func (a *AlertRule) spec() (string, error) {
	b, err := json.Marshal(alertSpec{
		From: a.From, To: a.To, Scope: a.Scope, Modules: a.Modules,
		DelayMS: a.Delay.Std().Milliseconds(), RepeatM: a.Repeat.Std().Milliseconds(),
	})
	return string(b), err
}

func loadAlertRules(ctx context.Context, q querier, name string) ([]AlertRule, error) {
	where, args := whereName("name", name)
	var out []AlertRule
	err := queryRows(ctx, q, func(rows *sql.Rows) error {
		var a AlertRule
		var id, created, updated int64
		var spec string
		if err := rows.Scan(&id, &a.Name, &a.Description, &spec, &created, &updated); err != nil {
			return err
		}
		a.set(id, created, updated)
		var sp alertSpec
		if err := json.Unmarshal([]byte(spec), &sp); err != nil {
			return fmt.Errorf("alert rule %q: corrupt spec: %w", a.Name, err)
		}
		a.From, a.To, a.Scope, a.Modules = sp.From, sp.To, sp.Scope, sp.Modules
		a.Delay = Duration(time.Duration(sp.DelayMS) * time.Millisecond)
		a.Repeat = Duration(time.Duration(sp.RepeatM) * time.Millisecond)
		a.normalize()
		out = append(out, a)
		return nil
	}, `SELECT id, name, description, spec, created_at, updated_at FROM alert_rules`+where+` ORDER BY name`, args...)
	if err != nil {
		return nil, fmt.Errorf("load alert rules: %w", err)
	}
	return out, nil
}

func insertAlertRule(ctx context.Context, tx *sql.Tx, _ *resolver, a *AlertRule, now int64) (int64, error) {
	spec, err := a.spec()
	if err != nil {
		return 0, err
	}
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO alert_rules (name, description, spec, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?) RETURNING id`, a.Name, a.Description, spec, now, now).Scan(&id)
	return id, err
}

func updateAlertRule(ctx context.Context, tx *sql.Tx, _ *resolver, id int64, a *AlertRule, now int64) error {
	spec, err := a.spec()
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE alert_rules SET name = ?, description = ?, spec = ?, updated_at = ? WHERE id = ?`,
		a.Name, a.Description, spec, now, id)
	return err
}

// renameInAlertRules follows a rename into alert rule scopes, which refer by
// name (they live in the JSON spec, without foreign keys).
func renameInAlertRules(ctx context.Context, tx *sql.Tx, old ref, newName string, now int64) error {
	if old.kind != kindHost && old.kind != kindGroup && old.kind != kindCheck && old.kind != kindService {
		return nil
	}
	rules, err := loadAlertRules(ctx, tx, "")
	if err != nil {
		return err
	}
	for i := range rules {
		a := &rules[i]
		var list *[]string
		switch old.kind {
		case kindHost:
			list = &a.Scope.Hosts
		case kindGroup:
			list = &a.Scope.Groups
		case kindCheck:
			list = &a.Scope.Checks
		case kindService:
			list = &a.Scope.Services
		}
		j := slices.Index(*list, old.name)
		if j < 0 {
			continue
		}
		(*list)[j] = newName
		a.normalize()
		if err := updateAlertRule(ctx, tx, nil, a.ID, a, now); err != nil {
			return fmt.Errorf("rename %s in alert rule %q: %w", old, a.Name, err)
		}
	}
	return nil
}

// AlertRules implements AlertRuleStore.
func (s *sqliteStore) AlertRules(ctx context.Context) ([]AlertRule, error) {
	return listAll(ctx, s, alertRuleOps)
}

// AlertRule implements AlertRuleStore.
func (s *sqliteStore) AlertRule(ctx context.Context, name string) (AlertRule, error) {
	return getOne(ctx, s, alertRuleOps, name)
}

// CreateAlertRule implements AlertRuleStore.
func (s *sqliteStore) CreateAlertRule(ctx context.Context, a AlertRule) (AlertRule, error) {
	return createOne(ctx, s, alertRuleOps, a)
}

// UpdateAlertRule implements AlertRuleStore.
func (s *sqliteStore) UpdateAlertRule(ctx context.Context, name string, a AlertRule) (AlertRule, error) {
	return updateOne(ctx, s, alertRuleOps, name, a)
}

// DeleteAlertRule implements AlertRuleStore.
func (s *sqliteStore) DeleteAlertRule(ctx context.Context, name string) error {
	return deleteOne(ctx, s, alertRuleOps, name)
}
