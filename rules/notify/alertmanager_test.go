package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// alertmanagerPath is Debian's Alertmanager (package
// prometheus-alertmanager, which .ci/run installs). The test needs it, so
// the compatibility it checks is never silently untested.
const alertmanagerPath = "/usr/bin/prometheus-alertmanager"

// freePort returns a loopback address nobody listens on (for a moment).
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startAlertmanager runs the real Alertmanager on loopback until the test
// ends and returns its base URL.
func startAlertmanager(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath(alertmanagerPath); err != nil {
		t.Fatalf("Alertmanager is required (apt-get install prometheus-alertmanager): %v", err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yml")
	os.WriteFile(cfg, []byte("route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n"), 0o600)
	addr := freePort(t)
	cmd := exec.Command(alertmanagerPath, "--config.file="+cfg, "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--cluster.listen-address=", "--log.level=warn")
	out, _ := os.Create(filepath.Join(dir, "log"))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	base := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return base
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			t.Fatalf("Alertmanager not ready at %s: %v\n%s", base, err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// gettableAlert is what GET /api/v2/alerts returns, in part.
type gettableAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Status       struct {
		State string `json:"state"`
	} `json:"status"`
}

func amAlerts(t *testing.T, base string) map[string]gettableAlert {
	t.Helper()
	resp, err := http.Get(base + "/api/v2/alerts")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list []gettableAlert
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	out := map[string]gettableAlert{}
	for _, a := range list {
		out[a.Labels["alertname"]+"/"+a.Labels["severity"]] = a
	}
	return out
}

func TestAlertmanagerReal(t *testing.T) {
	base := startAlertmanager(t)
	down := "http://" + freePort(t)
	am, err := NewAlertmanager(AlertmanagerConfig{URLs: []string{down, base}, BearerToken: "tok3n"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	a := testAlert()
	a.State, a.Since, a.Time = "major", now.Add(-10*time.Minute), now
	send := func(a Alert) {
		t.Helper()
		if retry, err := am.Notify(context.Background(), a); err != nil {
			t.Fatalf("Notify (one of two Alertmanagers up): %v %v", retry, err)
		}
	}
	send(a)
	got := amAlerts(t, base)
	m, ok := got["disk-full/major"]
	if !ok || len(got) != 1 {
		t.Fatalf("alerts %+v", got)
	}
	wantLabels := map[string]string{"alertname": "disk-full", "severity": "major", "kind": "check", "host": "web1", "plugin": "res", "check": "disk", "env": "prod"}
	if fmt.Sprint(m.Labels) != fmt.Sprint(wantLabels) {
		t.Fatalf("labels %v, want %v", m.Labels, wantLabels)
	}
	if m.Annotations["summary"] != "[MAJOR] web1 disk/res: ok → major" || m.Annotations["description"] != "disk 97% full" || m.Annotations["prophasis_id"] != a.ID {
		t.Fatalf("annotations %v", m.Annotations)
	}
	if !m.StartsAt.Equal(a.Since) || m.EndsAt.Sub(now) != 24*time.Hour || m.GeneratorURL != a.URL || m.Status.State != "active" {
		t.Fatalf("alert %+v", m)
	}

	// major → critical: the critical alert fires, the major one ends.
	a.From, a.State = "major", "critical"
	send(a)
	got = amAlerts(t, base)
	if c, ok := got["disk-full/critical"]; !ok || c.Status.State != "active" {
		t.Fatalf("after escalation: %+v", got)
	}
	// Alertmanager may list an ended alert until it collects it; ended
	// is what matters.
	if m, ok := got["disk-full/major"]; ok && m.EndsAt.After(time.Now()) {
		t.Fatalf("the major alert did not end: %+v", m)
	}

	// Recovery ends the critical one.
	// Prophasis's clock 20 s ahead of Alertmanager's must not matter.
	a.Status, a.From, a.State, a.Since, a.Time = StatusResolved, "critical", "ok", now.Add(20*time.Second), now.Add(20*time.Second)
	send(a)
	for k, m := range amAlerts(t, base) {
		if m.EndsAt.After(time.Now()) {
			t.Fatalf("%s still firing after the recovery: %+v", k, m)
		}
	}
}

func TestAlertmanagerDown(t *testing.T) {
	am, _ := NewAlertmanager(AlertmanagerConfig{URLs: []string{"http://" + freePort(t) + "/am"}, Username: "u", Password: "hunter2"})
	retry, err := am.Notify(context.Background(), testAlert())
	if err == nil || !retry || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "/am/api/v2/alerts") {
		t.Fatalf("down: %v %v", retry, err)
	}
}

func TestAlertmanagerPayload(t *testing.T) {
	am, _ := NewAlertmanager(AlertmanagerConfig{URLs: []string{"http://am:9093"}})
	a := testAlert()
	a.Subject.Labels = map[string]string{"host": "overridden", "team.name": "db", "9lives": "x"}
	b, _ := am.Payload(a)
	var alerts []amAlert
	json.Unmarshal(b, &alerts)
	if len(alerts) != 1 {
		t.Fatalf("%s", b)
	}
	l := alerts[0].Labels
	if l["host"] != "web1" || l["team_name"] != "db" || l["_lives"] != "x" || l["severity"] != "critical" {
		t.Fatalf("labels %v", l)
	}
	a.Status, a.From, a.State = StatusResolved, "critical", "ok"
	b, _ = am.Payload(a)
	alerts = nil
	json.Unmarshal(b, &alerts)
	if len(alerts) != 1 || alerts[0].Labels["severity"] != "critical" || !alerts[0].EndsAt.Equal(a.Time.Add(-time.Minute)) ||
		alerts[0].StartsAt.After(alerts[0].EndsAt) {
		t.Fatalf("resolved: %s", b)
	}
}
