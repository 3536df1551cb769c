// Package loadgen is the load generator behind `prophasis loadgen`: it
// simulates many agents pushing result batches to a Prophasis server
// (POST /agent/v1/results), or a Prometheus-style sender pushing remote-write
// 1.0 requests (POST /api/v1/write), and reports throughput, latency and its
// own CPU use, so operators can size a server and developers can benchmark
// one.
//
// It is built to be cheap, because on a small machine it shares the CPUs
// with the server it measures: results and series are rendered once, and
// each request is assembled by copying the rendered bytes and writing the
// timestamps (and remote-write values) in place.
//
// It imports wire, for the agent protocol, and speaks to servers only over
// HTTP; the server's packages never import it. cmd/prophasis and the
// bench/compare harness use it.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Mode is what a run sends.
type Mode string

const (
	// ModeAgent sends agent result batches to /agent/v1/results.
	ModeAgent Mode = "agent"
	// ModeRemoteWrite sends remote-write 1.0 requests to /api/v1/write.
	ModeRemoteWrite Mode = "remote-write"
)

// Options configure a run. Start from Defaults: zero values are invalid,
// not defaults.
type Options struct {
	// Server is the base URL, e.g. http://127.0.0.1:4048.
	Server string
	// Token is sent as a bearer token; empty sends none.
	Token string
	// Mode selects agent batches or remote write.
	Mode Mode

	// Agents, Plugins and Metrics shape the agent mode: Agents simulated
	// hosts, each running Plugins plugins whose results carry Metrics extra
	// metrics each.
	Agents, Plugins, Metrics int
	// Batch is the number of results per request in agent mode.
	Batch int
	// Gzip compresses agent batches (Content-Encoding: gzip).
	Gzip bool

	// Series is the number of distinct series in remote-write mode, and
	// SeriesPerRequest the samples per request.
	Series, SeriesPerRequest int

	// Concurrency is the number of connections, each sending one request at
	// a time. Agents (or series) are split between them, so a series'
	// samples always arrive in order.
	Concurrency int
	// Duration bounds the run; Count, if positive, is the total number of
	// results (agent mode) or samples (remote-write mode) to send instead.
	// With both set the run ends at whichever comes first.
	Duration time.Duration
	Count    int64

	// Interval is the simulated time between two runs of one plugin (or two
	// samples of one series); Backfill is how far back the data starts. The
	// run writes history from Backfill ago at Interval steps as fast as the
	// server takes it, then continues at the wall clock (see clock).
	//
	// Backfill defaults to zero because history written by one run overlaps
	// what an earlier run against the same server wrote in that window:
	// the server must then look each result up as a possible resend, which
	// is slower and not what a capacity test should measure. Set it on a
	// fresh server to get graphs with history.
	Interval, Backfill time.Duration

	// HostPrefix starts the simulated host names (agentNNNNN.example.net
	// by default); two load generators with different prefixes simulate
	// different hosts.
	HostPrefix string

	// ReportEvery is how often a progress line goes to Progress; zero or a
	// nil Progress prints none.
	ReportEvery time.Duration
	Progress    io.Writer

	// Client sends the requests; nil means a client with keep-alive
	// connections for Concurrency workers.
	Client *http.Client
	// Logger receives debug logs of failed requests; nil discards them.
	Logger *slog.Logger
	// Now is the clock the timestamps come from; nil means time.Now.
	Now func() time.Time
}

// Defaults returns the options `prophasis loadgen` starts from: 100 agents of
// 20 plugins (2,000 series, a typical small estate) pushing 500-result
// batches over 4 connections for 30 seconds.
func Defaults() Options {
	return Options{
		Server:           "http://127.0.0.1:4048",
		Mode:             ModeAgent,
		Agents:           100,
		Plugins:          20,
		Batch:            500,
		Series:           10_000,
		SeriesPerRequest: 2_000, // Prometheus's max_samples_per_send default
		Concurrency:      4,
		Duration:         30 * time.Second,
		Interval:         time.Minute,
		HostPrefix:       "agent",
		ReportEvery:      5 * time.Second,
	}
}

// Validate checks the options and says what is wrong with them.
func (o *Options) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if u, err := url.Parse(o.Server); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("server %q: want an http:// or https:// URL", o.Server)
	}
	switch o.Mode {
	case ModeAgent:
		if o.Agents <= 0 || o.Plugins <= 0 || o.Batch <= 0 || o.Metrics < 0 {
			bad("agents, plugins and batch must be positive, metrics not negative")
		}
		if !validHostPrefix(o.HostPrefix) {
			bad("host prefix %q: want letters, digits, '-' and '.', starting with a letter or digit", o.HostPrefix)
		}
	case ModeRemoteWrite:
		if o.Series <= 0 || o.SeriesPerRequest <= 0 {
			bad("series and series per request must be positive")
		}
	default:
		bad("mode %q: want %q or %q", o.Mode, ModeAgent, ModeRemoteWrite)
	}
	if o.Concurrency <= 0 {
		bad("concurrency must be positive")
	}
	if o.Duration <= 0 && o.Count <= 0 {
		bad("set a duration or a count")
	}
	if o.Count < 0 || o.Duration < 0 {
		bad("duration and count must not be negative")
	}
	if o.Interval < time.Millisecond {
		bad("interval must be at least 1ms")
	}
	if o.Backfill < 0 {
		bad("backfill must not be negative")
	}
	return errors.Join(errs...)
}

// Run sends load as o describes and reports what the server acknowledged.
// It returns an error if the options are invalid or ctx ends before the run
// does (with the report so far); failed requests are counted in the report,
// not returned.
func Run(ctx context.Context, o Options) (Report, error) {
	if err := o.Validate(); err != nil {
		return Report{}, err
	}
	o.fill()
	start := o.Now().Add(-o.Backfill)
	if t := o.Now().UnixMilli(); t < minTs13 || t > maxTs13-(1<<31) {
		return Report{}, fmt.Errorf("the clock says %s: timestamps would not have 13 digits", o.Now())
	}
	mkClock := func() *clock { return newClock(o.Now, start, o.Interval) }
	server := strings.TrimRight(o.Server, "/")
	switch o.Mode {
	case ModeRemoteWrite:
		set := newRWSeriesSet(o.Series)
		streams := newRWStreams(set, o.Concurrency, o.SeriesPerRequest, o.Count, mkClock)
		sources := make([]source, len(streams))
		for i, s := range streams {
			sources[i] = s
		}
		return runWorkers(ctx, &o, remoteWriteTarget(server, o.Token), sources, "samples")
	default:
		streams, err := newAgentStreams(agentConfig{
			Agents: o.Agents, Plugins: o.Plugins, Metrics: o.Metrics, Batch: o.Batch, Gzip: o.Gzip,
			HostPrefix: o.HostPrefix,
		}, o.Concurrency, o.Count, mkClock)
		if err != nil {
			return Report{}, err
		}
		sources := make([]source, len(streams))
		for i, s := range streams {
			sources[i] = s
		}
		r, err := runWorkers(ctx, &o, agentTarget(server, o.Token, o.Gzip), sources, "results")
		// The server writes a duration sample and a value sample per
		// result, plus one per extra metric.
		r.SamplesPerResult = 2 + o.Metrics
		return r, err
	}
}

// SendRemoteWrite sends pre-built payloads (see BuildRemoteWrite) to
// o.Server's /api/v1/write, one connection per lane; o.Concurrency,
// o.Duration and o.Count are ignored, the run ends when every lane is sent.
func SendRemoteWrite(ctx context.Context, o Options, p *Payloads) (Report, error) {
	o.Mode = ModeRemoteWrite
	o.Duration, o.Count = 0, 0
	o.fill()
	sources := make([]source, 0, len(p.Lanes))
	for _, lane := range p.Lanes {
		sources = append(sources, &payloadSource{lane: lane})
	}
	return runWorkers(ctx, &o, remoteWriteTarget(strings.TrimRight(o.Server, "/"), o.Token), sources, "samples")
}

func validHostPrefix(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || (c != '-' && c != '.')) {
			return false
		}
	}
	return s != ""
}

// fill sets the defaults of the optional dependencies.
func (o *Options) fill() {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}
