package trend

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// maxBacktestSteps bounds one backtest: 30 days at one-minute steps.
const maxBacktestSteps = 30 * 24 * 60

// Backtest compiles rule and replays it: see (*Compiled).Backtest.
func Backtest(ctx context.Context, q storage.Queryable, rule Rule, from, to time.Time, step time.Duration) ([]Change, error) {
	c, err := Compile(rule, parser.NewParser(parser.Options{}))
	if err != nil {
		return nil, err
	}
	return c.Backtest(ctx, q, from, to, step)
}

// Backtest evaluates the rule at from, from+step, ... up to to, as Evaluate
// would have, and lists for each series when its state changed. The first
// state of a series is listed as a change from "". A step at which a series
// has no sample in its window changes nothing.
//
// Each series is read once over the whole range and the window slides over
// it, so a backtest costs about one read of the range, not one per step.
// Changes are grouped by series (in label order), in time order within each.
func (c *Compiled) Backtest(ctx context.Context, q storage.Queryable, from, to time.Time, step time.Duration) ([]Change, error) {
	if step <= 0 {
		return nil, fmt.Errorf("rule %q: backtest step must be positive, got %s", c.rule.Name, step)
	}
	if to.Before(from) {
		return nil, errors.New("backtest: end before start")
	}
	if n := to.Sub(from) / step; n > maxBacktestSteps {
		return nil, fmt.Errorf("rule %q: backtest of %d steps, at most %d: use a larger step", c.rule.Name, n, maxBacktestSteps)
	}
	win := c.rule.Window.Milliseconds()
	back := int64(c.baselineDays) * day.Milliseconds()
	mint := from.UnixMilli() - win + 1 - back
	maxt := to.UnixMilli()
	qr, err := q.Querier(mint, maxt)
	if err != nil {
		return nil, fmt.Errorf("rule %q: querier: %w", c.rule.Name, err)
	}
	defer qr.Close()
	ss := qr.Select(ctx, true, &storage.SelectHints{Start: mint, End: maxt}, c.matchers...)

	var (
		changes []Change
		it      chunkenc.Iterator
		ts      []int64
		vs      []float64
	)
	for ss.Next() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s := ss.At()
		it = s.Iterator(it)
		ts, vs = appendSamples(ts[:0], vs[:0], it, mint, maxt)
		if err := it.Err(); err != nil {
			return nil, fmt.Errorf("rule %q: read %s: %w", c.rule.Name, s.Labels(), err)
		}
		lset := s.Labels()
		r := c.newRunner(from)
		w := r.env.Window
		prev := ""
		for at := from; !at.After(to); at = at.Add(step) {
			atMs := at.UnixMilli()
			lo, hi := span(ts, atMs-win+1, atMs)
			if lo == hi {
				continue
			}
			w.T, w.V, w.At = ts[lo:hi], vs[lo:hi], atMs
			r.env.Now = at
			for d := range r.ev.baseline {
				shift := int64(d+1) * day.Milliseconds()
				blo, bhi := span(ts, atMs-shift-win+1, atMs-shift)
				r.ev.baseline[d] = daySamples{T: ts[blo:bhi], V: vs[blo:bhi]}
			}
			state, explain, err := r.run(lset)
			if state != prev {
				changes = append(changes, Change{Labels: lset, At: at, From: prev, To: state, Explain: explain, Err: err})
				prev = state
			}
		}
	}
	if err := ss.Err(); err != nil {
		return nil, fmt.Errorf("rule %q: select: %w", c.rule.Name, err)
	}
	return changes, nil
}

// span returns the indexes [lo, hi) of the timestamps within [mint, maxt].
func span(ts []int64, mint, maxt int64) (lo, hi int) {
	lo = sort.Search(len(ts), func(i int) bool { return ts[i] >= mint })
	hi = sort.Search(len(ts), func(i int) bool { return ts[i] > maxt })
	return lo, max(lo, hi)
}
