package alert

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/prophasis/prophasis/store"
)

// Rule is an alert rule ready to match: store.AlertRule with its host
// groups expanded into hosts (Scope.Hosts) and its condition compiled.
type Rule struct {
	Name string
	// From and To are state names; empty means any state.
	From, To []string
	Scope    Scope
	// Condition is an optional expr-lang expression (see Env) that must be
	// true for a change to match.
	Condition string
	// Modules are notified when the alert fires, repeats and recovers.
	Modules []string
	// Delay is how long the new state must hold before the alert fires.
	Delay time.Duration
	// Repeat re-notifies while the alert fires unacknowledged; 0 never.
	Repeat time.Duration
	// Escalations notify more modules when the alert has fired for After
	// without being acknowledged.
	Escalations []Escalation
	// Recovery sends a "resolved" notification when the subject leaves
	// the To states.
	Recovery bool

	program *vm.Program
}

// Escalation is a step of a rule: after After unacknowledged, also notify
// Modules.
type Escalation struct {
	After   time.Duration
	Modules []string
}

// Scope is what a rule or silence covers. Lists are alternatives: a subject
// is in scope when its host is in Hosts, or its check in Checks, or its
// plugin in Plugins, or it is a service in Services, or a trend rule's
// series in TrendRules. An empty scope covers everything.
type Scope struct {
	Hosts, Checks, Plugins, Services, TrendRules []string
}

// Empty reports whether s covers everything.
func (s Scope) Empty() bool {
	return len(s.Hosts)+len(s.Checks)+len(s.Plugins)+len(s.Services)+len(s.TrendRules) == 0
}

// Covers reports whether subj is in scope.
func (s Scope) Covers(subj store.Subject) bool {
	if s.Empty() {
		return true
	}
	in := func(list []string, name string) bool { return name != "" && slices.Contains(list, name) }
	return in(s.Hosts, subj.Host) || in(s.Checks, subj.Check) || in(s.Plugins, subj.Plugin) ||
		(subj.Kind == "service" && in(s.Services, subj.Service)) || (subj.Kind == "trend" && in(s.TrendRules, subj.Rule))
}

// Env is what a condition sees:
//
//	subject   {kind, host, plugin, check, service, rule, labels}; labels are
//	          the host's labels and the subject's own (a trend series')
//	from, to  the state names of the change
//	reason    why the state changed, in words
//	now       the time of the change (time.Time)
//	hour(t), weekday(t)  hour 0-23 and weekday 0 (Sunday)-6 in the server's time zone
type Env struct {
	Subject EnvSubject `expr:"subject"`
	From    string     `expr:"from"`
	To      string     `expr:"to"`
	Reason  string     `expr:"reason"`
	Now     time.Time  `expr:"now"`
}

// EnvSubject is the subject as conditions see it.
type EnvSubject struct {
	Kind    string            `expr:"kind"`
	Host    string            `expr:"host"`
	Plugin  string            `expr:"plugin"`
	Check   string            `expr:"check"`
	Service string            `expr:"service"`
	Rule    string            `expr:"rule"`
	Labels  map[string]string `expr:"labels"`
}

// exprOptions are the compile options of conditions.
func exprOptions() []expr.Option {
	return []expr.Option{
		expr.Env(Env{}),
		expr.AsBool(),
		expr.Function("hour", func(p ...any) (any, error) { return p[0].(time.Time).Hour(), nil },
			new(func(time.Time) int)),
		expr.Function("weekday", func(p ...any) (any, error) { return int(p[0].(time.Time).Weekday()), nil },
			new(func(time.Time) int)),
	}
}

// CheckCondition compiles a condition, for validation at save time.
func CheckCondition(src string) error {
	if src == "" {
		return nil
	}
	if len(src) > maxCondition {
		return fmt.Errorf("condition is %d bytes, more than %d", len(src), maxCondition)
	}
	_, err := expr.Compile(src, exprOptions()...)
	return err
}

const maxCondition = 4 << 10

// compile prepares r for matching.
func (r *Rule) compile() error {
	if r.Name == "" {
		return errors.New("alert rule without a name")
	}
	r.program = nil
	if r.Condition == "" {
		return nil
	}
	if err := CheckCondition(r.Condition); err != nil {
		return fmt.Errorf("alert rule %q: condition: %w", r.Name, err)
	}
	p, err := expr.Compile(r.Condition, exprOptions()...)
	if err != nil {
		return fmt.Errorf("alert rule %q: condition: %w", r.Name, err)
	}
	r.program = p
	return nil
}

// oneShot reports whether the rule notifies single transitions rather than
// opening alerts: its To states are all "ok" (a recovery rule such as
// critical → ok), so there is nothing to repeat or resolve.
func (r *Rule) oneShot() bool {
	return len(r.To) > 0 && !slices.ContainsFunc(r.To, func(s string) bool { return s != "ok" })
}

func (r *Rule) inTo(state string) bool { return len(r.To) == 0 || slices.Contains(r.To, state) }

// matches reports whether a change of subj from → to opens an alert of r.
func (r *Rule) matches(subj store.Subject, labels map[string]string, from, to, reason string, now time.Time) (bool, error) {
	if len(r.From) > 0 && !slices.Contains(r.From, from) {
		return false, nil
	}
	if !r.inTo(to) || !r.Scope.Covers(subj) {
		return false, nil
	}
	if r.program == nil {
		return true, nil
	}
	out, err := expr.Run(r.program, Env{
		Subject: EnvSubject{Kind: subj.Kind, Host: subj.Host, Plugin: subj.Plugin, Check: subj.Check,
			Service: subj.Service, Rule: subj.Rule, Labels: labels},
		From: from, To: to, Reason: reason, Now: now,
	})
	if err != nil {
		return false, fmt.Errorf("alert rule %q: condition: %w", r.Name, err)
	}
	return out.(bool), nil
}
