package store

import (
	"context"
	"reflect"
	"strings"
	"testing"
)

func TestCurrentStates(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	changed := st.ConfigChanged()
	if got := must[[]CurrentState](t)(st.CurrentStates(ctx)); got == nil || len(got) != 0 {
		t.Fatalf("empty store: %#v", got)
	}
	states := []CurrentState{
		{Key: "check/web1/load/res", Subject: Subject{Kind: "check", Host: "web1", Plugin: "load", Check: "res"}, State: 2, Since: 100, Reason: "load 9", UpdatedAt: 150},
		{Key: "host/web1", Subject: Subject{Kind: "host", Host: "web1"}, State: 2, Since: 100, UpdatedAt: 150},
		{Key: "trend/disk-full/{mount=\"/\"}", Subject: Subject{Kind: "trend", Rule: "disk-full", Labels: map[string]string{"mount": "/"}}, State: -1, Since: 90, Flapping: true, UpdatedAt: 150},
	}
	if err := st.SaveStates(ctx, states); err != nil {
		t.Fatal(err)
	}
	got := must[[]CurrentState](t)(st.CurrentStates(ctx))
	if !reflect.DeepEqual(got, states) {
		t.Fatalf("round trip\n got %+v\nwant %+v", got, states)
	}
	// Upsert by key: changed fields replace, others stay.
	up := states[1]
	up.State, up.Since, up.Reason, up.UpdatedAt = 0, 200, "recovered", 200
	add := CurrentState{Key: "service/shop", Subject: Subject{Kind: "service", Service: "shop"}, State: 1, Since: 10, UpdatedAt: 200}
	if err := st.SaveStates(ctx, []CurrentState{up, add}); err != nil {
		t.Fatal(err)
	}
	got = must[[]CurrentState](t)(st.CurrentStates(ctx))
	if len(got) != 4 || !reflect.DeepEqual(got[1], up) || !reflect.DeepEqual(got[0], states[0]) || got[2].Key != "service/shop" {
		t.Fatalf("after upsert %+v", got)
	}
	if err := st.DeleteStates(ctx, []string{"host/web1", "no/such/key"}); err != nil {
		t.Fatal(err)
	}
	got = must[[]CurrentState](t)(st.CurrentStates(ctx))
	if len(got) != 3 || got[0].Key != "check/web1/load/res" || got[1].Key != "service/shop" {
		t.Fatalf("after delete %+v", got)
	}
	select {
	case <-changed:
		t.Fatal("saving states woke ConfigChanged's watchers")
	default:
	}

	f := func(mod func(c *CurrentState), parts ...string) {
		t.Helper()
		c := CurrentState{Key: "k", Subject: Subject{Kind: "host", Host: "h"}, State: 0, Since: 1, UpdatedAt: 1}
		mod(&c)
		ok := CurrentState{Key: "check/web1/load/res", Subject: Subject{Kind: "host"}, State: 3}
		err := st.SaveStates(ctx, []CurrentState{ok, c})
		wantErr(t, err, ErrInvalid, append([]string{"states[1]: "}, parts...)...)
		if now := must[[]CurrentState](t)(st.CurrentStates(ctx)); !reflect.DeepEqual(now, got) {
			t.Fatalf("a refused batch changed the states: %+v", now)
		}
	}
	f(func(c *CurrentState) { c.Key = "" }, "key is required")
	f(func(c *CurrentState) { c.Key = strings.Repeat("k", 1025) }, "key is 1025 bytes long; the limit is 1024")
	f(func(c *CurrentState) { c.State = 5 }, "state 5 must be a state number from -1 (unknown) to 3 (critical)")
	f(func(c *CurrentState) { c.Subject.Kind = "group" }, `subject kind "group" must be one of`)
	f(func(c *CurrentState) { c.Since = -5 }, "since -5 and updated_at 1 must not be before 1970")
	f(func(c *CurrentState) { c.Reason = strings.Repeat("r", MaxReasonBytes+1) }, "reason is 4097 bytes long")
	wantErr(t, st.SaveStates(ctx, make([]CurrentState, MaxRecordBatch+1)), ErrInvalid, "the limit is 100000")
	wantErr(t, st.DeleteStates(ctx, make([]string, MaxRecordBatch+1)), ErrInvalid, "the limit is 100000")
}

// TestStateKeysHoldNUL: the rules engine's state keys are "check\x00host\x00
// plugin\x00check" (rules/engine.go); they round-trip, sort byte-wise and
// delete on both backends.
func TestStateKeysHoldNUL(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	states := []CurrentState{
		{Key: "check\x00web1\x00cpu\x00load", Subject: Subject{Kind: "check", Host: "web1", Plugin: "cpu", Check: "load"}, State: 2, Since: 1, UpdatedAt: 2},
		{Key: "check\x00web1\x00cpu", Subject: Subject{Kind: "check", Host: "web1", Plugin: "cpu"}, State: 1, Since: 1, UpdatedAt: 2},
		{Key: "host\x00web1", Subject: Subject{Kind: "host", Host: "web1"}, State: 0, Since: 1, UpdatedAt: 2},
	}
	if err := st.SaveStates(ctx, states); err != nil {
		t.Fatal(err)
	}
	got := must[[]CurrentState](t)(st.CurrentStates(ctx))
	if want := []CurrentState{states[1], states[0], states[2]}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if err := st.DeleteStates(ctx, []string{states[0].Key}); err != nil {
		t.Fatal(err)
	}
	if got := must[[]CurrentState](t)(st.CurrentStates(ctx)); len(got) != 2 || got[0].Key != states[1].Key || got[1].Key != states[2].Key {
		t.Fatalf("after delete %+v", got)
	}
}
