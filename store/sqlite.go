package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// Open opens the store a DSN names: a file path (or "sqlite://PATH" or
// "file:PATH") is a SQLite database, created if missing; "postgres://..." (or
// "postgresql://...") is a PostgreSQL database, which must exist. Options are
// those of OpenSQLite.
func Open(ctx context.Context, dsn string, logger *slog.Logger, opts ...Option) (Store, error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return OpenPostgres(ctx, dsn, logger, opts...)
	case strings.HasPrefix(dsn, "sqlite://"):
		return OpenSQLite(ctx, strings.TrimPrefix(dsn, "sqlite://"), logger, opts...)
	case strings.HasPrefix(dsn, "file:"):
		return OpenSQLite(ctx, strings.TrimPrefix(dsn, "file:"), logger, opts...)
	}
	if i := strings.Index(dsn, "://"); i > 0 {
		return nil, fmt.Errorf("open store: unknown store scheme %q (use a SQLite file path or postgres://...)", dsn[:i])
	}
	return OpenSQLite(ctx, dsn, logger, opts...)
}

// Dialects: the SQL database behind a sqlStore; each names its directory of
// migrations.
const (
	dialectSQLite   = "sqlite"
	dialectPostgres = "postgres"
)

// sqlStore is the Store on SQL: SQLite (OpenSQLite) or PostgreSQL
// (OpenPostgres, postgres.go). Queries are written once, with ? placeholders,
// in the SQL both understand; the PostgreSQL connections rebind them.
//
// On SQLite it keeps two pools on one database file. Writes go through a pool of one
// connection: SQLite allows one writer at a time anyway, and serialising
// writers in Go (instead of letting them collide on the file lock and retry
// with busy_timeout) keeps write latency predictable and rules out
// SQLITE_BUSY between our own writers. Reads use a pool of several query-only
// connections; in WAL mode they never block the writer nor wait for it.
type sqlStore struct {
	w, r    *sql.DB
	dialect string
	logger  *slog.Logger
	now     func() time.Time
	// checker validates classifiers and trend rules; nil checks none.
	checker CodeChecker
	// modules validates alert module settings; nil checks none.
	modules ModuleChecker

	msgs messageLog

	tokenUse  tokenUse
	authCache authCache
	changes   changes

	closeOnce sync.Once
	closeErr  error
}

// Connection settings, applied to every connection of both pools:
//   - journal_mode WAL: readers and the writer do not block each other.
//   - synchronous NORMAL: in WAL mode a commit is durable against a crash of
//     the process (the WAL is written before Commit returns); only a power
//     loss or OS crash can lose the last transactions, never corrupt the
//     file. FULL would fsync every commit and cap ingest at the disk's fsync
//     rate.
//   - busy_timeout: another process (a backup, the sqlite3 shell) holding the
//     lock makes us wait up to 10 s instead of failing at once.
//   - foreign_keys: SQLite leaves them off by default.
//   - temp_store memory: sorts and temporary b-trees stay off the disk.
//   - journal_size_limit: truncate the WAL back to 64 MB after checkpoints.
//   - wal_autocheckpoint 4000 pages (16 MB, default 1000): the message log
//     rewrites the same tail pages of busy series over and over; a longer
//     WAL copies each of them into the database once per checkpoint
//     instead of four times.
//
// The page cache (cache_size, negative = KiB) is 64 MB on the writer, which
// holds the tail pages of every series the message log appends to, and 16
// MB on each reader.
const sqlitePragmas = "_pragma=busy_timeout(10000)" +
	"&_pragma=journal_mode(WAL)" +
	"&_pragma=synchronous(NORMAL)" +
	"&_pragma=foreign_keys(1)" +
	"&_pragma=temp_store(MEMORY)" +
	"&_pragma=journal_size_limit(67108864)" +
	"&_pragma=wal_autocheckpoint(4000)"

// readConns is the size of the read pool.
const readConns = 4

// OpenSQLite opens (creating if needed) the SQLite database at path and
// migrates its schema. WithCodeChecker makes it validate user code.
func OpenSQLite(ctx context.Context, path string, logger *slog.Logger, opts ...Option) (Store, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file::memory:") {
		return nil, errors.New("open store: give the SQLite database a file path (in-memory databases are not supported)")
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("open store: SQLite path %q must not contain '?' or '#'", path)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "store")
	// Writes BEGIN IMMEDIATE: the write lock is taken at the start of the
	// transaction, so a transaction that reads then writes can never fail to
	// upgrade its lock halfway.
	w, err := sql.Open("sqlite", path+"?"+sqlitePragmas+"&_pragma=cache_size(-65536)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := migrate(ctx, w, dialectSQLite, logger); err != nil {
		w.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", path+"?"+sqlitePragmas+"&_pragma=cache_size(-16384)&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	r.SetMaxOpenConns(readConns)
	r.SetMaxIdleConns(readConns)
	s := &sqlStore{w: w, r: r, dialect: dialectSQLite, logger: logger, now: time.Now, checker: o.checker, modules: o.modules}
	if err := s.initMessages(ctx); err != nil {
		s.Close()
		return nil, err
	}
	s.tokenUse.init()
	return s, nil
}

// Close closes both pools. Safe to call twice.
func (s *sqlStore) Close() error {
	if s == nil {
		return nil
	}
	s.closeOnce.Do(func() {
		// Checkpoint the WAL into the main file so a copied database file is
		// complete; failure is harmless (the next open replays the WAL).
		if s.dialect == dialectSQLite {
			if _, err := s.w.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
				s.logger.Debug("wal checkpoint at close", "err", err)
			}
		}
		s.closeErr = errors.Join(s.r.Close(), s.w.Close())
	})
	return s.closeErr
}

// querier is what *sql.DB and *sql.Tx share; read helpers take one so they
// serve both plain reads and reads inside a write transaction.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// errRollback makes write roll back without reporting an error (dry runs).
var errRollback = errors.New("rollback")

// write runs fn in a write transaction and commits it when fn returns nil,
// then tells ConfigChanged's watchers. fn must use only tx: the write pool
// has one connection, which tx holds.
func (s *sqlStore) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if err := s.writeData(ctx, fn); err != nil {
		return err
	}
	s.changes.notify()
	return nil
}

// writeData is write for data that is not configuration (the message log,
// enrolment tokens): no one watching the configuration is woken.
func (s *sqlStore) writeData(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		if rbErr := tx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			s.logger.Warn("rollback failed", "err", rbErr)
		}
		if errors.Is(err, errRollback) {
			return nil
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// changes wakes the watchers of the configuration: every ConfigChanged
// channel handed out is closed at the next committed change.
type changes struct {
	mu sync.Mutex
	ch chan struct{}
}

func (c *changes) watch() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ch == nil {
		c.ch = make(chan struct{})
	}
	return c.ch
}

func (c *changes) notify() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ch != nil {
		close(c.ch)
		c.ch = nil
	}
}

// ConfigChanged implements Store.
func (s *sqlStore) ConfigChanged() <-chan struct{} { return s.changes.watch() }

// read runs fn in a read transaction, so the several queries that load one
// entity see one snapshot.
func (s *sqlStore) read(ctx context.Context, fn func(q querier) error) error {
	var opts *sql.TxOptions
	if s.dialect == dialectPostgres {
		// PostgreSQL's default, READ COMMITTED, takes a snapshot per
		// statement; a SQLite read transaction has one for all.
		opts = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	}
	tx, err := s.r.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin read: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	return fn(tx)
}

// nowMillis is the current time in the column representation.
func (s *sqlStore) nowMillis() int64 { return s.now().UnixMilli() }
