package trend

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// explainer collects what the functions computed while an expression ran,
// so an outcome can say why: "slope 2.1/h, timeleft(100) 9h12m". Each
// function call adds one entry; a call repeated with the same arguments
// (timeleft in both branches of a conditional) is listed once.
type explainer struct {
	entries []entry
}

type entry struct {
	key   string // function and its arguments other than the window
	value string
}

func (e *explainer) reset() { e.entries = e.entries[:0] }

// add records name(args) = v.
func (e *explainer) add(name string, args []float64, v float64) {
	if name == "slope" || name == "rate" {
		e.put(key(name, args), perTime(v))
		return
	}
	e.put(key(name, args), formatFloat(v))
}

func (e *explainer) addDuration(name string, arg float64, d time.Duration) {
	v := "never"
	if d != never {
		v = formatDuration(d)
	}
	e.put(key(name, []float64{arg}), v)
}

func (e *explainer) put(k, v string) {
	for _, en := range e.entries {
		if en.key == k {
			return
		}
	}
	e.entries = append(e.entries, entry{k, v})
}

// String renders the entries in call order.
func (e *explainer) String() string {
	if len(e.entries) == 0 {
		return ""
	}
	var b strings.Builder
	for i, en := range e.entries {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(en.key)
		b.WriteByte(' ')
		b.WriteString(en.value)
	}
	return b.String()
}

func key(name string, args []float64) string {
	if len(args) == 0 {
		return name
	}
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('(')
	for i, a := range args {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(formatFloat(a))
	}
	b.WriteByte(')')
	return b.String()
}

// formatFloat keeps four significant digits: enough to read, short enough
// to scan in a list of outcomes.
func formatFloat(v float64) string {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// perTime shows a per-second rate in the unit of time that makes it
// readable: a disk growing 0.0006 %/s is "2.16/h".
func perTime(perSec float64) string {
	units := []struct {
		name string
		secs float64
	}{{"/s", 1}, {"/min", 60}, {"/h", 3600}, {"/d", 86400}}
	for _, u := range units {
		if v := perSec * u.secs; math.Abs(v) >= 1 || u.name == "/d" {
			return formatFloat(v) + u.name
		}
	}
	return formatFloat(perSec) + "/s"
}

// formatDuration rounds to what a human plans with: minutes under a day,
// hours beyond.
func formatDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < 24*time.Hour:
		return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
	default:
		h := int64(d.Round(time.Hour) / time.Hour)
		return strconv.FormatInt(h/24, 10) + "d" + strconv.FormatInt(h%24, 10) + "h"
	}
}
