package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// PostgreSQL connection settings:
//   - statement_timeout: no statement runs longer than 30 s, so a lock held
//     by someone else (a migration, a long transaction in psql) fails a call
//     instead of hanging it. A DSN's own options=-c statement_timeout=...
//     wins.
//   - the read pool's transactions are read-only, as SQLite's query_only
//     readers are.
const (
	pgStatementTimeout = "30000" // ms
	// pgReadConns is the size of the read pool. Writes use one connection,
	// as on SQLite: the store's writers are serialised in Go, which some of
	// them (the message log's id counter) rely on.
	pgReadConns = 8
)

// pgMigrationLock is the key of the advisory lock migrations hold, so two
// servers starting on one database at once migrate one after the other.
const pgMigrationLock = 0x70726f70 // "prop"

// OpenPostgres opens the PostgreSQL database a postgres:// URL names and
// migrates its schema. The database must exist; the user needs to create
// tables in it. Options are those of OpenSQLite.
func OpenPostgres(ctx context.Context, dsn string, logger *slog.Logger, opts ...Option) (Store, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "store")
	where := redactDSN(dsn)
	w, err := openPostgresPool(dsn, false)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", where, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(5 * time.Minute)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open store %s: %w", where, err)
	}
	if err := migrate(ctx, w, dialectPostgres, logger); err != nil {
		w.Close()
		return nil, fmt.Errorf("open store %s: %w", where, err)
	}
	r, err := openPostgresPool(dsn, true)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open store %s: %w", where, err)
	}
	r.SetMaxOpenConns(pgReadConns)
	r.SetMaxIdleConns(pgReadConns)
	r.SetConnMaxIdleTime(5 * time.Minute)
	s := &sqlStore{w: w, r: r, dialect: dialectPostgres, logger: logger, now: time.Now, checker: o.checker, modules: o.modules}
	if err := s.initMessages(ctx); err != nil {
		s.Close()
		return nil, err
	}
	s.tokenUse.init()
	return s, nil
}

// openPostgresPool opens a pool of pgx connections whose queries take ?
// placeholders.
func openPostgresPool(dsn string, readOnly bool) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx's message may quote the DSN, password included.
		return nil, errors.New("invalid postgres:// URL (see https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING-URIS)")
	}
	if _, ok := cfg.RuntimeParams["statement_timeout"]; !ok && !strings.Contains(cfg.RuntimeParams["options"], "statement_timeout") {
		cfg.RuntimeParams["statement_timeout"] = pgStatementTimeout
	}
	if readOnly {
		cfg.RuntimeParams["default_transaction_read_only"] = "on"
	}
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = "prophasis"
	}
	return sql.OpenDB(rebindConnector{stdlib.GetConnector(*cfg)}), nil
}

// redactDSN is dsn without its password, for messages.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://..."
	}
	return u.Redacted()
}

// rebind rewrites the ? placeholders of query as PostgreSQL's $1..$n. A ?
// inside a string literal, a quoted identifier or a comment is left alone.
func rebind(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(query) && query[j] != c {
				j++
			}
			// A doubled quote inside the literal ends this scan and starts
			// the next at once: the same result.
			end := min(j+1, len(query))
			b.WriteString(query[i:end])
			i = end - 1
			continue
		case c == '-' && i+1 < len(query) && query[i+1] == '-':
			j := strings.IndexByte(query[i:], '\n')
			if j < 0 {
				j = len(query) - i
			}
			b.WriteString(query[i : i+j])
			i += j - 1
			continue
		case c == '/' && i+1 < len(query) && query[i+1] == '*':
			j := strings.Index(query[i+2:], "*/")
			end := len(query)
			if j >= 0 {
				end = i + 2 + j + 2
			}
			b.WriteString(query[i:end])
			i = end - 1
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// rebindConnector makes pgx's database/sql connections take ? placeholders,
// so every query of the store, whichever helper runs it, is written once.
type rebindConnector struct{ driver.Connector }

func (c rebindConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	pc, ok := conn.(pgxConn)
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("BUG: pgx connection %T lacks a method the store needs", conn)
	}
	return &rebindConn{conn: pc}, nil
}

// pgxConn is what pgx's stdlib connection implements and rebindConn passes on.
type pgxConn interface {
	driver.Conn
	driver.ConnPrepareContext
	driver.ConnBeginTx
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.NamedValueChecker
	driver.SessionResetter
}

type rebindConn struct{ conn pgxConn }

func (c *rebindConn) Prepare(query string) (driver.Stmt, error) {
	return c.conn.Prepare(rebind(query))
}

func (c *rebindConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.conn.PrepareContext(ctx, rebind(query))
}

func (c *rebindConn) Close() error { return c.conn.Close() }

func (c *rebindConn) Begin() (driver.Tx, error) {
	return c.conn.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *rebindConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.conn.BeginTx(ctx, opts)
}

func (c *rebindConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.conn.ExecContext(ctx, rebind(query), args)
}

func (c *rebindConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.conn.QueryContext(ctx, rebind(query), args)
}

func (c *rebindConn) Ping(ctx context.Context) error { return c.conn.Ping(ctx) }

// CheckNamedValue passes a bool as 1 or 0, as SQLite stores it: flags are
// INTEGER columns on both. A NUL byte in a string becomes U+FFFD: PostgreSQL's
// text cannot hold NUL, and a plugin's output with one in it (a state's
// reason, an event's) must not fail the whole batch it came in. (The one
// column whose values hold NULs by design, current_states.key, is BYTEA and
// gets bytes.)
func (c *rebindConn) CheckNamedValue(v *driver.NamedValue) error {
	switch x := v.Value.(type) {
	case bool:
		v.Value = int64(0)
		if x {
			v.Value = int64(1)
		}
	case string:
		if strings.IndexByte(x, 0) >= 0 {
			v.Value = strings.ReplaceAll(x, "\x00", "\uFFFD")
		}
	}
	return c.conn.CheckNamedValue(v)
}

func (c *rebindConn) ResetSession(ctx context.Context) error { return c.conn.ResetSession(ctx) }
