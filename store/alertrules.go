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
	// Condition is an optional expr-lang expression over the change (see
	// docs/alerting.md) that must also be true; at most
	// MaxAlertConditionBytes, checked by the store's CodeChecker.
	Condition string `json:"condition" yaml:"condition,omitempty"`
	// Escalations notify more modules when the alert has fired for their
	// After without being acknowledged; After increases step by step.
	Escalations []Escalation `json:"escalations" yaml:"escalations,omitempty"`
	// NoRecovery turns off the "resolved" notification (by default every
	// module that heard of the alert hears of its recovery).
	NoRecovery bool `json:"no_recovery" yaml:"no_recovery,omitempty"`
	// Disabled keeps the rule without matching anything.
	Disabled bool `json:"disabled" yaml:"disabled,omitempty"`
}

// Escalation is one step of an alert rule: after After firing
// unacknowledged, also notify Modules.
type Escalation struct {
	After   Duration `json:"after" yaml:"after"`
	Modules []string `json:"modules" yaml:"modules"`
}

// Limits of alert rules.
const (
	// MaxAlertConditionBytes bounds AlertRule.Condition.
	MaxAlertConditionBytes = 4 << 10
	// MaxEscalations bounds AlertRule.Escalations.
	MaxEscalations = 16
	// maxAlertDuration bounds delays, repeats and escalation times.
	maxAlertDuration = 366 * 24 * time.Hour
)

// Scope is what an alert rule or a silence covers. Lists are alternatives:
// a change matches when its host is in Hosts or in one of Groups, or its
// check is in Checks, or its plugin in Plugins, or it is a service in
// Services, or a series of a trend rule in TrendRules. Every name must
// exist; renames follow and deleting what a scope names is refused.
type Scope struct {
	Hosts      []string `json:"hosts" yaml:"hosts,omitempty"`
	Groups     []string `json:"groups" yaml:"groups,omitempty"`
	Checks     []string `json:"checks" yaml:"checks,omitempty"`
	Services   []string `json:"services" yaml:"services,omitempty"`
	Plugins    []string `json:"plugins" yaml:"plugins,omitempty"`
	TrendRules []string `json:"trend_rules" yaml:"trend_rules,omitempty"`
}

// Empty reports whether s covers everything.
func (s Scope) Empty() bool {
	return len(s.Hosts)+len(s.Groups)+len(s.Checks)+len(s.Services)+len(s.Plugins)+len(s.TrendRules) == 0
}

func (s *Scope) normalize() {
	s.Hosts = sortNames(s.Hosts)
	s.Groups = sortNames(s.Groups)
	s.Checks = sortNames(s.Checks)
	s.Services = sortNames(s.Services)
	s.Plugins = sortNames(s.Plugins)
	s.TrendRules = sortNames(s.TrendRules)
}

// lists are the scope's lists with their field names and kinds.
func (s *Scope) lists() []scopeList {
	return []scopeList{{"scope.hosts", kindHost, &s.Hosts}, {"scope.groups", kindGroup, &s.Groups},
		{"scope.checks", kindCheck, &s.Checks}, {"scope.services", kindService, &s.Services},
		{"scope.plugins", kindPlugin, &s.Plugins}, {"scope.trend_rules", kindTrendRule, &s.TrendRules}}
}

type scopeList struct {
	field string
	kind  kind
	names *[]string
}

func (s *Scope) validate(what string) error {
	for _, l := range s.lists() {
		if err := validNameList(what, l.field, *l.names); err != nil {
			return err
		}
	}
	return nil
}

func (s *Scope) refs() []ref {
	var out []ref
	for _, l := range s.lists() {
		out = append(out, refsOf(l.kind, *l.names)...)
	}
	return out
}

// diffScopes records how scope b differs from a.
func diffScopes(f *fieldDiffs, a, b *Scope) {
	bl := b.lists()
	for i, l := range a.lists() {
		f.list(l.field, *l.names, *bl[i].names)
	}
}

// rename replaces old by newName in the list of old's kind and reports
// whether it did.
func (s *Scope) rename(old ref, newName string) bool {
	for _, l := range s.lists() {
		if l.kind != old.kind {
			continue
		}
		if j := slices.Index(*l.names, old.name); j >= 0 {
			(*l.names)[j] = newName
			slices.Sort(*l.names)
			return true
		}
	}
	return false
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
	From        []string         `json:"from"`
	To          []string         `json:"to"`
	Scope       Scope            `json:"scope"`
	Modules     []string         `json:"modules"`
	DelayMS     int64            `json:"delay_ms"`
	RepeatM     int64            `json:"repeat_ms"`
	Condition   string           `json:"condition,omitempty"`
	Escalations []escalationSpec `json:"escalations,omitempty"`
	NoRecovery  bool             `json:"no_recovery,omitempty"`
	Disabled    bool             `json:"disabled,omitempty"`
}

type escalationSpec struct {
	AfterMS int64    `json:"after_ms"`
	Modules []string `json:"modules"`
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
	a.Scope.normalize()
	if a.Escalations == nil {
		a.Escalations = []Escalation{}
	}
	for i := range a.Escalations {
		a.Escalations[i].Modules = sortNames(a.Escalations[i].Modules)
	}
}

// ServiceStates are the states of services; the other States are those of
// checks, hosts and trend rule series (MemberStates).
var ServiceStates = []string{"ok", "degraded", "failed"}

// matchesSomething refuses a rule that can never match: its from or to
// states are none of the states of the kinds of subject its scope covers
// (a scope of only services with to: [critical], or of only hosts with to:
// [failed]).
func (a *AlertRule) matchesSomething(what string) error {
	sc := a.Scope
	services := len(sc.Services) > 0
	others := len(sc.Hosts)+len(sc.Groups)+len(sc.Checks)+len(sc.Plugins)+len(sc.TrendRules) > 0
	if !services && !others {
		services, others = true, true // an empty scope covers everything
	}
	var possible []string
	if services {
		possible = append(possible, ServiceStates...)
	}
	if others {
		possible = append(possible, MemberStates...)
	}
	kinds := map[[2]bool]string{{true, false}: "only services, whose states are ok, degraded and failed",
		{false, true}: "no services, and hosts, checks and trend rules are ok, minor, major, critical or unknown"}[[2]bool{services, others}]
	for _, l := range []struct {
		field  string
		states []string
	}{{"from", a.From}, {"to", a.To}} {
		if len(l.states) > 0 && !slices.ContainsFunc(l.states, func(s string) bool { return slices.Contains(possible, s) }) {
			return invalidf("%s matches nothing: its scope covers %s, but %s lists only %s", what, kinds, l.field, strings.Join(l.states, ", "))
		}
	}
	return nil
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
	if err := a.matchesSomething(what); err != nil {
		return err
	}
	if len(a.Modules) == 0 {
		return invalidf("%s: needs at least one module to notify through", what)
	}
	if err := validNameList(what, "modules", a.Modules); err != nil {
		return err
	}
	if err := a.Scope.validate(what); err != nil {
		return err
	}
	if a.Delay < 0 || a.Delay.Std() > maxAlertDuration {
		return invalidf("%s: delay %s must be between 0s and 366d", what, a.Delay)
	}
	if a.Repeat != 0 && (a.Repeat.Std() < time.Minute || a.Repeat.Std() > maxAlertDuration) {
		return invalidf("%s: repeat %s must be 0s (never) or between 1m and 366d", what, a.Repeat)
	}
	if err := validText(what, "condition", a.Condition, MaxAlertConditionBytes); err != nil {
		return err
	}
	if len(a.Escalations) > MaxEscalations {
		return invalidf("%s: escalations has %d steps; the limit is %d", what, len(a.Escalations), MaxEscalations)
	}
	for i, e := range a.Escalations {
		field := fmt.Sprintf("escalations[%d]", i)
		if e.After <= 0 || e.After.Std() > maxAlertDuration {
			return invalidf("%s: %s.after %s must be more than 0s and at most 366d", what, field, e.After)
		}
		if i > 0 && e.After <= a.Escalations[i-1].After {
			return invalidf("%s: %s.after %s must be later than the step before (%s): list steps in order", what, field, e.After, a.Escalations[i-1].After)
		}
		if len(e.Modules) == 0 {
			return invalidf("%s: %s needs at least one module to notify through", what, field)
		}
		if err := validNameList(what, field+".modules", e.Modules); err != nil {
			return err
		}
	}
	return nil
}

// moduleNames lists every module the rule notifies, its own and its
// escalations', once each, sorted.
func (a *AlertRule) moduleNames() []string {
	out := slices.Clone(a.Modules)
	for _, e := range a.Escalations {
		out = append(out, e.Modules...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (a *AlertRule) refs() []ref {
	return append(a.Scope.refs(), refsOf(kindAlertModule, a.moduleNames())...)
}

// checkAlertRuleCode runs the code checker over the rule's condition.
func checkAlertRuleCode(c CodeChecker, a *AlertRule) error {
	if a.Condition == "" {
		return nil
	}
	if err := c.CheckAlertCondition(a.Condition); err != nil {
		return &codeError{what: fmt.Sprintf("alert rule %q: condition", a.Name), err: err}
	}
	return nil
}

func showEscalations(es []Escalation) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.After.String() + " " + showList(e.Modules)
	}
	return out
}

func diffAlertRule(a, b *AlertRule) []string {
	var f fieldDiffs
	f.str("description", a.Description, b.Description)
	f.list("from", a.From, b.From)
	f.list("to", a.To, b.To)
	diffScopes(&f, &a.Scope, &b.Scope)
	f.list("modules", a.Modules, b.Modules)
	f.duration("delay", a.Delay, b.Delay)
	f.duration("repeat", a.Repeat, b.Repeat)
	f.str("condition", a.Condition, b.Condition)
	f.list("escalations", showEscalations(a.Escalations), showEscalations(b.Escalations))
	f.bool("no_recovery", a.NoRecovery, b.NoRecovery)
	f.bool("disabled", a.Disabled, b.Disabled)
	return f
}

var alertRuleOps = ops[AlertRule]{
	kind:   kindAlertRule,
	load:   loadAlertRules,
	insert: insertAlertRule,
	update: updateAlertRule,
	diff:   diffAlertRule,
	code:   checkAlertRuleCode,
}

func (a *AlertRule) spec() (string, error) {
	sp := alertSpec{
		From: a.From, To: a.To, Scope: a.Scope, Modules: a.Modules,
		DelayMS: a.Delay.Std().Milliseconds(), RepeatM: a.Repeat.Std().Milliseconds(),
		Condition: a.Condition, NoRecovery: a.NoRecovery, Disabled: a.Disabled,
	}
	for _, e := range a.Escalations {
		sp.Escalations = append(sp.Escalations, escalationSpec{AfterMS: e.After.Std().Milliseconds(), Modules: e.Modules})
	}
	b, err := json.Marshal(sp)
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
		a.Condition, a.NoRecovery, a.Disabled = sp.Condition, sp.NoRecovery, sp.Disabled
		for _, e := range sp.Escalations {
			a.Escalations = append(a.Escalations, Escalation{After: Duration(time.Duration(e.AfterMS) * time.Millisecond), Modules: e.Modules})
		}
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
	if !scopeKinds[old.kind] {
		return nil
	}
	rules, err := loadAlertRules(ctx, tx, "")
	if err != nil {
		return err
	}
	for i := range rules {
		a := &rules[i]
		if !a.Scope.rename(old, newName) {
			continue
		}
		if err := updateAlertRule(ctx, tx, nil, a.ID, a, now); err != nil {
			return fmt.Errorf("rename %s in alert rule %q: %w", old, a.Name, err)
		}
	}
	return nil
}

// scopeKinds are the kinds a Scope names.
var scopeKinds = map[kind]bool{kindHost: true, kindGroup: true, kindCheck: true, kindService: true, kindPlugin: true, kindTrendRule: true}

// AlertRules implements AlertRuleStore.
func (s *sqlStore) AlertRules(ctx context.Context) ([]AlertRule, error) {
	return listAll(ctx, s, alertRuleOps)
}

// AlertRule implements AlertRuleStore.
func (s *sqlStore) AlertRule(ctx context.Context, name string) (AlertRule, error) {
	return getOne(ctx, s, alertRuleOps, name)
}

// CreateAlertRule implements AlertRuleStore.
func (s *sqlStore) CreateAlertRule(ctx context.Context, a AlertRule) (AlertRule, error) {
	return createOne(ctx, s, alertRuleOps, a)
}

// UpdateAlertRule implements AlertRuleStore.
func (s *sqlStore) UpdateAlertRule(ctx context.Context, name string, a AlertRule) (AlertRule, error) {
	return updateOne(ctx, s, alertRuleOps, name, a)
}

// DeleteAlertRule implements AlertRuleStore.
func (s *sqlStore) DeleteAlertRule(ctx context.Context, name string) error {
	return deleteOne(ctx, s, alertRuleOps, name)
}
