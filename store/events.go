package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Event is one change the rules engine saw: a subject changed state, or
// began or stopped flapping. Events are an audit trail the UI and alert
// history read; they are not configuration and wake no ConfigChanged
// watcher.
type Event struct {
	// ID is assigned by AppendEvents; ids increase with every append.
	ID int64 `json:"id"`
	// Time is when the change happened, in milliseconds since the Unix epoch.
	Time int64 `json:"time"`
	// Kind is one of EventKinds: "state", "flapping_start", "flapping_stop".
	Kind    string  `json:"kind"`
	Subject Subject `json:"subject"`
	// From and To are state numbers: -1 unknown, 0 ok, 1 minor, 2 major,
	// 3 critical; for services 0 ok, 1 degraded, 2 failed. A flapping
	// event carries the state at the time in both.
	From int `json:"from"`
	To   int `json:"to"`
	// Reason says why, in words (the classifier's message, the trend
	// rule's prediction).
	Reason string `json:"reason,omitempty"`
}

// EventKinds are the kinds of Event.
var EventKinds = []string{"state", "flapping_start", "flapping_stop"}

// Subject is what an event or a state is about. Which fields are set depends
// on Kind: a check result has Host, Plugin and Check; a host only Host; a
// trend rule's series Rule, Labels and often Host; a service Service.
type Subject struct {
	// Kind is one of SubjectKinds: "check", "host", "trend", "service".
	Kind    string            `json:"kind"`
	Host    string            `json:"host,omitempty"`
	Plugin  string            `json:"plugin,omitempty"`
	Check   string            `json:"check,omitempty"`
	Rule    string            `json:"rule,omitempty"`
	Service string            `json:"service,omitempty"`
	Labels  map[string]string `json:"labels,omitempty"`
}

// SubjectKinds are the kinds of Subject.
var SubjectKinds = []string{"check", "host", "trend", "service"}

// The range of state numbers in events and current states.
const (
	minStateNumber = -1
	maxStateNumber = 3
)

// Limits of events, system log entries and current states. They bound what
// one call writes and keep a runaway engine from filling the disk with one
// row.
const (
	// MaxRecordBatch bounds the records of one AppendEvents,
	// AppendSystemLog, SaveStates or DeleteStates call.
	MaxRecordBatch = 100_000
	// MaxReasonBytes bounds Event.Reason and CurrentState.Reason.
	MaxReasonBytes = 4 << 10
	// maxSubjectField bounds each name of a Subject; they are names
	// (NamePattern, 128) in practice, with room for remote-written ones.
	maxSubjectField = 256
	// Query limits: the default and the largest Limit.
	defaultQueryLimit = 1000
	MaxQueryLimit     = 10_000
)

// EventQuery selects events: Since <= Time <= Until (Until 0: no upper
// bound), matching every non-empty filter, newest first, at most Limit (0
// means 1000; at most MaxQueryLimit).
type EventQuery struct {
	Since, Until int64
	Host         string
	Plugin       string
	Check        string
	Rule         string
	Service      string
	SubjectKind  string
	Limit        int
}

// EventStore keeps the events of the rules engine. Its writes do not wake
// ConfigChanged's watchers.
type EventStore interface {
	// AppendEvents stores events in one transaction and sets their ids in
	// place. One invalid event refuses the whole batch with an error
	// wrapping ErrInvalid that names it (events[3]: ...).
	AppendEvents(ctx context.Context, events []Event) error
	// Events returns the events q selects, newest first.
	Events(ctx context.Context, q EventQuery) ([]Event, error)
	// DeleteEventsBefore deletes events older than ts (retention).
	DeleteEventsBefore(ctx context.Context, ts int64) (deleted int64, err error)
}

// validate checks a subject; what names its owner.
func (s *Subject) validate(what string) error {
	if !slices.Contains(SubjectKinds, s.Kind) {
		return invalidf("%s: subject kind %q must be one of %s", what, s.Kind, strings.Join(SubjectKinds, ", "))
	}
	for _, f := range []struct{ field, v string }{
		{"host", s.Host}, {"plugin", s.Plugin}, {"check", s.Check}, {"rule", s.Rule}, {"service", s.Service},
	} {
		if err := validText(what, "subject "+f.field, f.v, maxSubjectField); err != nil {
			return err
		}
	}
	if len(s.Labels) > maxLabels {
		return invalidf("%s: subject has %d labels; the limit is %d", what, len(s.Labels), maxLabels)
	}
	for _, k := range sortedKeys(s.Labels) {
		if k == "" || len(k) > maxLabelName || !utf8.ValidString(k) {
			return invalidf("%s: subject label name %q must be 1 to %d bytes of UTF-8", what, k, maxLabelName)
		}
		if err := validText(what, "subject label "+k, s.Labels[k], maxLabelValue); err != nil {
			return err
		}
	}
	return nil
}

// labelsJSON is the column representation of Labels.
func (s *Subject) labelsJSON() (string, error) {
	if len(s.Labels) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(s.Labels)
	return string(b), err
}

// setLabels reads the column representation of Labels.
func (s *Subject) setLabels(col string) error {
	if col == "" || col == "{}" {
		s.Labels = nil
		return nil
	}
	return json.Unmarshal([]byte(col), &s.Labels)
}

func validState(what, field string, n int) error {
	if n < minStateNumber || n > maxStateNumber {
		return invalidf("%s: %s %d must be a state number from %d (unknown) to %d (critical)", what, field, n, minStateNumber, maxStateNumber)
	}
	return nil
}

func (e *Event) validate(what string) error {
	if !slices.Contains(EventKinds, e.Kind) {
		return invalidf("%s: kind %q must be one of %s", what, e.Kind, strings.Join(EventKinds, ", "))
	}
	if e.Time < 0 {
		return invalidf("%s: time %d is before 1970", what, e.Time)
	}
	if err := e.Subject.validate(what); err != nil {
		return err
	}
	if err := validState(what, "from", e.From); err != nil {
		return err
	}
	if err := validState(what, "to", e.To); err != nil {
		return err
	}
	return validText(what, "reason", e.Reason, MaxReasonBytes)
}

// validBatch refuses a batch of more than MaxRecordBatch records.
func validBatch(what string, n int) error {
	if n > MaxRecordBatch {
		return invalidf("%s: %d records in one call; the limit is %d", what, n, MaxRecordBatch)
	}
	return nil
}

// validLimit applies the default to a query's limit and bounds it.
func validLimit(limit int) (int, error) {
	if limit < 0 || limit > MaxQueryLimit {
		return 0, invalidf("limit %d must be between 0 (the default, %d) and %d", limit, defaultQueryLimit, MaxQueryLimit)
	}
	if limit == 0 {
		return defaultQueryLimit, nil
	}
	return limit, nil
}

// AppendEvents implements EventStore.
func (s *sqliteStore) AppendEvents(ctx context.Context, events []Event) error {
	if err := validBatch("append events", len(events)); err != nil {
		return err
	}
	for i := range events {
		if err := events[i].validate(fmt.Sprintf("events[%d]", i)); err != nil {
			return err
		}
	}
	if len(events) == 0 {
		return nil
	}
	ids := make([]int64, len(events))
	err := s.writeData(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO events (time, kind, subject_kind, host, plugin, check_name, rule, service,
			labels, from_state, to_state, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i := range events {
			e := &events[i]
			labels, err := e.Subject.labelsJSON()
			if err != nil {
				return err
			}
			if err := stmt.QueryRowContext(ctx, e.Time, e.Kind, e.Subject.Kind, e.Subject.Host, e.Subject.Plugin, e.Subject.Check,
				e.Subject.Rule, e.Subject.Service, labels, e.From, e.To, e.Reason).Scan(&ids[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("append events: %w", err)
	}
	for i := range events {
		events[i].ID = ids[i]
	}
	return nil
}

// recordFilter builds the WHERE clause of an event or system log query:
// the time range and equality on each non-empty column.
type recordFilter struct {
	conds []string
	args  []any
}

func (f *recordFilter) timeRange(since, until int64) {
	f.conds = append(f.conds, "time >= ?")
	f.args = append(f.args, since)
	if until != 0 {
		f.conds = append(f.conds, "time <= ?")
		f.args = append(f.args, until)
	}
}

// eq adds col = v when v is set; col is a constant, never user input.
func (f *recordFilter) eq(col, v string) {
	if v != "" {
		f.conds = append(f.conds, col+" = ?")
		f.args = append(f.args, v)
	}
}

func (f *recordFilter) where() string { return " WHERE " + strings.Join(f.conds, " AND ") }

// Events implements EventStore.
func (s *sqliteStore) Events(ctx context.Context, q EventQuery) ([]Event, error) {
	limit, err := validLimit(q.Limit)
	if err != nil {
		return nil, err
	}
	if q.Until != 0 && q.Until < q.Since {
		return nil, invalidf("since %d is after until %d", q.Since, q.Until)
	}
	var f recordFilter
	f.timeRange(q.Since, q.Until)
	f.eq("host", q.Host)
	f.eq("plugin", q.Plugin)
	f.eq("check_name", q.Check)
	f.eq("rule", q.Rule)
	f.eq("service", q.Service)
	f.eq("subject_kind", q.SubjectKind)
	out := []Event{}
	err = s.read(ctx, func(qr querier) error {
		return queryRows(ctx, qr, func(rows *sql.Rows) error {
			var e Event
			var labels string
			if err := rows.Scan(&e.ID, &e.Time, &e.Kind, &e.Subject.Kind, &e.Subject.Host, &e.Subject.Plugin, &e.Subject.Check,
				&e.Subject.Rule, &e.Subject.Service, &labels, &e.From, &e.To, &e.Reason); err != nil {
				return err
			}
			if err := e.Subject.setLabels(labels); err != nil {
				return fmt.Errorf("event %d: labels: %w", e.ID, err)
			}
			out = append(out, e)
			return nil
		}, `SELECT id, time, kind, subject_kind, host, plugin, check_name, rule, service, labels, from_state, to_state, reason
			FROM events`+f.where()+` ORDER BY time DESC, id DESC LIMIT ?`, append(f.args, limit)...)
	})
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	return out, nil
}

// DeleteEventsBefore implements EventStore.
func (s *sqliteStore) DeleteEventsBefore(ctx context.Context, ts int64) (int64, error) {
	return s.deleteBefore(ctx, "events", ts)
}

// deleteBefore deletes the rows of table (a constant) with time < ts.
func (s *sqliteStore) deleteBefore(ctx context.Context, table string, ts int64) (int64, error) {
	var n int64
	err := s.writeData(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE time < ?`, ts)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("delete %s before %d: %w", table, ts, err)
	}
	return n, nil
}
