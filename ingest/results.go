package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"

	"github.com/prophasis/prophasis/store"
	"github.com/prophasis/prophasis/wire"
)

var (
	resultsAccepted  = metrics.NewCounter(`prophasis_ingest_results_total{outcome="accepted"}`)
	resultsDuplicate = metrics.NewCounter(`prophasis_ingest_results_total{outcome="duplicate"}`)
	resultsRejected  = metrics.NewCounter(`prophasis_ingest_results_total{outcome="rejected"}`)
	batchesTotal     = metrics.NewCounter(`prophasis_ingest_batches_total`)
	batchesFailed    = metrics.NewCounter(`prophasis_ingest_batches_failed_total`)
	batchDuration    = metrics.NewHistogram(`prophasis_ingest_batch_duration_seconds`)
	samplesAppended  = metrics.NewCounter(`prophasis_ingest_samples_total{source="agent"}`)
	cachedSeries     = metrics.NewGauge(`prophasis_ingest_cached_series`, nil)
)

// outcome of one result of a batch.
type outcome uint8

const (
	outcomeNew outcome = iota
	outcomeDuplicate
	outcomeRejected
)

// WriteBatch stores a decoded, validated batch (see DecodeBatch) and returns
// the acknowledgement. When it returns without error every accepted result is
// in the TSDB's WAL and its message in the message log, and the hook has seen
// it. A resent result (same host, plugin, check and timestamp) is counted as a
// duplicate and stores nothing twice.
func (in *Ingester) WriteBatch(ctx context.Context, b wire.Batch) (wire.BatchResponse, error) {
	start := time.Now()
	batchesTotal.Inc()
	resp, err := in.writeBatch(ctx, b)
	if err != nil {
		batchesFailed.Inc()
		return resp, err
	}
	batchDuration.UpdateDuration(start)
	return resp, nil
}

func (in *Ingester) writeBatch(ctx context.Context, b wire.Batch) (wire.BatchResponse, error) {
	var resp wire.BatchResponse
	results := b.Results
	minTs := in.opts.Now().Add(-in.opts.MaxAge).UnixMilli()

	outcomes := make([]outcome, len(results))
	entries := make([]*resultSeries, len(results))
	keys := make([]seriesKey, len(results))
	// Results that may already be stored: older than or as old as the newest
	// known result of their series, or of a series not seen since start.
	var suspects []int
	// newest timestamp per series within this batch, to catch duplicates
	// inside one batch.
	batchMax := make(map[*resultSeries]int64)
	for i := range results {
		r := &results[i]
		keys[i] = seriesKey{r.Host, r.Plugin, r.Check}
		e := in.series.get(keys[i])
		entries[i] = e
		if r.Timestamp < minTs {
			outcomes[i] = outcomeRejected
			resp.Rejected = append(resp.Rejected, wire.Rejection{Index: i, Error: fmt.Sprintf(
				"timestamp %s is older than the out-of-order window of %s",
				time.UnixMilli(r.Timestamp).UTC().Format(time.RFC3339), in.opts.MaxAge)})
			continue
		}
		e.mu.Lock()
		stored := e.lastTs
		e.mu.Unlock()
		// Unknown (0): every result of the series must be looked up.
		if stored == 0 || r.Timestamp <= max(stored, batchMax[e]) {
			suspects = append(suspects, i)
		}
		if r.Timestamp > batchMax[e] {
			batchMax[e] = r.Timestamp
		}
	}
	if len(suspects) > 0 {
		if err := in.markDuplicates(ctx, results, entries, suspects, outcomes); err != nil {
			return resp, err
		}
	}

	// Texts first: their ids go into the TSDB with the result's samples, so
	// one TSDB commit makes a result and its message visible together. A
	// crash in between leaves an unreferenced text, which retention removes.
	msgIDs, err := in.appendMessages(ctx, results, outcomes)
	if err != nil {
		return wire.BatchResponse{}, err
	}

	app := in.db.Appender(ctx)
	var samples int
	for i := range results {
		if outcomes[i] != outcomeNew {
			continue
		}
		n, err := appendResult(app, entries[i], keys[i], &results[i], msgIDs[i])
		samples += n
		if err != nil {
			outcomes[i] = outcomeRejected
			resp.Rejected = append(resp.Rejected, wire.Rejection{Index: i, Error: err.Error()})
		}
	}
	if err := app.Commit(); err != nil {
		return wire.BatchResponse{}, fmt.Errorf("commit samples: %w", err)
	}
	samplesAppended.Add(samples)

	fresh := make([]wire.Result, 0, len(results))
	for i := range results {
		switch outcomes[i] {
		case outcomeNew:
			e := entries[i]
			e.mu.Lock()
			e.lastTs = max(e.lastTs, results[i].Timestamp)
			e.mu.Unlock()
			fresh = append(fresh, results[i])
		case outcomeDuplicate:
			resp.Duplicates++
		}
	}
	resp.Accepted = len(fresh)
	resultsAccepted.Add(resp.Accepted)
	resultsDuplicate.Add(resp.Duplicates)
	resultsRejected.Add(len(resp.Rejected))
	if len(fresh) > 0 {
		in.hook.Results(ctx, fresh)
	}
	return resp, nil
}

// appendMessages stores the texts of the new results that have a message or
// a non-zero exit status and returns each result's message id (0 for none).
func (in *Ingester) appendMessages(ctx context.Context, results []wire.Result, outcomes []outcome) ([]int64, error) {
	ids := make([]int64, len(results))
	var msgs []store.Message
	var idx []int
	for i := range results {
		r := &results[i]
		if outcomes[i] != outcomeNew || (r.Message == "" && r.ExitStatus == 0) {
			continue
		}
		msgs = append(msgs, store.Message{
			Host: r.Host, Plugin: r.Plugin, Check: r.Check,
			Timestamp: r.Timestamp, ExitStatus: r.ExitStatus, Text: r.Message,
		})
		idx = append(idx, i)
	}
	if len(msgs) == 0 {
		return ids, nil
	}
	got, err := in.msgs.AppendMessages(ctx, msgs)
	if err != nil {
		return nil, fmt.Errorf("write messages: %w", err)
	}
	if len(got) != len(msgs) {
		return nil, fmt.Errorf("BUG: store returned %d message ids for %d messages", len(got), len(msgs))
	}
	for j, i := range idx {
		ids[i] = got[j]
	}
	return ids, nil
}

// appendResult appends one result's samples: the duration first (the record
// that the result exists; if it is refused the result is rejected), then the
// message id, the value and the metrics.
func appendResult(app storage.Appender, e *resultSeries, k seriesKey, r *wire.Result, msgID int64) (samples int, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ts := r.Timestamp
	ref, err := app.Append(e.duration.ref, e.duration.lset, ts, r.Duration)
	if err != nil {
		return 0, sampleError(err)
	}
	e.duration.ref = ref
	samples++
	if msgID != 0 {
		ref, err := app.Append(e.message.ref, e.message.lset, ts, float64(msgID))
		if err != nil {
			return samples, sampleError(err)
		}
		e.message.ref = ref
		samples++
	}
	if r.Value != nil {
		ref, err := app.Append(e.value.ref, e.value.lset, ts, *r.Value)
		if err != nil {
			return samples, sampleError(err)
		}
		e.value.ref = ref
		samples++
	}
	for j := range r.Metrics {
		m := &r.Metrics[j]
		s := e.metric(k, m)
		ref, err := app.Append(s.ref, s.lset, ts, m.Value)
		if err != nil {
			return samples, fmt.Errorf("metric %s: %w", m.Name, sampleError(err))
		}
		s.ref = ref
		samples++
	}
	return samples, nil
}

// sampleError says in words why the TSDB refused a sample.
func sampleError(err error) error {
	switch {
	case errors.Is(err, storage.ErrTooOldSample), errors.Is(err, storage.ErrOutOfBounds):
		return fmt.Errorf("too old for the TSDB: %w", err)
	case errors.Is(err, storage.ErrDuplicateSampleForTimestamp):
		return fmt.Errorf("a different value is already stored for this timestamp: %w", err)
	}
	return err
}

// markDuplicates looks up, in the TSDB, whether the suspect results are
// already stored (their duration sample exists) and marks those duplicates.
// Results repeated inside the batch are marked too.
func (in *Ingester) markDuplicates(ctx context.Context, results []wire.Result, entries []*resultSeries, suspects []int, outcomes []outcome) error {
	mint, maxt := results[suspects[0]].Timestamp, results[suspects[0]].Timestamp
	bySeries := make(map[*resultSeries][]int)
	for _, i := range suspects {
		ts := results[i].Timestamp
		mint, maxt = min(mint, ts), max(maxt, ts)
		bySeries[entries[i]] = append(bySeries[entries[i]], i)
	}
	q, err := in.db.Querier(mint, maxt)
	if err != nil {
		return fmt.Errorf("look up resent results: %w", err)
	}
	defer q.Close()
	for e, idx := range bySeries {
		stored, err := storedTimestamps(ctx, q, e.duration.lset, mint, maxt)
		if err != nil {
			return fmt.Errorf("look up resent results: %w", err)
		}
		for _, i := range idx {
			if _, ok := stored[results[i].Timestamp]; ok {
				outcomes[i] = outcomeDuplicate
			}
		}
	}
	// A result repeated within the batch: keep the first.
	seen := make(map[struct {
		e  *resultSeries
		ts int64
	}]struct{}, len(results))
	for i := range results {
		if outcomes[i] != outcomeNew {
			continue
		}
		k := struct {
			e  *resultSeries
			ts int64
		}{entries[i], results[i].Timestamp}
		if _, ok := seen[k]; ok {
			outcomes[i] = outcomeDuplicate
			continue
		}
		seen[k] = struct{}{}
	}
	return nil
}

// storedTimestamps returns the timestamps in [mint, maxt] of the series with
// exactly the labels lset.
func storedTimestamps(ctx context.Context, q storage.Querier, lset labels.Labels, mint, maxt int64) (map[int64]struct{}, error) {
	matchers := make([]*labels.Matcher, 0, 5)
	hasCheck := false
	lset.Range(func(l labels.Label) {
		if l.Name == labelCheck {
			hasCheck = true
		}
		matchers = append(matchers, labels.MustNewMatcher(labels.MatchEqual, l.Name, l.Value))
	})
	if !hasCheck {
		// An empty matcher selects series without the label.
		matchers = append(matchers, labels.MustNewMatcher(labels.MatchEqual, labelCheck, ""))
	}
	ss := q.Select(ctx, false, &storage.SelectHints{Start: mint, End: maxt}, matchers...)
	out := make(map[int64]struct{})
	for ss.Next() {
		it := ss.At().Iterator(nil)
		for it.Next() != 0 {
			t := it.AtT()
			if t >= mint && t <= maxt {
				out[t] = struct{}{}
			}
		}
		if err := it.Err(); err != nil {
			return nil, err
		}
	}
	return out, ss.Err()
}
