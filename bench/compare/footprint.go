package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The footprint part: prophasis-agent running 20 plugins every 60 s (the
// nine built-in collectors and eleven Debian Nagios plugins), enrolled with
// a real server, against Debian's prometheus-node-exporter scraped every
// 60 s, side by side in the same run: resident memory while idle (median of
// one sample a second) and at peak (VmHWM), and CPU.

// footprintPlugins are the agent's 20 plugins: name, kind, entrypoint, args.
var footprintPlugins = [][]string{
	{"uptime", "builtin", "uptime"}, {"load", "builtin", "load"}, {"memory", "builtin", "memory"},
	{"cpu", "builtin", "cpu"}, {"network", "builtin", "network"}, {"disk", "builtin", "disk"},
	{"users", "builtin", "users"}, {"processes", "builtin", "processes"}, {"syslog", "builtin", "syslog"},
	{"check_load", "nagios", "/usr/lib/nagios/plugins/check_load", "-w", "50,50,50", "-c", "100,100,100"},
	{"check_disk", "nagios", "/usr/lib/nagios/plugins/check_disk", "-w", "10%", "-c", "5%", "-p", "/"},
	{"check_procs", "nagios", "/usr/lib/nagios/plugins/check_procs"},
	{"check_users", "nagios", "/usr/lib/nagios/plugins/check_users", "-w", "50", "-c", "100"},
	{"check_swap", "nagios", "/usr/lib/nagios/plugins/check_swap", "-w", "0%", "-c", "0%"},
	{"check_dummy_1", "nagios", "/usr/lib/nagios/plugins/check_dummy", "0", "one"},
	{"check_dummy_2", "nagios", "/usr/lib/nagios/plugins/check_dummy", "0", "two"},
	{"check_dummy_3", "nagios", "/usr/lib/nagios/plugins/check_dummy", "0", "three"},
	{"check_dummy_4", "nagios", "/usr/lib/nagios/plugins/check_dummy", "1", "four"},
	{"check_dummy_5", "nagios", "/usr/lib/nagios/plugins/check_dummy", "2", "five"},
	{"check_dummy_6", "nagios", "/usr/lib/nagios/plugins/check_dummy", "0", "six"},
}

func runFootprintPhase(ctx context.Context, cfg *config, out *results) error {
	agentBin := filepath.Join(filepath.Dir(cfg.prophasisBin), "prophasis-agent")
	if _, err := exec.LookPath(agentBin); err != nil {
		return fmt.Errorf("agent binary %s: %w (build it beside prophasis)", agentBin, err)
	}
	if _, err := exec.LookPath(cfg.nodeExporterBin); err != nil {
		return fmt.Errorf("node_exporter %s: %w (apt-get install prometheus-node-exporter)", cfg.nodeExporterBin, err)
	}
	s, err := startProphasis(ctx, cfg.prophasisBin, cfg.workDir, cfg.logger)
	if err != nil {
		return err
	}
	defer s.stop()
	api := func(method, path string, body any, into any) error {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequestWithContext(ctx, method, s.url+"/manage/v1"+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+s.token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, raw)
		}
		if into != nil {
			var env struct{ Data json.RawMessage }
			if err := json.Unmarshal(raw, &env); err != nil {
				return err
			}
			return json.Unmarshal(env.Data, into)
		}
		return nil
	}
	var enr struct{ Token string }
	if err := api("POST", "/enrollments", map[string]string{"host": "bench-agent"}, &enr); err != nil {
		return err
	}
	agentDir := filepath.Join(cfg.workDir, "agent")
	agent := &server{name: "prophasis-agent", url: s.url, dataDir: agentDir, logger: cfg.logger}
	if err := os.MkdirAll(agentDir, 0o700); err != nil {
		return err
	}
	if err := agent.start(agentBin, "--server", s.url, "--allow-http", "--enroll-token", enr.Token,
		"--data-dir", agentDir, "--host", "bench-agent", "--log-level", "warn"); err != nil {
		return err
	}
	defer agent.stop()
	names := make([]string, 0, len(footprintPlugins))
	for _, p := range footprintPlugins {
		body := map[string]any{"name": p[0], "kind": p[1], "entrypoint": p[2]}
		if len(p) > 3 {
			body["args"] = p[3:]
		}
		if err := api("POST", "/plugins", body, nil); err != nil {
			return err
		}
		names = append(names, p[0])
	}
	// The host exists once the agent has enrolled.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(agentDir, "agent.json")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the agent did not enrol within 30 s:\n%s", agent.logTail())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := api("POST", "/schedules", map[string]any{"name": "minutely", "intervals": []map[string]any{{"period": "60s"}}}, nil); err != nil {
		return err
	}
	if err := api("POST", "/checks", map[string]any{"name": "footprint", "plugins": names, "hosts": []string{"bench-agent"}, "schedule": "minutely"}, nil); err != nil {
		return err
	}

	port, err := freePort()
	if err != nil {
		return err
	}
	neDir := filepath.Join(cfg.workDir, "node_exporter")
	if err := os.MkdirAll(neDir, 0o700); err != nil {
		return err
	}
	ne := &server{name: "node_exporter", url: fmt.Sprintf("http://127.0.0.1:%d", port), dataDir: neDir, logger: cfg.logger}
	if err := ne.start(cfg.nodeExporterBin, fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port)); err != nil {
		return err
	}
	defer ne.stop()
	scrape := func() {
		if resp, err := http.Get(ne.url + "/metrics"); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}

	fmt.Fprintf(cfg.progress, "footprint: prophasis-agent with %d plugins every 60 s and node_exporter scraped every 60 s, for %s\n",
		len(footprintPlugins), cfg.footprintDuration)
	agentCPU, neCPU := startCPU(agent.pid()), startCPU(ne.pid())
	var agentRSS, neRSS []float64
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	end := time.Now().Add(cfg.footprintDuration)
	lastScrape := time.Time{}
	for time.Now().Before(end) {
		if time.Since(lastScrape) >= time.Minute {
			scrape()
			lastScrape = time.Now()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		if err := agent.alive(); err != nil {
			return fmt.Errorf("agent died: %w\n%s", err, agent.logTail())
		}
		if m, err := readMemory(agent.pid()); err == nil {
			agentRSS = append(agentRSS, float64(m.Now)/(1<<20))
		}
		if m, err := readMemory(ne.pid()); err == nil {
			neRSS = append(neRSS, float64(m.Now)/(1<<20))
		}
	}
	aPeak, err := readMemory(agent.pid())
	if err != nil {
		return err
	}
	nPeak, err := readMemory(ne.pid())
	if err != nil {
		return err
	}
	aCores, _ := agentCPU.cores()
	nCores, _ := neCPU.cores()
	out.add(row{key: "agent_idle_rss_mib", label: "agent idle RSS (MiB; peer: node_exporter)", prophasis: median(agentRSS), prometheus: median(neRSS),
		goal: &goal{"<= 12 MiB", func(r row) bool { return r.prophasis <= 12 }}})
	out.add(row{key: "agent_peak_rss_mib", label: "agent peak RSS (MiB; peer: node_exporter)", prophasis: float64(aPeak.Peak) / (1 << 20), prometheus: float64(nPeak.Peak) / (1 << 20)})
	out.add(row{key: "agent_cpu_percent_of_core", label: "agent CPU (% of a core; peer: node_exporter)", prophasis: 100 * aCores, prometheus: 100 * nCores})
	out.note("footprint: %d plugins (9 built-in collectors, 11 Debian Nagios plugins) every 60 s for %s; node_exporter %s with its default collectors, scraped every 60 s; idle RSS is the median of one VmRSS sample a second",
		len(footprintPlugins), cfg.footprintDuration, versionOf(cfg.nodeExporterBin))
	return nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func versionOf(bin string) string {
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		return "(version unknown)"
	}
	return strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
}
