package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Service is what users care about ("web shop", "mail"), built from
// dependencies, each of which must be up, and redundancy groups, of which at
// least K members must be up. Its state is ok, degraded or failed.
type Service struct {
	Meta        `yaml:",inline"`
	Name        string `json:"name" yaml:"name"`
	Description string `json:"description" yaml:"description,omitempty"`
	// Dependencies must all be up.
	Dependencies []Member `json:"dependencies" yaml:"dependencies,omitempty"`
	// RedundancyGroups each need K of their members up.
	RedundancyGroups []RedundancyGroup `json:"redundancy_groups" yaml:"redundancy_groups,omitempty"`
	// Rules say which member states count as down or impaired and whether
	// maintenance and acknowledgements count; the zero value means the
	// defaults (see ServiceRules).
	Rules ServiceRules `json:"rules,omitzero" yaml:"rules,omitempty"`
}

// RedundancyGroup is a set of interchangeable members of which at least K
// must be up ("2 of the 3 web servers").
type RedundancyGroup struct {
	// Name identifies the group within its service.
	Name    string   `json:"name" yaml:"name"`
	K       int      `json:"k" yaml:"k"`
	Members []Member `json:"members" yaml:"members"`
}

// Member is what a service is made of, exactly one of: a host ({host}); a
// check's plugin on a host ({host, check, plugin}); another service
// ({service}); a trend rule ({trend}: the worst state of all the series it
// watches) or a trend rule on one host ({trend, host}: the worst state of
// the rule's series of that host).
type Member struct {
	Host    string `json:"host,omitempty" yaml:"host,omitempty"`
	Check   string `json:"check,omitempty" yaml:"check,omitempty"`
	Plugin  string `json:"plugin,omitempty" yaml:"plugin,omitempty"`
	Service string `json:"service,omitempty" yaml:"service,omitempty"`
	Trend   string `json:"trend,omitempty" yaml:"trend,omitempty"`
}

// ServiceRules are a service's rules for judging its members. The zero value
// means the defaults: a member counts as down when critical, as impaired
// (making the service degraded through a dependency) when minor, major or
// unknown, and members in maintenance or acknowledged count by their state.
// A member that is a service is always down when failed and impaired when
// degraded; these lists apply to host, check and trend members.
type ServiceRules struct {
	// Down are the member states that count as down; empty means
	// DefaultDownStates (less any state Impaired lists).
	Down []string `json:"down,omitempty" yaml:"down,omitempty"`
	// Impaired are the member states that count as impaired; empty means
	// DefaultImpairedStates (less any state Down lists). A state in
	// neither list counts as up.
	Impaired []string `json:"impaired,omitempty" yaml:"impaired,omitempty"`
	// IgnoreMaintenance makes members in maintenance count as up.
	IgnoreMaintenance bool `json:"ignore_maintenance,omitempty" yaml:"ignore_maintenance,omitempty"`
	// IgnoreAcknowledged makes members whose problem is acknowledged
	// count as up.
	IgnoreAcknowledged bool `json:"ignore_acknowledged,omitempty" yaml:"ignore_acknowledged,omitempty"`
}

// MemberStates are the states ServiceRules may name, mildest first: the
// states of hosts, checks and trend rules.
var MemberStates = []string{"ok", "minor", "major", "critical", "unknown"}

// DefaultDownStates and DefaultImpairedStates are the defaults of
// ServiceRules: only a critical member is down (a major one still serves,
// badly), and anything short of ok or not known makes a dependency
// impaired, so the service shows degraded rather than hiding it.
func DefaultDownStates() []string { return []string{"critical"} }

// DefaultImpairedStates: see DefaultDownStates.
func DefaultImpairedStates() []string { return []string{"minor", "major", "unknown"} }

// Effective returns the rules with the defaults filled in. A default list
// leaves out the states the other list names, so `down: [critical,
// unknown]` alone makes unknown down, not both.
func (r ServiceRules) Effective() ServiceRules {
	without := func(list, drop []string) []string {
		return slices.DeleteFunc(list, func(s string) bool { return slices.Contains(drop, s) })
	}
	out := r
	out.Down = slices.Clone(r.Down)
	out.Impaired = slices.Clone(r.Impaired)
	if len(r.Down) == 0 {
		out.Down = without(DefaultDownStates(), r.Impaired)
	}
	if len(r.Impaired) == 0 {
		out.Impaired = without(DefaultImpairedStates(), out.Down)
	}
	return out
}

// normalize sorts the lists mildest first and makes empty lists nil, so
// that rules that mean the same compare (and encode) the same.
func (r *ServiceRules) normalize() {
	for _, l := range []*[]string{&r.Down, &r.Impaired} {
		if len(*l) == 0 {
			*l = nil
			continue
		}
		sortStates(*l)
	}
}

// validate checks the rules; what names their service (`service "x"`).
func (r *ServiceRules) validate(what string) error {
	for _, l := range []struct {
		field  string
		states []string
	}{{"rules.down", r.Down}, {"rules.impaired", r.Impaired}} {
		for i, st := range l.states {
			if !slices.Contains(MemberStates, st) {
				return invalidf("%s: %s: unknown state %q (member states are %s)", what, l.field, st, strings.Join(MemberStates, ", "))
			}
			if st == "ok" {
				return invalidf("%s: %s: %q cannot be listed: an ok member is always up", what, l.field, st)
			}
			if i > 0 && l.states[i-1] == st {
				return invalidf("%s: %s lists %q twice", what, l.field, st)
			}
		}
	}
	for _, st := range r.Down {
		if slices.Contains(r.Impaired, st) {
			return invalidf("%s: rules: %q is in both down and impaired; a state counts as one of them", what, st)
		}
	}
	return nil
}

// ServiceStore keeps services. A write that would make services depend on
// themselves, directly or through others, fails with ErrConflict naming the
// cycle.
type ServiceStore interface {
	// Services returns every service, sorted by name.
	Services(ctx context.Context) ([]Service, error)
	// Service returns one service, or an error wrapping ErrNotFound.
	Service(ctx context.Context, name string) (Service, error)
	// CreateService adds a service; its members must exist.
	CreateService(ctx context.Context, sv Service) (Service, error)
	// UpdateService replaces the service called name (sv.Name "" keeps it).
	UpdateService(ctx context.Context, name string, sv Service) (Service, error)
	// DeleteService deletes a service no other service or alert rule refers to.
	DeleteService(ctx context.Context, name string) error
}

// Limits of services.
const (
	maxServiceMembers    = 10000
	maxRedundancyGroups  = 256
	maxRedundancyMembers = 10000
)

// String names the member in words: "host web1", "check http plugin http
// on web1", "service db", "trend rule disk-full", "trend rule disk-full on
// db1"; a member of no valid form shows its fields.
func (m Member) String() string {
	switch {
	case m.Service != "" && m.Host == "" && m.Check == "" && m.Plugin == "" && m.Trend == "":
		return "service " + m.Service
	case m.Trend != "" && m.Check == "" && m.Plugin == "" && m.Service == "":
		if m.Host != "" {
			return "trend rule " + m.Trend + " on " + m.Host
		}
		return "trend rule " + m.Trend
	case m.Host != "" && m.Check == "" && m.Plugin == "" && m.Service == "" && m.Trend == "":
		return "host " + m.Host
	case m.Host != "" && m.Check != "" && m.Plugin != "" && m.Service == "" && m.Trend == "":
		return "check " + m.Check + " plugin " + m.Plugin + " on " + m.Host
	}
	return fmt.Sprintf("{host: %q, check: %q, plugin: %q, service: %q, trend: %q}", m.Host, m.Check, m.Plugin, m.Service, m.Trend)
}

func (m Member) validate() error {
	form := m.String()
	if strings.HasPrefix(form, "{") {
		return invalidf("member %s must be exactly one of {host}, {host, check, plugin}, {service}, {trend} or {trend, host}", form)
	}
	for _, n := range []string{m.Host, m.Check, m.Plugin, m.Service, m.Trend} {
		if n != "" && !nameRE.MatchString(n) {
			return invalidf("member %s: %q is not a valid name", form, n)
		}
	}
	return nil
}

func (m Member) refs() []ref {
	switch {
	case m.Service != "":
		return []ref{{kindService, m.Service}}
	case m.Trend != "" && m.Host != "":
		return []ref{{kindTrendRule, m.Trend}, {kindHost, m.Host}}
	case m.Trend != "":
		return []ref{{kindTrendRule, m.Trend}}
	case m.Check != "":
		return []ref{{kindHost, m.Host}, {kindCheck, m.Check}, {kindPlugin, m.Plugin}}
	default:
		return []ref{{kindHost, m.Host}}
	}
}

func sortMembers(ms []Member) []Member {
	if ms == nil {
		return []Member{}
	}
	slices.SortFunc(ms, func(a, b Member) int { return strings.Compare(a.String(), b.String()) })
	return ms
}

func validMembers(what string, ms []Member, limit int) error {
	if len(ms) > limit {
		return invalidf("%s: %d members; the limit is %d", what, len(ms), limit)
	}
	for i, m := range ms {
		if err := m.validate(); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if i > 0 && ms[i-1] == m {
			return invalidf("%s: %s is listed twice", what, m)
		}
	}
	return nil
}

func (sv *Service) key() *string { return &sv.Name }

func (sv *Service) normalize() {
	sv.Dependencies = sortMembers(sv.Dependencies)
	if sv.RedundancyGroups == nil {
		sv.RedundancyGroups = []RedundancyGroup{}
	}
	for i := range sv.RedundancyGroups {
		sv.RedundancyGroups[i].Members = sortMembers(sv.RedundancyGroups[i].Members)
	}
	slices.SortFunc(sv.RedundancyGroups, func(a, b RedundancyGroup) int { return strings.Compare(a.Name, b.Name) })
	sv.Rules.normalize()
}

func (sv *Service) validate() error {
	if err := validName("service", sv.Name); err != nil {
		return err
	}
	what := fmt.Sprintf("service %q", sv.Name)
	if err := validText(what, "description", sv.Description, maxDescription); err != nil {
		return err
	}
	if err := validMembers(what+": dependencies", sv.Dependencies, maxServiceMembers); err != nil {
		return err
	}
	if len(sv.RedundancyGroups) > maxRedundancyGroups {
		return invalidf("%s: %d redundancy groups; the limit is %d", what, len(sv.RedundancyGroups), maxRedundancyGroups)
	}
	for i, rg := range sv.RedundancyGroups {
		if err := validName(what+": redundancy group", rg.Name); err != nil {
			return err
		}
		if i > 0 && sv.RedundancyGroups[i-1].Name == rg.Name {
			return invalidf("%s: redundancy group %q is defined twice", what, rg.Name)
		}
		rgWhat := fmt.Sprintf("%s: redundancy group %q", what, rg.Name)
		if len(rg.Members) == 0 {
			return invalidf("%s: needs at least one member", rgWhat)
		}
		if err := validMembers(rgWhat, rg.Members, maxRedundancyMembers); err != nil {
			return err
		}
		if rg.K < 1 || rg.K > len(rg.Members) {
			return invalidf("%s: k = %d must be between 1 and its number of members (%d)", rgWhat, rg.K, len(rg.Members))
		}
	}
	if err := sv.Rules.validate(what); err != nil {
		return err
	}
	if slices.Contains(sv.memberServices(), sv.Name) {
		return cycleError("service dependency", []string{sv.Name, sv.Name})
	}
	return nil
}

// memberServices are the services this one is built from, sorted, unique.
func (sv *Service) memberServices() []string {
	var out []string
	add := func(ms []Member) {
		for _, m := range ms {
			if m.Service != "" {
				out = append(out, m.Service)
			}
		}
	}
	add(sv.Dependencies)
	for _, rg := range sv.RedundancyGroups {
		add(rg.Members)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (sv *Service) refs() []ref {
	var out []ref
	for _, m := range sv.Dependencies {
		out = append(out, m.refs()...)
	}
	for _, rg := range sv.RedundancyGroups {
		for _, m := range rg.Members {
			out = append(out, m.refs()...)
		}
	}
	return out
}

func showMembers(ms []Member) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.String()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func diffService(a, b *Service) []string {
	var f fieldDiffs
	f.str("description", a.Description, b.Description)
	if !slices.Equal(a.Dependencies, b.Dependencies) {
		f = append(f, "dependencies "+showMembers(a.Dependencies)+" -> "+showMembers(b.Dependencies))
	}
	old := map[string]RedundancyGroup{}
	for _, rg := range a.RedundancyGroups {
		old[rg.Name] = rg
	}
	for _, rg := range b.RedundancyGroups {
		o, ok := old[rg.Name]
		delete(old, rg.Name)
		if !ok {
			f = append(f, fmt.Sprintf("+ redundancy group %s (%d of %s)", rg.Name, rg.K, showMembers(rg.Members)))
			continue
		}
		f.int("redundancy group "+rg.Name+" k", o.K, rg.K)
		if !slices.Equal(o.Members, rg.Members) {
			f = append(f, "redundancy group "+rg.Name+" members "+showMembers(o.Members)+" -> "+showMembers(rg.Members))
		}
	}
	for _, name := range sortedKeys(old) {
		f = append(f, "- redundancy group "+name)
	}
	f.list("rules.down", a.Rules.Down, b.Rules.Down)
	f.list("rules.impaired", a.Rules.Impaired, b.Rules.Impaired)
	if a.Rules.IgnoreMaintenance != b.Rules.IgnoreMaintenance {
		f = append(f, fmt.Sprintf("rules.ignore_maintenance %t -> %t", a.Rules.IgnoreMaintenance, b.Rules.IgnoreMaintenance))
	}
	if a.Rules.IgnoreAcknowledged != b.Rules.IgnoreAcknowledged {
		f = append(f, fmt.Sprintf("rules.ignore_acknowledged %t -> %t", a.Rules.IgnoreAcknowledged, b.Rules.IgnoreAcknowledged))
	}
	return f
}

var serviceOps = ops[Service]{
	kind:   kindService,
	load:   loadServices,
	insert: insertService,
	update: updateService,
	check:  checkServiceCycle,
	diff:   diffService,
}

func loadServices(ctx context.Context, q querier, name string) ([]Service, error) {
	where, args := whereName("s.name", name)
	var out []Service
	err := queryRows(ctx, q, func(rows *sql.Rows) error {
		var sv Service
		var id, created, updated int64
		var rules string
		if err := rows.Scan(&id, &sv.Name, &sv.Description, &rules, &created, &updated); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(rules), &sv.Rules); err != nil {
			return fmt.Errorf("service %q: decode rules: %w", sv.Name, err)
		}
		sv.set(id, created, updated)
		out = append(out, sv)
		return nil
	}, `SELECT s.id, s.name, s.description, s.rules, s.created_at, s.updated_at FROM services s`+where+` ORDER BY s.name`, args...)
	if err != nil {
		return nil, fmt.Errorf("load services: %w", err)
	}
	type rgKey struct {
		service string
		id      int64
	}
	groups := map[rgKey]*RedundancyGroup{}
	var order []rgKey
	err = queryRows(ctx, q, func(rows *sql.Rows) error {
		var k rgKey
		rg := &RedundancyGroup{}
		if err := rows.Scan(&k.service, &k.id, &rg.Name, &rg.K); err != nil {
			return err
		}
		groups[k] = rg
		order = append(order, k)
		return nil
	}, `SELECT s.name, r.id, r.name, r.k FROM service_redundancy_groups r
		JOIN services s ON s.id = r.service_id`+where+` ORDER BY r.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("load redundancy groups: %w", err)
	}
	deps := map[string][]Member{}
	err = queryRows(ctx, q, func(rows *sql.Rows) error {
		var svc string
		var rgID sql.NullInt64
		var host, check, plugin, member, trend sql.NullString
		if err := rows.Scan(&svc, &rgID, &host, &check, &plugin, &member, &trend); err != nil {
			return err
		}
		m := Member{Host: host.String, Check: check.String, Plugin: plugin.String, Service: member.String, Trend: trend.String}
		if !rgID.Valid {
			deps[svc] = append(deps[svc], m)
			return nil
		}
		rg := groups[rgKey{svc, rgID.Int64}]
		if rg == nil {
			return fmt.Errorf("BUG: member of unknown redundancy group %d", rgID.Int64)
		}
		rg.Members = append(rg.Members, m)
		return nil
	}, `SELECT s.name, m.redundancy_group_id, h.name, c.name, p.name, ms.name, t.name
		FROM service_members m
		JOIN services s ON s.id = m.service_id
		LEFT JOIN hosts h ON h.id = m.host_id
		LEFT JOIN checks c ON c.id = m.check_id
		LEFT JOIN plugins p ON p.id = m.plugin_id
		LEFT JOIN services ms ON ms.id = m.member_service_id
		LEFT JOIN trend_rules t ON t.id = m.trend_rule_id`+where+` ORDER BY m.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("load service members: %w", err)
	}
	rgs := map[string][]RedundancyGroup{}
	for _, k := range order {
		rgs[k.service] = append(rgs[k.service], *groups[k])
	}
	for i := range out {
		out[i].Dependencies = deps[out[i].Name]
		out[i].RedundancyGroups = rgs[out[i].Name]
		out[i].normalize()
	}
	return out, nil
}

func insertService(ctx context.Context, tx *sql.Tx, r *resolver, sv *Service, now int64) (int64, error) {
	rules, err := json.Marshal(sv.Rules)
	if err != nil {
		return 0, fmt.Errorf("encode rules: %w", err)
	}
	var id int64
	if err := tx.QueryRowContext(ctx, `INSERT INTO services (name, description, rules, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?) RETURNING id`, sv.Name, sv.Description, string(rules), now, now).Scan(&id); err != nil {
		return 0, err
	}
	r.set(kindService, sv.Name, id)
	return id, writeServiceMembers(ctx, tx, r, id, sv)
}

func updateService(ctx context.Context, tx *sql.Tx, r *resolver, id int64, sv *Service, now int64) error {
	rules, err := json.Marshal(sv.Rules)
	if err != nil {
		return fmt.Errorf("encode rules: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE services SET name = ?, description = ?, rules = ?, updated_at = ? WHERE id = ?`,
		sv.Name, sv.Description, string(rules), now, id); err != nil {
		return err
	}
	return writeServiceMembers(ctx, tx, r, id, sv)
}

func writeServiceMembers(ctx context.Context, tx *sql.Tx, r *resolver, id int64, sv *Service) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM service_members WHERE service_id = ?`, id); err != nil {
		return fmt.Errorf("clear service members: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM service_redundancy_groups WHERE service_id = ?`, id); err != nil {
		return fmt.Errorf("clear redundancy groups: %w", err)
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO service_members
		(service_id, redundancy_group_id, host_id, check_id, plugin_id, member_service_id, trend_rule_id) VALUES (?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("write service members: %w", err)
	}
	defer stmt.Close()
	writeMembers := func(rg sql.NullInt64, ms []Member) error {
		for _, m := range ms {
			var host, check, plugin, svc, trend sql.NullInt64
			for _, x := range []struct {
				dst  *sql.NullInt64
				k    kind
				name string
			}{{&host, kindHost, m.Host}, {&check, kindCheck, m.Check}, {&plugin, kindPlugin, m.Plugin},
				{&svc, kindService, m.Service}, {&trend, kindTrendRule, m.Trend}} {
				if x.name == "" {
					continue
				}
				v, err := r.id(ctx, x.k, x.name)
				if err != nil {
					return err
				}
				*x.dst = sql.NullInt64{Int64: v, Valid: true}
			}
			if _, err := stmt.ExecContext(ctx, id, rg, host, check, plugin, svc, trend); err != nil {
				return fmt.Errorf("write service member %s: %w", m, err)
			}
		}
		return nil
	}
	if err := writeMembers(sql.NullInt64{}, sv.Dependencies); err != nil {
		return err
	}
	for _, rg := range sv.RedundancyGroups {
		var rgID int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO service_redundancy_groups (service_id, name, k) VALUES (?, ?, ?) RETURNING id`,
			id, rg.Name, rg.K).Scan(&rgID); err != nil {
			return fmt.Errorf("write redundancy group %s: %w", rg.Name, err)
		}
		if err := writeMembers(sql.NullInt64{Int64: rgID, Valid: true}, rg.Members); err != nil {
			return err
		}
	}
	return nil
}

// serviceGraph is service -> the services it is built from.
func serviceGraph(services []Service) graph {
	g := make(graph, len(services))
	for i := range services {
		g[services[i].Name] = services[i].memberServices()
	}
	return g
}

// checkServiceCycle refuses a single write that would close a dependency cycle.
func checkServiceCycle(ctx context.Context, tx *sql.Tx, sv *Service, oldName string) error {
	members := sv.memberServices()
	if len(members) == 0 {
		return nil
	}
	all, err := loadServices(ctx, tx, "")
	if err != nil {
		return err
	}
	if c := serviceGraph(all).withNode(oldName, sv.Name, members).findCycle(); c != nil {
		return cycleError("service dependency", c)
	}
	return nil
}

// Services implements ServiceStore.
func (s *sqlStore) Services(ctx context.Context) ([]Service, error) {
	return listAll(ctx, s, serviceOps)
}

// Service implements ServiceStore.
func (s *sqlStore) Service(ctx context.Context, name string) (Service, error) {
	return getOne(ctx, s, serviceOps, name)
}

// CreateService implements ServiceStore.
func (s *sqlStore) CreateService(ctx context.Context, sv Service) (Service, error) {
	return createOne(ctx, s, serviceOps, sv)
}

// UpdateService implements ServiceStore.
func (s *sqlStore) UpdateService(ctx context.Context, name string, sv Service) (Service, error) {
	return updateOne(ctx, s, serviceOps, name, sv)
}

// DeleteService implements ServiceStore.
func (s *sqlStore) DeleteService(ctx context.Context, name string) error {
	return deleteOne(ctx, s, serviceOps, name)
}
