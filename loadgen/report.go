package loadgen

import (
	"fmt"
	"runtime"
	"strings"
	"time"
)

// Report is what a run observed.
type Report struct {
	Mode    Mode
	Elapsed time.Duration
	// Workers is the number of connections used.
	Workers int
	// Requests counts every request that completed, Errors those that
	// failed (transport error, non-2xx status or a bad acknowledgement).
	Requests, Errors int64
	// Sent counts results (agent mode) or samples (remote write) in
	// requests that succeeded; Accepted, Duplicates and Rejected are the
	// server's acknowledgement of them (remote write acknowledges a request
	// whole, so there Accepted == Sent).
	Sent, Accepted, Duplicates, Rejected int64
	// SamplesPerResult is how many TSDB samples the server writes per
	// accepted result (agent mode; 0 in remote-write mode).
	SamplesPerResult int
	// Bytes is the request body bytes sent, as sent (compressed if so).
	Bytes int64
	// P50, P99 and Max are request latencies, from sending the request to
	// reading the whole response.
	P50, P99, Max time.Duration
	// CPU is the user+system CPU time the whole load-generating process
	// used during the run; CPUKnown is false where it cannot be measured.
	CPU      time.Duration
	CPUKnown bool
	// FirstError is the first failure's message, for the summary.
	FirstError string
}

// PerSecond is the rate of accepted results (agent mode) or samples.
func (r Report) PerSecond() float64 { return rate(r.Accepted, r.Elapsed) }

// SamplesPerSecond is the rate of TSDB samples written by the server.
func (r Report) SamplesPerSecond() float64 {
	if r.Mode == ModeRemoteWrite {
		return r.PerSecond()
	}
	return rate(r.Accepted*int64(r.SamplesPerResult), r.Elapsed)
}

// CPUPercentOfCore is the load generator's CPU use as a percentage of one
// core (200 means two cores busy); -1 if unknown.
func (r Report) CPUPercentOfCore() float64 {
	if !r.CPUKnown || r.Elapsed <= 0 {
		return -1
	}
	return 100 * r.CPU.Seconds() / r.Elapsed.Seconds()
}

func rate(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// Summary is the final line of a run: key=value pairs, easy to grep, with
// the rate as results_per_second (agent mode) or samples_per_second.
func (r Report) Summary() string {
	var b strings.Builder
	kv := func(k string, format string, v any) { fmt.Fprintf(&b, " %s="+format, k, v) }
	b.WriteString("loadgen_summary")
	kv("mode", "%s", r.Mode)
	if r.Mode == ModeAgent {
		kv("results", "%d", r.Accepted)
		kv("results_per_second", "%.0f", r.PerSecond())
		kv("duplicates", "%d", r.Duplicates)
		kv("rejected", "%d", r.Rejected)
	}
	kv("samples_per_second", "%.0f", r.SamplesPerSecond())
	kv("requests", "%d", r.Requests)
	kv("errors", "%d", r.Errors)
	kv("elapsed_seconds", "%.2f", r.Elapsed.Seconds())
	kv("p50_ms", "%.2f", ms(r.P50))
	kv("p99_ms", "%.2f", ms(r.P99))
	kv("max_ms", "%.2f", ms(r.Max))
	kv("mbytes_per_second", "%.1f", rate(r.Bytes, r.Elapsed)/1e6)
	kv("connections", "%d", r.Workers)
	if r.CPUKnown {
		kv("loadgen_cpu_seconds", "%.2f", r.CPU.Seconds())
		kv("loadgen_cpu_percent_of_core", "%.1f", r.CPUPercentOfCore())
		kv("loadgen_cpu_share_of_machine", "%.3f", r.CPU.Seconds()/r.Elapsed.Seconds()/float64(runtime.NumCPU()))
	}
	return b.String()
}

// Text is a human-readable report of a few lines.
func (r Report) Text() string {
	var b strings.Builder
	unit := "samples"
	if r.Mode == ModeAgent {
		unit = "results"
	}
	fmt.Fprintf(&b, "%d %s accepted in %s over %d connections: %.0f %s/s", r.Accepted, unit,
		r.Elapsed.Round(time.Millisecond), r.Workers, r.PerSecond(), unit)
	if r.Mode == ModeAgent {
		fmt.Fprintf(&b, " (%.0f samples/s; %d duplicates, %d rejected)", r.SamplesPerSecond(), r.Duplicates, r.Rejected)
	}
	fmt.Fprintf(&b, "\nrequests: %d, errors: %d; latency p50 %s, p99 %s, max %s\n", r.Requests, r.Errors,
		r.P50.Round(10*time.Microsecond), r.P99.Round(10*time.Microsecond), r.Max.Round(10*time.Microsecond))
	if r.CPUKnown {
		fmt.Fprintf(&b, "load generator CPU: %.2fs (%.0f%% of one core, %.0f%% of this %d-CPU machine)\n",
			r.CPU.Seconds(), r.CPUPercentOfCore(), r.CPUPercentOfCore()/float64(runtime.NumCPU()), runtime.NumCPU())
	}
	if r.Duplicates > 0 {
		fmt.Fprintf(&b, "note: the server already had %d of these results: an earlier run wrote these hosts at the same times (use a fresh server, --backfill 0 or another --host-prefix)\n", r.Duplicates)
	}
	if r.FirstError != "" {
		fmt.Fprintf(&b, "first error: %s\n", r.FirstError)
	}
	return b.String()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
