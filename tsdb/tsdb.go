// Package tsdb is Prophasis's time-series storage: the embedded Prometheus TSDB
// and the PromQL engine that reads it.
//
// It is the only package that imports Prometheus's tsdb. Everything else sees
// the storage.Storage interfaces (Appendable, Queryable) and promql.QueryEngine,
// so a remote Prometheus-compatible engine can replace the embedded one later
// without touching ingest, rules or the API.
package tsdb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	ptsdb "github.com/prometheus/prometheus/tsdb"
)

// Options configure the storage and the query engine. The zero value of a field
// means its default, set in withDefaults where each default is explained.
type Options struct {
	// Retention is how long samples are kept.
	Retention time.Duration
	// OutOfOrderWindow is how far behind the newest sample an agent may still
	// write: the longest server outage after which a backlog replays in full.
	OutOfOrderWindow time.Duration
	// MaxSamples bounds the samples one query may hold in memory.
	MaxSamples int
	// QueryTimeout bounds one query's run time.
	QueryTimeout time.Duration
	// LookbackDelta is how far back an instant selector looks for a sample.
	LookbackDelta time.Duration
}

func (o Options) withDefaults() Options {
	if o.Retention <= 0 {
		o.Retention = 30 * 24 * time.Hour
	}
	if o.OutOfOrderWindow <= 0 {
		// A week covers a server that was down over a long weekend; agents
		// spool that long, so nothing they replay is refused as too old.
		o.OutOfOrderWindow = 7 * 24 * time.Hour
	}
	if o.MaxSamples <= 0 {
		// Prometheus's default: about 800 MB for a query at its worst.
		o.MaxSamples = 50_000_000
	}
	if o.QueryTimeout <= 0 {
		o.QueryTimeout = 2 * time.Minute
	}
	if o.LookbackDelta <= 0 {
		// Checks run every one to ten minutes, not every 15 s as scrapes do:
		// with Prometheus's 5 m an instant query would miss slow checks.
		o.LookbackDelta = 15 * time.Minute
	}
	return o
}

// DB is the embedded TSDB with its query engine. It implements storage.Storage.
// All methods are safe for concurrent use.
type DB struct {
	db     *ptsdb.DB
	engine *promql.Engine
	parser parser.Parser
	opts   Options
}

var _ storage.Storage = (*DB)(nil)

// Open opens (or creates) the TSDB in dir. Metrics of the TSDB and the engine
// are registered with reg.
func Open(dir string, opts Options, logger *slog.Logger, reg prometheus.Registerer) (*DB, error) {
	opts = opts.withDefaults()
	to := ptsdb.DefaultOptions()
	to.RetentionDuration = opts.Retention.Milliseconds()
	to.OutOfOrderTimeWindow = opts.OutOfOrderWindow.Milliseconds()
	// Remote-write clients (Prometheus agent, Alloy) may send native histograms
	// and exemplars; keep them rather than fail the whole request.
	to.EnableExemplarStorage = true
	to.MaxExemplars = 100_000
	// Blocks are kept at most a tenth of the retention (Prometheus's own rule),
	// so old data is deleted in small steps.
	to.MaxBlockDuration = max(to.MinBlockDuration, min(opts.Retention.Milliseconds()/10, 31*24*time.Hour.Milliseconds()))

	db, err := ptsdb.Open(dir, logger.With("component", "tsdb"), reg, to, nil)
	if err != nil {
		return nil, fmt.Errorf("open tsdb in %s: %w", dir, err)
	}
	p := parser.NewParser(parser.Options{
		// The experimental functions (double_exponential_smoothing,
		// mad_over_time, sort_by_label...) are what trend rules and users
		// predicting a disk fill reach for.
		EnableExperimentalFunctions: true,
		ExperimentalDurationExpr:    true,
	})
	engine := promql.NewEngine(promql.EngineOpts{
		Logger:               logger.With("component", "promql"),
		Reg:                  reg,
		MaxSamples:           opts.MaxSamples,
		Timeout:              opts.QueryTimeout,
		LookbackDelta:        opts.LookbackDelta,
		EnableAtModifier:     true,
		EnableNegativeOffset: true,
		Parser:               p,
	})
	return &DB{db: db, engine: engine, parser: p, opts: opts}, nil
}

// Engine returns the PromQL engine over this DB.
func (d *DB) Engine() promql.QueryEngine { return d.engine }

// Parser returns the PromQL parser with the options the engine uses.
func (d *DB) Parser() parser.Parser { return d.parser }

// Options returns the options the DB was opened with, defaults applied.
func (d *DB) Options() Options { return d.opts }

// Appender implements storage.Appendable. Commit writes the WAL: once it
// returns, the samples survive a crash of the process.
func (d *DB) Appender(ctx context.Context) storage.Appender { return d.db.Appender(ctx) }

// AppenderV2 implements storage.AppendableV2.
func (d *DB) AppenderV2(ctx context.Context) storage.AppenderV2 { return d.db.AppenderV2(ctx) }

// Querier implements storage.Queryable.
func (d *DB) Querier(mint, maxt int64) (storage.Querier, error) { return d.db.Querier(mint, maxt) }

// ChunkQuerier implements storage.ChunkQueryable.
func (d *DB) ChunkQuerier(mint, maxt int64) (storage.ChunkQuerier, error) {
	return d.db.ChunkQuerier(mint, maxt)
}

// ExemplarQuerier returns a querier over the stored exemplars.
func (d *DB) ExemplarQuerier(ctx context.Context) (storage.ExemplarQuerier, error) {
	return d.db.ExemplarQuerier(ctx)
}

// StartTime implements storage.Storage: the oldest timestamp stored.
func (d *DB) StartTime() (int64, error) { return d.db.StartTime() }

// HeadStats describes the in-memory head block, for the status API.
type HeadStats struct {
	NumSeries uint64
	MinTime   int64
	MaxTime   int64
}

// Head returns statistics of the head block.
func (d *DB) Head() HeadStats {
	h := d.db.Head()
	return HeadStats{
		NumSeries: h.NumSeries(),
		MinTime:   h.MinTime(),
		MaxTime:   h.MaxTime(),
	}
}

// Close flushes the head to the WAL and closes the DB. It is safe to call on a
// nil DB and more than once.
func (d *DB) Close() error {
	if d == nil || d.db == nil {
		return nil
	}
	err := d.db.Close()
	d.db = nil
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("close tsdb: %w", err)
	}
	return nil
}
