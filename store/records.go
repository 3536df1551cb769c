package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// This file holds what the engine's records (events, the system log and
// current states) share: limits, query filters and retention.

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

// recordQuery checks a record query's limit (applying the default) and time
// range, and returns the filter on that range.
func recordQuery(limit int, since, until int64) (int, recordFilter, error) {
	var f recordFilter
	limit, err := validLimit(limit)
	if err != nil {
		return 0, f, err
	}
	if until != 0 && until < since {
		return 0, f, invalidf("since %d is after until %d", since, until)
	}
	f.timeRange(since, until)
	return limit, f, nil
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

// deleteBefore deletes the rows of table (a constant) with time < ts.
func (s *sqlStore) deleteBefore(ctx context.Context, table string, ts int64) (int64, error) {
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
