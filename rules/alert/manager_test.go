package alert

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prophasis/prophasis/store"
)

// recorder is a Sender that writes down every notice with its time
// relative to the bubble's start.
type recorder struct {
	mu    sync.Mutex
	t0    time.Time
	lines []string
}

func (r *recorder) Send(module string, n Notice) {
	r.mu.Lock()
	defer r.mu.Unlock()
	extra := ""
	if n.Repeat > 0 {
		extra += fmt.Sprintf(" repeat %d", n.Repeat)
	}
	if n.Escalation > 0 {
		extra += fmt.Sprintf(" step %d", n.Escalation)
	}
	r.lines = append(r.lines, fmt.Sprintf("%s %s %s %s %s%s", time.Since(r.t0).Round(time.Second), module, n.Status, n.Subject.Host, n.State, extra))
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.lines
	r.lines = nil
	return out
}

// bubble runs f inside a synctest bubble with a running manager.
func bubble(t *testing.T, cfg Config, f func(m *Manager, rec *recorder)) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{t0: time.Now()}
		m := New(rec, nil, slog.New(slog.DiscardHandler), Options{})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- m.Run(ctx) }()
		if err := m.SetConfig(ctx, cfg); err != nil {
			t.Fatal(err)
		}
		f(m, rec)
		cancel()
		<-done
	})
}

func check(host string) store.Subject {
	return store.Subject{Kind: "check", Host: host, Plugin: "disk", Check: "res"}
}

// change queues a state change of subj and waits until the manager is idle.
func change(m *Manager, subj store.Subject, from, to int) {
	m.Events([]store.Event{{Kind: "state", Subject: subj, From: from, To: to, Reason: "r"}})
	synctest.Wait()
}

func wantLines(t *testing.T, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("notices\n got %q\nwant %q", got, want)
	}
}

func TestDelayRepeatAndRecovery(t *testing.T) {
	rule := Rule{Name: "crit", To: []string{"critical"}, Modules: []string{"mail"},
		Delay: 2 * time.Minute, Repeat: 30 * time.Minute, Recovery: true}
	bubble(t, Config{Rules: []Rule{rule}}, func(m *Manager, rec *recorder) {
		// A blip shorter than the delay: nothing.
		change(m, check("web1"), 0, 3)
		time.Sleep(time.Minute)
		change(m, check("web1"), 3, 0)
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		wantLines(t, rec.take())

		// Critical for good: fires after the delay, repeats every 30 min,
		// then recovers.
		change(m, check("web1"), 0, 3)
		time.Sleep(65 * time.Minute)
		synctest.Wait()
		change(m, check("web1"), 3, 0)
		wantLines(t, rec.take(),
			"8m0s mail firing web1 critical",
			"38m0s mail firing web1 critical repeat 1",
			"1h8m0s mail firing web1 critical repeat 2",
			"1h11m0s mail resolved web1 ok repeat 2")
	})
}

func TestAcknowledgementStopsRepeatsAndEscalations(t *testing.T) {
	rule := Rule{Name: "crit", To: []string{"critical"}, Modules: []string{"mail"}, Repeat: 10 * time.Minute, Recovery: true,
		Escalations: []Escalation{{After: 15 * time.Minute, Modules: []string{"pager"}}, {After: time.Hour, Modules: []string{"boss"}}}}
	bubble(t, Config{Rules: []Rule{rule}}, func(m *Manager, rec *recorder) {
		ctx := context.Background()
		change(m, check("db1"), 0, 3)
		time.Sleep(20 * time.Minute)
		synctest.Wait()
		if err := m.Acknowledge(ctx, SubjectKey(check("db1")), Ack{By: "ann", Comment: "replacing the disk", Expires: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		alerts, err := m.Alerts(ctx)
		if err != nil || len(alerts) != 1 || alerts[0].Ack == nil || alerts[0].Ack.By != "ann" {
			t.Fatalf("alerts %+v, %v: want one, acknowledged by ann", alerts, err)
		}
		// Acknowledged at 20 min: no repeats, no escalation to the boss, for
		// the hour.
		time.Sleep(59 * time.Minute)
		synctest.Wait()
		wantLines(t, rec.take(),
			"0s mail firing db1 critical",
			"10m0s mail firing db1 critical repeat 1",
			"15m0s pager firing db1 critical repeat 1 step 1",
			"20m0s mail firing db1 critical repeat 2",
			"20m0s pager firing db1 critical repeat 2 step 1")
		// The acknowledgement expires at 80 min: the missed escalation and a
		// repeat follow at once.
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		wantLines(t, rec.take(),
			"1h20m0s mail firing db1 critical repeat 3",
			"1h20m0s pager firing db1 critical repeat 3 step 1",
			"1h20m0s boss firing db1 critical repeat 3 step 2")
		change(m, check("db1"), 3, 0)
		wantLines(t, rec.take(),
			"1h21m0s boss resolved db1 ok repeat 3 step 2",
			"1h21m0s mail resolved db1 ok repeat 3",
			"1h21m0s pager resolved db1 ok repeat 3 step 1")
	})
}

func TestSilenceSuppressesThenNotifiesWhenItEnds(t *testing.T) {
	rule := Rule{Name: "any", To: []string{"major", "critical"}, Modules: []string{"hook"}, Recovery: true}
	bubble(t, Config{}, func(m *Manager, rec *recorder) {
		now := time.Now()
		cfg := Config{Rules: []Rule{rule}, Silences: []Silence{
			{Name: "patching", Scope: Scope{Hosts: []string{"web1"}}, Start: now, End: now.Add(30 * time.Minute)},
		}}
		if err := m.SetConfig(context.Background(), cfg); err != nil {
			t.Fatal(err)
		}
		change(m, check("web1"), 0, 3) // silenced
		change(m, check("web2"), 0, 2) // not in the silence's scope
		change(m, check("web3"), 0, 3) // not silenced either: fires and recovers
		time.Sleep(10 * time.Minute)
		change(m, check("web3"), 3, 0)
		change(m, check("web1"), 3, 2) // still in the rule, still silenced
		alerts, _ := m.Alerts(context.Background())
		if len(alerts) != 2 || alerts[1].Subject.Host != "web2" || alerts[0].Silenced != "patching" {
			t.Errorf("alerts %+v", alerts)
		}
		time.Sleep(25 * time.Minute)
		synctest.Wait()
		wantLines(t, rec.take(),
			"0s hook firing web2 major",
			"0s hook firing web3 critical",
			"10m0s hook resolved web3 ok",
			"30m0s hook firing web1 major")
	})
}

func TestWeeklyMaintenanceWindow(t *testing.T) {
	loc := time.UTC
	w := Silence{Name: "sunday-night", Weekly: &Weekly{Days: []time.Weekday{time.Sunday}, At: 23 * time.Hour, Duration: 3 * time.Hour, Location: loc}}
	if err := w.Validate(); err != nil {
		t.Fatal(err)
	}
	sun := time.Date(2026, 11, 22, 0, 0, 0, 0, loc) // a Sunday
	for _, tc := range []struct {
		at   time.Time
		want bool
	}{
		{sun.Add(22 * time.Hour), false},
		{sun.Add(23 * time.Hour), true},
		{sun.Add(25*time.Hour + 59*time.Minute), true}, // Monday 01:59
		{sun.Add(26 * time.Hour), false},
		{sun.Add(7*24*time.Hour + 23*time.Hour + time.Minute), true},
	} {
		if got := w.Active(tc.at); got != tc.want {
			t.Errorf("Active(%s) = %v, want %v", tc.at.Format(time.RFC3339), got, tc.want)
		}
	}
	if got, want := w.Next(sun.Add(12*time.Hour)), sun.Add(23*time.Hour); !got.Equal(want) {
		t.Errorf("Next = %s, want %s", got, want)
	}
	if got, want := w.Next(sun.Add(24*time.Hour)), sun.Add(26*time.Hour); !got.Equal(want) {
		t.Errorf("Next inside = %s, want %s", got, want)
	}
	for _, bad := range []Silence{
		{Name: "x", Start: sun, End: sun},
		{Name: "x", Weekly: &Weekly{Duration: time.Hour}},
		{Name: "x", Weekly: &Weekly{Days: []time.Weekday{1}, At: 25 * time.Hour, Duration: time.Hour}},
		{Name: "x", Weekly: &Weekly{Days: []time.Weekday{1}, Duration: 8 * 24 * time.Hour}},
	} {
		if bad.Validate() == nil {
			t.Errorf("%+v validated", bad)
		}
	}
}

func TestMatching(t *testing.T) {
	rules := []Rule{
		{Name: "prod-daytime", To: []string{"critical"}, Modules: []string{"sms"},
			Condition: `subject.labels.env == "prod" && hour(now) >= 8 && hour(now) < 20`},
		{Name: "recovered", From: []string{"critical"}, To: []string{"ok"}, Modules: []string{"chat"}},
		{Name: "shop", To: []string{"failed"}, Scope: Scope{Services: []string{"shop"}}, Modules: []string{"pager"}, Recovery: true},
		{Name: "disk-trend", Scope: Scope{TrendRules: []string{"disk-full"}}, To: []string{"major", "critical"}, Modules: []string{"mail"}},
	}
	cfg := Config{Rules: rules, HostLabels: map[string]map[string]string{"web1": {"env": "prod"}, "dev1": {"env": "dev"}}}
	bubble(t, cfg, func(m *Manager, rec *recorder) {
		// The bubble starts at 2000-01-01 00:00 UTC; move to 09:00.
		time.Sleep(9 * time.Hour)
		change(m, check("web1"), 0, 3)
		change(m, check("dev1"), 0, 3)
		change(m, check("web1"), 3, 0) // recovered: a one-shot to chat
		change(m, check("dev1"), 2, 0) // not from critical
		change(m, store.Subject{Kind: "service", Service: "shop"}, 0, 2)
		change(m, store.Subject{Kind: "service", Service: "mail"}, 0, 2)
		change(m, store.Subject{Kind: "trend", Rule: "disk-full", Host: "db1", Labels: map[string]string{"device": "sda"}}, 0, 3)
		time.Sleep(12 * time.Hour) // 21:00: outside the condition's hours
		change(m, check("web1"), 0, 3)
		wantLines(t, rec.take(),
			"9h0m0s sms firing web1 critical",
			"9h0m0s chat firing web1 ok",
			"9h0m0s pager firing  failed",
			"9h0m0s mail firing db1 critical")
		alerts, _ := m.Alerts(context.Background())
		var ids []string
		for _, a := range alerts {
			ids = append(ids, a.ID)
		}
		want := []string{`disk-trend/trend/disk-full/{device="sda"}`, "shop/service/shop"}
		if !slices.Equal(ids, want) {
			t.Errorf("open alerts %q, want %q (the one-shot and the recovered closed)", ids, want)
		}
	})
	if err := CheckCondition(`subject.labels.env ==`); err == nil || !strings.Contains(err.Error(), "unexpected") {
		t.Errorf("bad condition: %v", err)
	}
	if err := CheckCondition(`hour(now) + 1`); err == nil {
		t.Error("a condition that is not boolean compiled")
	}
}
