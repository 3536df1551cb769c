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

// AlertRecord is one step of an alert's life as the alert history keeps
// it: opened (pending), fired, acknowledged, changed state, resolved. The
// alert manager's Recorder writes one per change.
type AlertRecord struct {
	// ID is assigned by AppendAlertHistory.
	ID int64 `json:"id"`
	// Time is when the change was recorded, in milliseconds since the
	// Unix epoch.
	Time int64 `json:"time"`
	// AlertID is the alert's stable id, "rule/subject key".
	AlertID string  `json:"alert_id"`
	Rule    string  `json:"rule"`
	Subject Subject `json:"subject"`
	// Status is one of AlertStatuses: pending, firing, resolved.
	Status string `json:"status"`
	// State is the subject's state name then; From the one before.
	State string `json:"state"`
	From  string `json:"from"`
	// Reason says why the state changed, in words; longer than
	// MaxReasonBytes is cut.
	Reason string `json:"reason,omitempty"`
	// ActiveAt, FiredAt and ResolvedAt are when the alert opened, fired
	// and resolved (milliseconds; 0 not yet).
	ActiveAt   int64 `json:"active_at"`
	FiredAt    int64 `json:"fired_at,omitempty"`
	ResolvedAt int64 `json:"resolved_at,omitempty"`
	// Notified are the modules notified of the alert so far.
	Notified []string `json:"notified"`
	// Ack is the acknowledgement the alert had then, if any.
	Ack *Ack `json:"ack,omitempty"`
}

// AlertStatuses are the statuses of AlertRecord.
var AlertStatuses = []string{"pending", "firing", "resolved"}

// NotificationRecord is one attempt to send one notice through one module,
// and how it went.
type NotificationRecord struct {
	// ID is assigned by AppendNotifications.
	ID int64 `json:"id"`
	// Time is when the attempt ended, in milliseconds since the Unix epoch.
	Time    int64  `json:"time"`
	AlertID string `json:"alert_id"`
	Rule    string `json:"rule"`
	Module  string `json:"module"`
	// Try counts the attempts at this notice, from 1.
	Try int `json:"try"`
	// Status is the notice's: one of NoticeStatuses, firing or resolved.
	Status string `json:"status"`
	// Error is why the attempt failed ("" when it succeeded); Retry
	// whether another attempt follows.
	Error string `json:"error,omitempty"`
	Retry bool   `json:"retry"`
	// Payload is what was sent (the module's request body, the email's
	// text), cut to MaxPayloadBytes. It must not hold secrets.
	Payload string `json:"payload,omitempty"`
}

// NoticeStatuses are the statuses of NotificationRecord.
var NoticeStatuses = []string{"firing", "resolved"}

// Limits of the alert history.
const (
	// MaxPayloadBytes bounds NotificationRecord.Payload; longer payloads
	// are cut, not refused, so no attempt goes unrecorded.
	MaxPayloadBytes = 64 << 10
	// MaxNotificationError bounds NotificationRecord.Error (cut too).
	MaxNotificationError = 4 << 10
	// maxHistoryName bounds the names in records (rule, module, states).
	maxHistoryName = 256
)

// AlertHistoryQuery selects alert records: Since <= Time <= Until (Until
// 0: no upper bound), matching every non-empty filter, newest first, at
// most Limit (0 means 1000; at most MaxQueryLimit).
type AlertHistoryQuery struct {
	Since, Until int64
	Rule         string
	Host         string
	AlertID      string
	Limit        int
}

// NotificationQuery selects notification records like AlertHistoryQuery.
type NotificationQuery struct {
	Since, Until int64
	Rule         string
	Module       string
	AlertID      string
	Limit        int
}

// AlertHistoryStore keeps the alert history: what alerts did and every
// notification attempt. Its writes do not wake ConfigChanged's watchers.
type AlertHistoryStore interface {
	// AppendAlertHistory stores records in one transaction and sets their
	// ids. One invalid record refuses the batch with an error wrapping
	// ErrInvalid that names it (records[3]: ...); over-long reasons are
	// cut, not refused.
	AppendAlertHistory(ctx context.Context, records []AlertRecord) error
	// AlertHistory returns the records q selects, newest first.
	AlertHistory(ctx context.Context, q AlertHistoryQuery) ([]AlertRecord, error)
	// AppendNotifications stores records like AppendAlertHistory; errors
	// and payloads over their limits are cut.
	AppendNotifications(ctx context.Context, records []NotificationRecord) error
	// Notifications returns the records q selects, newest first.
	Notifications(ctx context.Context, q NotificationQuery) ([]NotificationRecord, error)
	// DeleteAlertHistoryBefore deletes alert and notification records
	// older than ts (retention) and returns how many.
	DeleteAlertHistoryBefore(ctx context.Context, ts int64) (deleted int64, err error)
}

// truncateText cuts s to at most limit bytes on a rune boundary, marking
// the cut, and replaces invalid UTF-8.
func truncateText(s string, limit int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= limit {
		return s
	}
	const mark = "…[truncated]"
	cut := limit - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

func (r *AlertRecord) validate(what string) error {
	if r.AlertID == "" {
		return invalidf("%s: alert_id is required", what)
	}
	if err := validText(what, "alert_id", r.AlertID, maxSubjectKey+maxHistoryName); err != nil {
		return err
	}
	if !slices.Contains(AlertStatuses, r.Status) {
		return invalidf("%s: status %q must be one of %s", what, r.Status, strings.Join(AlertStatuses, ", "))
	}
	for _, f := range []struct{ field, v string }{{"rule", r.Rule}, {"state", r.State}, {"from", r.From}} {
		if err := validText(what, f.field, f.v, maxHistoryName); err != nil {
			return err
		}
	}
	if r.Time < 0 || r.ActiveAt < 0 || r.FiredAt < 0 || r.ResolvedAt < 0 {
		return invalidf("%s: times must not be before 1970", what)
	}
	if len(r.Notified) > maxListLen {
		return invalidf("%s: notified has %d entries; the limit is %d", what, len(r.Notified), maxListLen)
	}
	if r.Ack != nil {
		if err := validText(what, "ack.by", r.Ack.By, maxCreatedBy); err != nil {
			return err
		}
		r.Ack.Comment = truncateText(r.Ack.Comment, MaxAckComment)
	}
	r.Reason = truncateText(r.Reason, MaxReasonBytes)
	return r.Subject.validate(what)
}

func (r *NotificationRecord) validate(what string) error {
	if r.AlertID == "" {
		return invalidf("%s: alert_id is required", what)
	}
	if err := validText(what, "alert_id", r.AlertID, maxSubjectKey+maxHistoryName); err != nil {
		return err
	}
	if r.Module == "" {
		return invalidf("%s: module is required", what)
	}
	if !slices.Contains(NoticeStatuses, r.Status) {
		return invalidf("%s: status %q must be one of %s", what, r.Status, strings.Join(NoticeStatuses, ", "))
	}
	for _, f := range []struct{ field, v string }{{"rule", r.Rule}, {"module", r.Module}} {
		if err := validText(what, f.field, f.v, maxHistoryName); err != nil {
			return err
		}
	}
	if r.Time < 0 {
		return invalidf("%s: time %d is before 1970", what, r.Time)
	}
	if r.Try < 1 {
		return invalidf("%s: try %d must be at least 1", what, r.Try)
	}
	r.Error = truncateText(r.Error, MaxNotificationError)
	r.Payload = truncateText(r.Payload, MaxPayloadBytes)
	return nil
}

// AppendAlertHistory implements AlertHistoryStore.
func (s *sqlStore) AppendAlertHistory(ctx context.Context, records []AlertRecord) error {
	if err := validBatch("append alert history", len(records)); err != nil {
		return err
	}
	for i := range records {
		if err := records[i].validate(fmt.Sprintf("records[%d]", i)); err != nil {
			return err
		}
	}
	if len(records) == 0 {
		return nil
	}
	var ids []int64
	err := s.writeData(ctx, func(tx *sql.Tx) error {
		var err error
		ids, err = s.insertIDs(ctx, tx, `INSERT INTO alert_history (time, alert_id, rule, host, subject, status, state, from_state,
			reason, active_at, fired_at, resolved_at, notified, ack)`, 14, len(records),
			func(i int, dst []any) ([]any, error) {
				r := &records[i]
				subj, err := json.Marshal(r.Subject)
				if err != nil {
					return nil, err
				}
				notified := r.Notified
				if notified == nil {
					notified = []string{}
				}
				nb, err := json.Marshal(notified)
				if err != nil {
					return nil, err
				}
				ack := ""
				if r.Ack != nil {
					b, err := json.Marshal(r.Ack)
					if err != nil {
						return nil, err
					}
					ack = string(b)
				}
				return append(dst, r.Time, r.AlertID, r.Rule, r.Subject.Host, string(subj), r.Status, r.State, r.From,
					r.Reason, r.ActiveAt, r.FiredAt, r.ResolvedAt, string(nb), ack), nil
			})
		return err
	})
	if err != nil {
		return fmt.Errorf("append alert history: %w", err)
	}
	for i := range records {
		records[i].ID = ids[i]
	}
	return nil
}

// AlertHistory implements AlertHistoryStore.
func (s *sqlStore) AlertHistory(ctx context.Context, q AlertHistoryQuery) ([]AlertRecord, error) {
	limit, f, err := recordQuery(q.Limit, q.Since, q.Until)
	if err != nil {
		return nil, err
	}
	f.eq("rule", q.Rule)
	f.eq("host", q.Host)
	f.eq("alert_id", q.AlertID)
	out := []AlertRecord{}
	err = s.read(ctx, func(qr querier) error {
		return queryRows(ctx, qr, func(rows *sql.Rows) error {
			var r AlertRecord
			var subj, notified, ack string
			if err := rows.Scan(&r.ID, &r.Time, &r.AlertID, &r.Rule, &subj, &r.Status, &r.State, &r.From, &r.Reason,
				&r.ActiveAt, &r.FiredAt, &r.ResolvedAt, &notified, &ack); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(subj), &r.Subject); err != nil {
				return fmt.Errorf("alert record %d: subject: %w", r.ID, err)
			}
			if err := json.Unmarshal([]byte(notified), &r.Notified); err != nil {
				return fmt.Errorf("alert record %d: notified: %w", r.ID, err)
			}
			if ack != "" {
				r.Ack = &Ack{}
				if err := json.Unmarshal([]byte(ack), r.Ack); err != nil {
					return fmt.Errorf("alert record %d: ack: %w", r.ID, err)
				}
			}
			out = append(out, r)
			return nil
		}, `SELECT id, time, alert_id, rule, subject, status, state, from_state, reason, active_at, fired_at, resolved_at,
			notified, ack FROM alert_history`+f.where()+` ORDER BY time DESC, id DESC LIMIT ?`, append(f.args, limit)...)
	})
	if err != nil {
		return nil, fmt.Errorf("read alert history: %w", err)
	}
	return out, nil
}

// AppendNotifications implements AlertHistoryStore.
func (s *sqlStore) AppendNotifications(ctx context.Context, records []NotificationRecord) error {
	if err := validBatch("append notifications", len(records)); err != nil {
		return err
	}
	for i := range records {
		if err := records[i].validate(fmt.Sprintf("records[%d]", i)); err != nil {
			return err
		}
	}
	if len(records) == 0 {
		return nil
	}
	var ids []int64
	err := s.writeData(ctx, func(tx *sql.Tx) error {
		var err error
		ids, err = s.insertIDs(ctx, tx, `INSERT INTO notifications (time, alert_id, rule, module, try, status, error, retry, payload)`, 9, len(records),
			func(i int, dst []any) ([]any, error) {
				r := &records[i]
				return append(dst, r.Time, r.AlertID, r.Rule, r.Module, r.Try, r.Status, r.Error, r.Retry, r.Payload), nil
			})
		return err
	})
	if err != nil {
		return fmt.Errorf("append notifications: %w", err)
	}
	for i := range records {
		records[i].ID = ids[i]
	}
	return nil
}

// Notifications implements AlertHistoryStore.
func (s *sqlStore) Notifications(ctx context.Context, q NotificationQuery) ([]NotificationRecord, error) {
	limit, f, err := recordQuery(q.Limit, q.Since, q.Until)
	if err != nil {
		return nil, err
	}
	f.eq("rule", q.Rule)
	f.eq("module", q.Module)
	f.eq("alert_id", q.AlertID)
	out := []NotificationRecord{}
	err = s.read(ctx, func(qr querier) error {
		return queryRows(ctx, qr, func(rows *sql.Rows) error {
			var r NotificationRecord
			if err := rows.Scan(&r.ID, &r.Time, &r.AlertID, &r.Rule, &r.Module, &r.Try, &r.Status, &r.Error, &r.Retry, &r.Payload); err != nil {
				return err
			}
			out = append(out, r)
			return nil
		}, `SELECT id, time, alert_id, rule, module, try, status, error, retry, payload FROM notifications`+f.where()+
			` ORDER BY time DESC, id DESC LIMIT ?`, append(f.args, limit)...)
	})
	if err != nil {
		return nil, fmt.Errorf("read notifications: %w", err)
	}
	return out, nil
}

// DeleteAlertHistoryBefore implements AlertHistoryStore.
func (s *sqlStore) DeleteAlertHistoryBefore(ctx context.Context, ts int64) (int64, error) {
	a, err := s.deleteBefore(ctx, "alert_history", ts)
	if err != nil {
		return 0, err
	}
	n, err := s.deleteBefore(ctx, "notifications", ts)
	return a + n, err
}
