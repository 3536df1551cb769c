package rules

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/prophasis/prophasis/plugins/manifest"

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

// CheckPluginParams implements store.CodeChecker: every parameter a check
// sets must be one the manifest declares, with a value of its type, and
// every required parameter without a default must be set.
func (CodeChecker) CheckPluginParams(raw json.RawMessage, params map[string]string) error {
	m, err := manifest.Parse(raw)
	if err != nil {
		return fmt.Errorf("the plugin's stored manifest: %w", err)
	}
	declared := make(map[string]manifest.Parameter, len(m.Parameters))
	var names []string
	for _, p := range m.Parameters {
		declared[p.Name] = p
		names = append(names, p.Name)
	}
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(params)) {
		p, ok := declared[k]
		if !ok {
			if len(names) == 0 {
				errs = append(errs, fmt.Errorf("unknown parameter %s: plugin %s has no parameters", k, m.Name))
			} else {
				errs = append(errs, fmt.Errorf("unknown parameter %s: plugin %s has %s", k, m.Name, strings.Join(names, ", ")))
			}
			continue
		}
		if err := p.Check(params[k]); err != nil {
			errs = append(errs, err)
		}
	}
	for _, p := range m.Parameters {
		if _, ok := params[p.Name]; p.Required && p.Default == nil && !ok {
			errs = append(errs, fmt.Errorf("parameter %s is required (%s)", p.Name, p.Description))
		}
	}
	return errors.Join(errs...)
}
