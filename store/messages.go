package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// The message log is on the ingest hot path: every result with text lands
// here. What keeps it fast:
//   - a series (host, plugin, check) is interned once to a small integer id,
//     and the ids are cached in memory, so a batch does no lookups;
//   - rows go in with multi-row INSERTs (rowsPerInsert rows a statement),
//     prepared once on the single write connection and reused;
//   - messages is a WITHOUT ROWID table keyed (series_id, ts): the key is
//     the row, there is no second b-tree to update, and ON CONFLICT DO
//     NOTHING makes re-sent batches free of duplicates;
//   - one transaction per batch, synchronous=NORMAL in WAL mode.

// rowsPerInsert is the number of rows of one INSERT statement. Four
// parameters a row keep it far below SQLite's limit of 32766 parameters;
// beyond a few hundred rows a statement, larger ones stop paying off.
const rowsPerInsert = 250

// maxMessagesLimit bounds one Messages answer.
const maxMessagesLimit = 10000

// seriesKey identifies a message series.
type seriesKey struct{ host, plugin, check string }

// messageLog holds the message log's in-memory state.
type messageLog struct {
	mu     sync.RWMutex
	series map[seriesKey]int64

	stmtMu sync.Mutex
	// inserts[n] is the prepared INSERT of n rows (on the write pool).
	inserts map[int]*sql.Stmt
}

func (m *messageLog) init() {
	m.series = map[seriesKey]int64{}
	m.inserts = map[int]*sql.Stmt{}
}

func (m *messageLog) closeStmts() {
	m.stmtMu.Lock()
	defer m.stmtMu.Unlock()
	for _, st := range m.inserts {
		st.Close()
	}
	m.inserts = map[int]*sql.Stmt{}
}

// insertStmt returns the prepared INSERT of n rows.
func (s *sqliteStore) insertStmt(ctx context.Context, n int) (*sql.Stmt, error) {
	m := &s.msgs
	m.stmtMu.Lock()
	defer m.stmtMu.Unlock()
	if st := m.inserts[n]; st != nil {
		return st, nil
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO messages (series_id, ts, exit_status, text) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?)")
	}
	b.WriteString(` ON CONFLICT (series_id, ts) DO NOTHING`)
	st, err := s.w.PrepareContext(ctx, b.String())
	if err != nil {
		return nil, fmt.Errorf("prepare message insert: %w", err)
	}
	m.inserts[n] = st
	return st, nil
}

// AppendMessages implements Store.
func (s *sqliteStore) AppendMessages(ctx context.Context, msgs []Message) (int, error) {
	if len(msgs) == 0 {
		return 0, nil
	}
	ids := make([]int64, len(msgs))
	var missing []int
	s.msgs.mu.RLock()
	for i := range msgs {
		m := &msgs[i]
		id, ok := s.msgs.series[seriesKey{m.Host, m.Plugin, m.Check}]
		if !ok {
			missing = append(missing, i)
			continue
		}
		ids[i] = id
	}
	s.msgs.mu.RUnlock()
	for _, i := range missing {
		if msgs[i].Host == "" || msgs[i].Plugin == "" {
			return 0, invalidf("message %d: host and plugin are required", i)
		}
	}

	// Statements are prepared before the transaction: preparing takes the
	// write connection, which the transaction holds.
	full, err := s.insertStmt(ctx, rowsPerInsert)
	if err != nil {
		return 0, err
	}
	var tail *sql.Stmt
	if rest := len(msgs) % rowsPerInsert; rest > 0 {
		if tail, err = s.insertStmt(ctx, rest); err != nil {
			return 0, err
		}
	}

	var inserted int
	var fresh map[seriesKey]int64
	err = s.write(ctx, func(tx *sql.Tx) error {
		if len(missing) > 0 {
			var err error
			if fresh, err = internSeries(ctx, tx, msgs, missing, ids); err != nil {
				return err
			}
		}
		args := make([]any, 0, 4*rowsPerInsert)
		for start := 0; start < len(msgs); start += rowsPerInsert {
			end := min(start+rowsPerInsert, len(msgs))
			args = args[:0]
			for i := start; i < end; i++ {
				args = append(args, ids[i], msgs[i].Timestamp, msgs[i].ExitStatus, msgs[i].Text)
			}
			st := full
			if end-start < rowsPerInsert {
				st = tail
			}
			res, err := tx.StmtContext(ctx, st).ExecContext(ctx, args...)
			if err != nil {
				return fmt.Errorf("insert messages: %w", err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return fmt.Errorf("insert messages: %w", err)
			}
			inserted += int(n)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("append messages: %w", err)
	}
	// Only committed series ids enter the cache: an id from a rolled-back
	// transaction could be handed to another series later.
	if len(fresh) > 0 {
		s.msgs.mu.Lock()
		for k, id := range fresh {
			s.msgs.series[k] = id
		}
		s.msgs.mu.Unlock()
	}
	return inserted, nil
}

// internSeries finds or creates the ids of the series of msgs[missing], fills
// ids and returns the new cache entries.
func internSeries(ctx context.Context, tx *sql.Tx, msgs []Message, missing []int, ids []int64) (map[seriesKey]int64, error) {
	fresh := map[seriesKey]int64{}
	ins, err := tx.PrepareContext(ctx, `INSERT INTO message_series (host, plugin, check_name) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`)
	if err != nil {
		return nil, fmt.Errorf("intern series: %w", err)
	}
	defer ins.Close()
	sel, err := tx.PrepareContext(ctx, `SELECT id FROM message_series WHERE host = ? AND plugin = ? AND check_name = ?`)
	if err != nil {
		return nil, fmt.Errorf("intern series: %w", err)
	}
	defer sel.Close()
	for _, i := range missing {
		m := &msgs[i]
		k := seriesKey{m.Host, m.Plugin, m.Check}
		if id, ok := fresh[k]; ok {
			ids[i] = id
			continue
		}
		if _, err := ins.ExecContext(ctx, k.host, k.plugin, k.check); err != nil {
			return nil, fmt.Errorf("intern series: %w", err)
		}
		var id int64
		if err := sel.QueryRowContext(ctx, k.host, k.plugin, k.check).Scan(&id); err != nil {
			return nil, fmt.Errorf("intern series: %w", err)
		}
		fresh[k] = id
		ids[i] = id
	}
	return fresh, nil
}

// Messages implements Store. Host is required; an empty Plugin or Check
// matches every plugin or check of the host. A zero To means no upper bound.
func (s *sqliteStore) Messages(ctx context.Context, q MessageQuery) ([]Message, error) {
	if q.Host == "" {
		return nil, invalidf("messages: host is required")
	}
	if q.Limit < 0 || q.Limit > maxMessagesLimit {
		return nil, invalidf("messages: limit %d must be between 0 and %d", q.Limit, maxMessagesLimit)
	}
	limit := q.Limit
	if limit == 0 {
		limit = 1000
	}
	to := q.To
	if to == 0 {
		to = 1<<63 - 1
	}
	if q.From > to {
		return nil, invalidf("messages: from %d is after to %d", q.From, to)
	}
	cond := []string{"s.host = ?"}
	args := []any{q.Host}
	if q.Plugin != "" {
		cond = append(cond, "s.plugin = ?")
		args = append(args, q.Plugin)
	}
	if q.Check != "" {
		cond = append(cond, "s.check_name = ?")
		args = append(args, q.Check)
	}
	args = append(args, q.From, to, limit)
	out := []Message{}
	err := queryRows(ctx, s.r, func(rows *sql.Rows) error {
		var m Message
		if err := rows.Scan(&m.Host, &m.Plugin, &m.Check, &m.Timestamp, &m.ExitStatus, &m.Text); err != nil {
			return err
		}
		out = append(out, m)
		return nil
	}, `SELECT s.host, s.plugin, s.check_name, m.ts, m.exit_status, m.text
		FROM message_series s JOIN messages m ON m.series_id = s.id
		WHERE `+strings.Join(cond, " AND ")+` AND m.ts >= ? AND m.ts <= ?
		ORDER BY m.ts DESC, s.plugin, s.check_name LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("read messages: %w", err)
	}
	return out, nil
}

// retentionSeriesPerTx is how many series one retention transaction
// covers: small enough that ingest never waits long for the writer.
const retentionSeriesPerTx = 200

// DeleteMessagesBefore implements Store. It works through the series in
// chunks, one short transaction each, seeking each series' old end through
// the primary key rather than scanning the table.
func (s *sqliteStore) DeleteMessagesBefore(ctx context.Context, ts int64) (int64, error) {
	var total int64
	var after int64
	for {
		var last int64 = -1
		err := s.write(ctx, func(tx *sql.Tx) error {
			if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), -1) FROM (
				SELECT id FROM message_series WHERE id > ? ORDER BY id LIMIT ?)`, after, retentionSeriesPerTx).Scan(&last); err != nil {
				return err
			}
			if last < 0 {
				return nil
			}
			res, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE series_id IN (
				SELECT id FROM message_series WHERE id > ? AND id <= ?) AND ts < ?`, after, last, ts)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			total += n
			return err
		})
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return total, err
			}
			return total, fmt.Errorf("delete messages before %d: %w", ts, err)
		}
		if last < 0 {
			return total, nil
		}
		after = last
	}
}
