package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sync"
)

// The message log's texts. The store holds the text of each message under
// an id it assigns; which host x plugin x check and time a message belongs
// to is indexed in the TSDB (package msglog). So the log is append-only, and
// a batch is stored as one row, a block (msgblock.go): an append is one
// insert at the end of one b-tree, whatever hosts the batch spans. (Keyed by
// series, a batch of 500 messages touched a page per series and cost 11 µs a
// message; a row per message, appended, 2.2 µs; a block, a fraction of that:
// BenchmarkAppendMessages.) Ids come from an in-memory counter, so a batch
// needs no read first.

// messageLog holds the message log's in-memory state.
type messageLog struct {
	// idMu guards nextID, the id the next message gets.
	idMu   sync.Mutex
	nextID int64
}

func (s *sqlStore) initMessages(ctx context.Context) error {
	var next sql.NullInt64
	if err := s.w.QueryRowContext(ctx, `SELECT MAX(first_id + count) FROM message_blocks`).Scan(&next); err != nil {
		return fmt.Errorf("read message ids: %w", err)
	}
	s.msgs.nextID = max(next.Int64, 1)
	return nil
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

// AppendMessages implements Store.
func (s *sqlStore) AppendMessages(ctx context.Context, msgs []Message) ([]int64, error) {
	if len(msgs) == 0 {
		return nil, nil
	}
	first := s.msgs.reserve(len(msgs))
	ids := make([]int64, len(msgs))
	for i := range ids {
		ids[i] = first + int64(i)
	}
	var buf []byte
	err := s.writeData(ctx, func(tx *sql.Tx) error {
		for start := 0; start < len(msgs); start += maxBlockMessages {
			block := msgs[start:min(start+maxBlockMessages, len(msgs))]
			minTs, maxTs := block[0].Timestamp, block[0].Timestamp
			for _, m := range block {
				minTs, maxTs = min(minTs, m.Timestamp), max(maxTs, m.Timestamp)
			}
			data := encodeBlock(block, minTs, buf)
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO message_blocks (first_id, count, min_ts, max_ts, data) VALUES (?, ?, ?, ?, ?)`,
				first+int64(start), len(block), minTs, maxTs, data); err != nil {
				return fmt.Errorf("insert message block: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("append messages: %w", err)
	}
	return ids, nil
}

// MessagesByID implements Store. Each block holding a wanted id is read and
// decoded once.
func (s *sqlStore) MessagesByID(ctx context.Context, ids []int64) (map[int64]Message, error) {
	want := slices.Clone(ids)
	slices.Sort(want)
	want = slices.Compact(want)
	out := make(map[int64]Message, len(want))
	err := s.read(ctx, func(q querier) error {
		for i := 0; i < len(want); {
			id := want[i]
			var firstID, count, minTs int64
			var data []byte
			err := q.QueryRowContext(ctx,
				`SELECT first_id, count, min_ts, data FROM message_blocks WHERE first_id <= ? ORDER BY first_id DESC LIMIT 1`,
				id).Scan(&firstID, &count, &minTs, &data)
			if err == sql.ErrNoRows || (err == nil && id >= firstID+count) {
				i++ // gone (retention) or never committed
				continue
			}
			if err != nil {
				return fmt.Errorf("read message block: %w", err)
			}
			end := firstID + count
			j := i
			for j < len(want) && want[j] < end {
				j++
			}
			wanted := want[i:j]
			if err := decodeBlock(data, firstID, minTs, func(m Message) {
				if _, ok := slices.BinarySearch(wanted, m.ID); ok {
					out[m.ID] = m
				}
			}); err != nil {
				return err
			}
			i = j
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// retentionBlocksPerTx bounds one retention transaction, so ingest never
// waits long for the write lock.
const retentionBlocksPerTx = 1000

// DeleteMessagesBefore implements Store: it deletes the blocks whose
// messages are all older than ts, in small transactions, and returns how
// many messages went.
func (s *sqlStore) DeleteMessagesBefore(ctx context.Context, ts int64) (int64, error) {
	var total int64
	for {
		var n, blocks int64
		err := s.writeData(ctx, func(tx *sql.Tx) error {
			rows, err := tx.QueryContext(ctx,
				`SELECT first_id, count FROM message_blocks WHERE max_ts < ? LIMIT ?`, ts, retentionBlocksPerTx)
			if err != nil {
				return err
			}
			var firstIDs []any
			for rows.Next() {
				var id, c int64
				if err := rows.Scan(&id, &c); err != nil {
					rows.Close()
					return err
				}
				firstIDs = append(firstIDs, id)
				n += c
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			blocks = int64(len(firstIDs))
			for _, id := range firstIDs {
				if _, err := tx.ExecContext(ctx, `DELETE FROM message_blocks WHERE first_id = ?`, id); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("message retention: %w", err)
		}
		total += n
		if blocks < retentionBlocksPerTx {
			return total, nil
		}
	}
}
