package store

import (
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// NamePattern is the rule for the name of every entity (host, group, plugin,
// schedule, check, service, alert rule, user, token, redundancy group): a
// letter or digit, then up to 127 letters, digits, '_', '.' or '-'. Names are
// case-sensitive. They appear in URLs, YAML keys, label values and log lines,
// so they carry no spaces, slashes or quotes.
const NamePattern = `^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`

var nameRE = regexp.MustCompile(NamePattern)

// labelNameRE is Prometheus's rule for label names: host labels become series
// labels, so they must be valid there.
var labelNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Limits on free-text fields. They keep one row small and a bad client from
// storing megabytes in a description.
const (
	maxDescription = 1024
	maxAddress     = 255
	maxLabels      = 64
	maxLabelName   = 128
	maxLabelValue  = 1024
	maxListLen     = 10000
	maxVersion     = 64
)

func validName(what, name string) error {
	if name == "" {
		return invalidf("%s: name is required", what)
	}
	if !nameRE.MatchString(name) {
		return invalidf("%s %q: name must match %s (letters, digits, '_', '.', '-'; at most 128)", what, name, NamePattern)
	}
	return nil
}

func validText(what, field, s string, limit int) error {
	if len(s) > limit {
		return invalidf("%s: %s is %d bytes long; the limit is %d", what, field, len(s), limit)
	}
	if !utf8.ValidString(s) {
		return invalidf("%s: %s is not valid UTF-8", what, field)
	}
	return nil
}

// validNameList checks a list of references: each a valid name, no
// duplicates. The list must be sorted (normalise first).
func validNameList(what, field string, names []string) error {
	if len(names) > maxListLen {
		return invalidf("%s: %s has %d entries; the limit is %d", what, field, len(names), maxListLen)
	}
	for i, n := range names {
		if !nameRE.MatchString(n) {
			return invalidf("%s: %s: %q is not a valid name (must match %s)", what, field, n, NamePattern)
		}
		if i > 0 && names[i-1] == n {
			return invalidf("%s: %s lists %q twice", what, field, n)
		}
	}
	return nil
}

func validLabels(what string, labels map[string]string) error {
	if len(labels) > maxLabels {
		return invalidf("%s: %d labels; the limit is %d", what, len(labels), maxLabels)
	}
	for _, k := range sortedKeys(labels) {
		if len(k) > maxLabelName || !labelNameRE.MatchString(k) {
			return invalidf("%s: label name %q must match %s (at most %d characters)", what, k, labelNameRE, maxLabelName)
		}
		if strings.HasPrefix(k, "__") {
			return invalidf("%s: label name %q: names starting with __ are reserved", what, k)
		}
		if err := validText(what, "label "+k, labels[k], maxLabelValue); err != nil {
			return err
		}
	}
	return nil
}

// sortNames sorts a list of names in place and returns it; nil becomes an
// empty list, so JSON renders [] and comparisons need no nil case.
func sortNames(names []string) []string {
	if names == nil {
		return []string{}
	}
	slices.Sort(names)
	return names
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// millis converts a time to the column representation: milliseconds since the
// Unix epoch, with the zero time as 0.
func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMillis is the inverse of millis.
func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
