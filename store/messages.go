package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
)

// The message log's texts. The store holds only the text of each message,
// under an id it assigns; which host x plugin x check and time a message
// belongs to is indexed in the TSDB (package msglog). So the table is
// append-only: ids increase, a batch of messages fills the last pages of one
// b-tree, whatever hosts it spans. (Keyed by series, the same batch touched a
// page per series: 11 µs a message at 500 series, most of it WAL writes of
// dirty pages.) What else keeps it fast:
//   - ids come from an in-memory counter, so a batch needs no read;
//   - rows go in with multi-row INSERTs (rowsPerInsert rows a statement),
//     prepared once on the single write connection and reused;
//   - one transaction per batch, synchronous=NORMAL in WAL mode.

// rowsPerInsert is the number of rows of one INSERT statement. Four
// parameters a row keep it far below SQLite's limit of 32766 parameters;
// beyond a few hundred rows a statement, larger ones stop paying off.
const rowsPerInsert = 250

// idsPerSelect bounds the ids of one MessagesByID statement.
const idsPerSelect = 500

// messageLog holds the message log's in-memory state.
type messageLog struct {
	// idMu guards nextID, the id the next message gets.
	idMu   sync.Mutex
	nextID int64

	stmtMu sync.Mutex
	// inserts[n] is the prepared INSERT of n rows (on the write pool).
	inserts map[int]*sql.Stmt
}

func (s *sqliteStore) initMessages(ctx context.Context) error {
	s.msgs.inserts = map[int]*sql.Stmt{}
	var maxID sql.NullInt64
	if err := s.w.QueryRowContext(ctx, `SELECT MAX(id) FROM messages`).Scan(&maxID); err != nil {
		return fmt.Errorf("read message ids: %w", err)
	}
	s.msgs.nextID = maxID.Int64 + 1
	return nil
}

func (m *messageLog) closeStmts() {
	m.stmtMu.Lock()
	defer m.stmtMu.Unlock()
	for _, st := range m.inserts {
		st.Close()
	}
	m.inserts = map[int]*sql.Stmt{}
}

// reserve returns the first of n consecutive fresh ids. Ids of a failed
// transaction are never reused: gaps are harmless, reuse would not be.
func (m *messageLog) reserve(n int) int64 {
	m.idMu.Lock()
	defer m.idMu.Unlock()
	first := m.nextID
	m.nextID += int64(n)
	return first
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
	b.WriteString(`INSERT INTO messages (id, ts, exit_status, text) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?)")
	}
	st, err := s.w.PrepareContext(ctx, b.String())
	if err != nil {
		return nil, fmt.Errorf("prepare message insert: %w", err)
	}
	m.inserts[n] = st
	return st, nil
}

// AppendMessages implements Store.
func (s *sqliteStore) AppendMessages(ctx context.Context, msgs []Message) ([]int64, error) {
	if len(msgs) == 0 {
		return nil, nil
	}
	// Statements are prepared before the transaction: preparing takes the
	// write connection, which the transaction holds.
	full, err := s.insertStmt(ctx, min(rowsPerInsert, len(msgs)))
	if err != nil {
		return nil, err
	}
	var tail *sql.Stmt
	if rest := len(msgs) % rowsPerInsert; rest > 0 && len(msgs) > rowsPerInsert {
		if tail, err = s.insertStmt(ctx, rest); err != nil {
			return nil, err
		}
	}
	first := s.msgs.reserve(len(msgs))
	ids := make([]int64, len(msgs))
	err = s.write(ctx, func(tx *sql.Tx) error {
		args := make([]any, 0, 4*min(rowsPerInsert, len(msgs)))
		for start := 0; start < len(msgs); start += rowsPerInsert {
			end := min(start+rowsPerInsert, len(msgs))
			args = args[:0]
			for i := start; i < end; i++ {
				ids[i] = first + int64(i)
				args = append(args, ids[i], msgs[i].Timestamp, msgs[i].ExitStatus, msgs[i].Text)
			}
			st := full
			if end-start < min(rowsPerInsert, len(msgs)) {
				st = tail
			}
			if _, err := tx.StmtContext(ctx, st).ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("insert messages: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("append messages: %w", err)
	}
	return ids, nil
}

// MessagesByID implements Store.
func (s *sqliteStore) MessagesByID(ctx context.Context, ids []int64) (map[int64]Message, error) {
	out := make(map[int64]Message, len(ids))
	for start := 0; start < len(ids); start += idsPerSelect {
		chunk := ids[start:min(start+idsPerSelect, len(ids))]
		q := `SELECT id, ts, exit_status, text FROM messages WHERE id IN (?` + strings.Repeat(",?", len(chunk)-1) + `)`
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := s.r.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("read messages: %w", err)
		}
		for rows.Next() {
			var m Message
			if err := rows.Scan(&m.ID, &m.Timestamp, &m.ExitStatus, &m.Text); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read messages: %w", err)
			}
			out[m.ID] = m
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("read messages: %w", err)
		}
	}
	return out, nil
}

// retentionRowsPerTx bounds one retention transaction, so ingest never
// waits long for the write lock.
const retentionRowsPerTx = 20_000

// DeleteMessagesBefore implements Store. It deletes in small transactions.
func (s *sqliteStore) DeleteMessagesBefore(ctx context.Context, ts int64) (int64, error) {
	var total int64
	for {
		var n int64
		err := s.write(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx,
				`DELETE FROM messages WHERE id IN (SELECT id FROM messages WHERE ts < ? LIMIT ?)`, ts, retentionRowsPerTx)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return total, fmt.Errorf("message retention: %w", err)
		}
		total += n
		if n < retentionRowsPerTx {
			return total, nil
		}
	}
}
