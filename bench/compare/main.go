// Command compare is the whole-system benchmark of Prophasis against
// Prometheus 2.42 on one machine, in one run: remote-write throughput fed the
// same pre-built payloads by the same sender, query_range latency over the
// same data, agent results/s through /agent/v1/results with the load
// generator, and peak resident memory at given numbers of active series.
//
// It starts the real binaries (`prophasis serve` built from this tree and
// Debian's /usr/bin/prometheus), each on a fresh temporary data directory
// and a free loopback port, one at a time so they never share the CPUs. It
// prints a table and key=value lines, and exits non-zero if a server fails
// to start (or, with --strict, if a goal is missed). bench/run.sh builds
// Prophasis and calls it; `make bench` calls that.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// config is the harness's flags.
type config struct {
	prophasisBin, prometheusBin string
	workDir                     string
	keep, strict                bool
	parts                       map[string]bool
	order                       []string

	rwSeries, rwPerRequest, rwConcurrency int
	rwRepeats                             int
	rwSpan, rwInterval                    time.Duration

	queryRange, queryStep  time.Duration
	queryRuns, queryWarmup int
	rawQueryRuns           int
	agentAgents            int
	agentPlugins           int
	agentBatch             int
	agentConcurrency       int
	agentDuration          time.Duration
	agentGzip              bool
	rssSeries              []int
	rssRounds              int
	rssPrometheus          bool
	nodeExporterBin        string
	footprintDuration      time.Duration
	alert                  alertConfig
	progress               io.Writer
	logger                 *slog.Logger
	out                    *results
}

var allParts = []string{"rw", "query", "agent", "rss", "footprint", "alert"}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	cfg := &config{progress: os.Stdout, out: &results{}}
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.StringVar(&cfg.prophasisBin, "prophasis", "bin/prophasis", "the prophasis binary to test")
	fs.StringVar(&cfg.prometheusBin, "prometheus", "/usr/bin/prometheus", "the Prometheus binary to compare with (Debian's 2.42: apt-get install prometheus)")
	fs.StringVar(&cfg.workDir, "work-dir", "", "where the servers' data directories go (default: a new temporary directory)")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the data directories and server logs")
	fs.BoolVar(&cfg.strict, "strict", false, "exit 2 if a goal is missed")
	parts := fs.String("parts", strings.Join(allParts, ","), "parts to run: rw (remote-write samples/s), query (query_range latency; writes the rw data untimed if rw is off), agent (results/s), rss (peak RSS), footprint (prophasis-agent against node_exporter), alert (end-to-end alert latency against Prometheus + Alertmanager)")
	order := fs.String("order", "prometheus,prophasis", "which server goes first in the compared parts")
	fs.IntVar(&cfg.rwSeries, "rw-series", 10_000, "series in the remote-write and query parts")
	fs.DurationVar(&cfg.rwSpan, "rw-span", 2*time.Hour, "history written per series (the queries read the last --query-range of it)")
	fs.DurationVar(&cfg.rwInterval, "rw-interval", 15*time.Second, "time between two samples of a series")
	fs.IntVar(&cfg.rwPerRequest, "rw-per-request", 2000, "samples per remote-write request")
	fs.IntVar(&cfg.rwConcurrency, "rw-concurrency", 4, "remote-write connections")
	fs.IntVar(&cfg.rwRepeats, "rw-repeats", 5, "timed remote writes per server (alternating, fresh data dir each); the median counts")
	fs.DurationVar(&cfg.queryRange, "query-range", time.Hour, "range of each query_range")
	fs.DurationVar(&cfg.queryStep, "query-step", 15*time.Second, "step of each query_range")
	fs.IntVar(&cfg.queryRuns, "query-runs", 20, "timed runs of the sum-by-rate query")
	// The raw query returns 2.4M points and takes seconds on Prometheus:
	// fewer runs keep the harness within about ten minutes.
	fs.IntVar(&cfg.rawQueryRuns, "raw-query-runs", 10, "timed runs of the raw-selector query (a quarter of them, at least 3, for its via-proxy variant)")
	fs.IntVar(&cfg.queryWarmup, "query-warmup", 2, "untimed runs of each query first")
	fs.IntVar(&cfg.agentAgents, "agent-agents", 100, "simulated agents in the agent part")
	fs.IntVar(&cfg.agentPlugins, "agent-plugins", 20, "plugins per agent")
	fs.IntVar(&cfg.agentBatch, "agent-batch", 500, "results per batch")
	fs.IntVar(&cfg.agentConcurrency, "agent-concurrency", 4, "loadgen connections")
	fs.DurationVar(&cfg.agentDuration, "agent-duration", 30*time.Second, "length of the agent part")
	fs.BoolVar(&cfg.agentGzip, "agent-gzip", false, "gzip the agent batches")
	rss := fs.String("rss-series", "100000,1000000", "active-series counts for the peak RSS part")
	fs.IntVar(&cfg.rssRounds, "rss-samples", 4, "samples per series in the peak RSS part")
	fs.BoolVar(&cfg.rssPrometheus, "rss-prometheus", true, "measure Prometheus's peak RSS too, for scale")
	fs.StringVar(&cfg.nodeExporterBin, "node-exporter", "/usr/bin/prometheus-node-exporter", "node_exporter to compare the agent's footprint with (apt-get install prometheus-node-exporter)")
	fs.DurationVar(&cfg.footprintDuration, "footprint-duration", 150*time.Second, "how long the footprint part measures (plugins run every 60 s)")
	cfg.alert.flags(fs)
	verbose := fs.Bool("v", false, "log progress of the harness itself")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	cfg.logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})).With("component", "compare")
	if err := cfg.parse(*parts, *order, *rss); err != nil {
		return err
	}
	if err := cfg.checkBinaries(); err != nil {
		return err
	}
	if cfg.workDir == "" {
		dir, err := os.MkdirTemp("", "prophasis-bench-")
		if err != nil {
			return fmt.Errorf("work dir: %w", err)
		}
		cfg.workDir = dir
	}
	if cfg.keep {
		fmt.Printf("data directories and server logs are kept under %s\n", cfg.workDir)
	} else {
		defer os.RemoveAll(cfg.workDir)
	}
	cfg.header(os.Stdout)

	began := time.Now()
	phases := []struct {
		on  bool
		run func(context.Context, *config, *results) error
	}{
		{cfg.parts["agent"], runAgentPhase},
		{cfg.parts["rw"] || cfg.parts["query"], runRWPhase},
		{cfg.parts["rss"], runRSSPhase},
		{cfg.parts["footprint"], runFootprintPhase},
		{cfg.parts["alert"], runAlertPhase},
	}
	for _, ph := range phases {
		if !ph.on {
			continue
		}
		if err := ph.run(ctx, cfg, cfg.out); err != nil {
			cfg.out.print(os.Stdout)
			return err
		}
	}
	cfg.out.kv("bench_seconds", "%.0f", time.Since(began).Seconds())
	cfg.out.print(os.Stdout)
	if missed := cfg.out.missed(); len(missed) > 0 {
		fmt.Printf("\ngoals missed: %s\n", strings.Join(missed, "; "))
		if cfg.strict {
			os.Exit(2)
		}
	}
	return nil
}

// parse reads the list flags and checks the rest.
func (cfg *config) parse(parts, order, rss string) error {
	cfg.parts = map[string]bool{}
	for _, p := range strings.Split(parts, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		known := false
		for _, a := range allParts {
			known = known || a == p
		}
		if !known {
			return fmt.Errorf("--parts: unknown part %q (want some of %s)", p, strings.Join(allParts, ","))
		}
		cfg.parts[p] = true
	}
	cfg.order = strings.Split(order, ",")
	if len(cfg.order) != 2 || !((cfg.order[0] == "prophasis" && cfg.order[1] == "prometheus") || (cfg.order[0] == "prometheus" && cfg.order[1] == "prophasis")) {
		return fmt.Errorf("--order: want prophasis,prometheus or prometheus,prophasis")
	}
	for _, f := range strings.Split(rss, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return fmt.Errorf("--rss-series: %q is not a positive number", f)
		}
		cfg.rssSeries = append(cfg.rssSeries, n)
	}
	switch {
	case cfg.rwSeries <= 0 || cfg.rwPerRequest <= 0 || cfg.rwConcurrency <= 0 || cfg.rwRepeats <= 0:
		return errors.New("--rw-series, --rw-per-request, --rw-concurrency and --rw-repeats must be positive")
	case cfg.rwInterval < time.Second || cfg.rwSpan < cfg.rwInterval:
		return errors.New("--rw-interval must be at least 1s and --rw-span at least one interval")
	case cfg.queryRange > cfg.rwSpan:
		return fmt.Errorf("--query-range %s is longer than the data (--rw-span %s)", cfg.queryRange, cfg.rwSpan)
	case cfg.queryRuns <= 0 || cfg.rawQueryRuns <= 0 || cfg.queryWarmup < 0 || cfg.queryStep <= 0:
		return errors.New("--query-runs, --raw-query-runs and --query-step must be positive")
	case cfg.rssRounds <= 0:
		return errors.New("--rss-samples must be positive")
	}
	if cfg.parts["alert"] {
		return cfg.alert.check()
	}
	return nil
}

// checkBinaries fails early and clearly when a server binary is missing.
func (cfg *config) checkBinaries() error {
	needProm := cfg.parts["rw"] || cfg.parts["query"] || (cfg.parts["rss"] && cfg.rssPrometheus) || cfg.parts["alert"]
	if needProm {
		if _, err := exec.LookPath(cfg.prometheusBin); err != nil {
			return fmt.Errorf("prometheus binary %s: %w (install Debian's with `apt-get install prometheus`, or pass --prometheus PATH)", cfg.prometheusBin, err)
		}
	}
	if cfg.parts["alert"] {
		if _, err := exec.LookPath(cfg.alert.alertmanagerBin); err != nil {
			return fmt.Errorf("alertmanager binary %s: %w (install Debian's with `apt-get install prometheus-alertmanager`, or pass --alertmanager PATH)", cfg.alert.alertmanagerBin, err)
		}
	}
	if _, err := exec.LookPath(cfg.prophasisBin); err != nil {
		return fmt.Errorf("prophasis binary %s: %w (build it with `make build`, or pass --prophasis PATH)", cfg.prophasisBin, err)
	}
	return nil
}

// start starts the named server on a fresh data directory.
func (cfg *config) start(ctx context.Context, name string) (*server, error) {
	if name == "prometheus" {
		return startPrometheus(ctx, cfg.prometheusBin, cfg.workDir, cfg.logger)
	}
	return startProphasis(ctx, cfg.prophasisBin, cfg.workDir, cfg.logger)
}

// header prints when, where and with what the figures were measured.
func (cfg *config) header(w io.Writer) {
	fmt.Fprintf(w, "prophasis bench/compare, %s\n", startedAt.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(w, "machine: %d CPUs (%s), %s, kernel %s\n", runtime.NumCPU(), cpuModel(), memTotal(), kernel())
	fmt.Fprintf(w, "prophasis: %s (%s)\n", cfg.prophasisBin, firstLine(cfg.prophasisBin, "version"))
	if cfg.parts["rw"] || cfg.parts["query"] || cfg.rssPrometheus {
		fmt.Fprintf(w, "prometheus: %s (%s)\n", cfg.prometheusBin, firstLine(cfg.prometheusBin, "--version"))
	}
	if cfg.parts["alert"] {
		fmt.Fprintf(w, "alertmanager: %s (%s)\n", cfg.alert.alertmanagerBin, firstLine(cfg.alert.alertmanagerBin, "--version"))
	}
	fmt.Fprintf(w, "parts: %s; servers run one at a time, order %s\n\n", strings.Join(sortedParts(cfg.parts), ","), strings.Join(cfg.order, " then "))
}

// startedAt is when the harness started, for the header.
var startedAt = time.Now()

func sortedParts(m map[string]bool) []string {
	var out []string
	for _, p := range allParts {
		if m[p] {
			out = append(out, p)
		}
	}
	return out
}

// firstLine runs bin with arg and returns the first line it prints.
func firstLine(bin, arg string) string {
	out, err := exec.Command(bin, arg).CombinedOutput()
	if err != nil && len(out) == 0 {
		return "version unknown: " + err.Error()
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

func cpuModel() string {
	return procField("/proc/cpuinfo", "model name")
}

func memTotal() string {
	return strings.Join(strings.Fields(procField("/proc/meminfo", "MemTotal")), " ") + " RAM"
}

func kernel() string {
	data, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(data))
}

// procField returns the value of the first "key: value" line of a /proc
// file.
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
