// Package msglog reads the message log: the text of every result.
//
// The log is split by what each part is good at. The texts live in the store
// (an append-only table keyed by a message id, so writing a batch appends
// rows instead of touching one b-tree page per series). Which message belongs
// to which host x plugin x check at which time is a time series in the TSDB,
// prophasis_message_id, whose samples are message ids: finding a check's
// messages over a day is a TSDB range read plus point lookups by id, and
// retention, out-of-order replay and deduplication come from the TSDB.
//
// ingest writes both halves; api and rules read through this package. It
// imports store and Prometheus's storage interfaces only.
package msglog

import (
	"context"
	"fmt"
	"sort"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"

	"github.com/prophasis/prophasis/store"
)

// MetricMessageID is the series whose sample values are message ids.
const MetricMessageID = "prophasis_message_id"

// DefaultLimit and MaxLimit bound one query's answer.
const (
	DefaultLimit = 1000
	MaxLimit     = 10_000
)

// Texts is what the log needs of the store.
type Texts interface {
	// MessagesByID returns the stored messages with the given ids; ids that
	// are gone (retention) are missing from the map.
	MessagesByID(ctx context.Context, ids []int64) (map[int64]store.Message, error)
}

// Reader answers message-log queries. It is safe for concurrent use.
type Reader struct {
	db    storage.Queryable
	texts Texts
}

// NewReader returns a Reader over the TSDB's index and the store's texts.
func NewReader(db storage.Queryable, texts Texts) *Reader {
	return &Reader{db: db, texts: texts}
}

// Query returns the messages of one host, optionally narrowed to a plugin
// and a check (empty means any), with timestamps in [q.From, q.To], newest
// first, at most q.Limit (DefaultLimit when 0, never more than MaxLimit).
func (r *Reader) Query(ctx context.Context, q store.MessageQuery) ([]store.Message, error) {
	if q.Host == "" {
		return nil, fmt.Errorf("%w: host is required", store.ErrInvalid)
	}
	if q.To < q.From {
		return nil, fmt.Errorf("%w: 'to' is before 'from'", store.ErrInvalid)
	}
	if q.Limit < 0 || q.Limit > MaxLimit {
		return nil, fmt.Errorf("%w: limit %d is outside 1..%d", store.ErrInvalid, q.Limit, MaxLimit)
	}
	limit := q.Limit
	if limit == 0 {
		limit = DefaultLimit
	}

	querier, err := r.db.Querier(q.From, q.To)
	if err != nil {
		return nil, fmt.Errorf("query message index: %w", err)
	}
	defer querier.Close()
	matchers := []*labels.Matcher{
		labels.MustNewMatcher(labels.MatchEqual, model.MetricNameLabel, MetricMessageID),
		labels.MustNewMatcher(labels.MatchEqual, "host", q.Host),
	}
	if q.Plugin != "" {
		matchers = append(matchers, labels.MustNewMatcher(labels.MatchEqual, "plugin", q.Plugin))
	}
	if q.Check != "" {
		matchers = append(matchers, labels.MustNewMatcher(labels.MatchEqual, "check", q.Check))
	}
	ss := querier.Select(ctx, false, &storage.SelectHints{Start: q.From, End: q.To}, matchers...)
	type ref struct {
		ts, id        int64
		plugin, check string
	}
	var refs []ref
	for ss.Next() {
		lset := ss.At().Labels()
		plugin, check := lset.Get("plugin"), lset.Get("check")
		it := ss.At().Iterator(nil)
		for it.Next() != 0 {
			t, v := it.At()
			if t < q.From || t > q.To || v < 1 || v > 1<<53 {
				continue
			}
			refs = append(refs, ref{t, int64(v), plugin, check})
		}
		if err := it.Err(); err != nil {
			return nil, fmt.Errorf("read message index: %w", err)
		}
	}
	if err := ss.Err(); err != nil {
		return nil, fmt.Errorf("read message index: %w", err)
	}
	sort.Slice(refs, func(i, j int) bool {
		if refs[i].ts != refs[j].ts {
			return refs[i].ts > refs[j].ts
		}
		return refs[i].id > refs[j].id
	})
	if len(refs) > limit {
		refs = refs[:limit]
	}
	ids := make([]int64, len(refs))
	for i, rf := range refs {
		ids[i] = rf.id
	}
	texts, err := r.texts.MessagesByID(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("read message texts: %w", err)
	}
	out := make([]store.Message, 0, len(refs))
	for _, rf := range refs {
		m, ok := texts[rf.id]
		if !ok {
			continue // deleted by retention before the index was
		}
		m.Host, m.Plugin, m.Check, m.Timestamp = q.Host, rf.plugin, rf.check, rf.ts
		out = append(out, m)
	}
	return out, nil
}
