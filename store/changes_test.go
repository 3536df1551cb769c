package store

import (
	"context"
	"testing"
)

func TestConfigChanged(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	closed := func(ch <-chan struct{}) bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
	ch := st.ConfigChanged()
	if _, err := st.AppendMessages(ctx, []Message{{Timestamp: 1, Text: "x"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateEnrollment(ctx, "web1", 0); err != nil {
		t.Fatal(err)
	}
	if closed(ch) {
		t.Fatal("message or enrolment-token writes woke configuration watchers")
	}
	if _, err := st.CreateHost(ctx, Host{Name: "web1"}); err != nil {
		t.Fatal(err)
	}
	if !closed(ch) {
		t.Fatal("creating a host did not wake configuration watchers")
	}
	if closed(st.ConfigChanged()) {
		t.Fatal("a new watch is already closed")
	}
	// A refused change commits nothing and wakes no one.
	ch = st.ConfigChanged()
	if _, err := st.CreateHost(ctx, Host{Name: "web1"}); err == nil {
		t.Fatal("duplicate host created")
	}
	if closed(ch) {
		t.Fatal("a refused change woke configuration watchers")
	}
}
