package promapi

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/prophasis/prophasis/rules/alert"
	"github.com/prophasis/prophasis/store"
)

// alerting is a real alert manager with a fixed list of rule definitions.
type alerting struct {
	*alert.Manager
	defs []store.AlertRule
}

func (a alerting) AlertRules(context.Context) ([]store.AlertRule, error) { return a.defs, nil }

type nopSender struct{}

func (nopSender) Send(string, alert.Notice) {}

// TestAlertsAndRulesWithTheGoClient: client_golang's Alerts and Rules parse
// what /alerts and /rules serve, with the manager's open alerts in them.
func TestAlertsAndRulesWithTheGoClient(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := alert.New(nopSender{}, nil, slog.New(slog.DiscardHandler), alert.Options{})
	go m.Run(ctx)
	defs := []store.AlertRule{
		{Name: "disk-critical", Description: "a disk is critical", To: []string{"critical"}, Modules: []string{"mail"}},
		{Name: "slow", To: []string{"major"}, Delay: store.Duration(time.Hour), Modules: []string{"mail"}},
		{Name: "quiet", To: []string{"minor"}, Modules: []string{"mail"}},
	}
	if err := m.SetConfig(ctx, alert.Config{Rules: []alert.Rule{
		{Name: "disk-critical", To: []string{"critical"}, Modules: []string{"mail"}},
		{Name: "slow", To: []string{"major", "critical"}, Delay: time.Hour, Modules: []string{"mail"}},
		{Name: "quiet", To: []string{"minor"}, Modules: []string{"mail"}},
	}}); err != nil {
		t.Fatal(err)
	}
	m.Events([]store.Event{{Kind: "state", From: 0, To: 3, Reason: "DISK CRITICAL - /var 97%",
		Subject: store.Subject{Kind: "check", Host: "web1", Plugin: "disk", Check: "res"}}})
	if _, err := m.Alerts(ctx); err != nil { // waits for the event
		t.Fatal(err)
	}

	db := openDB(t)
	srv := httptest.NewServer(newRouter(t, db, func(d *Deps) { d.Alerting = alerting{m, defs} }))
	defer srv.Close()
	api := v1.NewAPI(newClient(t, srv))

	res, err := api.Alerts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Alerts) != 2 {
		t.Fatalf("alerts %+v, want disk-critical firing and slow pending", res.Alerts)
	}
	byName := map[string]v1.Alert{}
	for _, a := range res.Alerts {
		byName[string(a.Labels["alertname"])] = a
	}
	fire := byName["disk-critical"]
	if fire.State != v1.AlertStateFiring || fire.Labels["host"] != "web1" || fire.Labels["severity"] != "critical" ||
		fire.Annotations["summary"] != model.LabelValue("DISK CRITICAL - /var 97%") || fire.Value != "3e+00" {
		t.Errorf("firing alert %+v", fire)
	}
	if byName["slow"].State != v1.AlertStatePending {
		t.Errorf("delayed alert %+v, want pending", byName["slow"])
	}

	rules, err := api.Rules(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rules.Groups) != 1 || len(rules.Groups[0].Rules) != 3 {
		t.Fatalf("rules %+v, want one group of three", rules)
	}
	states := map[string]string{}
	for _, r := range rules.Groups[0].Rules {
		ar, ok := r.(v1.AlertingRule)
		if !ok {
			t.Fatalf("rule %T, want an alerting rule", r)
		}
		states[ar.Name] = ar.State
		if ar.Name == "slow" && ar.Duration != 3600 {
			t.Errorf("slow's duration %v, want its delay of 3600 s", ar.Duration)
		}
	}
	if states["disk-critical"] != "firing" || states["slow"] != "pending" || states["quiet"] != "inactive" {
		t.Errorf("rule states %v", states)
	}

	// Without an alert manager both answer empty, never an error.
	bare := httptest.NewServer(newRouter(t, db, nil))
	defer bare.Close()
	if res, err := v1.NewAPI(newClient(t, bare)).Alerts(ctx); err != nil || len(res.Alerts) != 0 {
		t.Errorf("bare /alerts: %+v, %v", res, err)
	}
}
