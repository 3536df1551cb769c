package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
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

// AppendEvents implements EventStore.
func (s *sqlStore) AppendEvents(ctx context.Context, events []Event) error {
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
	var ids []int64
	err := s.writeData(ctx, func(tx *sql.Tx) error {
		var err error
		ids, err = s.insertIDs(ctx, tx, `INSERT INTO events (time, kind, subject_kind, host, plugin, check_name, rule, service,
			labels, from_state, to_state, reason)`, 12, len(events),
			func(i int, dst []any) ([]any, error) {
				e := &events[i]
				labels, err := e.Subject.labelsJSON()
				if err != nil {
					return nil, err
				}
				return append(dst, e.Time, e.Kind, e.Subject.Kind, e.Subject.Host, e.Subject.Plugin, e.Subject.Check,
					e.Subject.Rule, e.Subject.Service, labels, e.From, e.To, e.Reason), nil
			})
		return err
	})
	if err != nil {
		return fmt.Errorf("append events: %w", err)
	}
	for i := range events {
		events[i].ID = ids[i]
	}
	return nil
}

// Events implements EventStore.
func (s *sqlStore) Events(ctx context.Context, q EventQuery) ([]Event, error) {
	limit, f, err := recordQuery(q.Limit, q.Since, q.Until)
	if err != nil {
		return nil, err
	}
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
func (s *sqlStore) DeleteEventsBefore(ctx context.Context, ts int64) (int64, error) {
	return s.deleteBefore(ctx, "events", ts)
}
