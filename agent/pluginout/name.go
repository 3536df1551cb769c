package pluginout

import "strings"

// MaxNameLen bounds a metric or label name in bytes; longer names are cut by
// [SanitizeName] and refused by [ValidName].
const MaxNameLen = 200

// ValidName reports whether s is a metric name by the Prometheus rules the
// agent follows: [a-zA-Z_][a-zA-Z0-9_]*, at most MaxNameLen bytes. (Prometheus
// also allows ':' but reserves it for recording rules.) Label names follow the
// same rule and must not start with "__".
func ValidName(s string) bool {
	if s == "" || len(s) > MaxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9' {
			continue
		}
		return false
	}
	return true
}

// ValidLabelName reports whether s is a label name: a [ValidName] that does
// not start with "__", which Prometheus reserves.
func ValidLabelName(s string) bool {
	return ValidName(s) && !strings.HasPrefix(s, "__")
}

// SanitizeName turns any text into a [ValidName]: every run of characters
// outside [a-zA-Z0-9_] becomes one '_', underscores made that way at the ends
// are dropped, a leading digit gets a '_' in front, and the result is cut to
// MaxNameLen. Text with nothing usable becomes "_". "time taken" becomes
// "time_taken", "load (1m)" "load_1m", "1min" "_1min".
func SanitizeName(s string) string {
	var sb strings.Builder
	pending := false // a run of invalid characters awaits its '_'
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			if pending && sb.Len() > 0 {
				sb.WriteByte('_')
			}
			pending = false
			sb.WriteByte(c)
			continue
		}
		pending = true
	}
	out := sb.String()
	if out == "" {
		return "_"
	}
	if '0' <= out[0] && out[0] <= '9' {
		out = "_" + out
	}
	if len(out) > MaxNameLen {
		out = out[:MaxNameLen]
	}
	return out
}
