package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Schedule says when checks run: on the grid of each interval (start +
// k x period, so runs on different hosts line up), at most MaxLateness late.
type Schedule struct {
	Meta        `yaml:",inline"`
	Name        string `json:"name" yaml:"name"`
	Description string `json:"description" yaml:"description,omitempty"`
	// Intervals are one or more grids; a check runs on each.
	Intervals []Interval `json:"intervals" yaml:"intervals"`
	// MaxLateness is how late a run may start before it is skipped and
	// counted as skipped. Zero means the default, half the shortest period
	// (see EffectiveMaxLateness).
	MaxLateness Duration `json:"max_lateness" yaml:"max_lateness,omitempty"`
}

// Interval is one grid of run times: Start, Start + Period, Start + 2 x
// Period, ... (and back in time: the grid extends before Start too, so
// Start only sets the phase). A zero Start is the Unix epoch.
type Interval struct {
	Start  time.Time `json:"start,omitzero" yaml:"start,omitempty"`
	Period Duration  `json:"period" yaml:"period"`
}

// Limits of schedules.
const (
	minPeriod    = time.Second
	maxPeriod    = 366 * 24 * time.Hour
	maxIntervals = 64
)

// ScheduleStore keeps schedules.
type ScheduleStore interface {
	// Schedules returns every schedule, sorted by name.
	Schedules(ctx context.Context) ([]Schedule, error)
	// Schedule returns one schedule, or an error wrapping ErrNotFound.
	Schedule(ctx context.Context, name string) (Schedule, error)
	// CreateSchedule adds a schedule.
	CreateSchedule(ctx context.Context, sc Schedule) (Schedule, error)
	// UpdateSchedule replaces the schedule called name (sc.Name "" keeps it).
	UpdateSchedule(ctx context.Context, name string, sc Schedule) (Schedule, error)
	// DeleteSchedule deletes a schedule no check uses.
	DeleteSchedule(ctx context.Context, name string) error
}

// EffectiveMaxLateness is MaxLateness, or when that is zero half the
// shortest period: late enough to absorb a busy host, early enough that a
// skipped run is reported before the next one is due.
func (sc *Schedule) EffectiveMaxLateness() time.Duration {
	if sc.MaxLateness > 0 {
		return sc.MaxLateness.Std()
	}
	var shortest time.Duration
	for _, iv := range sc.Intervals {
		if shortest == 0 || iv.Period.Std() < shortest {
			shortest = iv.Period.Std()
		}
	}
	return shortest / 2
}

func (iv Interval) String() string {
	if iv.Start.IsZero() {
		return "every " + iv.Period.String()
	}
	return "every " + iv.Period.String() + " from " + iv.Start.UTC().Format(time.RFC3339Nano)
}

func (sc *Schedule) key() *string { return &sc.Name }
func (sc *Schedule) refs() []ref  { return nil }

func (sc *Schedule) normalize() {
	if sc.Intervals == nil {
		sc.Intervals = []Interval{}
	}
	for i := range sc.Intervals {
		// The store keeps milliseconds, in UTC; normalising here makes a
		// document that says "+01:00" or has nanoseconds compare equal to
		// what it reads back.
		if !sc.Intervals[i].Start.IsZero() {
			sc.Intervals[i].Start = fromMillis(sc.Intervals[i].Start.UnixMilli())
		}
	}
	slices.SortFunc(sc.Intervals, func(a, b Interval) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return cmp.Compare(a.Period, b.Period)
	})
}

func (sc *Schedule) validate() error {
	if err := validName("schedule", sc.Name); err != nil {
		return err
	}
	what := fmt.Sprintf("schedule %q", sc.Name)
	if err := validText(what, "description", sc.Description, maxDescription); err != nil {
		return err
	}
	if len(sc.Intervals) == 0 {
		return invalidf("%s: needs at least one interval (period: 1m, say)", what)
	}
	if len(sc.Intervals) > maxIntervals {
		return invalidf("%s: %d intervals; the limit is %d", what, len(sc.Intervals), maxIntervals)
	}
	for i, iv := range sc.Intervals {
		if iv.Period.Std() < minPeriod || iv.Period.Std() > maxPeriod {
			return invalidf("%s: interval %d: period %s must be between %s and %s", what, i+1, iv.Period, Duration(minPeriod), Duration(maxPeriod))
		}
		if y := iv.Start.Year(); !iv.Start.IsZero() && (y < 1970 || y > 9999) {
			return invalidf("%s: interval %d: start %s must be between 1970 and 9999", what, i+1, iv.Start.Format(time.RFC3339))
		}
		if i > 0 && iv == sc.Intervals[i-1] {
			return invalidf("%s: interval %q is listed twice", what, iv)
		}
	}
	if sc.MaxLateness < 0 || sc.MaxLateness.Std() > maxPeriod {
		return invalidf("%s: max_lateness %s must be between 0s and %s", what, sc.MaxLateness, Duration(maxPeriod))
	}
	return nil
}

func showIntervals(ivs []Interval) string {
	parts := make([]string, len(ivs))
	for i, iv := range ivs {
		parts[i] = iv.String()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func diffSchedule(a, b *Schedule) []string {
	var f fieldDiffs
	f.str("description", a.Description, b.Description)
	if !slices.EqualFunc(a.Intervals, b.Intervals, func(x, y Interval) bool {
		return x.Period == y.Period && x.Start.Equal(y.Start)
	}) {
		f = append(f, "intervals "+showIntervals(a.Intervals)+" -> "+showIntervals(b.Intervals))
	}
	f.duration("max_lateness", a.MaxLateness, b.MaxLateness)
	return f
}

var scheduleOps = ops[Schedule]{
	kind:   kindSchedule,
	load:   loadSchedules,
	insert: insertSchedule,
	update: updateSchedule,
	diff:   diffSchedule,
}

func loadSchedules(ctx context.Context, q querier, name string) ([]Schedule, error) {
	where, args := whereName("s.name", name)
	var out []Schedule
	err := queryRows(ctx, q, func(rows *sql.Rows) error {
		var sc Schedule
		var id, created, updated, lateness int64
		if err := rows.Scan(&id, &sc.Name, &sc.Description, &lateness, &created, &updated); err != nil {
			return err
		}
		sc.set(id, created, updated)
		sc.MaxLateness = Duration(time.Duration(lateness) * time.Millisecond)
		out = append(out, sc)
		return nil
	}, `SELECT s.id, s.name, s.description, s.max_lateness_ms, s.created_at, s.updated_at FROM schedules s`+where+` ORDER BY s.name`, args...)
	if err != nil {
		return nil, fmt.Errorf("load schedules: %w", err)
	}
	intervals := map[string][]Interval{}
	err = queryRows(ctx, q, func(rows *sql.Rows) error {
		var sname string
		var start, period int64
		if err := rows.Scan(&sname, &start, &period); err != nil {
			return err
		}
		intervals[sname] = append(intervals[sname], Interval{Start: fromMillis(start), Period: Duration(time.Duration(period) * time.Millisecond)})
		return nil
	}, `SELECT s.name, i.start_ms, i.period_ms FROM schedule_intervals i JOIN schedules s ON s.id = i.schedule_id`+where+` ORDER BY s.name, i.position`, args...)
	if err != nil {
		return nil, fmt.Errorf("load schedule intervals: %w", err)
	}
	for i := range out {
		out[i].Intervals = intervals[out[i].Name]
		out[i].normalize()
	}
	return out, nil
}

func insertSchedule(ctx context.Context, tx *sql.Tx, _ *resolver, sc *Schedule, now int64) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO schedules (name, description, max_lateness_ms, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?) RETURNING id`, sc.Name, sc.Description, sc.MaxLateness.Std().Milliseconds(), now, now).Scan(&id)
	if err != nil {
		return 0, err
	}
	return id, writeIntervals(ctx, tx, id, sc.Intervals)
}

func updateSchedule(ctx context.Context, tx *sql.Tx, _ *resolver, id int64, sc *Schedule, now int64) error {
	if _, err := tx.ExecContext(ctx, `UPDATE schedules SET name = ?, description = ?, max_lateness_ms = ?, updated_at = ? WHERE id = ?`,
		sc.Name, sc.Description, sc.MaxLateness.Std().Milliseconds(), now, id); err != nil {
		return err
	}
	return writeIntervals(ctx, tx, id, sc.Intervals)
}

func writeIntervals(ctx context.Context, tx *sql.Tx, id int64, ivs []Interval) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM schedule_intervals WHERE schedule_id = ?`, id); err != nil {
		return fmt.Errorf("clear intervals: %w", err)
	}
	for i, iv := range ivs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO schedule_intervals (schedule_id, position, start_ms, period_ms) VALUES (?, ?, ?, ?)`,
			id, i, millis(iv.Start), iv.Period.Std().Milliseconds()); err != nil {
			return fmt.Errorf("write interval: %w", err)
		}
	}
	return nil
}

// Schedules implements ScheduleStore.
func (s *sqlStore) Schedules(ctx context.Context) ([]Schedule, error) {
	return listAll(ctx, s, scheduleOps)
}

// Schedule implements ScheduleStore.
func (s *sqlStore) Schedule(ctx context.Context, name string) (Schedule, error) {
	return getOne(ctx, s, scheduleOps, name)
}

// CreateSchedule implements ScheduleStore.
func (s *sqlStore) CreateSchedule(ctx context.Context, sc Schedule) (Schedule, error) {
	return createOne(ctx, s, scheduleOps, sc)
}

// UpdateSchedule implements ScheduleStore.
func (s *sqlStore) UpdateSchedule(ctx context.Context, name string, sc Schedule) (Schedule, error) {
	return updateOne(ctx, s, scheduleOps, name, sc)
}

// DeleteSchedule implements ScheduleStore.
func (s *sqlStore) DeleteSchedule(ctx context.Context, name string) error {
	return deleteOne(ctx, s, scheduleOps, name)
}
