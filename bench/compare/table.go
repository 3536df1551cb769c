package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// goal is a target a figure is held to.
type goal struct {
	text string
	// met reports whether the row meets it.
	met func(r row) bool
}

// ratioAtLeast is met when prophasis/prometheus >= x.
func ratioAtLeast(x float64) *goal {
	return &goal{fmt.Sprintf("ratio >= %.1f", x), func(r row) bool { return r.ratio() >= x }}
}

// ratioAtMost is met when prophasis/prometheus <= x.
func ratioAtMost(x float64) *goal {
	return &goal{fmt.Sprintf("ratio <= %.1f", x), func(r row) bool { return r.ratio() <= x }}
}

// atLeast is met when the Prophasis figure is >= x.
func atLeast(x float64, text string) *goal {
	return &goal{text, func(r row) bool { return r.prophasis >= x }}
}

// row is one measured figure, for Prophasis and (where compared) for
// Prometheus. Absent figures are NaN.
type row struct {
	key        string // key=value name, e.g. rw_samples_per_second
	label      string // table label
	prophasis  float64
	prometheus float64
	goal       *goal
}

func (r row) ratio() float64 {
	if math.IsNaN(r.prophasis) || math.IsNaN(r.prometheus) || r.prometheus == 0 {
		return math.NaN()
	}
	return r.prophasis / r.prometheus
}

// results collects rows and free-form notes as the parts run.
type results struct {
	rows  []row
	notes []string
	extra []string // extra key=value lines
}

func (rs *results) add(r row) { rs.rows = append(rs.rows, r) }

func (rs *results) note(format string, args ...any) {
	rs.notes = append(rs.notes, fmt.Sprintf(format, args...))
}

func (rs *results) kv(key string, format string, v any) {
	rs.extra = append(rs.extra, fmt.Sprintf("%s="+format, key, v))
}

// missed lists the rows whose goal is not met.
func (rs *results) missed() []string {
	var out []string
	for _, r := range rs.rows {
		if r.goal != nil && !r.goal.met(r) {
			out = append(out, r.label)
		}
	}
	return out
}

func num(v float64) string {
	switch {
	case math.IsNaN(v):
		return "-"
	case math.Abs(v) >= 1000:
		return groupThousands(int64(math.Round(v)))
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func groupThousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// print writes the table, the notes and the key=value lines.
func (rs *results) print(w io.Writer) {
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "measure\tprophasis\tprometheus 2.42\tratio\tgoal\t\t")
	for _, r := range rs.rows {
		ratio, goalText, verdict := "-", "", ""
		if x := r.ratio(); !math.IsNaN(x) {
			ratio = fmt.Sprintf("%.2f", x)
		}
		if r.goal != nil {
			goalText, verdict = r.goal.text, "MISSED"
			if r.goal.met(r) {
				verdict = "met"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", r.label, num(r.prophasis), num(r.prometheus), ratio, goalText, verdict)
	}
	tw.Flush()
	if len(rs.notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range rs.notes {
			fmt.Fprintln(w, "note:", n)
		}
	}
	fmt.Fprintln(w)
	for _, r := range rs.rows {
		if !math.IsNaN(r.prophasis) {
			fmt.Fprintf(w, "%s_prophasis=%s\n", r.key, plain(r.prophasis))
		}
		if !math.IsNaN(r.prometheus) {
			fmt.Fprintf(w, "%s_prometheus=%s\n", r.key, plain(r.prometheus))
		}
		if x := r.ratio(); !math.IsNaN(x) {
			fmt.Fprintf(w, "%s_ratio=%.3f\n", r.key, x)
		}
		if r.goal != nil {
			fmt.Fprintf(w, "%s_goal_met=%t\n", r.key, r.goal.met(r))
		}
	}
	for _, e := range rs.extra {
		fmt.Fprintln(w, e)
	}
}

func plain(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.3f", v)
}
