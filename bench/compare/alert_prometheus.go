package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// promAlert is what one Prometheus + Alertmanager run measured.
type promAlert struct {
	lat latencies
}

// runPromAlert measures Prometheus + Alertmanager: an exporter in the
// harness exposes bench_gauge{flip="n"} for each flip, Prometheus scrapes it
// and evaluates `bench_gauge > 90` every second and sends to a fresh
// Alertmanager whose only route (group_by [flip], so each flip is its own
// group) is a webhook to the harness. Flips are spaced so they run in
// parallel: one window of about group_wait plus the spread yields all of
// them. floor sets group_wait 0s and group_interval 1s; otherwise
// Alertmanager's defaults (group_wait 30s) apply.
func runPromAlert(ctx context.Context, cfg *config, floor bool) (*promAlert, error) {
	a := cfg.alert
	what, spacing, wait := "Alertmanager defaults (group_wait 30s)", a.promSpacing, 50*time.Second
	if floor {
		what, spacing, wait = "group_wait 0s, group_interval 1s", a.promFloorSpace, 20*time.Second
	}
	fmt.Fprintf(cfg.progress, "alert part: prometheus + alertmanager, %s, %d flips %s apart\n", what, a.promFlips, spacing)

	var mu sync.Mutex
	values := make([]float64, a.promFlips)
	flipped := make([]time.Time, a.promFlips)
	got := make([]bool, a.promFlips)
	res := &promAlert{}
	scrapes := 0
	exp, err := startReceiver(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		b.WriteString("# HELP bench_gauge The alert part's gauge.\n# TYPE bench_gauge gauge\n")
		mu.Lock()
		scrapes++
		for n, v := range values {
			fmt.Fprintf(&b, "bench_gauge{flip=\"%d\"} %g\n", n, v)
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte(b.String()))
	}))
	if err != nil {
		return nil, err
	}
	defer exp.close()
	rcv, err := startReceiver(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		var msg struct {
			Alerts []struct {
				Status string            `json:"status"`
				Labels map[string]string `json:"labels"`
			} `json:"alerts"`
		}
		if err := decodeJSON(r, &msg); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		for _, al := range msg.Alerts {
			n, err := strconv.Atoi(al.Labels["flip"])
			if err != nil || n < 0 || n >= len(got) || al.Status != "firing" || got[n] || flipped[n].IsZero() {
				continue
			}
			got[n] = true
			res.lat = append(res.lat, now.Sub(flipped[n]))
		}
		mu.Unlock()
	}))
	if err != nil {
		return nil, err
	}
	defer rcv.close()

	am, err := startAlertmanager(ctx, cfg, rcv.url+"/am", floor)
	if err != nil {
		return nil, err
	}
	defer am.stop()
	prom, err := startAlertingPrometheus(ctx, cfg, strings.TrimPrefix(exp.url, "http://"), strings.TrimPrefix(am.url, "http://"))
	if err != nil {
		return nil, err
	}
	defer prom.stop()

	// Wait for a few scrapes, so the flips meet a running scrape loop.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		mu.Lock()
		n := scrapes
		mu.Unlock()
		if n >= 3 {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("alert part: prometheus did not scrape the exporter in 30 s; its log:\n%s", prom.logTail())
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	for n := range a.promFlips {
		if n > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(spacing):
			}
		}
		mu.Lock()
		values[n], flipped[n] = 100, time.Now()
		mu.Unlock()
	}
	for deadline := time.Now().Add(wait); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		mu.Lock()
		done := len(res.lat) == a.promFlips
		mu.Unlock()
		if done {
			break
		}
	}
	for _, s := range []*server{prom, am} {
		if err := s.alive(); err != nil {
			return nil, err
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(res.lat) == 0 {
		return nil, fmt.Errorf("alert part: no webhook from alertmanager (%s); its log:\n%s\nprometheus's log:\n%s", what, am.logTail(), prom.logTail())
	}
	fmt.Fprintf(cfg.progress, "  prometheus + alertmanager (%s): %d of %d alerts notified, p50 %.0f ms, max %.0f ms\n",
		what, len(res.lat), a.promFlips, res.lat.q(0.5), res.lat.max())
	return res, nil
}

// startAlertmanager starts a fresh, non-clustered Alertmanager whose only
// route sends to hook.
func startAlertmanager(ctx context.Context, cfg *config, hook string, floor bool) (*server, error) {
	dir, err := os.MkdirTemp(cfg.workDir, "alertmanager-")
	if err != nil {
		return nil, fmt.Errorf("alertmanager data dir: %w", err)
	}
	route := "  receiver: bench\n  group_by: [flip]\n"
	if floor {
		route += "  group_wait: 0s\n  group_interval: 1s\n"
	}
	conf := "route:\n" + route + "receivers:\n  - name: bench\n    webhook_configs:\n      - url: " + hook + "\n        send_resolved: false\n"
	file := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		return nil, fmt.Errorf("alertmanager config: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	s := &server{name: "alertmanager", url: "http://" + addr, dataDir: dir, logger: cfg.logger}
	if err := s.start(cfg.alert.alertmanagerBin,
		"--config.file="+file,
		"--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--cluster.listen-address=", // no gossip: nothing to wait for
		"--log.level=warn",
	); err != nil {
		return nil, err
	}
	if err := s.waitReady(ctx, nil); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// startAlertingPrometheus starts a fresh Prometheus scraping target and
// evaluating `bench_gauge > 90` every second, sending to the Alertmanager at
// am.
func startAlertingPrometheus(ctx context.Context, cfg *config, target, am string) (*server, error) {
	dir, err := os.MkdirTemp(cfg.workDir, "prometheus-alert-")
	if err != nil {
		return nil, fmt.Errorf("prometheus data dir: %w", err)
	}
	rules := filepath.Join(dir, "rules.yml")
	if err := os.WriteFile(rules, []byte("groups:\n  - name: bench\n    rules:\n      - alert: GaugeHigh\n        expr: bench_gauge > 90\n        for: 0s\n"), 0o600); err != nil {
		return nil, fmt.Errorf("prometheus rules: %w", err)
	}
	conf := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%q]
alerting:
  alertmanagers:
    - static_configs:
        - targets: [%q]
scrape_configs:
  - job_name: bench
    static_configs:
      - targets: [%q]
`, rules, am, target)
	file := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		return nil, fmt.Errorf("prometheus config: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	s := &server{name: "prometheus", url: "http://" + addr, dataDir: dir, logger: cfg.logger}
	if err := s.start(cfg.prometheusBin,
		"--config.file="+file,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn",
	); err != nil {
		return nil, err
	}
	if err := s.waitReady(ctx, nil); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}
