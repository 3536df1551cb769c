package rules

import (
	"time"

	"github.com/prophasis/prophasis/rules/alert"
	"github.com/prophasis/prophasis/rules/classify"
	"github.com/prophasis/prophasis/rules/trend"
	"github.com/prophasis/prophasis/store"
)

// CodeChecker compiles user code the way the engine will run it, so the
// store refuses a classifier or trend rule that does not compile when it is
// saved (store.WithCodeChecker).
type CodeChecker struct{}

var _ store.CodeChecker = CodeChecker{}

// CheckClassifier implements store.CodeChecker.
func (CodeChecker) CheckClassifier(name, source string) error {
	_, err := classify.Compile(name, source)
	return err
}

// CheckTrendRule implements store.CodeChecker.
func (CodeChecker) CheckTrendRule(r store.TrendRule) error {
	_, err := trend.Compile(toTrendRule(r), nil)
	return err
}

// toTrendRule converts a stored rule to the engine's form.
func toTrendRule(r store.TrendRule) trend.Rule {
	interval := time.Duration(r.Interval)
	if interval <= 0 {
		interval = store.DefaultTrendInterval
	}
	return trend.Rule{Name: r.Name, Selector: r.Selector, Window: time.Duration(r.Window), Interval: interval, Expr: r.Expr}
}

// CheckAlertCondition implements store.CodeChecker.
func (CodeChecker) CheckAlertCondition(src string) error { return alert.CheckCondition(src) }
