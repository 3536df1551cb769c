package store

import (
	"context"
	"reflect"
	"strings"
	"testing"
)

func TestAcks(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	changed := st.ConfigChanged()
	a := Ack{SubjectKey: "check/web1/load/cpu", Subject: Subject{Kind: "check", Host: "web1", Plugin: "load", Check: "cpu"},
		By: "ann", Comment: "rebooting", At: 1_700_000_000_000}
	if err := st.SaveAck(ctx, a); err != nil {
		t.Fatal(err)
	}
	b := Ack{SubjectKey: `trend/disk-full/{device="sda"}`, Subject: Subject{Kind: "trend", Rule: "disk-full", Labels: map[string]string{"device": "sda"}},
		By: "bob", Comment: "ordered disks", At: 1_700_000_000_000, Expires: 1_700_003_600_000}
	if err := st.SaveAck(ctx, b); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
		t.Fatal("saving an ack woke ConfigChanged's watchers")
	default:
	}
	got := must[[]Ack](t)(st.Acks(ctx))
	if !reflect.DeepEqual(got, []Ack{a, b}) {
		t.Fatalf("acks %+v", got)
	}
	// Saving again replaces.
	a.By, a.Comment, a.Expires = "carl", "still rebooting", 1_700_000_500_000
	if err := st.SaveAck(ctx, a); err != nil {
		t.Fatal(err)
	}
	got = must[[]Ack](t)(st.Acks(ctx))
	if len(got) != 2 || !reflect.DeepEqual(got[0], a) {
		t.Fatalf("after upsert %+v", got)
	}
	if err := st.DeleteAck(ctx, a.SubjectKey); err != nil {
		t.Fatal(err)
	}
	wantErr(t, st.DeleteAck(ctx, a.SubjectKey), ErrNotFound, `no acknowledgement of "check/web1/load/cpu"`)
	if got = must[[]Ack](t)(st.Acks(ctx)); len(got) != 1 || got[0].SubjectKey != b.SubjectKey {
		t.Fatalf("after delete %+v", got)
	}
}

func TestAckValidation(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	good := Ack{SubjectKey: "host/web1", Subject: Subject{Kind: "host", Host: "web1"}, By: "ann", Comment: "on it", At: 1000}
	f := func(mod func(a *Ack), parts ...string) {
		t.Helper()
		a := good
		mod(&a)
		wantErr(t, st.SaveAck(ctx, a), ErrInvalid, parts...)
	}
	f(func(a *Ack) { a.SubjectKey = "" }, "ack: subject_key is required")
	f(func(a *Ack) { a.SubjectKey = strings.Repeat("k", 16<<10+1) }, "subject_key is 16385 bytes long")
	f(func(a *Ack) { a.Subject.Kind = "rack" }, `subject kind "rack" must be one of check, host, trend, service`)
	f(func(a *Ack) { a.Subject.Host = "" }, "subject.host is required for a subject of kind host")
	f(func(a *Ack) { a.Subject = Subject{Kind: "check", Host: "web1"} }, "subject.plugin is required for a subject of kind check")
	f(func(a *Ack) { a.Subject = Subject{Kind: "service"} }, "subject.service is required")
	f(func(a *Ack) { a.Subject = Subject{Kind: "trend"} }, "subject.rule is required")
	f(func(a *Ack) { a.Comment = strings.Repeat("c", MaxAckComment+1) }, "comment is 4097 bytes long; the limit is 4096")
	f(func(a *Ack) { a.By = "\xff" }, "by is not valid UTF-8")
	f(func(a *Ack) { a.At = -1 }, "at -1 is before 1970")
	f(func(a *Ack) { a.Expires = 1000 }, "expires 1000 must be after at 1000 (or 0: until recovery)")
	if got := must[[]Ack](t)(st.Acks(ctx)); len(got) != 0 {
		t.Fatalf("refused acks stored: %+v", got)
	}
}
