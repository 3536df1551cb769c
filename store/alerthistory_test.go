package store

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestAlertHistory(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	changed := st.ConfigChanged()
	web1 := Subject{Kind: "check", Host: "web1", Plugin: "load", Check: "cpu"}
	ack := &Ack{SubjectKey: "check/web1/load/cpu", Subject: web1, By: "ann", Comment: "on it", At: 1_700_000_030_000}
	recs := []AlertRecord{
		{Time: 1_700_000_000_000, AlertID: "page/check/web1/load/cpu", Rule: "page", Subject: web1, Status: "pending",
			State: "critical", From: "ok", Reason: "load 9", ActiveAt: 1_700_000_000_000, Notified: nil},
		{Time: 1_700_000_060_000, AlertID: "page/check/web1/load/cpu", Rule: "page", Subject: web1, Status: "firing",
			State: "critical", From: "ok", ActiveAt: 1_700_000_000_000, FiredAt: 1_700_000_060_000, Notified: []string{"email"}, Ack: ack},
		{Time: 1_700_000_120_000, AlertID: "shop/service/shop", Rule: "shop", Subject: Subject{Kind: "service", Service: "shop"},
			Status: "resolved", State: "ok", From: "failed", ActiveAt: 1, FiredAt: 2, ResolvedAt: 1_700_000_120_000, Notified: []string{"pager"}},
	}
	if err := st.AppendAlertHistory(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if recs[0].ID == 0 || recs[1].ID != recs[0].ID+1 || recs[2].ID != recs[1].ID+1 {
		t.Fatalf("ids %d %d %d", recs[0].ID, recs[1].ID, recs[2].ID)
	}
	select {
	case <-changed:
		t.Fatal("alert history woke ConfigChanged's watchers")
	default:
	}
	got := must[[]AlertRecord](t)(st.AlertHistory(ctx, AlertHistoryQuery{}))
	recs[0].Notified = []string{}
	if !reflect.DeepEqual(got, []AlertRecord{recs[2], recs[1], recs[0]}) {
		t.Fatalf("history\n got %+v\nwant newest first %+v", got, recs)
	}
	f := func(q AlertHistoryQuery, wantIDs ...int64) {
		t.Helper()
		got := must[[]AlertRecord](t)(st.AlertHistory(ctx, q))
		var ids []int64
		for _, r := range got {
			ids = append(ids, r.ID)
		}
		if !reflect.DeepEqual(ids, wantIDs) {
			t.Fatalf("%+v: ids %v, want %v", q, ids, wantIDs)
		}
	}
	id := func(i int) int64 { return recs[i].ID }
	f(AlertHistoryQuery{Host: "web1"}, id(1), id(0))
	f(AlertHistoryQuery{Rule: "shop"}, id(2))
	f(AlertHistoryQuery{AlertID: "page/check/web1/load/cpu", Limit: 1}, id(1))
	f(AlertHistoryQuery{Since: 1_700_000_060_000, Until: 1_700_000_060_000}, id(1))
	f(AlertHistoryQuery{Since: 1_700_000_000_001}, id(2), id(1))
	f(AlertHistoryQuery{Host: "web2"})
	_, err := st.AlertHistory(ctx, AlertHistoryQuery{Since: 10, Until: 5})
	wantErr(t, err, ErrInvalid, "since 10 is after until 5")
	_, err = st.AlertHistory(ctx, AlertHistoryQuery{Limit: MaxQueryLimit + 1})
	wantErr(t, err, ErrInvalid, "limit 10001")

	// Retention covers both tables.
	ns := []NotificationRecord{
		{Time: 1_700_000_060_000, AlertID: "page/check/web1/load/cpu", Rule: "page", Module: "email", Try: 1, Status: "firing", Payload: "CRITICAL web1"},
		{Time: 1_700_000_200_000, AlertID: "shop/service/shop", Rule: "shop", Module: "pager", Try: 2, Status: "resolved", Error: "HTTP 500", Retry: true},
	}
	if err := st.AppendNotifications(ctx, ns); err != nil {
		t.Fatal(err)
	}
	n, err := st.DeleteAlertHistoryBefore(ctx, 1_700_000_100_000)
	if err != nil || n != 3 {
		t.Fatalf("deleted %d, %v; want 2 records and 1 notification", n, err)
	}
	f(AlertHistoryQuery{}, id(2))
	if got := must[[]NotificationRecord](t)(st.Notifications(ctx, NotificationQuery{})); len(got) != 1 || got[0].Module != "pager" {
		t.Fatalf("notifications after retention %+v", got)
	}
}

func TestNotifications(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	big := strings.Repeat("é", MaxPayloadBytes) // 2 bytes each: twice the limit
	ns := []NotificationRecord{
		{Time: 1000, AlertID: "a/host/web1", Rule: "a", Module: "email", Try: 1, Status: "firing", Payload: big},
		{Time: 2000, AlertID: "a/host/web1", Rule: "a", Module: "hook", Try: 1, Status: "firing", Error: "HTTP 503: " + strings.Repeat("x", 10000), Retry: true},
		{Time: 3000, AlertID: "a/host/web1", Rule: "a", Module: "hook", Try: 2, Status: "firing", Payload: "{\"ok\":\xff}"},
		{Time: 4000, AlertID: "b/host/db1", Rule: "b", Module: "hook", Try: 1, Status: "resolved"},
	}
	if err := st.AppendNotifications(ctx, ns); err != nil {
		t.Fatal(err)
	}
	got := must[[]NotificationRecord](t)(st.Notifications(ctx, NotificationQuery{}))
	if len(got) != 4 || got[0].Status != "resolved" || got[3].Module != "email" {
		t.Fatalf("notifications %+v", got)
	}
	p := got[3].Payload
	if len(p) > MaxPayloadBytes || !utf8.ValidString(p) || !strings.HasSuffix(p, "…[truncated]") || !strings.HasPrefix(p, "éé") {
		t.Fatalf("payload of %d bytes, valid %t, ends %q", len(p), utf8.ValidString(p), p[len(p)-20:])
	}
	if e := got[2].Error; len(e) > MaxNotificationError || !strings.HasPrefix(e, "HTTP 503: ") || !got[2].Retry {
		t.Fatalf("error of %d bytes, retry %t", len(e), got[2].Retry)
	}
	if got[1].Payload != "{\"ok\":\uFFFD}" || got[1].Try != 2 {
		t.Fatalf("invalid UTF-8 payload stored as %q", got[1].Payload)
	}
	f := func(q NotificationQuery, wantTimes ...int64) {
		t.Helper()
		var times []int64
		for _, r := range must[[]NotificationRecord](t)(st.Notifications(ctx, q)) {
			times = append(times, r.Time)
		}
		if !reflect.DeepEqual(times, wantTimes) {
			t.Fatalf("%+v: times %v, want %v", q, times, wantTimes)
		}
	}
	f(NotificationQuery{Module: "hook"}, 4000, 3000, 2000)
	f(NotificationQuery{Rule: "a", Module: "hook"}, 3000, 2000)
	f(NotificationQuery{AlertID: "b/host/db1"}, 4000)
	f(NotificationQuery{Since: 2000, Until: 3000}, 3000, 2000)
	f(NotificationQuery{Limit: 2}, 4000, 3000)
}

func TestAlertHistoryBadInput(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	good := AlertRecord{Time: 1, AlertID: "a/host/h", Rule: "a", Subject: Subject{Kind: "host", Host: "h"}, Status: "firing", State: "critical"}
	f := func(mod func(r *AlertRecord), parts ...string) {
		t.Helper()
		r := good
		mod(&r)
		wantErr(t, st.AppendAlertHistory(ctx, []AlertRecord{good, r}), ErrInvalid, append([]string{"records[1]: "}, parts...)...)
	}
	f(func(r *AlertRecord) { r.AlertID = "" }, "alert_id is required")
	f(func(r *AlertRecord) { r.Status = "open" }, `status "open" must be one of pending, firing, resolved`)
	f(func(r *AlertRecord) { r.Subject.Kind = "" }, "subject kind")
	f(func(r *AlertRecord) { r.FiredAt = -1 }, "times must not be before 1970")
	f(func(r *AlertRecord) { r.Rule = strings.Repeat("r", 257) }, "rule is 257 bytes long")
	f(func(r *AlertRecord) { r.Ack = &Ack{By: "\xff"} }, "ack.by is not valid UTF-8")
	// A long reason is cut, not refused.
	long := good
	long.Reason = strings.Repeat("r", MaxReasonBytes*2)
	if err := st.AppendAlertHistory(ctx, []AlertRecord{long}); err != nil {
		t.Fatal(err)
	}
	if got := must[[]AlertRecord](t)(st.AlertHistory(ctx, AlertHistoryQuery{})); len(got) != 1 || len(got[0].Reason) > MaxReasonBytes {
		t.Fatalf("history %d records, reason %d bytes", len(got), len(got[0].Reason))
	}
	wantErr(t, st.AppendAlertHistory(ctx, make([]AlertRecord, MaxRecordBatch+1)), ErrInvalid, "100001 records in one call")

	gn := NotificationRecord{Time: 1, AlertID: "a/host/h", Rule: "a", Module: "m", Try: 1, Status: "firing"}
	g := func(mod func(r *NotificationRecord), parts ...string) {
		t.Helper()
		r := gn
		mod(&r)
		wantErr(t, st.AppendNotifications(ctx, []NotificationRecord{gn, r}), ErrInvalid, append([]string{"records[1]: "}, parts...)...)
	}
	g(func(r *NotificationRecord) { r.Module = "" }, "module is required")
	g(func(r *NotificationRecord) { r.AlertID = "" }, "alert_id is required")
	g(func(r *NotificationRecord) { r.Status = "pending" }, `status "pending" must be one of firing, resolved`)
	g(func(r *NotificationRecord) { r.Try = 0 }, "try 0 must be at least 1")
	g(func(r *NotificationRecord) { r.Time = -5 }, "time -5 is before 1970")
	if got := must[[]NotificationRecord](t)(st.Notifications(ctx, NotificationQuery{})); len(got) != 0 {
		t.Fatalf("refused notifications stored: %+v", got)
	}
	if err := st.AppendNotifications(ctx, nil); err != nil {
		t.Fatal(err)
	}
}
