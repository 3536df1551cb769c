package store

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSystemLog(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	changed := st.ConfigChanged()
	entries := []LogEntry{
		{Time: 1000, Level: "info", Component: "trend", Message: "rule disk-full loaded"},
		{Time: 2000, Level: "error", Component: "classifier", Host: "web1", Plugin: "load", Check: "res", Message: "classifier load: line 3: attempt to compare nil with number"},
		{Time: 3000, Level: "warn", Component: "classifier", Host: "web2", Plugin: "load", Message: "slow"},
		{Time: 3000, Level: "error", Component: "trend", Message: "query failed"},
	}
	if err := st.AppendSystemLog(ctx, entries); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
		t.Fatal("the system log woke ConfigChanged's watchers")
	default:
	}
	id := func(i int) int64 { return entries[i].ID }
	f := func(q LogQuery, want ...int64) {
		t.Helper()
		got := []int64{}
		for _, e := range must[[]LogEntry](t)(st.SystemLog(ctx, q)) {
			got = append(got, e.ID)
		}
		if want == nil {
			want = []int64{}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("SystemLog(%+v) = %v, want %v", q, got, want)
		}
	}
	f(LogQuery{}, id(3), id(2), id(1), id(0))
	f(LogQuery{Level: "info"}, id(3), id(2), id(1), id(0))
	f(LogQuery{Level: "warn"}, id(3), id(2), id(1))
	f(LogQuery{Level: "error"}, id(3), id(1))
	f(LogQuery{Component: "classifier"}, id(2), id(1))
	f(LogQuery{Host: "web1"}, id(1))
	f(LogQuery{Plugin: "load", Level: "error"}, id(1))
	f(LogQuery{Check: "res"}, id(1))
	f(LogQuery{Since: 2000, Until: 2999}, id(1))
	f(LogQuery{Limit: 1}, id(3))
	got := must[[]LogEntry](t)(st.SystemLog(ctx, LogQuery{Host: "web1"}))
	if !reflect.DeepEqual(got[0], entries[1]) {
		t.Fatalf("round trip\n got %+v\nwant %+v", got[0], entries[1])
	}

	_, err := st.SystemLog(ctx, LogQuery{Level: "debug"})
	wantErr(t, err, ErrInvalid, `level "debug" must be one of info, warn, error`)
	_, err = st.SystemLog(ctx, LogQuery{Limit: MaxQueryLimit + 1})
	wantErr(t, err, ErrInvalid, "limit 10001")
	_, err = st.SystemLog(ctx, LogQuery{Since: 2, Until: 1})
	wantErr(t, err, ErrInvalid, "since 2 is after until 1")

	if n := must[int64](t)(st.DeleteSystemLogBefore(ctx, 3000)); n != 2 {
		t.Fatalf("deleted %d, want 2", n)
	}
	f(LogQuery{}, id(3), id(2))
}

func TestSystemLogLimits(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	// A long message is cut at a character boundary, not refused.
	long := strings.Repeat("é", MaxLogMessageBytes) // 2 bytes each
	e := []LogEntry{{Time: 1, Level: "warn", Message: long}}
	if err := st.AppendSystemLog(ctx, e); err != nil {
		t.Fatal(err)
	}
	got := must[[]LogEntry](t)(st.SystemLog(ctx, LogQuery{}))
	if m := got[0].Message; len(m) > MaxLogMessageBytes || len(m) < MaxLogMessageBytes-4 || !strings.HasSuffix(m, "...") || !utf8.ValidString(m) || m != e[0].Message {
		t.Fatalf("stored message of %d bytes, valid %t, suffix %q; caller sees %d bytes", len(m), utf8.ValidString(m), m[len(m)-5:], len(e[0].Message))
	}
	if err := st.AppendSystemLog(ctx, []LogEntry{{Time: 2, Level: "info", Message: "bad \xff byte"}}); err != nil {
		t.Fatal(err)
	}
	if got := must[[]LogEntry](t)(st.SystemLog(ctx, LogQuery{Limit: 1})); got[0].Message != "bad \uFFFD byte" {
		t.Fatalf("invalid UTF-8 stored as %q", got[0].Message)
	}

	f := func(e LogEntry, parts ...string) {
		t.Helper()
		err := st.AppendSystemLog(ctx, []LogEntry{{Time: 5, Level: "info", Message: "fine"}, e})
		wantErr(t, err, ErrInvalid, append([]string{"entries[1]: "}, parts...)...)
		if got := must[[]LogEntry](t)(st.SystemLog(ctx, LogQuery{Since: 5})); len(got) != 0 {
			t.Fatalf("a refused batch stored %+v", got)
		}
	}
	f(LogEntry{Time: 5, Level: "debug"}, `level "debug" must be one of info, warn, error`)
	f(LogEntry{Time: 5, Level: ""}, `level ""`)
	f(LogEntry{Time: -1, Level: "info"}, "time -1 is before 1970")
	f(LogEntry{Time: 5, Level: "info", Component: strings.Repeat("c", 257)}, "component is 257 bytes long")
	f(LogEntry{Time: 5, Level: "info", Host: "\xff"}, "host is not valid UTF-8")
	err := st.AppendSystemLog(ctx, make([]LogEntry, MaxRecordBatch+1))
	wantErr(t, err, ErrInvalid, "the limit is 100000")
}
