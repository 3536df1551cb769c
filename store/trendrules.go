package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// TrendRule is a predictive rule: every Interval, the rules engine queries
// the series Selector matches over the last Window and evaluates Expr
// (expr-lang) for each series to a state, e.g. "the disk is full within
// 24 h => critical". The syntax of Selector and Expr is checked by the
// engine's CodeChecker when the store has one (see WithCodeChecker).
type TrendRule struct {
	Meta        `yaml:",inline"`
	Name        string `json:"name" yaml:"name"`
	Description string `json:"description" yaml:"description,omitempty"`
	// Selector is a PromQL series selector, e.g.
	// `prophasis_disk_used_ratio{mount="/"}`.
	Selector string `json:"selector" yaml:"selector"`
	// Window is how much history each evaluation sees.
	Window Duration `json:"window" yaml:"window"`
	// Interval is how often the rule runs; 0 means DefaultTrendInterval.
	Interval Duration `json:"interval" yaml:"interval,omitempty"`
	// Expr is the expression that turns a series' window into a state.
	Expr string `json:"expr" yaml:"expr"`
	// Disabled keeps the rule without running it.
	Disabled bool `json:"disabled" yaml:"disabled,omitempty"`
}

// Limits and defaults of trend rules.
const (
	// DefaultTrendInterval is the Interval of a rule that sets none: trends
	// move over hours, so a minute is prompt without loading the TSDB.
	DefaultTrendInterval = time.Minute
	// MaxTrendWindow bounds Window: longer windows make every evaluation
	// read too many samples.
	MaxTrendWindow = 30 * 24 * time.Hour
	// MinTrendInterval and MaxTrendInterval bound a non-zero Interval.
	MinTrendInterval = time.Second
	MaxTrendInterval = 24 * time.Hour
	// MaxTrendSelectorBytes and MaxTrendExprBytes bound the rule's code.
	MaxTrendSelectorBytes = 4 << 10
	MaxTrendExprBytes     = 16 << 10
)

// EffectiveInterval returns Interval, or DefaultTrendInterval when it is 0.
func (r TrendRule) EffectiveInterval() time.Duration {
	if r.Interval == 0 {
		return DefaultTrendInterval
	}
	return r.Interval.Std()
}

// TrendRuleStore keeps trend rules.
type TrendRuleStore interface {
	// TrendRules returns every trend rule, sorted by name.
	TrendRules(ctx context.Context) ([]TrendRule, error)
	// TrendRule returns one trend rule, or an error wrapping ErrNotFound.
	TrendRule(ctx context.Context, name string) (TrendRule, error)
	// CreateTrendRule adds a trend rule.
	CreateTrendRule(ctx context.Context, r TrendRule) (TrendRule, error)
	// UpdateTrendRule replaces the rule called name (r.Name "" keeps it).
	UpdateTrendRule(ctx context.Context, name string, r TrendRule) (TrendRule, error)
	// DeleteTrendRule deletes a trend rule.
	DeleteTrendRule(ctx context.Context, name string) error
}

func (r *TrendRule) key() *string { return &r.Name }
func (r *TrendRule) normalize()   {}
func (r *TrendRule) refs() []ref  { return nil }

func (r *TrendRule) validate() error {
	if err := validName("trend rule", r.Name); err != nil {
		return err
	}
	what := fmt.Sprintf("trend rule %q", r.Name)
	if err := validText(what, "description", r.Description, maxDescription); err != nil {
		return err
	}
	if r.Selector == "" {
		return invalidf("%s: selector is required", what)
	}
	if err := validText(what, "selector", r.Selector, MaxTrendSelectorBytes); err != nil {
		return err
	}
	if r.Window <= 0 || r.Window.Std() > MaxTrendWindow {
		return invalidf("%s: window %s must be more than 0s and at most %dd", what, r.Window, MaxTrendWindow/(24*time.Hour))
	}
	if r.Interval != 0 && (r.Interval.Std() < MinTrendInterval || r.Interval.Std() > MaxTrendInterval) {
		return invalidf("%s: interval %s must be 0s (the default, %s) or between %s and %s",
			what, r.Interval, Duration(DefaultTrendInterval), Duration(MinTrendInterval), Duration(MaxTrendInterval))
	}
	if r.Expr == "" {
		return invalidf("%s: expr is required", what)
	}
	return validText(what, "expr", r.Expr, MaxTrendExprBytes)
}

// checkTrendRuleCode runs the code checker over the rule.
func checkTrendRuleCode(c CodeChecker, r *TrendRule) error {
	if err := c.CheckTrendRule(*r); err != nil {
		return &codeError{what: fmt.Sprintf("trend rule %q", r.Name), err: err}
	}
	return nil
}

func diffTrendRule(a, b *TrendRule) []string {
	var f fieldDiffs
	f.str("description", a.Description, b.Description)
	f.str("selector", a.Selector, b.Selector)
	f.duration("window", a.Window, b.Window)
	f.duration("interval", a.Interval, b.Interval)
	f.code("expr", a.Expr, b.Expr)
	if a.Disabled != b.Disabled {
		f = append(f, fmt.Sprintf("disabled %t -> %t", a.Disabled, b.Disabled))
	}
	return f
}

var trendRuleOps = ops[TrendRule]{
	kind:   kindTrendRule,
	load:   loadTrendRules,
	insert: insertTrendRule,
	update: updateTrendRule,
	diff:   diffTrendRule,
	code:   checkTrendRuleCode,
}

func loadTrendRules(ctx context.Context, q querier, name string) ([]TrendRule, error) {
	where, args := whereName("name", name)
	var out []TrendRule
	err := queryRows(ctx, q, func(rows *sql.Rows) error {
		var r TrendRule
		var id, created, updated, window, interval int64
		if err := rows.Scan(&id, &r.Name, &r.Description, &r.Selector, &window, &interval, &r.Expr, &r.Disabled, &created, &updated); err != nil {
			return err
		}
		r.Window = Duration(time.Duration(window) * time.Millisecond)
		r.Interval = Duration(time.Duration(interval) * time.Millisecond)
		r.set(id, created, updated)
		out = append(out, r)
		return nil
	}, `SELECT id, name, description, selector, window_ms, interval_ms, expr, disabled, created_at, updated_at
		FROM trend_rules`+where+` ORDER BY name`, args...)
	if err != nil {
		return nil, fmt.Errorf("load trend rules: %w", err)
	}
	return out, nil
}

func insertTrendRule(ctx context.Context, tx *sql.Tx, _ *resolver, r *TrendRule, now int64) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO trend_rules (name, description, selector, window_ms, interval_ms, expr, disabled, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, r.Name, r.Description, r.Selector, r.Window.Std().Milliseconds(),
		r.Interval.Std().Milliseconds(), r.Expr, r.Disabled, now, now).Scan(&id)
	return id, err
}

func updateTrendRule(ctx context.Context, tx *sql.Tx, _ *resolver, id int64, r *TrendRule, now int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE trend_rules SET name = ?, description = ?, selector = ?, window_ms = ?, interval_ms = ?,
		expr = ?, disabled = ?, updated_at = ? WHERE id = ?`, r.Name, r.Description, r.Selector, r.Window.Std().Milliseconds(),
		r.Interval.Std().Milliseconds(), r.Expr, r.Disabled, now, id)
	return err
}

// TrendRules implements TrendRuleStore.
func (s *sqlStore) TrendRules(ctx context.Context) ([]TrendRule, error) {
	return listAll(ctx, s, trendRuleOps)
}

// TrendRule implements TrendRuleStore.
func (s *sqlStore) TrendRule(ctx context.Context, name string) (TrendRule, error) {
	return getOne(ctx, s, trendRuleOps, name)
}

// CreateTrendRule implements TrendRuleStore.
func (s *sqlStore) CreateTrendRule(ctx context.Context, r TrendRule) (TrendRule, error) {
	return createOne(ctx, s, trendRuleOps, r)
}

// UpdateTrendRule implements TrendRuleStore.
func (s *sqlStore) UpdateTrendRule(ctx context.Context, name string, r TrendRule) (TrendRule, error) {
	return updateOne(ctx, s, trendRuleOps, name, r)
}

// DeleteTrendRule implements TrendRuleStore.
func (s *sqlStore) DeleteTrendRule(ctx context.Context, name string) error {
	return deleteOne(ctx, s, trendRuleOps, name)
}
