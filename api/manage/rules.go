package manage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/prophasis/prophasis/api/envelope"
	"github.com/prophasis/prophasis/rules"
	"github.com/prophasis/prophasis/rules/classify"
	"github.com/prophasis/prophasis/rules/trend"
	"github.com/prophasis/prophasis/store"
)

// Rules is what the management API needs of the rules engine
// (*rules.Engine). Its methods are called from concurrent requests and must
// be safe for concurrent use.
type Rules interface {
	// States returns every host × plugin × check's current state.
	States() []rules.Status
	// HostStates returns every host's rollup.
	HostStates() []rules.HostStatus
	// TrendStates returns every series' state under every trend rule.
	TrendStates() []rules.TrendStatus
	// ServiceStates returns every service's state and why.
	ServiceStates() []rules.ServiceStatus
	// Impact returns the services a host affects.
	Impact(host string) []string
	// TestClassifier runs a classifier over a given or stored history;
	// errors wrap rules.ErrBadTest or classify.ErrCompile when the request
	// is at fault.
	TestClassifier(ctx context.Context, t rules.ClassifierTest) ([]rules.TestStep, error)
	// Backtest replays rule over the stored data in [from, to] every step.
	Backtest(ctx context.Context, rule store.TrendRule, from, to time.Time, step time.Duration) ([]trend.Change, error)
}

// maxBacktestSteps bounds POST /trend-rules/backtest: at the default 1m
// interval, about a week.
const maxBacktestSteps = 10000

// defaultBacktestRange is how far back a backtest starts without "from".
const defaultBacktestRange = 7 * 24 * time.Hour

// errNoRules answers the routes that need the engine when there is none.
var errNoRules = envelope.Errorf(envelope.ErrUnavailable, errors.New("the rules engine is not running on this server"))

// statesResult is the answer of GET /states.
type statesResult struct {
	Checks   []rules.Status        `json:"checks"`
	Hosts    []rules.HostStatus    `json:"hosts"`
	Trends   []rules.TrendStatus   `json:"trends"`
	Services []rules.ServiceStatus `json:"services"`
}

// states serves GET /states?host=&plugin=&check=&state=: the current
// states of checks, hosts and trend rule series. host filters all three;
// plugin and check filter checks and trend series (by their labels); state
// is a minimum (major: major and critical), except unknown, which is
// unknown only.
func (h *handlers) states(c *gin.Context) {
	if h.rules == nil {
		h.fail(c, errNoRules)
		return
	}
	host, plugin, check := c.Query("host"), c.Query("plugin"), c.Query("check")
	match := func(classify.State) bool { return true }
	if s := c.Query("state"); s != "" {
		min, ok := classify.ParseState(s)
		if !ok {
			h.fail(c, envelope.Errorf(envelope.ErrBadData,
				fmt.Errorf("state %q must be one of ok, minor, major, critical, unknown", s)))
			return
		}
		if min == classify.Unknown {
			match = func(st classify.State) bool { return st == classify.Unknown }
		} else {
			match = func(st classify.State) bool { return st >= min }
		}
	}
	is := func(want, got string) bool { return want == "" || want == got }
	out := statesResult{Checks: []rules.Status{}, Hosts: []rules.HostStatus{}, Trends: []rules.TrendStatus{},
		Services: []rules.ServiceStatus{}}
	for _, s := range h.rules.States() {
		if is(host, s.Host) && is(plugin, s.Plugin) && is(check, s.Check) && match(s.State) {
			out.Checks = append(out.Checks, s)
		}
	}
	for _, s := range h.rules.HostStates() {
		if is(host, s.Host) && match(s.State) {
			out.Hosts = append(out.Hosts, s)
		}
	}
	for _, s := range h.rules.TrendStates() {
		if is(host, s.Labels["host"]) && is(plugin, s.Labels["plugin"]) && is(check, s.Labels["check"]) && match(s.State) {
			out.Trends = append(out.Trends, s)
		}
	}
	// Services have no host, plugin or check; with host, those the host
	// affects. Their states (ok, degraded, failed) are not check states:
	// state filters them as failed ⊇ degraded ⊇ ok by its number.
	var affected map[string]bool
	if host != "" {
		affected = map[string]bool{}
		for _, name := range h.rules.Impact(host) {
			affected[name] = true
		}
	}
	if plugin == "" && check == "" {
		for _, s := range h.rules.ServiceStates() {
			if (affected == nil || affected[s.Service]) && match(classify.State(s.State)) {
				out.Services = append(out.Services, s)
			}
		}
	}
	envelope.OK(c, out)
}

// impact serves GET /hosts/{name}/impact: the services a host affects.
func (h *handlers) impact(c *gin.Context) {
	if h.rules == nil {
		h.fail(c, errNoRules)
		return
	}
	host := c.Param("name")
	services := h.rules.Impact(host)
	if services == nil {
		services = []string{}
	}
	envelope.OK(c, gin.H{"host": host, "services": services})
}

// classifierTest serves POST /classifier-test: it runs a classifier (given
// or configured) over a given history or replays it over a host's stored
// results. It runs sandboxed code and changes nothing, so viewers may.
func (h *handlers) classifierTest(c *gin.Context) {
	if h.rules == nil {
		h.fail(c, errNoRules)
		return
	}
	var t rules.ClassifierTest
	if err := decodeJSON(c, &t); err != nil {
		h.fail(c, err)
		return
	}
	if t.Source == "" && t.Plugin != "" {
		// Without a source the configured classifier runs; for a plugin
		// that does not exist that would silently be a default one.
		if _, err := h.st.Plugin(c.Request.Context(), t.Plugin); errors.Is(err, store.ErrNotFound) {
			h.fail(c, envelope.Errorf(envelope.ErrBadData,
				fmt.Errorf("plugin %q does not exist: give source to test a classifier for it", t.Plugin)))
			return
		} else if err != nil {
			h.fail(c, err)
			return
		}
	}
	steps, err := h.rules.TestClassifier(c.Request.Context(), t)
	if errors.Is(err, rules.ErrBadTest) || errors.Is(err, classify.ErrCompile) {
		h.fail(c, envelope.Errorf(envelope.ErrBadData, err))
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	if steps == nil {
		steps = []rules.TestStep{}
	}
	envelope.OK(c, gin.H{"steps": steps})
}

// backtestRequest is the body of POST /trend-rules/backtest: a rule, or
// the name of a saved one, and the range. From and Until are RFC 3339
// strings or Unix seconds (string or number).
type backtestRequest struct {
	Rule  *store.TrendRule `json:"rule"`
	Name  string           `json:"name"`
	From  json.RawMessage  `json:"from"`
	Until json.RawMessage  `json:"until"`
	Step  string           `json:"step"`
}

// backtestChange is a state change found by a backtest, as the API shows it.
type backtestChange struct {
	Labels  map[string]string `json:"labels"`
	At      time.Time         `json:"at"`
	From    string            `json:"from"`
	To      string            `json:"to"`
	Explain string            `json:"explain,omitempty"`
	Error   string            `json:"error,omitempty"`
}

// backtestResult is the answer of POST /trend-rules/backtest.
type backtestResult struct {
	Rule    string           `json:"rule"`
	From    time.Time        `json:"from"`
	Until   time.Time        `json:"until"`
	Step    store.Duration   `json:"step"`
	Changes []backtestChange `json:"changes"`
}

// backtest serves POST /trend-rules/backtest: when a rule, saved or not,
// would have changed state over the stored data.
func (h *handlers) backtest(c *gin.Context) {
	if h.rules == nil {
		h.fail(c, errNoRules)
		return
	}
	bad := func(err error) { h.fail(c, envelope.Errorf(envelope.ErrBadData, err)) }
	var req backtestRequest
	if err := decodeJSON(c, &req); err != nil {
		h.fail(c, err)
		return
	}
	var rule store.TrendRule
	switch {
	case req.Rule != nil && req.Name != "":
		bad(errors.New("give either rule or name, not both"))
		return
	case req.Rule != nil:
		rule = *req.Rule
		if rule.Name == "" {
			rule.Name = "backtest"
		}
	case req.Name != "":
		r, err := h.st.TrendRule(c.Request.Context(), req.Name)
		if err != nil {
			h.fail(c, err)
			return
		}
		rule = r
	default:
		bad(errors.New("give a rule to test, or the name of a saved one"))
		return
	}
	if err := checkBacktestRule(rule); err != nil {
		bad(err)
		return
	}

	now := time.Now()
	until, err := jsonTime(req.Until, now)
	if err != nil {
		bad(fmt.Errorf("until: %w", err))
		return
	}
	from, err := jsonTime(req.From, until.Add(-defaultBacktestRange))
	if err != nil {
		bad(fmt.Errorf("from: %w", err))
		return
	}
	if until.Before(from) {
		bad(fmt.Errorf("from %s is after until %s", from.Format(time.RFC3339), until.Format(time.RFC3339)))
		return
	}
	// Without a step the rule's interval is the natural one, but a 1m rule
	// over the default week is just over the limit: widen it to the
	// smallest multiple of the interval that fits, rather than refuse a
	// request that named no step.
	step := rule.EffectiveInterval()
	if m := int64(until.Sub(from) / step); m+1 > maxBacktestSteps {
		step *= time.Duration((m + maxBacktestSteps - 2) / (maxBacktestSteps - 1)) // ceil(m / (max-1))
	}
	if req.Step != "" {
		d, err := store.ParseDuration(req.Step)
		if err != nil {
			bad(fmt.Errorf("step: %w", err))
			return
		}
		if d <= 0 {
			bad(fmt.Errorf("step %q must be more than 0s", req.Step))
			return
		}
		step = d.Std()
	}
	if n := until.Sub(from)/step + 1; n > maxBacktestSteps {
		bad(fmt.Errorf("step: from %s to %s every %s is %d steps, at most %d: use a larger step or a shorter range",
			from.Format(time.RFC3339), until.Format(time.RFC3339), store.Duration(step), n, maxBacktestSteps))
		return
	}

	changes, err := h.rules.Backtest(c.Request.Context(), rule, from, until, step)
	if err != nil {
		h.fail(c, err)
		return
	}
	out := backtestResult{Rule: rule.Name, From: from.UTC(), Until: until.UTC(), Step: store.Duration(step),
		Changes: make([]backtestChange, 0, len(changes))}
	for _, ch := range changes {
		bc := backtestChange{Labels: ch.Labels.Map(), At: ch.At.UTC(), From: ch.From, To: ch.To, Explain: ch.Explain}
		if ch.Err != nil {
			bc.Error = ch.Err.Error()
		}
		out.Changes = append(out.Changes, bc)
	}
	envelope.OK(c, out)
}

// checkBacktestRule validates a rule as saving it would, and compiles it,
// so a bad rule is a 400 naming the field rather than a failed backtest.
func checkBacktestRule(r store.TrendRule) error {
	what := fmt.Sprintf("rule %q", r.Name)
	switch {
	case r.Selector == "":
		return fmt.Errorf("%s: selector is required", what)
	case r.Expr == "":
		return fmt.Errorf("%s: expr is required", what)
	case r.Window <= 0 || r.Window.Std() > store.MaxTrendWindow:
		return fmt.Errorf("%s: window %s must be more than 0s and at most %dd", what, r.Window, store.MaxTrendWindow/(24*time.Hour))
	case r.Interval < 0:
		return fmt.Errorf("%s: interval %s must not be negative", what, r.Interval)
	}
	_, err := trend.Compile(trend.Rule{Name: r.Name, Selector: r.Selector, Window: r.Window.Std(),
		Interval: r.EffectiveInterval(), Expr: r.Expr}, nil)
	return err
}

// jsonTime reads a time given as an RFC 3339 string or Unix seconds (a
// number or a string of one); absent or null is def.
func jsonTime(raw json.RawMessage, def time.Time) (time.Time, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return def, nil
	}
	s := string(raw)
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(raw, &s); err != nil {
			return time.Time{}, err
		}
	}
	ms, err := parseTime(s)
	if err != nil {
		return time.Time{}, err
	}
	return time.UnixMilli(ms), nil
}
