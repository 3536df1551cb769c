package store

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, for the test databases
)

// The store's tests run twice: on SQLite, then on PostgreSQL. TestMain runs
// the SQLite pass, starts a private PostgreSQL cluster (Debian's postgresql
// package) and runs the test binary again with testPGEnv naming it; in that
// pass testDSN gives every test a database of its own. Set testPGEnv to a
// postgres:// URL of a server where the user may create databases to use
// that server instead (one pass, PostgreSQL only); set it to "off" for the
// SQLite pass alone.
const testPGEnv = "PROPHASIS_TEST_POSTGRES"

// testBackend is the dialect of this pass.
var testBackend = dialectSQLite

// testPGBase is the URL of the PostgreSQL server of this pass, database
// "postgres"; testDSN swaps the database.
var testPGBase string

func TestMain(m *testing.M) {
	os.Exit(runTestPasses(m))
}

func runTestPasses(m *testing.M) int {
	switch env := os.Getenv(testPGEnv); {
	case env == "off":
		return m.Run()
	case env != "":
		testBackend, testPGBase = dialectPostgres, env
		fmt.Printf("=== store tests on PostgreSQL (%s)\n", redactDSN(env))
		return m.Run()
	}
	code := m.Run()
	for _, name := range []string{"test.fuzz", "test.list"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			return code // fuzzing and listing need no second pass
		}
	}
	fmt.Println("=== store tests again on PostgreSQL: a private cluster")
	base, stop, err := startTestPostgres()
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: the store tests on PostgreSQL: %v\n", err)
		return 1
	}
	defer stop()
	cmd := exec.Command(os.Args[0], os.Args[1:]...)
	cmd.Env = append(os.Environ(), testPGEnv+"="+base)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: the store tests on PostgreSQL: %v\n", err)
		return 1
	}
	return code
}

// startTestPostgres starts a throwaway PostgreSQL cluster, reachable only on
// a Unix socket in its own temporary directory, and returns its URL and how
// to stop it (which removes it). PostgreSQL refuses to run as root: as root,
// the cluster runs as the postgres user (or nobody).
func startTestPostgres() (string, func(), error) {
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		if p, err := exec.LookPath("initdb"); err == nil {
			bins = []string{p}
		}
	}
	if len(bins) == 0 {
		return "", nil, errors.New("PostgreSQL is not installed (no initdb): apt-get install postgresql")
	}
	sort.Slice(bins, func(i, j int) bool { return pgMajor(bins[i]) < pgMajor(bins[j]) })
	bin := filepath.Dir(bins[len(bins)-1])
	// A short path: a Unix socket's path is limited to 107 bytes.
	dir, err := os.MkdirTemp("/tmp", "prophasis-pg-")
	if err != nil {
		return "", nil, err
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		var u *user.User
		for _, name := range []string{"postgres", "nobody"} {
			if u, err = user.Lookup(name); err == nil {
				break
			}
		}
		if u == nil {
			os.RemoveAll(dir)
			return "", nil, errors.New("running as root, and there is no postgres (nor nobody) user to run PostgreSQL as")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return "", nil, err
		}
	}
	run := func(name string, args ...string) error {
		cmd := exec.Command(filepath.Join(bin, name), args...)
		cmd.Dir = dir
		cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C", "HOME=" + dir}
		if cred != nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %v\n%s", name, err, out)
		}
		return nil
	}
	data := filepath.Join(dir, "data")
	if err := run("initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync",
		// A database collation unlike SQLite's byte order, so a text column
		// without COLLATE "C" shows in the tests.
		"--locale-provider=icu", "--icu-locale=en-US"); err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	// The server is this process's child, not pg_ctl's daemon: it dies with
	// us (Pdeathsig) even when a timeout kills the test binary, so no
	// cluster outlives its test run. Durability is of no use to a test
	// cluster; speed is.
	logf, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	srv := exec.Command(filepath.Join(bin, "postgres"), "-D", data,
		"-c", "listen_addresses=", "-c", "unix_socket_directories="+dir,
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=300")
	srv.Dir = dir
	srv.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C", "HOME=" + dir}
	srv.Stdout, srv.Stderr = logf, logf
	srv.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
	if err := srv.Start(); err != nil {
		logf.Close()
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("start postgres: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- srv.Wait() }()
	stop := func() {
		srv.Process.Signal(syscall.SIGINT) // fast shutdown
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			srv.Process.Kill()
			<-exited
		}
		logf.Close()
		os.RemoveAll(dir)
	}
	base := "postgres://postgres@/postgres?sslmode=disable&host=" + url.QueryEscape(dir)
	db, err := sql.Open("pgx", base)
	if err != nil {
		stop()
		return "", nil, err
	}
	defer db.Close()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		select {
		case err := <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			os.RemoveAll(dir)
			return "", nil, fmt.Errorf("postgres exited: %v\n%s", err, log)
		default:
		}
		err := db.Ping()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			stop()
			return "", nil, fmt.Errorf("postgres did not start in 60 s: %v\n%s", err, log)
		}
	}
	return base, stop, nil
}

// pgMajor is the major version in a /usr/lib/postgresql/N/bin path.
func pgMajor(p string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(p))))
	return n
}

var testDBs atomic.Int64

// testDSN returns the DSN of a new, empty store for t, of this pass's
// backend: a SQLite file in t's temporary directory, or a PostgreSQL
// database of its own, dropped when t ends.
func testDSN(t testing.TB) string {
	t.Helper()
	if testBackend == dialectSQLite {
		return filepath.Join(t.TempDir(), "prophasis.db")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := sql.Open("pgx", testPGBase)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	defer admin.Close()
	name := fmt.Sprintf("prophasis_test_%d_%d", os.Getpid(), testDBs.Add(1))
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		t.Fatalf("postgres: create database: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", testPGBase)
		if err != nil {
			t.Errorf("postgres: %v", err)
			return
		}
		defer admin.Close()
		if _, err := admin.Exec(`DROP DATABASE ` + name + ` WITH (FORCE)`); err != nil {
			t.Errorf("postgres: drop database: %v", err)
		}
	})
	u, err := url.Parse(testPGBase)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

func TestRebind(t *testing.T) {
	for in, want := range map[string]string{
		`SELECT 1`: `SELECT 1`,
		`SELECT a FROM t WHERE b = ? AND c IN (?, ?)`:    `SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)`,
		`SELECT '?', "?x", ? -- ? here\n, ?`:             `SELECT '?', "?x", $1 -- ? here\n, ?`,
		"SELECT ? -- ?\n, ? /* ? */ , 'it''s ?', ?":      "SELECT $1 -- ?\n, $2 /* ? */ , 'it''s ?', $3",
		`INSERT INTO t (a) VALUES (?), (?) RETURNING id`: `INSERT INTO t (a) VALUES ($1), ($2) RETURNING id`,
	} {
		if got := rebind(in); got != want {
			t.Errorf("rebind(%q) = %q, want %q", in, got, want)
		}
	}
	if !strings.Contains(rebind(`'unterminated ?`), "?") {
		t.Error("rebind rewrote inside an unterminated literal")
	}
}

// TestConcurrentOpenMigratesOnce opens one new database from several
// servers at once: each waits for the migration before it (PostgreSQL: an
// advisory lock; SQLite: the write lock) and none applies a step twice.
func TestConcurrentOpenMigratesOnce(t *testing.T) {
	ctx := context.Background()
	dsn := testDSN(t)
	const servers = 4
	errs := make(chan error, servers)
	stores := make(chan Store, servers)
	for range servers {
		go func() {
			st, err := Open(ctx, dsn, nil)
			errs <- err
			stores <- st
		}()
	}
	for range servers {
		if err := <-errs; err != nil {
			t.Errorf("open: %v", err)
		}
		if st := <-stores; st != nil {
			defer st.Close()
		}
	}
	if t.Failed() {
		return
	}
	st, err := Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var n, distinct int
	if err := st.(*sqlStore).r.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_migrations`).Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	ms, _ := loadMigrations(testBackend)
	if n != len(ms) || distinct != len(ms) {
		t.Fatalf("schema_migrations has %d rows (%d versions), want %d", n, distinct, len(ms))
	}
}

// TestTextSortsBytewise: names sort and compare byte by byte, as Go's
// strings do, on both backends (PostgreSQL's test cluster has an en-US
// collation, which would put "a" before "B").
func TestTextSortsBytewise(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	names := []string{"b", "B", "a", "x_1", "x-1", "A-1", "a1", "web10", "web9"}
	for _, n := range names {
		must[Host](t)(st.CreateHost(ctx, Host{Name: n}))
	}
	hosts := must[[]Host](t)(st.Hosts(ctx))
	var got []string
	for _, h := range hosts {
		got = append(got, h.Name)
	}
	want := slices.Clone(names)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("hosts in order %q, want %q", got, want)
	}
	if _, err := st.Host(ctx, "WEB9"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Host(WEB9) = %v, want not found (names are case-sensitive)", err)
	}
}
