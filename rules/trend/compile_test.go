package trend

import (
	"strings"
	"testing"
	"time"
)

func TestCompileErrors(t *testing.T) {
	f := func(sel string, window time.Duration, src, wantErr string) {
		t.Helper()
		_, err := Compile(Rule{Name: "r", Selector: sel, Window: window, Expr: src}, nil)
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%s / %s: err %v, want it to contain %q", sel, src, err, wantErr)
		}
	}
	const sel, ok = `prophasis_value{plugin="disk"}`, `"ok"`
	f(`prophasis_value{plugin=`, time.Hour, ok, "selector")
	f(`sum(prophasis_value)`, time.Hour, ok, "selector")
	f(sel, 0, ok, "window must be positive")
	f(sel, time.Hour, ``, "empty expression")
	// Type errors.
	f(sel, time.Hour, `avg(window) + "x" > 1 ? "ok" : "major"`, "invalid operation")
	f(sel, time.Hour, `timeleft(window, 100) < 3600 ? "ok" : "major"`, "invalid operation")
	f(sel, time.Hour, `avg(window, 2) > 1 ? "ok" : "major"`, "too many arguments")
	f(sel, time.Hour, `avg(3) > 1 ? "ok" : "major"`, "cannot use int")
	f(sel, time.Hour, `avg(window)`, "expected string")
	f(sel, time.Hour, `avg(window) > 1`, "expected string")
	// Unknown names.
	f(sel, time.Hour, `forecast(window) > 1 ? "ok" : "major"`, "unknown name forecast")
	f(sel, time.Hour, `windw > 1 ? "ok" : "major"`, "unknown name windw")
	// Results that are not states.
	f(sel, time.Hour, `"warning"`, `"warning" is not a state`)
	f(sel, time.Hour, `last(window) > 1 ? "crit" : "ok"`, `"crit" is not a state`)
	// baseline needs a constant number of days.
	f(sel, time.Hour, `baseline(count(window)) > 1 ? "ok" : "major"`, "integer constant")
	f(sel, time.Hour, `baseline(0) > 1 ? "ok" : "major"`, "between 1 and")
	f(sel, time.Hour, `baseline(window, 90) > 1 ? "ok" : "major"`, "between 1 and")
	f(sel, time.Hour, `1 +`, "unexpected")
	// Constant arguments that would fail on every series.
	f(sel, time.Hour, `quantile(window, 1.5) > 1 ? "ok" : "major"`, "q must be in [0, 1]")
	f(sel, time.Hour, `holt(window, 0.5, 1, 0) > 1 ? "ok" : "major"`, "factors must be in (0, 1)")
}

func TestCompile(t *testing.T) {
	for _, src := range []string{
		`timeleft(window, 100) < duration("24h") ? "critical" : timeleft(window, 100) < duration("72h") ? "major" : "ok"`,
		`count(window) / 2 > 1 ? "ok" : "minor"`,
		`baseline(3) > 1 ? "ok" : "minor"`,
		`labels.host == "db1" && zscore(window) > 3 ? "major" : "ok"`,
		`now.Hour() < 6 ? "ok" : (holt(window, 0.3, 0.1, duration("6h")) > 90 ? "minor" : "ok")`,
		`let p = predict(window, duration("1d")); p > 100 ? "critical" : "ok"`,
		`labels.state`, // checked at run time
	} {
		c, err := Compile(Rule{Name: "r", Selector: `prophasis_value`, Window: time.Hour, Expr: src}, nil)
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		if got, want := c.baselineDays, strings.Count(src, "baseline(3)")*3; got != want {
			t.Errorf("%s: baseline days %d, want %d", src, got, want)
		}
		if got, want := c.usesLabels, strings.Contains(src, "labels."); got != want {
			t.Errorf("%s: usesLabels %v, want %v", src, got, want)
		}
	}
}

// Arbitrary expressions never panic the compiler, and those that compile
// never panic when run on a small window.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		`timeleft(window, 100) < duration("24h") ? "critical" : "ok"`,
		`baseline(3) > avg(window) ? "ok" : "minor"`,
		`quantile(window, 1.5) > 1 ? "ok" : "major"`,
		`holt(window, 2, 0, 1) > 1 ? "ok" : "major"`,
		`string(1 % 0)`, `labels.host`, `1 / 0 > 1 ? "ok" : "major"`,
		`duration("x") > duration("1h") ? "ok" : "major"`,
		`map(1..10, # / 0)[0] > 1 ? "ok" : "major"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		c, err := Compile(Rule{Name: "f", Selector: `x`, Window: time.Minute, Expr: src}, nil)
		if err != nil {
			return
		}
		r := c.newRunner(t0)
		r.env.Window.T = []int64{t0.UnixMilli() - 2000, t0.UnixMilli() - 1000, t0.UnixMilli()}
		r.env.Window.V = []float64{1, 3, 2}
		state, _, err := r.run(series("f"))
		if !ValidState(state) || (err != nil && state != StateUnknown) {
			t.Fatalf("%s: state %q err %v", src, state, err)
		}
	})
}
