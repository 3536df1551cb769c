package munin

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/prophasis/prophasis/agent/pluginout"
)

// Value is one FIELD.value line of a fetch.
type Value struct {
	// Graph is the multigraph name the line came under, "" for a plain
	// plugin.
	Graph string
	Field string
	Value float64
}

// ParseFetch reads the output of a plugin's fetch run: FIELD.value N lines,
// with "multigraph NAME" lines switching graphs. A value may carry a
// timestamp (FIELD.value EPOCH:N), which is dropped: the result has its own.
// It never fails: unknown values (U) and lines it cannot read are skipped and
// noted. Every returned value is finite; at most pluginout.MaxMetrics are
// returned, and a field repeated in a graph keeps its first value.
func ParseFetch(b []byte) ([]Value, []string) {
	var (
		values  []Value
		notes   []string
		graph   string
		unknown []string
		unread  int
		dropped int
		seen    = map[[2]string]bool{}
	)
	for _, line := range lines(b) {
		key, value := splitLine(line)
		if key == "multigraph" {
			graph = pluginout.Text([]byte(value), maxText)
			continue
		}
		field, attr, ok := strings.Cut(key, ".")
		if !ok || !validField(field) {
			unread++
			continue
		}
		if attr != "value" {
			continue // extinfo and the like: text for humans, no value
		}
		if value == "U" {
			if len(unknown) < pluginout.MaxNotes {
				unknown = append(unknown, field)
			}
			continue
		}
		v, ok := parseValue(value)
		if !ok {
			unread++
			continue
		}
		k := [2]string{graph, field}
		if seen[k] {
			unread++
			continue
		}
		if len(values) >= pluginout.MaxMetrics {
			dropped++
			continue
		}
		seen[k] = true
		values = append(values, Value{Graph: graph, Field: field, Value: v})
	}
	if len(unknown) > 0 {
		notes = append(notes, "value unknown (U): "+strings.Join(unknown, ", "))
	}
	if unread > 0 {
		notes = append(notes, fmt.Sprintf("%d fetch lines unreadable", unread))
	}
	if dropped > 0 {
		notes = append(notes, fmt.Sprintf("%d values dropped (limit %d)", dropped, pluginout.MaxMetrics))
	}
	return values, notes
}

// parseValue reads a decimal number, optionally after EPOCH:, refusing NaN,
// infinities, hex and anything that is not finite.
func parseValue(s string) (float64, bool) {
	if _, after, ok := strings.Cut(s, ":"); ok {
		s = after
	}
	if s == "" || !isDecimal(s) {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// isDecimal reports whether s has only the characters of a decimal number
// (ParseFloat does the rest), which keeps out NaN, Inf and hex floats.
func isDecimal(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E') {
			return false
		}
	}
	return true
}
