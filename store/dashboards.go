package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Dashboard is a named page of panels over PromQL that the web UI draws:
// time series, state timelines, stats, gauges, tables and message lists,
// with variables ($host, $group, $check) the viewer picks. The store keeps
// it as configuration; the panels' queries are not checked against the
// TSDB (a query for a metric that does not exist yet is fine).
type Dashboard struct {
	Meta `yaml:",inline"`
	// Name is the id, in URLs (/dashboards/{name}).
	Name string `json:"name" yaml:"name"`
	// Title is what the UI shows; "" shows the name.
	Title       string `json:"title" yaml:"title,omitempty"`
	Description string `json:"description" yaml:"description,omitempty"`
	// Variables the viewer picks, in the order shown; each name at most
	// once.
	Variables []DashboardVariable `json:"variables" yaml:"variables,omitempty"`
	// Panels in the order drawn.
	Panels []Panel `json:"panels" yaml:"panels"`
}

// DashboardVariable is a variable of a dashboard: $host, $group or $check
// in its panels' queries and titles.
type DashboardVariable struct {
	// Name is one of DashboardVariableNames.
	Name string `json:"name" yaml:"name"`
	// Multi lets the viewer pick several values; the UI then expands the
	// variable to a regular expression of them (use =~ in the query).
	Multi bool `json:"multi,omitempty" yaml:"multi,omitempty"`
}

// Panel is one panel of a dashboard.
type Panel struct {
	Title string `json:"title" yaml:"title,omitempty"`
	// Type is one of PanelTypes.
	Type string `json:"type" yaml:"type"`
	// Query is PromQL; for a messages panel, matchers of the message log
	// ({host="$host", plugin="load"}).
	Query string `json:"query" yaml:"query"`
	// Unit and Help are shown with the value.
	Unit string `json:"unit,omitempty" yaml:"unit,omitempty"`
	Help string `json:"help,omitempty" yaml:"help,omitempty"`
	// Min and Max bound a gauge (default 0 and 100).
	Min *float64 `json:"min,omitempty" yaml:"min,omitempty"`
	Max *float64 `json:"max,omitempty" yaml:"max,omitempty"`
	// Stacked draws a time-series panel's series stacked.
	Stacked bool `json:"stacked,omitempty" yaml:"stacked,omitempty"`
	// Repeat names a variable of the dashboard: the panel is drawn once
	// per selected value of it.
	Repeat string `json:"repeat,omitempty" yaml:"repeat,omitempty"`
}

// PanelTypes are the kinds of panel the UI draws.
var PanelTypes = []string{"timeseries", "state", "stat", "gauge", "table", "messages"}

// DashboardVariableNames are the variables a dashboard may have.
var DashboardVariableNames = []string{"host", "group", "check"}

// Limits of dashboards: a dashboard is a page a person reads, and the whole
// of it travels to every browser that opens it.
const (
	// MaxDashboardPanels bounds the panels of one dashboard.
	MaxDashboardPanels = 100
	// MaxDashboardBytes bounds a dashboard as JSON (title, description,
	// variables and panels).
	MaxDashboardBytes = 64 << 10
	maxDashboardTitle = 256
	maxPanelQuery     = 8 << 10
	maxPanelUnit      = 32
	maxPanelHelp      = 1024
)

// DashboardStore keeps dashboards.
type DashboardStore interface {
	// Dashboards returns every dashboard, sorted by name.
	Dashboards(ctx context.Context) ([]Dashboard, error)
	// Dashboard returns one dashboard, or an error wrapping ErrNotFound.
	Dashboard(ctx context.Context, name string) (Dashboard, error)
	// CreateDashboard adds a dashboard.
	CreateDashboard(ctx context.Context, d Dashboard) (Dashboard, error)
	// UpdateDashboard replaces the dashboard called name (d.Name "" keeps
	// it).
	UpdateDashboard(ctx context.Context, name string, d Dashboard) (Dashboard, error)
	// DeleteDashboard deletes a dashboard.
	DeleteDashboard(ctx context.Context, name string) error
}

func (d *Dashboard) key() *string { return &d.Name }

// refs is empty: panels name hosts and checks only inside PromQL, which
// may well ask for what does not exist yet.
func (d *Dashboard) refs() []ref { return nil }

// normalize makes absent lists empty. The order of variables and panels is
// the user's (it is the order shown), so nothing is sorted.
func (d *Dashboard) normalize() {
	if d.Variables == nil {
		d.Variables = []DashboardVariable{}
	}
	if d.Panels == nil {
		d.Panels = []Panel{}
	}
}

func (d *Dashboard) validate() error {
	if err := validName("dashboard", d.Name); err != nil {
		return err
	}
	what := fmt.Sprintf("dashboard %q", d.Name)
	if err := validText(what, "title", d.Title, maxDashboardTitle); err != nil {
		return err
	}
	if err := validText(what, "description", d.Description, maxDescription); err != nil {
		return err
	}
	if len(d.Variables) > len(DashboardVariableNames) {
		return invalidf("%s: variables has %d entries; there are only %d variables (%s)", what, len(d.Variables),
			len(DashboardVariableNames), strings.Join(DashboardVariableNames, ", "))
	}
	declared := map[string]bool{}
	for i, v := range d.Variables {
		field := fmt.Sprintf("variables[%d]", i)
		if !slices.Contains(DashboardVariableNames, v.Name) {
			return invalidf("%s: %s.name %q must be one of %s", what, field, v.Name, strings.Join(DashboardVariableNames, ", "))
		}
		if declared[v.Name] {
			return invalidf("%s: %s.name: the variable %q is declared twice", what, field, v.Name)
		}
		declared[v.Name] = true
	}
	if len(d.Panels) > MaxDashboardPanels {
		return invalidf("%s: panels has %d entries; the limit is %d", what, len(d.Panels), MaxDashboardPanels)
	}
	for i := range d.Panels {
		if err := d.Panels[i].validate(what, fmt.Sprintf("panels[%d]", i), declared); err != nil {
			return err
		}
	}
	// The whole, as the API sends it: many panels at their limits would
	// otherwise add up to megabytes.
	b, err := json.Marshal(struct {
		T, D string
		V    []DashboardVariable
		P    []Panel
	}{d.Title, d.Description, d.Variables, d.Panels})
	if err != nil {
		return invalidf("%s: %v", what, err)
	}
	if len(b) > MaxDashboardBytes {
		return invalidf("%s: the dashboard is %d bytes as JSON; the limit is %d (fewer or shorter panels)", what, len(b), MaxDashboardBytes)
	}
	return nil
}

func (p *Panel) validate(what, field string, declared map[string]bool) error {
	if !slices.Contains(PanelTypes, p.Type) {
		if p.Type == "" {
			return invalidf("%s: %s.type is required (one of %s)", what, field, strings.Join(PanelTypes, ", "))
		}
		return invalidf("%s: %s.type %q must be one of %s", what, field, p.Type, strings.Join(PanelTypes, ", "))
	}
	if strings.TrimSpace(p.Query) == "" {
		return invalidf("%s: %s.query is required", what, field)
	}
	for _, t := range []struct {
		name, s string
		limit   int
	}{{"title", p.Title, maxDashboardTitle}, {"query", p.Query, maxPanelQuery}, {"unit", p.Unit, maxPanelUnit}, {"help", p.Help, maxPanelHelp}} {
		if err := validText(what, field+"."+t.name, t.s, t.limit); err != nil {
			return err
		}
	}
	for _, b := range []struct {
		name string
		v    *float64
	}{{"min", p.Min}, {"max", p.Max}} {
		if b.v != nil && (math.IsNaN(*b.v) || math.IsInf(*b.v, 0)) {
			return invalidf("%s: %s.%s must be a finite number", what, field, b.name)
		}
	}
	if p.Min != nil && p.Max != nil && *p.Min >= *p.Max {
		return invalidf("%s: %s.max %g must be more than min %g", what, field, *p.Max, *p.Min)
	}
	if p.Repeat != "" && !declared[p.Repeat] {
		return invalidf("%s: %s.repeat %q names no variable of the dashboard (declare it in variables)", what, field, p.Repeat)
	}
	return nil
}

func diffDashboard(a, b *Dashboard) []string {
	var f fieldDiffs
	f.str("title", a.Title, b.Title)
	f.str("description", a.Description, b.Description)
	if !slices.Equal(a.Variables, b.Variables) {
		f = append(f, "variables "+showVariables(a.Variables)+" -> "+showVariables(b.Variables))
	}
	ap, _ := json.Marshal(a.Panels)
	bp, _ := json.Marshal(b.Panels)
	if string(ap) != string(bp) {
		f = append(f, fmt.Sprintf("panels changed (%d -> %d panels)", len(a.Panels), len(b.Panels)))
	}
	return f
}

func showVariables(vs []DashboardVariable) string {
	names := make([]string, len(vs))
	for i, v := range vs {
		names[i] = v.Name
		if v.Multi {
			names[i] += " (multi)"
		}
	}
	return showList(names)
}

var dashboardOps = ops[Dashboard]{
	kind:   kindDashboard,
	load:   loadDashboards,
	insert: insertDashboard,
	update: updateDashboard,
	diff:   diffDashboard,
	quiet:  true,
}

func loadDashboards(ctx context.Context, q querier, name string) ([]Dashboard, error) {
	where, args := whereName("name", name)
	var out []Dashboard
	err := queryRows(ctx, q, func(rows *sql.Rows) error {
		var d Dashboard
		var id, created, updated int64
		var vars, panels string
		if err := rows.Scan(&id, &d.Name, &d.Title, &d.Description, &vars, &panels, &created, &updated); err != nil {
			return err
		}
		d.set(id, created, updated)
		if err := json.Unmarshal([]byte(vars), &d.Variables); err != nil {
			return fmt.Errorf("dashboard %q: corrupt variables: %w", d.Name, err)
		}
		if err := json.Unmarshal([]byte(panels), &d.Panels); err != nil {
			return fmt.Errorf("dashboard %q: corrupt panels: %w", d.Name, err)
		}
		d.normalize()
		out = append(out, d)
		return nil
	}, `SELECT id, name, title, description, variables, panels, created_at, updated_at FROM dashboards`+where+` ORDER BY name`, args...)
	if err != nil {
		return nil, fmt.Errorf("load dashboards: %w", err)
	}
	return out, nil
}

// columns returns the JSON of the variables and panels columns.
func (d *Dashboard) columns() (vars, panels string, err error) {
	v, err := json.Marshal(d.Variables)
	if err != nil {
		return "", "", err
	}
	p, err := json.Marshal(d.Panels)
	if err != nil {
		return "", "", err
	}
	return string(v), string(p), nil
}

func insertDashboard(ctx context.Context, tx *sql.Tx, _ *resolver, d *Dashboard, now int64) (int64, error) {
	vars, panels, err := d.columns()
	if err != nil {
		return 0, err
	}
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO dashboards (name, title, description, variables, panels, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, d.Name, d.Title, d.Description, vars, panels, now, now).Scan(&id)
	return id, err
}

func updateDashboard(ctx context.Context, tx *sql.Tx, _ *resolver, id int64, d *Dashboard, now int64) error {
	vars, panels, err := d.columns()
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE dashboards SET name = ?, title = ?, description = ?, variables = ?, panels = ?, updated_at = ? WHERE id = ?`,
		d.Name, d.Title, d.Description, vars, panels, now, id)
	return err
}

// Dashboards implements DashboardStore.
func (s *sqlStore) Dashboards(ctx context.Context) ([]Dashboard, error) {
	return listAll(ctx, s, dashboardOps)
}

// Dashboard implements DashboardStore.
func (s *sqlStore) Dashboard(ctx context.Context, name string) (Dashboard, error) {
	return getOne(ctx, s, dashboardOps, name)
}

// CreateDashboard implements DashboardStore.
func (s *sqlStore) CreateDashboard(ctx context.Context, d Dashboard) (Dashboard, error) {
	return createOne(ctx, s, dashboardOps, d)
}

// UpdateDashboard implements DashboardStore.
func (s *sqlStore) UpdateDashboard(ctx context.Context, name string, d Dashboard) (Dashboard, error) {
	return updateOne(ctx, s, dashboardOps, name, d)
}

// DeleteDashboard implements DashboardStore.
func (s *sqlStore) DeleteDashboard(ctx context.Context, name string) error {
	return deleteOne(ctx, s, dashboardOps, name)
}
