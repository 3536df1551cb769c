package store

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestEventsAppendAndQuery(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	changed := st.ConfigChanged()
	evs := []Event{
		{Time: 1000, Kind: "state", Subject: Subject{Kind: "check", Host: "web1", Plugin: "load", Check: "res"}, From: 0, To: 2, Reason: "load 9"},
		{Time: 3000, Kind: "flapping_start", Subject: Subject{Kind: "check", Host: "web1", Plugin: "load", Check: "res"}, From: 2, To: 2},
		{Time: 2000, Kind: "state", Subject: Subject{Kind: "host", Host: "web2"}, From: -1, To: 0},
		{Time: 2000, Kind: "state", Subject: Subject{Kind: "trend", Host: "db1", Rule: "disk-full", Labels: map[string]string{"mount": "/"}}, From: 0, To: 3},
		{Time: 4000, Kind: "state", Subject: Subject{Kind: "service", Service: "shop"}, From: 0, To: 1},
	}
	if err := st.AppendEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].ID <= evs[i-1].ID {
			t.Fatalf("ids not assigned in order: %+v", evs)
		}
	}
	select {
	case <-changed:
		t.Fatal("appending events woke ConfigChanged's watchers")
	default:
	}

	ids := func(q EventQuery) []int64 {
		t.Helper()
		got := must[[]Event](t)(st.Events(ctx, q))
		out := []int64{}
		for _, e := range got {
			out = append(out, e.ID)
		}
		return out
	}
	id := func(i int) int64 { return evs[i].ID }
	f := func(q EventQuery, want ...int64) {
		t.Helper()
		if want == nil {
			want = []int64{}
		}
		if got := ids(q); !reflect.DeepEqual(got, want) {
			t.Fatalf("Events(%+v) = %v, want %v", q, got, want)
		}
	}
	// Newest first; equal times by id, newest first.
	f(EventQuery{}, id(4), id(1), id(3), id(2), id(0))
	f(EventQuery{Since: 2000, Until: 3000}, id(1), id(3), id(2))
	f(EventQuery{Until: 1999}, id(0))
	f(EventQuery{Host: "web1"}, id(1), id(0))
	f(EventQuery{Plugin: "load", Check: "res"}, id(1), id(0))
	f(EventQuery{Rule: "disk-full"}, id(3))
	f(EventQuery{Service: "shop"}, id(4))
	f(EventQuery{SubjectKind: "host"}, id(2))
	f(EventQuery{Host: "web1", SubjectKind: "host"})
	f(EventQuery{Limit: 2}, id(4), id(1))

	// Everything survives the round trip.
	got := must[[]Event](t)(st.Events(ctx, EventQuery{Rule: "disk-full"}))
	if !reflect.DeepEqual(got[0], evs[3]) {
		t.Fatalf("round trip\n got %+v\nwant %+v", got[0], evs[3])
	}
	got = must[[]Event](t)(st.Events(ctx, EventQuery{SubjectKind: "host"}))
	if got[0].Subject.Labels != nil || got[0].Reason != "" || got[0].From != -1 {
		t.Fatalf("host event %+v", got[0])
	}

	_, err := st.Events(ctx, EventQuery{Limit: MaxQueryLimit + 1})
	wantErr(t, err, ErrInvalid, "limit 10001 must be between 0 (the default, 1000) and 10000")
	_, err = st.Events(ctx, EventQuery{Limit: -1})
	wantErr(t, err, ErrInvalid, "limit -1")
	_, err = st.Events(ctx, EventQuery{Since: 5, Until: 4})
	wantErr(t, err, ErrInvalid, "since 5 is after until 4")

	// Retention.
	if n := must[int64](t)(st.DeleteEventsBefore(ctx, 2000)); n != 1 {
		t.Fatalf("deleted %d, want 1", n)
	}
	f(EventQuery{}, id(4), id(1), id(3), id(2))
	if n := must[int64](t)(st.DeleteEventsBefore(ctx, 2000)); n != 0 {
		t.Fatalf("deleted again %d", n)
	}
}

func TestEventsDefaultLimit(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	evs := make([]Event, defaultQueryLimit+5)
	for i := range evs {
		evs[i] = Event{Time: int64(i), Kind: "state", Subject: Subject{Kind: "host", Host: "h"}, To: 1}
	}
	if err := st.AppendEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	got := must[[]Event](t)(st.Events(ctx, EventQuery{}))
	if len(got) != defaultQueryLimit || got[0].Time != int64(len(evs)-1) {
		t.Fatalf("%d events, first at %d", len(got), got[0].Time)
	}
	if got := must[[]Event](t)(st.Events(ctx, EventQuery{Limit: MaxQueryLimit})); len(got) != len(evs) {
		t.Fatalf("limit %d: %d events", MaxQueryLimit, len(got))
	}
}

func TestEventsBadInput(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	good := Event{Time: 1, Kind: "state", Subject: Subject{Kind: "check", Host: "h", Plugin: "p", Check: "c"}, From: 0, To: 1}
	f := func(mod func(e *Event), parts ...string) {
		t.Helper()
		e := good
		e.Subject.Labels = map[string]string{"a": "b"}
		mod(&e)
		err := st.AppendEvents(ctx, []Event{good, e})
		wantErr(t, err, ErrInvalid, append([]string{"events[1]: "}, parts...)...)
		if got := must[[]Event](t)(st.Events(ctx, EventQuery{})); len(got) != 0 {
			t.Fatalf("a refused batch stored %d events", len(got))
		}
	}
	f(func(e *Event) { e.Kind = "changed" }, `kind "changed" must be one of state, flapping_start, flapping_stop`)
	f(func(e *Event) { e.Subject.Kind = "" }, `subject kind "" must be one of check, host, trend, service`)
	f(func(e *Event) { e.From = -2 }, "from -2 must be a state number from -1 (unknown) to 3 (critical)")
	f(func(e *Event) { e.To = 4 }, "to 4 must be a state number")
	f(func(e *Event) { e.Time = -1 }, "time -1 is before 1970")
	f(func(e *Event) { e.Reason = strings.Repeat("r", MaxReasonBytes+1) }, "reason is 4097 bytes long; the limit is 4096")
	f(func(e *Event) { e.Subject.Host = strings.Repeat("h", 257) }, "subject host is 257 bytes long")
	f(func(e *Event) { e.Subject.Check = "\xff" }, "subject check is not valid UTF-8")
	f(func(e *Event) { e.Subject.Labels[""] = "x" }, `subject label name "" must be 1 to 128 bytes`)
	f(func(e *Event) { e.Subject.Labels["a"] = strings.Repeat("v", 1025) }, "subject label a is 1025 bytes long")
	f(func(e *Event) {
		for i := range maxLabels { // plus "a"
			e.Subject.Labels[fmt.Sprint("l", i)] = "v"
		}
	}, "subject has 65 labels; the limit is 64")
	err := st.AppendEvents(ctx, make([]Event, MaxRecordBatch+1))
	wantErr(t, err, ErrInvalid, "100001 records in one call; the limit is 100000")
	if err := st.AppendEvents(ctx, nil); err != nil {
		t.Fatalf("empty batch: %v", err)
	}
}

// TestEventReasonWithNUL: a plugin's output with a NUL byte in it is stored;
// SQLite keeps the NUL, PostgreSQL (whose text cannot hold one) a U+FFFD.
func TestEventReasonWithNUL(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	ev := Event{Time: 1000, Kind: "state", Subject: Subject{Kind: "host", Host: "web1"}, From: 0, To: 2, Reason: "bad\x00output"}
	if err := st.AppendEvents(ctx, []Event{ev}); err != nil {
		t.Fatal(err)
	}
	got := must[[]Event](t)(st.Events(ctx, EventQuery{Until: 2000}))
	want := map[string]string{dialectSQLite: "bad\x00output", dialectPostgres: "bad\uFFFDoutput"}[testBackend]
	if len(got) != 1 || got[0].Reason != want {
		t.Fatalf("got %+v, want one event with reason %q", got, want)
	}
}
