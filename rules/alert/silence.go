package alert

import (
	"fmt"
	"slices"
	"time"
)

// Silence is a maintenance window: while it is active, alerts in its scope
// are not notified (they still open, fire and resolve). It is one-off
// (Start to End) or weekly (Weekly set: on Days, from At for Duration).
type Silence struct {
	Name    string
	Scope   Scope
	Comment string
	By      string

	// One-off: active in [Start, End).
	Start, End time.Time

	// Weekly, when set, repeats every week instead.
	Weekly *Weekly
}

// Weekly is a recurring window: on each of Days, from At (minutes after
// midnight in Location) for Duration (at most a week; it may run past
// midnight).
type Weekly struct {
	Days     []time.Weekday
	At       time.Duration
	Duration time.Duration
	Location *time.Location
}

// Validate says what is wrong with s, if anything.
func (s Silence) Validate() error {
	if s.Weekly == nil {
		if !s.End.After(s.Start) {
			return fmt.Errorf("silence %q: end %s must be after start %s", s.Name, s.End.Format(time.RFC3339), s.Start.Format(time.RFC3339))
		}
		return nil
	}
	w := s.Weekly
	switch {
	case len(w.Days) == 0:
		return fmt.Errorf("silence %q: weekly needs at least one day", s.Name)
	case w.At < 0 || w.At >= 24*time.Hour:
		return fmt.Errorf("silence %q: weekly start %s must be within the day", s.Name, w.At)
	case w.Duration <= 0 || w.Duration > 7*24*time.Hour:
		return fmt.Errorf("silence %q: weekly duration %s must be between 0 and 7 days", s.Name, w.Duration)
	}
	return nil
}

// Active reports whether s silences at t.
func (s Silence) Active(t time.Time) bool {
	if s.Weekly == nil {
		return !t.Before(s.Start) && t.Before(s.End)
	}
	for _, start := range s.Weekly.starts(t) {
		if !t.Before(start) && t.Before(start.Add(s.Weekly.Duration)) {
			return true
		}
	}
	return false
}

// Next returns the first time after t at which s starts or stops, or the
// zero time when it never changes again.
func (s Silence) Next(t time.Time) time.Time {
	if s.Weekly == nil {
		switch {
		case t.Before(s.Start):
			return s.Start
		case t.Before(s.End):
			return s.End
		}
		return time.Time{}
	}
	var next time.Time
	for _, start := range s.Weekly.starts(t) {
		for _, b := range []time.Time{start, start.Add(s.Weekly.Duration)} {
			if b.After(t) && (next.IsZero() || b.Before(next)) {
				next = b
			}
		}
	}
	return next
}

// starts returns the window starts from a week before t to a week after,
// which include every window containing t and the next one.
func (w *Weekly) starts(t time.Time) []time.Time {
	loc := w.Location
	if loc == nil {
		loc = time.Local
	}
	lt := t.In(loc)
	var out []time.Time
	for d := -8; d <= 8; d++ {
		day := time.Date(lt.Year(), lt.Month(), lt.Day()+d, 0, 0, 0, 0, loc)
		if slices.Contains(w.Days, day.Weekday()) {
			// Add the clock offset as a wall time, so a window at 02:00
			// stays at 02:00 across daylight-saving changes.
			h, m := int(w.At/time.Hour), int(w.At%time.Hour/time.Minute)
			out = append(out, time.Date(day.Year(), day.Month(), day.Day(), h, m, 0, 0, loc))
		}
	}
	return out
}
