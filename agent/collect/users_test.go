//go:build linux

package collect

import (
	"encoding/binary"
	"testing"
)

func TestUtmpRecordSize(t *testing.T) {
	if n := binary.Size(utmpRecord{}); n != utmpSize {
		t.Fatalf("struct utmp is %d bytes, parser assumes %d", n, utmpSize)
	}
}

func TestParseUtmp(t *testing.T) {
	b := utmpBytes(t,
		rec(2, "reboot", "~", "6.1.0", 0, 1700000000), // BOOT_TIME
		rec(7, "alice", "pts/0", "192.0.2.7", 1234, 1700000100),
		rec(8, "carol", "pts/9", "", 99, 1700000150), // DEAD_PROCESS: logged out
		rec(7, "bob", "tty1", "", 555, 1700000200),
		rec(7, "alice", "pts/1", "192.0.2.8", 1240, 1700000300),
		rec(7, "", "pts/3", "", 1, 1),                                 // no user: skipped
		rec(7, "0123456789abcdef0123456789abcdef", "pts/4", "", 2, 2), // 32 bytes, no NUL
		rec(7, "evil\x1b[2J", "pts/5", "", 3, 3),                      // control characters
	)
	b = append(b, make([]byte, 100)...) // a record half written
	got := ParseUtmp(b)
	want := []UtmpEntry{
		{User: "alice", Line: "pts/0", Host: "192.0.2.7", PID: 1234, Time: 1700000100},
		{User: "bob", Line: "tty1", PID: 555, Time: 1700000200},
		{User: "alice", Line: "pts/1", Host: "192.0.2.8", PID: 1240, Time: 1700000300},
		{User: "0123456789abcdef0123456789abcdef", Line: "pts/4", PID: 2, Time: 2},
		{User: "evil?[2J", Line: "pts/5", PID: 3, Time: 3},
	}
	if len(got) != len(want) {
		t.Fatalf("ParseUtmp = %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestUsersCollector(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "var/run/utmp", string(utmpBytes(t,
		rec(2, "reboot", "~", "", 0, 1),
		rec(7, "bob", "tty1", "", 555, 2),
		rec(7, "alice", "pts/0", "h", 1234, 3),
		rec(7, "alice", "pts/1", "h", 1240, 4),
	)))
	r := NewRegistry(Options{Root: root})
	col := collect(t, r, "users")
	if *col.Value != 3 || col.Message != "3 logged in: alice (2), bob" || metric(col, "users", nil) != 2 {
		t.Errorf("%+v", col)
	}
	// /run/utmp is preferred where both exist.
	writeFile(t, root, "run/utmp", string(utmpBytes(t, rec(6, "LOGIN", "tty1", "", 1, 1))))
	col = collect(t, r, "users")
	if *col.Value != 0 || col.Message != "no users logged in" {
		t.Errorf("%+v", col)
	}
}
