package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"os/exec"
	"strconv"
	"strings"
)

// runAgentPhase is part agent: a fresh Prophasis takes agent result batches
// from `prophasis loadgen`, run as its own process exactly as an operator
// would, so its CPU share is its own.
func runAgentPhase(ctx context.Context, cfg *config, out *results) error {
	s, err := cfg.start(ctx, "prophasis")
	if err != nil {
		return err
	}
	defer s.stop()

	args := []string{"loadgen",
		"--server", s.url, "--token", s.token,
		"--agents", strconv.Itoa(cfg.agentAgents), "--plugins", strconv.Itoa(cfg.agentPlugins),
		"--batch", strconv.Itoa(cfg.agentBatch), "--concurrency", strconv.Itoa(cfg.agentConcurrency),
		"--duration", cfg.agentDuration.String(), "--report-every", "5s",
	}
	if cfg.agentGzip {
		args = append(args, "--gzip")
	}
	fmt.Fprintf(cfg.progress, "$ prophasis %s\n", strings.Join(redact(args), " "))
	cmd := exec.CommandContext(ctx, cfg.prophasisBin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("loadgen: %w", err)
	}
	cmd.Stderr = cfg.progress
	cpu := startCPU(s.pid())
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start loadgen: %w", err)
	}
	summary := teeSummary(stdout, cfg.progress)
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("loadgen: %w", err)
	}
	cores, _ := cpu.cores()
	if err := s.alive(); err != nil {
		return err
	}
	if summary == nil {
		return fmt.Errorf("loadgen printed no loadgen_summary line")
	}
	get := func(k string) float64 {
		v, err := strconv.ParseFloat(summary[k], 64)
		if err != nil {
			return math.NaN()
		}
		return v
	}
	nan := math.NaN()
	out.add(row{key: "agent_results_per_second", label: fmt.Sprintf("agent results/s (batches of %d)", cfg.agentBatch),
		prophasis: get("results_per_second"), prometheus: nan, goal: atLeast(200_000, ">= 200,000")})
	out.add(row{key: "agent_samples_per_second", label: "  TSDB samples/s from those results",
		prophasis: get("samples_per_second"), prometheus: nan})
	out.add(row{key: "agent_p99_ms", label: "  batch latency p99 (ms)", prophasis: get("p99_ms"), prometheus: nan})
	out.add(row{key: "agent_server_cpu_cores", label: "  server CPU (cores)", prophasis: cores, prometheus: nan})
	out.add(row{key: "agent_loadgen_cpu_percent_of_core", label: "  loadgen CPU (% of a core)",
		prophasis: get("loadgen_cpu_percent_of_core"), prometheus: nan})
	if e := get("errors"); e > 0 {
		out.note("agent part: %.0f requests failed (see the loadgen output above)", e)
	}
	out.note("agent part: %d agents x %d plugins, batches of %d, %d connections, %s, gzip=%t; every result has a value and a Nagios-style message (message-log row)",
		cfg.agentAgents, cfg.agentPlugins, cfg.agentBatch, cfg.agentConcurrency, cfg.agentDuration, cfg.agentGzip)
	if m, err := readMemory(s.pid()); err == nil {
		out.kv("agent_peak_rss_mib_prophasis", "%.0f", float64(m.Peak)/(1<<20))
	}
	return nil
}

// teeSummary copies the loadgen's output to w, indented, and returns the
// key=value pairs of its loadgen_summary line (nil if there was none).
func teeSummary(r io.Reader, w io.Writer) map[string]string {
	var summary map[string]string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(w, "  | "+line)
		if rest, ok := strings.CutPrefix(line, "loadgen_summary "); ok {
			summary = map[string]string{}
			for _, f := range strings.Fields(rest) {
				if k, v, ok := strings.Cut(f, "="); ok {
					summary[k] = v
				}
			}
		}
	}
	return summary
}

// redact hides the token in a printed command line.
func redact(args []string) []string {
	out := append([]string(nil), args...)
	for i := range out {
		if i > 0 && out[i-1] == "--token" {
			out[i] = "$TOKEN"
		}
	}
	return out
}
