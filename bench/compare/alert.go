package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"net"
	"net/http"
	"slices"
	"time"
)

// alertConfig is the flags of part alert: end-to-end alert latency, Prophasis
// (result POSTed → webhook received, under background load through the agent
// API) against Prometheus + Alertmanager (gauge flipped in a scraped exporter
// → Alertmanager's webhook received), issue 5.
type alertConfig struct {
	alertmanagerBin string
	rate            int           // background results/s on Prophasis
	hosts           int           // simulated hosts carrying the background load
	batch           int           // results per request
	conns           int           // connections the background load is spread over
	duration        time.Duration // measured length of the Prophasis side
	flipEvery       time.Duration // one host turns critical this often
	promFlips       int           // flips per Prometheus run
	promSpacing     time.Duration // between two flips with Alertmanager's defaults
	promFloorSpace  time.Duration // between two flips with group_wait 0s
}

func (a *alertConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.alertmanagerBin, "alertmanager", "/usr/bin/prometheus-alertmanager", "Alertmanager for the alert part (Debian's 0.25: apt-get install prometheus-alertmanager)")
	fs.IntVar(&a.rate, "alert-rate", 20_000, "background results/s pushed to Prophasis in the alert part (issue 5: 20k)")
	fs.IntVar(&a.hosts, "alert-hosts", 2000, "simulated hosts carrying the alert part's background load")
	fs.IntVar(&a.batch, "alert-batch", 200, "results per request in the alert part")
	fs.IntVar(&a.conns, "alert-conns", 4, "connections the alert part's background load is spread over")
	fs.DurationVar(&a.duration, "alert-duration", 30*time.Second, "measured length of the alert part's Prophasis side")
	fs.DurationVar(&a.flipEvery, "alert-flip-every", 100*time.Millisecond, "one host turns critical this often (each one notification)")
	fs.IntVar(&a.promFlips, "alert-prom-flips", 6, "alerts per Prometheus + Alertmanager run (a distinct flip label each, in parallel)")
	// Not whole seconds: the flips then fall at different points of the 1 s
	// scrape and evaluation cycles, rather than all at the same one.
	fs.DurationVar(&a.promSpacing, "alert-prom-spacing", 4200*time.Millisecond, "between two flips with Alertmanager's default group_wait (30s)")
	fs.DurationVar(&a.promFloorSpace, "alert-prom-floor-spacing", 2200*time.Millisecond, "between two flips with group_wait 0s")
}

func (a *alertConfig) check() error {
	switch {
	case a.rate <= 0 || a.hosts <= 0 || a.batch <= 0 || a.conns <= 0:
		return errors.New("--alert-rate, --alert-hosts, --alert-batch and --alert-conns must be positive")
	case a.hosts%a.batch != 0:
		return fmt.Errorf("--alert-hosts (%d) must be a multiple of --alert-batch (%d)", a.hosts, a.batch)
	case a.duration < time.Second || a.flipEvery <= 0:
		return errors.New("--alert-duration must be at least 1s and --alert-flip-every positive")
	case a.promFlips <= 0 || a.promSpacing < 0 || a.promFloorSpace < 0:
		return errors.New("--alert-prom-flips must be positive")
	}
	return nil
}

// atMost is met when the Prophasis figure is <= x.
func atMost(x float64, text string) *goal {
	return &goal{text, func(r row) bool { return r.prophasis <= x }}
}

// latencies are measured delays, in the order they came.
type latencies []time.Duration

// q returns the p-quantile in ms (nearest rank), NaN if empty.
func (l latencies) q(p float64) float64 {
	if len(l) == 0 {
		return math.NaN()
	}
	s := slices.Clone(l)
	slices.Sort(s)
	return ms(s[int(math.Ceil(p*float64(len(s))))-1+boolInt(p == 0)])
}

func (l latencies) max() float64 {
	if len(l) == 0 {
		return math.NaN()
	}
	return ms(slices.Max(l))
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// receiver is an HTTP server in the harness that webhooks are sent to.
type receiver struct {
	url string
	srv *http.Server
}

func startReceiver(h http.Handler) (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("webhook receiver: %w", err)
	}
	r := &receiver{url: "http://" + ln.Addr().String(), srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

func (r *receiver) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = r.srv.Shutdown(ctx)
}

// runAlertPhase is part alert: each side on its own, in the --order given.
func runAlertPhase(ctx context.Context, cfg *config, out *results) error {
	var ph *prophasisAlert
	var def, floor *promAlert
	for _, name := range cfg.order {
		var err error
		if name == "prophasis" {
			ph, err = runProphasisAlert(ctx, cfg)
		} else {
			def, err = runPromAlert(ctx, cfg, false)
			if err == nil {
				floor, err = runPromAlert(ctx, cfg, true)
			}
		}
		if err != nil {
			return err
		}
	}
	out.add(row{key: "alert_p50_ms", label: "alert latency p50 (ms); Prometheus+AM defaults (group_wait 30s)",
		prophasis: ph.firing.q(0.5), prometheus: def.lat.q(0.5)})
	out.add(row{key: "alert_p99_ms", label: "alert latency p99 (ms); Prometheus+AM defaults: max",
		prophasis: ph.firing.q(0.99), prometheus: def.lat.max(), goal: atMost(50, "p99 <= 50 ms")})
	out.add(row{key: "alert_floor_p50_ms", label: "alert latency p50 (ms); Prometheus+AM group_wait 0s",
		prophasis: ph.firing.q(0.5), prometheus: floor.lat.q(0.5)})
	out.add(row{key: "alert_floor_max_ms", label: "alert latency max (ms); Prometheus+AM group_wait 0s",
		prophasis: ph.firing.max(), prometheus: floor.lat.max()})
	nan := math.NaN()
	out.add(row{key: "alert_resolved_p99_ms", label: "  recovery notification p99 (ms)", prophasis: ph.resolved.q(0.99), prometheus: nan})
	out.add(row{key: "alert_notifications", label: "  notifications measured", prophasis: float64(len(ph.firing)), prometheus: nan})
	out.add(row{key: "alert_background_results_per_second", label: "  background results/s during the alert part",
		prophasis: ph.rate, prometheus: nan})
	out.note("alert part, Prophasis: result POST sent -> webhook received, a threshold classifier (value > 90 => critical), rule to [critical] with delay 0; "+
		"background %d results/s asked (%.0f sustained) from %d hosts in batches of %d over %d connections, one host critical every %s for %s, each recovering 100 ms later; %d of %d flips notified, %d batch(es) skipped as the sender fell behind, %d failed",
		cfg.alert.rate, ph.rate, cfg.alert.hosts, cfg.alert.batch, cfg.alert.conns, cfg.alert.flipEvery, cfg.alert.duration, len(ph.firing), ph.flips, ph.skipped, ph.failed)
	out.note("alert part, Prometheus+AM: gauge flipped in an exporter in the harness -> Alertmanager's webhook received; scrape and evaluation interval 1s, rule `bench_gauge > 90` for 0s, group_by [flip] (each flip its own group); "+
		"defaults run: %d of %d alerts notified, flips %s apart, p50 %.0f ms max %.0f ms; group_wait 0s/group_interval 1s run: %d of %d, flips %s apart, p50 %.0f ms max %.0f ms",
		len(def.lat), cfg.alert.promFlips, cfg.alert.promSpacing, def.lat.q(0.5), def.lat.max(), len(floor.lat), cfg.alert.promFlips, cfg.alert.promFloorSpace, floor.lat.q(0.5), floor.lat.max())
	return nil
}

// decodeJSON decodes a request body into v.
func decodeJSON(r *http.Request, v any) error {
	defer r.Body.Close()
	return json.NewDecoder(r.Body).Decode(v)
}
