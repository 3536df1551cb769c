package collect

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/prophasis/prophasis/wire"
)

// The glibc utmp record on linux/amd64 and linux/arm64 (and every other
// 64-bit glibc target, which keep the 32-bit layout for compatibility): 384
// bytes, little-endian on both.
const (
	utmpSize        = 384
	utmpTypeOffset  = 0  // int16 ut_type (+2 bytes padding)
	utmpPIDOffset   = 4  // int32 ut_pid
	utmpLineOffset  = 8  // char ut_line[32]
	utmpUserOffset  = 44 // char ut_user[32], after char ut_id[4]
	utmpHostOffset  = 76 // char ut_host[256]
	utmpTimeOffset  = 340
	utmpLineLen     = 32
	utmpUserLen     = 32
	utmpHostLen     = 256
	utmpUserProcess = 7 // USER_PROCESS: a login session
)

// UtmpEntry is one login session from utmp.
type UtmpEntry struct {
	User, Line, Host string
	PID              int32
	// Time is the login time in seconds since the Unix epoch.
	Time int64
}

// ParseUtmp returns the login sessions (USER_PROCESS records) of a utmp
// file. A trailing partial record, which a writer may leave mid-update, is
// ignored.
func ParseUtmp(b []byte) []UtmpEntry {
	var out []UtmpEntry
	for ; len(b) >= utmpSize; b = b[utmpSize:] {
		r := b[:utmpSize]
		if int16(binary.LittleEndian.Uint16(r[utmpTypeOffset:])) != utmpUserProcess {
			continue
		}
		user := cString(r[utmpUserOffset : utmpUserOffset+utmpUserLen])
		if user == "" {
			continue
		}
		out = append(out, UtmpEntry{
			User: user,
			Line: cString(r[utmpLineOffset : utmpLineOffset+utmpLineLen]),
			Host: cString(r[utmpHostOffset : utmpHostOffset+utmpHostLen]),
			PID:  int32(binary.LittleEndian.Uint32(r[utmpPIDOffset:])),
			Time: int64(int32(binary.LittleEndian.Uint32(r[utmpTimeOffset:]))),
		})
	}
	return out
}

// cString returns a NUL-terminated (or full) fixed-size field as text, with
// bytes that are not printable ASCII replaced, so garbage in utmp cannot
// inject control characters into a message or a status page.
func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return strings.Map(func(r rune) rune {
				if r < 0x20 || r > 0x7e {
					return '?'
				}
				return r
			}, string(b))
		}
	}
	return string(b)
}

// usersCollector reports the logged-in users; its value is the number of
// login sessions.
type usersCollector struct{ env env }

func (*usersCollector) Name() string { return "users" }

// utmpPaths are where utmp lives; /var/run is a link to /run on current
// systems, but not in every container image.
var utmpPaths = []string{"run/utmp", "var/run/utmp"}

func (c *usersCollector) Collect(context.Context) (Collected, error) {
	var b []byte
	var err error
	for _, p := range utmpPaths {
		b, err = c.env.read(p)
		if err == nil || !errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	if errors.Is(err, fs.ErrNotExist) {
		// No utmp: nothing records logins here (a container, a minimal
		// system), which means nobody is logged in as far as we can tell.
		return Collected{
			Value:   ptr(0),
			Message: "no users logged in (no utmp file)",
			Metrics: []wire.Metric{gauge("sessions", "", 0), gauge("users", "", 0)},
		}, nil
	}
	if err != nil {
		return Collected{}, err
	}
	entries := ParseUtmp(b)
	perUser := make(map[string]int)
	for _, e := range entries {
		perUser[e.User]++
	}
	names := make([]string, 0, len(perUser))
	for u := range perUser {
		names = append(names, u)
	}
	sort.Strings(names)
	col := Collected{
		Value:   ptr(float64(len(entries))),
		Metrics: []wire.Metric{gauge("sessions", "", float64(len(entries))), gauge("users", "", float64(len(names)))},
	}
	if len(names) == 0 {
		col.Message = "no users logged in"
		return col, nil
	}
	parts := make([]string, len(names))
	for i, u := range names {
		parts[i] = u
		if n := perUser[u]; n > 1 {
			parts[i] = fmt.Sprintf("%s (%d)", u, n)
		}
	}
	col.Message = fmt.Sprintf("%d logged in: %s", len(entries), strings.Join(parts, ", "))
	return col, nil
}
