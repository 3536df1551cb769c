package store

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Op is what Apply does to one entity.
type Op string

// The operations of a Diff.
const (
	OpCreate Op = "create"
	OpUpdate Op = "update"
	OpDelete Op = "delete"
)

// Change is one entity that Apply creates, updates or deletes.
type Change struct {
	Op   Op     `json:"op"`
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Details say, for an update, which fields change and how
	// ("address 10.0.0.1 -> 10.0.0.2").
	Details []string `json:"details,omitempty"`
}

// String renders the change as one line: "+ host web1",
// "~ check cpu: schedule fast -> slow", "- group old".
func (c Change) String() string {
	sign := map[Op]string{OpCreate: "+", OpUpdate: "~", OpDelete: "-"}[c.Op]
	s := sign + " " + c.Kind + " " + c.Name
	if len(c.Details) > 0 {
		s += ": " + strings.Join(c.Details, "; ")
	}
	return s
}

// Counts are the numbers of changes of one kind.
type Counts struct {
	Created int `json:"created"`
	Updated int `json:"updated"`
	Deleted int `json:"deleted"`
}

// Diff is what Apply changed (or, in a dry run, would change).
type Diff struct {
	DryRun bool `json:"dry_run"`
	// Changes are ordered by kind (hosts, groups, plugins, schedules,
	// checks, services, alert rules, trend rules, silences), then creates,
	// updates, deletes, then name.
	Changes []Change `json:"changes"`
	// Summary counts the changes per kind; kinds without changes are absent.
	Summary map[string]Counts `json:"summary"`
}

// Empty reports whether the diff changes nothing.
func (d Diff) Empty() bool { return len(d.Changes) == 0 }

// String renders the diff one change per line, ending with a summary line.
func (d Diff) String() string {
	if d.Empty() {
		return "no changes\n"
	}
	var b strings.Builder
	for _, c := range d.Changes {
		b.WriteString(c.String())
		b.WriteByte('\n')
	}
	var created, updated, deleted int
	for _, c := range d.Summary {
		created += c.Created
		updated += c.Updated
		deleted += c.Deleted
	}
	verb := "applied"
	if d.DryRun {
		verb = "dry run, nothing changed"
	}
	fmt.Fprintf(&b, "%d to create, %d to update, %d to delete (%s)\n", created, updated, deleted, verb)
	return b.String()
}

func (d *Diff) add(op Op, k kind, name string, details []string) {
	d.Changes = append(d.Changes, Change{Op: op, Kind: string(k), Name: name, Details: details})
}

// finish sorts the changes and counts them.
func (d *Diff) finish() {
	rank := func(k string) int { return slices.Index(kindOrder, kind(k)) }
	opRank := map[Op]int{OpCreate: 0, OpUpdate: 1, OpDelete: 2}
	slices.SortStableFunc(d.Changes, func(a, b Change) int {
		if r := rank(a.Kind) - rank(b.Kind); r != 0 {
			return r
		}
		if r := opRank[a.Op] - opRank[b.Op]; r != 0 {
			return r
		}
		return strings.Compare(a.Name, b.Name)
	})
	if d.Changes == nil {
		d.Changes = []Change{}
	}
	d.Summary = map[string]Counts{}
	for _, c := range d.Changes {
		n := d.Summary[c.Kind]
		switch c.Op {
		case OpCreate:
			n.Created++
		case OpUpdate:
			n.Updated++
		case OpDelete:
			n.Deleted++
		}
		d.Summary[c.Kind] = n
	}
}

// fieldDiffs accumulates the field-level differences of an update.
type fieldDiffs []string

func (f *fieldDiffs) str(field, a, b string) {
	if a != b {
		*f = append(*f, field+" "+showString(a)+" -> "+showString(b))
	}
}

func (f *fieldDiffs) list(field string, a, b []string) {
	if !slices.Equal(a, b) {
		*f = append(*f, field+" "+showList(a)+" -> "+showList(b))
	}
}

func (f *fieldDiffs) labels(a, b map[string]string) {
	if !maps.Equal(a, b) {
		*f = append(*f, "labels "+showLabels(a)+" -> "+showLabels(b))
	}
}

func (f *fieldDiffs) duration(field string, a, b Duration) {
	if a != b {
		*f = append(*f, field+" "+a.String()+" -> "+b.String())
	}
}

func (f *fieldDiffs) bool(field string, a, b bool) {
	if a != b {
		*f = append(*f, field+" "+strconv.FormatBool(a)+" -> "+strconv.FormatBool(b))
	}
}

func (f *fieldDiffs) int(field string, a, b int) {
	if a != b {
		*f = append(*f, field+" "+strconv.Itoa(a)+" -> "+strconv.Itoa(b))
	}
}

// showString quotes strings that would be ambiguous bare (empty, spaces).
func showString(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\n\"'[]{},;") || len(s) > 60 {
		if len(s) > 60 {
			s = s[:57] + "..."
		}
		return strconv.Quote(s)
	}
	return s
}

func showList(l []string) string {
	return "[" + strings.Join(l, ", ") + "]"
}

func showLabels(m map[string]string) string {
	parts := make([]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		parts = append(parts, k+"="+showString(m[k]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// code records a change of user code (a classifier) by size, not content:
// sources are long and multi-line.
func (f *fieldDiffs) code(field, a, b string) {
	switch {
	case a == b:
	case a == "":
		*f = append(*f, fmt.Sprintf("%s set (%d bytes)", field, len(b)))
	case b == "":
		*f = append(*f, field+" removed")
	default:
		*f = append(*f, fmt.Sprintf("%s changed (%d -> %d bytes)", field, len(a), len(b)))
	}
}

func (f *fieldDiffs) float(field string, a, b float64) {
	if a != b {
		*f = append(*f, field+" "+strconv.FormatFloat(a, 'g', -1, 64)+" -> "+strconv.FormatFloat(b, 'g', -1, 64))
	}
}
