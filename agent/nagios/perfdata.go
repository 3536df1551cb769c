package nagios

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/prophasis/prophasis/agent/pluginout"
	"github.com/prophasis/prophasis/wire"
)

// maxLabelLen bounds a perfdata label; longer ones are skipped.
const maxLabelLen = 200

// ParsePerfdata reads Nagios performance data: items
// 'label'=value[UOM];[warn];[crit];[min];[max] separated by whitespace. It
// never fails: an item it cannot read is skipped, and notes says which and
// why. Every returned metric has a valid name and a finite value; see the
// package documentation for names, units and thresholds. At most
// pluginout.MaxMetrics metrics are returned; an item whose name and labels
// repeat an earlier one is skipped.
func ParsePerfdata(s string) (metrics []wire.Metric, notes []string) {
	p := perfParser{s: s, seen: map[string]bool{}}
	for {
		p.skipSpace()
		if p.i >= len(p.s) {
			break
		}
		label, ok := p.label()
		if !ok {
			continue
		}
		tok := p.token()
		p.item(label, tok)
	}
	if p.dropped > 0 {
		p.notes = append(p.notes, fmt.Sprintf("%d perfdata metrics dropped (limit %d)", p.dropped, pluginout.MaxMetrics))
	}
	return p.metrics, p.notes
}

type perfParser struct {
	s       string
	i       int
	metrics []wire.Metric
	notes   []string
	seen    map[string]bool
	dropped int
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func (p *perfParser) skipSpace() {
	for p.i < len(p.s) && isSpace(p.s[p.i]) {
		p.i++
	}
}

// token returns the text up to the next whitespace.
func (p *perfParser) token() string {
	start := p.i
	for p.i < len(p.s) && !isSpace(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i]
}

func (p *perfParser) note(format string, args ...any) {
	p.notes = append(p.notes, "perfdata "+fmt.Sprintf(format, args...))
}

// quote shows a piece of perfdata in a note: bounded, quoted.
func quote(s string) string {
	return strconv.Quote(pluginout.Text([]byte(s), 40))
}

// label reads 'label'= or label= and leaves p after the '='. When the text
// there is no label, it notes why, skips the bad token, and returns false.
func (p *perfParser) label() (string, bool) {
	var label string
	if p.s[p.i] == '\'' {
		var sb strings.Builder
		j := p.i + 1
		for {
			k := strings.IndexByte(p.s[j:], '\'')
			if k < 0 {
				p.note("%s: unbalanced quote", quote(p.s[p.i:]))
				p.i = len(p.s)
				return "", false
			}
			sb.WriteString(p.s[j : j+k])
			j += k + 1
			if j < len(p.s) && p.s[j] == '\'' { // '' is an escaped quote
				sb.WriteByte('\'')
				j++
				continue
			}
			break
		}
		label = sb.String()
		p.i = j
		if p.i >= len(p.s) || p.s[p.i] != '=' {
			start := p.i
			p.token()
			p.note("%s: no '=' after the quoted label", quote("'"+label+"'"+p.s[start:p.i]))
			return "", false
		}
	} else {
		start := p.i
		for p.i < len(p.s) && p.s[p.i] != '=' && !isSpace(p.s[p.i]) {
			p.i++
		}
		if p.i >= len(p.s) || p.s[p.i] != '=' {
			p.note("%s: not label=value", quote(p.s[start:p.i]))
			return "", false
		}
		label = p.s[start:p.i]
	}
	p.i++ // '='
	if label == "" {
		p.note("%s: empty label", quote("="+p.token()))
		return "", false
	}
	if len(label) > maxLabelLen {
		p.token()
		p.note("%s: label longer than %d bytes", quote(label), maxLabelLen)
		return "", false
	}
	return label, true
}

// item turns one label=value;warn;crit;min;max into metrics.
func (p *perfParser) item(label, tok string) {
	fields := strings.Split(tok, ";")
	num, unit := splitNumber(fields[0])
	if num == "" {
		if fields[0] == "U" {
			p.note("%s: value unknown (U)", quote(label))
		} else {
			p.note("%s: value %s is not a number", quote(label), quote(fields[0]))
		}
		return
	}
	u, known := uoms[unit]
	if !known {
		u = uoms[""]
		p.note("%s: unknown unit %s, value kept unscaled", quote(label), quote(unit))
	}
	v, ok := parseNumber(num, u.factor)
	if !ok {
		p.note("%s: value %s out of range", quote(label), quote(fields[0]))
		return
	}
	name, labels := metricName(label)
	key := name + "\x00" + label
	if p.seen[key] {
		p.note("%s: repeated, first kept", quote(label))
		return
	}
	p.seen[key] = true
	p.add(wire.Metric{Name: name, Labels: labels, Value: v, Unit: u.unit, Counter: u.counter})
	for i, suffix := range []string{"_warn", "_crit", "_min", "_max"} {
		if i+1 >= len(fields) {
			break
		}
		f := strings.TrimSpace(fields[i+1])
		if f == "" {
			continue
		}
		var (
			t  float64
			ok bool
		)
		if i < 2 {
			t, ok = threshold(f, unit, u.factor)
		} else {
			t, ok = bound(f, unit, u.factor)
		}
		if !ok {
			if f != "~:" {
				p.note("%s: %s %s unreadable", quote(label), suffix[1:], quote(f))
			}
			continue
		}
		// Thresholds are no counters: they are levels the counter's value is
		// compared with, so they keep the unit but not the flag.
		p.add(wire.Metric{Name: name + suffix, Labels: labels, Value: t, Unit: u.unit})
	}
}

func (p *perfParser) add(m wire.Metric) {
	if len(p.metrics) >= pluginout.MaxMetrics {
		p.dropped++
		return
	}
	p.metrics = append(p.metrics, m)
}

// metricName names the metric of a perfdata label; see the package
// documentation.
func metricName(label string) (string, map[string]string) {
	label = strings.ToValidUTF8(label, "\uFFFD")
	switch {
	case pluginout.ValidName(label):
		return label, nil
	case strings.HasPrefix(label, "/"):
		return "path", map[string]string{"label": label}
	default:
		return pluginout.SanitizeName(label), map[string]string{"label": label}
	}
}

// splitNumber splits s into a leading decimal number (sign, digits, one '.'
// or ',', exponent) and the rest. num is "" when s does not start with a
// number with at least one digit. It accepts no NaN, Inf or hex.
func splitNumber(s string) (num, rest string) {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	digits := 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && (s[i] == '.' || s[i] == ',') {
		j := i + 1
		frac := 0
		for j < len(s) && '0' <= s[j] && s[j] <= '9' {
			j++
			frac++
		}
		if digits+frac > 0 {
			i = j
			digits += frac
		}
	}
	if digits == 0 {
		return "", s
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '-' || s[j] == '+') {
			j++
		}
		exp := 0
		for j < len(s) && '0' <= s[j] && s[j] <= '9' {
			j++
			exp++
		}
		if exp > 0 {
			i = j
		}
	}
	return s[:i], s[i:]
}

// parseNumber parses a number splitNumber found and scales it; ok is false
// when the result is not finite.
func parseNumber(num string, factor float64) (float64, bool) {
	v, err := strconv.ParseFloat(strings.Replace(num, ",", ".", 1), 64)
	if err != nil {
		return 0, false
	}
	v *= factor
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// bound reads a min or max: a number, optionally followed by the value's own
// unit.
func bound(s, unit string, factor float64) (float64, bool) {
	num, rest := splitNumber(s)
	if num == "" || rest != "" && rest != unit {
		return 0, false
	}
	return parseNumber(num, factor)
}

// threshold reads a warn or crit threshold, a number or a Nagios range
// ([@]start:end, start may be ~, end may be empty), and returns the range's
// upper end when it is a number, else its lower end.
func threshold(s, unit string, factor float64) (float64, bool) {
	s = strings.TrimPrefix(s, "@")
	lo, hi, isRange := strings.Cut(s, ":")
	if !isRange {
		return bound(s, unit, factor)
	}
	if hi != "" {
		return bound(hi, unit, factor)
	}
	if lo == "~" || lo == "" {
		return 0, false
	}
	return bound(lo, unit, factor)
}
