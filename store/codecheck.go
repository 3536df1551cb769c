package store

import (
	"encoding/json"
	"strconv"
)

// CodeChecker validates the code users store: Lua classifiers, trend
// rules and alert rule conditions. The store cannot compile them itself
// (the compilers live in packages rules/classify, rules/trend and
// rules/alert, which import the store), so the
// server hands one in with WithCodeChecker. Its methods must be safe for
// concurrent use and must not call the store; they run inside the write
// path, before anything is written, and should return quickly.
type CodeChecker interface {
	// CheckClassifier compiles the classifier source of the plugin called
	// name (from the plugin or a check's override) and returns why it is
	// unusable, or nil.
	CheckClassifier(name, source string) error
	// CheckTrendRule compiles a trend rule's selector and expression and
	// returns why it is unusable, or nil.
	CheckTrendRule(r TrendRule) error
	// CheckAlertCondition compiles an alert rule's condition (expr-lang)
	// and returns why it is unusable, or nil.
	CheckAlertCondition(src string) error
	// CheckPluginParams checks a check's parameters for a plugin against
	// the plugin's manifest (manifest.json as stored with its version):
	// unknown names, values that do not parse as the declared type, and
	// required parameters without a default left unset. It returns why
	// they are unusable, or nil.
	CheckPluginParams(manifest json.RawMessage, params map[string]string) error
}

// Option configures Open and OpenSQLite.
type Option func(*options)

// options are what Options set.
type options struct {
	checker CodeChecker
	modules ModuleChecker
}

// WithCodeChecker makes the store refuse classifiers and trend rules that c
// rejects: every create, update and apply that writes one fails with an
// error wrapping ErrInvalid (and the checker's error) and writes nothing.
// Without it, the store checks only sizes and encodings.
func WithCodeChecker(c CodeChecker) Option {
	return func(o *options) { o.checker = c }
}

// codeError is a checker's refusal: ErrInvalid, naming the entity and field,
// and wrapping the checker's error so callers can inspect it.
type codeError struct {
	what string
	err  error
}

func (e *codeError) Error() string   { return e.what + ": " + e.err.Error() }
func (e *codeError) Unwrap() []error { return []error{ErrInvalid, e.err} }

// checkClassifiers runs c over classifier sources keyed by plugin name, in
// name order; what names the owner (`check "web": classifiers`).
func checkClassifiers(c CodeChecker, what string, sources map[string]string) error {
	for _, k := range sortedKeys(sources) {
		if err := c.CheckClassifier(k, sources[k]); err != nil {
			return &codeError{what: what + "[" + strconv.Quote(k) + "]", err: err}
		}
	}
	return nil
}
