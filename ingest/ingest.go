// Package ingest decodes, validates and writes everything pushed into the
// server: agent result batches (POST /agent/v1/results) and Prometheus
// remote-write requests (POST /api/v1/write). Values and metrics go to the
// TSDB, messages to the store's message log, and every newly stored result is
// handed to a Hook (the rules engine) at once.
//
// It may import tsdb-level interfaces (storage.Appendable, storage.Queryable),
// store and wire; the api package calls it.
package ingest

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/prometheus/storage"

	"github.com/prophasis/prophasis/store"
	"github.com/prophasis/prophasis/wire"
)

// Hook receives each result that was newly and durably stored, in batch order.
// Resent duplicates and rejected results are not passed on. Results is called
// on the ingest request's goroutine, so it must be fast (hand off, don't
// block); it may be called concurrently and must not keep the slice.
type Hook interface {
	Results(ctx context.Context, results []wire.Result)
}

// HookFunc adapts a function to Hook.
type HookFunc func(ctx context.Context, results []wire.Result)

// Results implements Hook.
func (f HookFunc) Results(ctx context.Context, results []wire.Result) { f(ctx, results) }

// Storage is what ingest needs of the TSDB: appending and, to recognise
// resent results, reading back.
type Storage interface {
	storage.Appendable
	storage.Queryable
}

// MessageLog is what ingest needs of the store: appending message texts,
// which returns their ids. The ids are then written to the TSDB as
// msglog.MetricMessageID, in the same commit as the result's samples.
type MessageLog interface {
	AppendMessages(ctx context.Context, msgs []store.Message) ([]int64, error)
}

// Options configure an Ingester. Zero values mean the defaults in withDefaults.
type Options struct {
	// MaxBatch is the most results one agent batch may hold.
	MaxBatch int
	// MaxFuture is how far ahead of the server's clock a timestamp may be.
	MaxFuture time.Duration
	// MaxAge is how old a result may be: the TSDB's out-of-order window.
	// Older results are rejected (the agent drops them), not refused.
	MaxAge time.Duration
	// Now is the clock; tests replace it.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.MaxBatch <= 0 {
		// Agents push at most a few hundred results at a time; ten thousand
		// leaves room for a backlog replay while bounding one request's memory.
		o.MaxBatch = 10_000
	}
	if o.MaxFuture <= 0 {
		// Prometheus's remote-write handler allows the same skew.
		o.MaxFuture = 10 * time.Minute
	}
	if o.MaxAge <= 0 {
		o.MaxAge = 7 * 24 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Ingester writes pushed data. It is safe for concurrent use.
type Ingester struct {
	db     Storage
	msgs   MessageLog
	hook   Hook
	logger *slog.Logger
	opts   Options
	series *seriesCache
	rw     *rwCache
}

// New returns an Ingester writing to db and msgs and handing results to hook
// (nil for none).
func New(db Storage, msgs MessageLog, hook Hook, logger *slog.Logger, opts Options) *Ingester {
	if hook == nil {
		hook = HookFunc(func(context.Context, []wire.Result) {})
	}
	return &Ingester{
		db:     db,
		msgs:   msgs,
		hook:   hook,
		logger: logger.With("component", "ingest"),
		opts:   opts.withDefaults(),
		series: newSeriesCache(),
		rw:     newRWCache(),
	}
}

// Sweep forgets the cached series (of results and of remote write) that have
// had nothing for a day, so the caches follow the active series.
func (in *Ingester) Sweep() {
	dayAgo := in.opts.Now().Add(-24 * time.Hour)
	in.series.sweep(dayAgo.UnixMilli())
	in.rw.sweep(dayAgo)
	cachedSeries.Set(float64(in.series.len()))
}
