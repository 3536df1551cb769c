package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/prophasis/prophasis/loadgen"
)

// runLoadgen is `prophasis loadgen`: flags into loadgen.Options, then
// loadgen.Run. Progress lines and the report go to stdout, the last line
// being the key=value summary.
func runLoadgen(ctx context.Context, args []string) error {
	o := loadgen.Defaults()
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: prophasis loadgen [flags]\n\n"+
			"Simulates agents pushing results (or a Prometheus sender pushing remote write)\n"+
			"to a Prophasis server and reports what it sustained. See docs/capacity.md.\n\nflags:")
		fs.PrintDefaults()
	}
	mode := fs.String("mode", string(o.Mode), `what to send: "agent" (result batches) or "remote-write"`)
	fs.StringVar(&o.Server, "server", o.Server, "the server's base URL")
	token := fs.String("token", "", "API token (default: $PROPHASIS_TOKEN, else the data dir's admin.token)")
	dataDir := fs.String("data-dir", "./data", "where to find admin.token when no token is given")
	fs.IntVar(&o.Agents, "agents", o.Agents, "simulated agents (hosts)")
	fs.IntVar(&o.Plugins, "plugins", o.Plugins, "plugins per agent")
	fs.IntVar(&o.Metrics, "metrics", o.Metrics, "extra metrics per result")
	fs.IntVar(&o.Batch, "batch", o.Batch, "results per request")
	fs.BoolVar(&o.Gzip, "gzip", o.Gzip, "gzip the result batches, as agents do on slow links")
	fs.IntVar(&o.Series, "series", o.Series, "distinct series (remote-write mode)")
	fs.IntVar(&o.SeriesPerRequest, "series-per-request", o.SeriesPerRequest, "samples per request (remote-write mode)")
	fs.IntVar(&o.Concurrency, "concurrency", o.Concurrency, "concurrent connections, each one request at a time")
	fs.DurationVar(&o.Duration, "duration", o.Duration, "how long to run (0: until --count)")
	fs.Int64Var(&o.Count, "count", o.Count, "total results (or samples) to send, instead of or as well as --duration")
	fs.DurationVar(&o.Interval, "interval", o.Interval, "simulated time between two runs of a plugin (or samples of a series)")
	fs.DurationVar(&o.Backfill, "backfill", o.Backfill, "write this much history first, at --interval steps, then follow the wall clock (use on a fresh server)")
	fs.StringVar(&o.HostPrefix, "host-prefix", o.HostPrefix, "simulated host names start with this")
	fs.DurationVar(&o.ReportEvery, "report-every", o.ReportEvery, "progress line interval (0: none)")
	verbose := fs.Bool("v", false, "log every failed request")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	o.Mode = loadgen.Mode(*mode)
	var err error
	if o.Token, err = loadgenToken(*token, *dataDir); err != nil {
		return err
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})).With("component", "loadgen")
	o.Progress = os.Stdout
	if err := o.Validate(); err != nil {
		return err
	}

	what := fmt.Sprintf("%d agents x %d plugins (%d metrics each), batches of %d", o.Agents, o.Plugins, o.Metrics, o.Batch)
	if o.Mode == loadgen.ModeRemoteWrite {
		what = fmt.Sprintf("remote write, %d series, %d samples per request", o.Series, o.SeriesPerRequest)
	}
	fmt.Printf("loadgen: %s to %s over %d connections, for %s\n", what, o.Server, o.Concurrency, runLength(o))
	r, err := loadgen.Run(ctx, o)
	if r.Requests > 0 || err == nil {
		fmt.Print(r.Text())
		fmt.Println(r.Summary())
	}
	if errors.Is(err, context.Canceled) {
		return nil // interrupted: the report so far is the answer
	}
	if err == nil && r.Requests > 0 && r.Errors == r.Requests {
		return fmt.Errorf("every request failed; first error: %s", r.FirstError)
	}
	return err
}

// loadgenToken picks the token: the flag, then $PROPHASIS_TOKEN, then the
// admin token the server wrote on first start.
func loadgenToken(flagValue, dataDir string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if t := os.Getenv("PROPHASIS_TOKEN"); t != "" {
		return t, nil
	}
	path := filepath.Join(dataDir, "admin.token")
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("no --token, no $PROPHASIS_TOKEN, and %w", err)
	}
	return strings.TrimSpace(string(data)), nil
}

func runLength(o loadgen.Options) string {
	switch {
	case o.Count > 0 && o.Duration > 0:
		return fmt.Sprintf("%d items or %s", o.Count, o.Duration)
	case o.Count > 0:
		return fmt.Sprintf("%d items", o.Count)
	}
	return o.Duration.String()
}
