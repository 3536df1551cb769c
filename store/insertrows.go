package store

import (
	"context"
	"database/sql"
	"strings"
)

// rowsPerInsert is how many rows one multi-row INSERT carries: statement
// preparation and the Go↔SQLite round trip are paid once per chunk instead
// of once per row (~3x faster for events), well under SQLite's limit of
// 32766 bound parameters.
const rowsPerInsert = 64

// insertRows inserts n rows of cols values each with multi-row INSERTs:
// head is "INSERT INTO t (a, b)", tail what follows the VALUES list (an
// upsert clause, or ""), and args(i, dst) appends row i's values to dst.
// done, when not nil, is called after each chunk with its first row and
// length, and the rowid of its last row.
func (s *sqlStore) insertRows(ctx context.Context, tx *sql.Tx, head, tail string, cols, n int,
	args func(i int, dst []any) ([]any, error), done func(first, count int, lastID int64)) error {
	row := "(" + strings.Repeat("?, ", cols-1) + "?)"
	var stmts [rowsPerInsert + 1]*sql.Stmt
	defer func() {
		for _, st := range stmts {
			if st != nil {
				st.Close()
			}
		}
	}()
	vals := make([]any, 0, rowsPerInsert*cols)
	for first := 0; first < n; first += rowsPerInsert {
		count := min(rowsPerInsert, n-first)
		if stmts[count] == nil {
			var b strings.Builder
			b.WriteString(head)
			b.WriteString(" VALUES ")
			for i := range count {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString(row)
			}
			b.WriteString(" ")
			b.WriteString(tail)
			if done != nil && s.dialect == dialectPostgres {
				// pgx has no LastInsertId: the ids come back as rows.
				b.WriteString(" RETURNING id")
			}
			st, err := tx.PrepareContext(ctx, b.String())
			if err != nil {
				return err
			}
			stmts[count] = st
		}
		vals = vals[:0]
		for i := first; i < first+count; i++ {
			var err error
			if vals, err = args(i, vals); err != nil {
				return err
			}
		}
		if done != nil && s.dialect == dialectPostgres {
			last, err := lastReturnedID(ctx, stmts[count], vals)
			if err != nil {
				return err
			}
			done(first, count, last)
			continue
		}
		res, err := stmts[count].ExecContext(ctx, vals...)
		if err != nil {
			return err
		}
		if done != nil {
			last, err := res.LastInsertId()
			if err != nil {
				return err
			}
			done(first, count, last)
		}
	}
	return nil
}

// lastReturnedID runs an INSERT ... RETURNING id and gives the id of its last
// row (rows come back in the order of the VALUES list).
func lastReturnedID(ctx context.Context, st *sql.Stmt, vals []any) (int64, error) {
	rows, err := st.QueryContext(ctx, vals...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var last int64
	for rows.Next() {
		if err := rows.Scan(&last); err != nil {
			return 0, err
		}
	}
	return last, rows.Err()
}

// insertIDs is insertRows for records whose id is the table's row id: it
// returns the ids of the n rows, in order (the rows of one INSERT get
// consecutive ids ending at the last one inserted).
func (s *sqlStore) insertIDs(ctx context.Context, tx *sql.Tx, head string, cols, n int,
	args func(i int, dst []any) ([]any, error)) ([]int64, error) {
	ids := make([]int64, n)
	err := s.insertRows(ctx, tx, head, "", cols, n, args, func(first, count int, last int64) {
		for k := range count {
			ids[first+k] = last - int64(count-1-k)
		}
	})
	return ids, err
}
