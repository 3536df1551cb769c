package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// LogEntry is one line of the system log: what the server itself wants
// users to see in the UI, such as a classifier that failed or a trend rule
// whose query errs. It is not configuration and wakes no ConfigChanged
// watcher.
type LogEntry struct {
	// ID is assigned by AppendSystemLog.
	ID int64 `json:"id"`
	// Time is in milliseconds since the Unix epoch.
	Time int64 `json:"time"`
	// Level is one of LogLevels: "info", "warn", "error".
	Level string `json:"level"`
	// Component is the part of the server that logs ("classify", "trend").
	Component string `json:"component,omitempty"`
	// Host, Plugin and Check say what the entry is about, when it is about
	// one of them.
	Host   string `json:"host,omitempty"`
	Plugin string `json:"plugin,omitempty"`
	Check  string `json:"check,omitempty"`
	// Message is cut to MaxLogMessageBytes when stored.
	Message string `json:"message"`
}

// LogLevels are the levels of LogEntry, least severe first.
var LogLevels = []string{"info", "warn", "error"}

// MaxLogMessageBytes bounds LogEntry.Message; longer messages are cut
// (with "...") rather than refused, since a log line must not be lost to
// its length.
const MaxLogMessageBytes = 4 << 10

// LogQuery selects system log entries: Since <= Time <= Until (Until 0: no
// upper bound), at Level or more severe ("" for all), matching every
// non-empty filter, newest first, at most Limit (0 means 1000; at most
// MaxQueryLimit).
type LogQuery struct {
	Since, Until int64
	Level        string
	Component    string
	Host         string
	Plugin       string
	Check        string
	Limit        int
}

// SystemLogStore keeps the system log. Its writes do not wake
// ConfigChanged's watchers.
type SystemLogStore interface {
	// AppendSystemLog stores entries in one transaction and sets their
	// ids in place. An entry with an unknown level or oversized field
	// refuses the batch with an error wrapping ErrInvalid.
	AppendSystemLog(ctx context.Context, entries []LogEntry) error
	// SystemLog returns the entries q selects, newest first.
	SystemLog(ctx context.Context, q LogQuery) ([]LogEntry, error)
	// DeleteSystemLogBefore deletes entries older than ts (retention).
	DeleteSystemLogBefore(ctx context.Context, ts int64) (deleted int64, err error)
}

// truncateUTF8 cuts s to at most limit bytes at a character boundary,
// ending it with "..." when cut.
func truncateUTF8(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	cut := limit - len("...")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

func (e *LogEntry) validate(what string) error {
	if !slices.Contains(LogLevels, e.Level) {
		return invalidf("%s: level %q must be one of %s", what, e.Level, strings.Join(LogLevels, ", "))
	}
	if e.Time < 0 {
		return invalidf("%s: time %d is before 1970", what, e.Time)
	}
	for _, f := range []struct{ field, v string }{
		{"component", e.Component}, {"host", e.Host}, {"plugin", e.Plugin}, {"check", e.Check},
	} {
		if err := validText(what, f.field, f.v, maxSubjectField); err != nil {
			return err
		}
	}
	return nil
}

// AppendSystemLog implements SystemLogStore.
func (s *sqlStore) AppendSystemLog(ctx context.Context, entries []LogEntry) error {
	if err := validBatch("append system log", len(entries)); err != nil {
		return err
	}
	for i := range entries {
		if err := entries[i].validate(fmt.Sprintf("entries[%d]", i)); err != nil {
			return err
		}
	}
	if len(entries) == 0 {
		return nil
	}
	msgs := make([]string, len(entries))
	for i := range entries {
		msgs[i] = strings.ToValidUTF8(truncateUTF8(entries[i].Message, MaxLogMessageBytes), "\uFFFD")
	}
	var ids []int64
	err := s.writeData(ctx, func(tx *sql.Tx) error {
		var err error
		ids, err = s.insertIDs(ctx, tx, `INSERT INTO system_log (time, level, component, host, plugin, check_name, message)`, 7, len(entries),
			func(i int, dst []any) ([]any, error) {
				e := &entries[i]
				return append(dst, e.Time, e.Level, e.Component, e.Host, e.Plugin, e.Check, msgs[i]), nil
			})
		return err
	})
	if err != nil {
		return fmt.Errorf("append system log: %w", err)
	}
	for i := range entries {
		entries[i].ID, entries[i].Message = ids[i], msgs[i]
	}
	return nil
}

// SystemLog implements SystemLogStore.
func (s *sqlStore) SystemLog(ctx context.Context, q LogQuery) ([]LogEntry, error) {
	limit, f, err := recordQuery(q.Limit, q.Since, q.Until)
	if err != nil {
		return nil, err
	}
	if q.Level != "" {
		i := slices.Index(LogLevels, q.Level)
		if i < 0 {
			return nil, invalidf("level %q must be one of %s", q.Level, strings.Join(LogLevels, ", "))
		}
		levels := LogLevels[i:]
		f.conds = append(f.conds, "level IN (?"+strings.Repeat(", ?", len(levels)-1)+")")
		for _, l := range levels {
			f.args = append(f.args, l)
		}
	}
	f.eq("component", q.Component)
	f.eq("host", q.Host)
	f.eq("plugin", q.Plugin)
	f.eq("check_name", q.Check)
	out := []LogEntry{}
	err = s.read(ctx, func(qr querier) error {
		return queryRows(ctx, qr, func(rows *sql.Rows) error {
			var e LogEntry
			if err := rows.Scan(&e.ID, &e.Time, &e.Level, &e.Component, &e.Host, &e.Plugin, &e.Check, &e.Message); err != nil {
				return err
			}
			out = append(out, e)
			return nil
		}, `SELECT id, time, level, component, host, plugin, check_name, message
			FROM system_log`+f.where()+` ORDER BY time DESC, id DESC LIMIT ?`, append(f.args, limit)...)
	})
	if err != nil {
		return nil, fmt.Errorf("read system log: %w", err)
	}
	return out, nil
}

// DeleteSystemLogBefore implements SystemLogStore.
func (s *sqlStore) DeleteSystemLogBefore(ctx context.Context, ts int64) (int64, error) {
	return s.deleteBefore(ctx, "system_log", ts)
}
