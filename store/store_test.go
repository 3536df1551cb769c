package store

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
)

// newTestStore opens a fresh store of this pass's backend (backend_test.go):
// SQLite in a temporary directory, or a PostgreSQL database of its own.
func newTestStore(t testing.TB) *sqlStore {
	t.Helper()
	st, err := Open(context.Background(), testDSN(t), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return st.(*sqlStore)
}

// wantErr fails unless err wraps kind and its text contains every part.
func wantErr(t testing.TB, err, kind error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v containing %q", kind, parts)
	}
	if !errors.Is(err, kind) {
		t.Fatalf("error %q does not wrap %v", err, kind)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q does not mention %q", err, p)
		}
	}
}

func must[T any](t testing.TB) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

func TestOpenDispatch(t *testing.T) {
	ctx := context.Background()
	f := func(dsn, wantErrText string) {
		t.Helper()
		st, err := Open(ctx, dsn, nil)
		if wantErrText == "" {
			if err != nil {
				t.Fatalf("Open(%q): %v", dsn, err)
			}
			st.Close()
			return
		}
		if err == nil || !strings.Contains(err.Error(), wantErrText) {
			st.Close()
			t.Fatalf("Open(%q) = %v, want error containing %q", dsn, err, wantErrText)
		}
	}
	dir := t.TempDir()
	f(filepath.Join(dir, "a.db"), "")
	f("sqlite://"+filepath.Join(dir, "b.db"), "")
	f("file:"+filepath.Join(dir, "c.db"), "")
	// PostgreSQL (backend_test.go runs every test on it too): nothing
	// listens on port 1; the password stays out of the error.
	f("postgres://user:hunter2@127.0.0.1:1/prophasis?connect_timeout=5", "open store postgres://user:xxxxx@127.0.0.1:1/prophasis")
	f("postgresql://127.0.0.1:1/prophasis?connect_timeout=5", "open store postgresql://127.0.0.1:1/prophasis")
	f("postgres://user:hunter2@127.0.0.1:1/prophasis?sslmode=bogus", "invalid postgres:// URL")
	if _, err := Open(ctx, "postgres://user:hunter2@127.0.0.1:1/prophasis?connect_timeout=5", nil); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("Open with a password: %v, want an error without the password", err)
	}
	f("mysql://localhost/x", `unknown store scheme "mysql"`)
	f(":memory:", "file path")
	f("", "file path")
	f(filepath.Join(dir, "d.db?mode=ro"), "must not contain")
}

func TestReopenKeepsDataAndSchema(t *testing.T) {
	ctx := context.Background()
	path := testDSN(t)
	st, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateHost(ctx, Host{Name: "web1"}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil { // twice is safe
		t.Fatal(err)
	}
	st, err = Open(ctx, path, nil)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer st.Close()
	if _, err := st.Host(ctx, "web1"); err != nil {
		t.Fatalf("host after reopen: %v", err)
	}
	var n int
	if err := st.(*sqlStore).r.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	ms, _ := loadMigrations(testBackend)
	if n != len(ms) {
		t.Fatalf("schema_migrations has %d rows, want %d", n, len(ms))
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	path := testDSN(t)
	st, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.(*sqlStore).w.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', 0)`); err != nil {
		t.Fatal(err)
	}
	st.Close()
	_, err = Open(ctx, path, nil)
	if err == nil || !strings.Contains(err.Error(), "newer than this binary") {
		t.Fatalf("open with future schema: %v, want refusal", err)
	}
}

func TestPragmas(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	if testBackend == dialectPostgres {
		for _, db := range []querier{st.w, st.r} {
			var timeout string
			if err := db.QueryRowContext(ctx, `SHOW statement_timeout`).Scan(&timeout); err != nil || timeout != "30s" {
				t.Fatalf("statement_timeout = %q (%v), want 30s", timeout, err)
			}
		}
		if _, err := st.r.ExecContext(ctx, `DELETE FROM hosts`); err == nil {
			t.Fatal("the read pool accepted a write")
		}
		return
	}
	for _, db := range []querier{st.w, st.r} {
		var mode string
		var fk, sync int
		if err := db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync); err != nil {
			t.Fatal(err)
		}
		if mode != "wal" || fk != 1 || sync != 1 {
			t.Fatalf("journal_mode=%s foreign_keys=%d synchronous=%d, want wal 1 1", mode, fk, sync)
		}
	}
	if _, err := st.r.ExecContext(ctx, `DELETE FROM hosts`); err == nil {
		t.Fatal("the read pool accepted a write")
	}
}
