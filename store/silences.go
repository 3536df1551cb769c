package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	// The IANA time zone database, so weekly silences validate and run
	// the same on a machine without /usr/share/zoneinfo.
	_ "time/tzdata"
)

// Silence is a maintenance window: while it is active, the alerts of what
// its Scope covers are not notified (they still open, fire and resolve, and
// states are still recorded). It is either one-off, from Start to End, or
// weekly (Weekly set), never both.
type Silence struct {
	Meta        `yaml:",inline"`
	Name        string `json:"name" yaml:"name"`
	Description string `json:"description" yaml:"description,omitempty"`
	// Scope is what the silence covers, as for alert rules; an empty scope
	// covers everything.
	Scope Scope `json:"scope" yaml:"scope,omitempty"`
	// Start and End bound a one-off silence: active from Start until End
	// (End after Start). Both are zero for a weekly silence.
	Start time.Time `json:"start,omitzero" yaml:"start,omitempty"`
	End   time.Time `json:"end,omitzero" yaml:"end,omitempty"`
	// Weekly, when set, makes the silence recur every week.
	Weekly *Weekly `json:"weekly,omitempty" yaml:"weekly,omitempty"`
	// Comment says why (the change ticket, the person to ask).
	Comment string `json:"comment" yaml:"comment,omitempty"`
	// CreatedBy names who created it; the management API sets it from the
	// request's principal.
	CreatedBy string `json:"created_by" yaml:"created_by,omitempty"`
}

// Weekly is a recurring window: on each of Days, from At (wall clock in
// Timezone) for Duration. A window may run past midnight, into the next
// day or days.
type Weekly struct {
	// Days are "mon" to "sun"; at least one.
	Days []string `json:"days" yaml:"days"`
	// At is the start, "HH:MM" (24-hour clock).
	At string `json:"at" yaml:"at"`
	// Duration is how long each window lasts: more than 0s, at most 7d.
	Duration Duration `json:"duration" yaml:"duration"`
	// Timezone is an IANA name ("Europe/London"); "" means UTC.
	Timezone string `json:"timezone" yaml:"timezone,omitempty"`
}

// WeekDays are the names of Weekly.Days, in the order they are stored.
var WeekDays = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

// Limits of silences.
const (
	// MaxWeeklyDuration bounds Weekly.Duration.
	MaxWeeklyDuration = 7 * 24 * time.Hour
	// maxSilenceComment bounds Comment.
	maxSilenceComment = 4 << 10
	// maxCreatedBy bounds CreatedBy (a user's or token's name).
	maxCreatedBy = 256
	// maxTimezone bounds Weekly.Timezone.
	maxTimezone = 64
)

var clockRE = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)

// Location returns the window's time zone: Timezone, or UTC when empty.
func (w *Weekly) Location() (*time.Location, error) {
	if w.Timezone == "" {
		return time.UTC, nil
	}
	if w.Timezone == "Local" {
		// The server's own zone is no fixed place: refuse it.
		return nil, fmt.Errorf("timezone %q depends on the server; name the zone (e.g. \"Europe/London\")", w.Timezone)
	}
	return time.LoadLocation(w.Timezone)
}

// Clock returns At as the time after midnight.
func (w *Weekly) Clock() (time.Duration, error) {
	if !clockRE.MatchString(w.At) {
		return 0, fmt.Errorf("at %q must be a 24-hour time HH:MM, e.g. \"02:30\"", w.At)
	}
	h, m := int(w.At[0]-'0')*10+int(w.At[1]-'0'), int(w.At[3]-'0')*10+int(w.At[4]-'0')
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, nil
}

// Weekdays returns Days as time.Weekday values (names that are not
// WeekDays, which validation refuses, are left out).
func (w *Weekly) Weekdays() []time.Weekday {
	var out []time.Weekday
	for _, d := range w.Days {
		if i := slices.Index(WeekDays, d); i >= 0 {
			out = append(out, time.Weekday((i+1)%7))
		}
	}
	return out
}

// SilenceStore keeps silences.
type SilenceStore interface {
	// Silences returns every silence, sorted by name.
	Silences(ctx context.Context) ([]Silence, error)
	// Silence returns one silence, or an error wrapping ErrNotFound.
	Silence(ctx context.Context, name string) (Silence, error)
	// CreateSilence adds a silence; what its scope names must exist.
	CreateSilence(ctx context.Context, s Silence) (Silence, error)
	// UpdateSilence replaces the silence called name (s.Name "" keeps it).
	UpdateSilence(ctx context.Context, name string, s Silence) (Silence, error)
	// DeleteSilence deletes a silence.
	DeleteSilence(ctx context.Context, name string) error
}

// silenceSpec is the JSON of the spec column.
type silenceSpec struct {
	Scope     Scope       `json:"scope"`
	StartMS   int64       `json:"start_ms,omitempty"`
	EndMS     int64       `json:"end_ms,omitempty"`
	Weekly    *weeklySpec `json:"weekly,omitempty"`
	Comment   string      `json:"comment,omitempty"`
	CreatedBy string      `json:"created_by,omitempty"`
}

type weeklySpec struct {
	Days       []string `json:"days"`
	At         string   `json:"at"`
	DurationMS int64    `json:"duration_ms"`
	Timezone   string   `json:"timezone,omitempty"`
}

func (s *Silence) key() *string { return &s.Name }

func (s *Silence) refs() []ref { return s.Scope.refs() }

// normalize sorts the lists (days in week order) and keeps times in UTC at
// the store's millisecond precision, so a file's "+01:00" and the stored
// UTC compare equal.
func (s *Silence) normalize() {
	s.Scope.normalize()
	norm := func(t time.Time) time.Time {
		if t.IsZero() {
			return t
		}
		return t.Truncate(time.Millisecond).UTC()
	}
	s.Start, s.End = norm(s.Start), norm(s.End)
	if s.Weekly != nil {
		rank := func(d string) int {
			if i := slices.Index(WeekDays, d); i >= 0 {
				return i
			}
			return len(WeekDays)
		}
		if s.Weekly.Days == nil {
			s.Weekly.Days = []string{}
		}
		slices.SortStableFunc(s.Weekly.Days, func(a, b string) int {
			if c := rank(a) - rank(b); c != 0 {
				return c
			}
			return strings.Compare(a, b)
		})
	}
}

func (s *Silence) validate() error {
	if err := validName("silence", s.Name); err != nil {
		return err
	}
	what := fmt.Sprintf("silence %q", s.Name)
	if err := validText(what, "description", s.Description, maxDescription); err != nil {
		return err
	}
	if err := validText(what, "comment", s.Comment, maxSilenceComment); err != nil {
		return err
	}
	if err := validText(what, "created_by", s.CreatedBy, maxCreatedBy); err != nil {
		return err
	}
	if err := s.Scope.validate(what); err != nil {
		return err
	}
	if s.Weekly == nil {
		switch {
		case s.Start.IsZero() && s.End.IsZero():
			return invalidf("%s: give start and end (a one-off silence) or weekly (a recurring one)", what)
		case s.Start.IsZero():
			return invalidf("%s: start is required with end", what)
		case s.End.IsZero():
			return invalidf("%s: end is required with start", what)
		case s.Start.UnixMilli() <= 0:
			return invalidf("%s: start %s must be after 1970", what, s.Start.Format(time.RFC3339))
		case !s.End.After(s.Start):
			return invalidf("%s: end %s must be after start %s", what, s.End.Format(time.RFC3339), s.Start.Format(time.RFC3339))
		}
		return nil
	}
	if !s.Start.IsZero() || !s.End.IsZero() {
		return invalidf("%s: give either start and end (one-off) or weekly (recurring), not both", what)
	}
	w := s.Weekly
	if len(w.Days) == 0 {
		return invalidf("%s: weekly.days needs at least one day (%s)", what, strings.Join(WeekDays, ", "))
	}
	for i, d := range w.Days {
		if !slices.Contains(WeekDays, d) {
			return invalidf("%s: weekly.days: %q is not one of %s", what, d, strings.Join(WeekDays, ", "))
		}
		if i > 0 && w.Days[i-1] == d {
			return invalidf("%s: weekly.days lists %q twice", what, d)
		}
	}
	if _, err := w.Clock(); err != nil {
		return invalidf("%s: weekly.%v", what, err)
	}
	if w.Duration <= 0 || w.Duration.Std() > MaxWeeklyDuration {
		return invalidf("%s: weekly.duration %s must be more than 0s and at most 7d", what, w.Duration)
	}
	if len(w.Timezone) > maxTimezone {
		return invalidf("%s: weekly.timezone is %d bytes long; the limit is %d", what, len(w.Timezone), maxTimezone)
	}
	if _, err := w.Location(); err != nil {
		return invalidf("%s: weekly.timezone %q is not a known IANA time zone (such as \"Europe/London\"; \"\" is UTC)", what, w.Timezone)
	}
	return nil
}

func diffSilence(a, b *Silence) []string {
	var f fieldDiffs
	f.str("description", a.Description, b.Description)
	diffScopes(&f, &a.Scope, &b.Scope)
	f.str("start", showTime(a.Start), showTime(b.Start))
	f.str("end", showTime(a.End), showTime(b.End))
	f.str("weekly", showWeekly(a.Weekly), showWeekly(b.Weekly))
	f.str("comment", a.Comment, b.Comment)
	f.str("created_by", a.CreatedBy, b.CreatedBy)
	return f
}

func showTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339Nano)
}

func showWeekly(w *Weekly) string {
	if w == nil {
		return ""
	}
	tz := w.Timezone
	if tz == "" {
		tz = "UTC"
	}
	return showList(w.Days) + " " + w.At + " " + tz + " for " + w.Duration.String()
}

var silenceOps = ops[Silence]{
	kind:   kindSilence,
	load:   loadSilences,
	insert: insertSilence,
	update: updateSilence,
	diff:   diffSilence,
}

func (s *Silence) spec() (string, error) {
	sp := silenceSpec{Scope: s.Scope, StartMS: millis(s.Start), EndMS: millis(s.End), Comment: s.Comment, CreatedBy: s.CreatedBy}
	if w := s.Weekly; w != nil {
		sp.Weekly = &weeklySpec{Days: w.Days, At: w.At, DurationMS: w.Duration.Std().Milliseconds(), Timezone: w.Timezone}
	}
	b, err := json.Marshal(sp)
	return string(b), err
}

func loadSilences(ctx context.Context, q querier, name string) ([]Silence, error) {
	where, args := whereName("name", name)
	var out []Silence
	err := queryRows(ctx, q, func(rows *sql.Rows) error {
		var s Silence
		var id, created, updated int64
		var spec string
		if err := rows.Scan(&id, &s.Name, &s.Description, &spec, &created, &updated); err != nil {
			return err
		}
		s.set(id, created, updated)
		var sp silenceSpec
		if err := json.Unmarshal([]byte(spec), &sp); err != nil {
			return fmt.Errorf("silence %q: corrupt spec: %w", s.Name, err)
		}
		s.Scope, s.Start, s.End, s.Comment, s.CreatedBy = sp.Scope, fromMillis(sp.StartMS), fromMillis(sp.EndMS), sp.Comment, sp.CreatedBy
		if w := sp.Weekly; w != nil {
			s.Weekly = &Weekly{Days: w.Days, At: w.At, Duration: Duration(time.Duration(w.DurationMS) * time.Millisecond), Timezone: w.Timezone}
		}
		s.normalize()
		out = append(out, s)
		return nil
	}, `SELECT id, name, description, spec, created_at, updated_at FROM silences`+where+` ORDER BY name`, args...)
	if err != nil {
		return nil, fmt.Errorf("load silences: %w", err)
	}
	return out, nil
}

func insertSilence(ctx context.Context, tx *sql.Tx, _ *resolver, s *Silence, now int64) (int64, error) {
	spec, err := s.spec()
	if err != nil {
		return 0, err
	}
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO silences (name, description, spec, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?) RETURNING id`, s.Name, s.Description, spec, now, now).Scan(&id)
	return id, err
}

func updateSilence(ctx context.Context, tx *sql.Tx, _ *resolver, id int64, s *Silence, now int64) error {
	spec, err := s.spec()
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE silences SET name = ?, description = ?, spec = ?, updated_at = ? WHERE id = ?`,
		s.Name, s.Description, spec, now, id)
	return err
}

// renameInSilences follows a rename into silence scopes, which refer by
// name inside their JSON spec.
func renameInSilences(ctx context.Context, tx *sql.Tx, old ref, newName string, now int64) error {
	if !scopeKinds[old.kind] {
		return nil
	}
	silences, err := loadSilences(ctx, tx, "")
	if err != nil {
		return err
	}
	for i := range silences {
		s := &silences[i]
		if !s.Scope.rename(old, newName) {
			continue
		}
		if err := updateSilence(ctx, tx, nil, s.ID, s, now); err != nil {
			return fmt.Errorf("rename %s in silence %q: %w", old, s.Name, err)
		}
	}
	return nil
}

// Silences implements SilenceStore.
func (s *sqlStore) Silences(ctx context.Context) ([]Silence, error) {
	return listAll(ctx, s, silenceOps)
}

// Silence implements SilenceStore.
func (s *sqlStore) Silence(ctx context.Context, name string) (Silence, error) {
	return getOne(ctx, s, silenceOps, name)
}

// CreateSilence implements SilenceStore.
func (s *sqlStore) CreateSilence(ctx context.Context, v Silence) (Silence, error) {
	return createOne(ctx, s, silenceOps, v)
}

// UpdateSilence implements SilenceStore.
func (s *sqlStore) UpdateSilence(ctx context.Context, name string, v Silence) (Silence, error) {
	return updateOne(ctx, s, silenceOps, name, v)
}

// DeleteSilence implements SilenceStore.
func (s *sqlStore) DeleteSilence(ctx context.Context, name string) error {
	return deleteOne(ctx, s, silenceOps, name)
}
