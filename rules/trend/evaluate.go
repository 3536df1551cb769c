package trend

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// Evaluate runs the rule at time at for every series its selector matches
// over the window (at-Window, at]. The series are read with
// storage.Querier.Select directly, not through PromQL: a round over 10k
// series must stay well under a second.
//
// An expression that fails for one series (empty window, division by zero,
// NaN) gives that series StateUnknown and the error in its Outcome; only a
// storage error or a cancelled ctx fails the whole round. Outcomes are in
// label order.
//
// The series are split between up to maxShards goroutines (GOMAXPROCS) by
// label hash; a round reads each matching series once, plus its baseline
// days when the expression calls baseline.
func (c *Compiled) Evaluate(ctx context.Context, q storage.Queryable, at time.Time) ([]Outcome, error) {
	atMs := at.UnixMilli()
	mint := atMs - c.rule.Window.Milliseconds() + 1
	base, err := c.readBaseline(ctx, q, atMs)
	if err != nil {
		return nil, err
	}
	// Decoding samples is most of a round: split the series between the
	// cores by label hash. Each shard lists all matching series (cheap) and
	// reads and judges only its own, so it works with any Queryable (the
	// TSDB's own sharding hints are disabled in ours).
	shards := min(runtime.GOMAXPROCS(0), maxShards)
	results := make([][]Outcome, shards)
	errs := make([]error, shards)
	var wg sync.WaitGroup
	for i := range shards {
		wg.Go(func() {
			results[i], errs[i] = c.evaluateShard(ctx, q, at, mint, base, uint64(i), uint64(shards))
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out := slices.Concat(results...)
	slices.SortFunc(out, func(a, b Outcome) int { return labels.Compare(a.Labels, b.Labels) })
	return out, nil
}

// maxShards bounds the goroutines of one round: beyond a few, the shards'
// duplicated listing of series costs more than it saves.
const maxShards = 4

// evaluateShard evaluates the series whose label hash is shard modulo
// shards.
func (c *Compiled) evaluateShard(ctx context.Context, q storage.Queryable, at time.Time, mint int64, base []map[uint64]daySamples, shard, shards uint64) ([]Outcome, error) {
	atMs := at.UnixMilli()
	qr, err := q.Querier(mint, atMs)
	if err != nil {
		return nil, fmt.Errorf("rule %q: querier: %w", c.rule.Name, err)
	}
	defer qr.Close()
	ss := qr.Select(ctx, false, &storage.SelectHints{Start: mint, End: atMs, Range: c.rule.Window.Milliseconds()}, c.matchers...)

	r := c.newRunner(at)
	var (
		out []Outcome
		it  chunkenc.Iterator
		w   = r.env.Window
	)
	for n := 0; ss.Next(); n++ {
		if n%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		s := ss.At()
		lset := s.Labels()
		h := lset.Hash()
		if h%shards != shard {
			continue
		}
		it = s.Iterator(it)
		w.T, w.V = appendSamples(w.T[:0], w.V[:0], it, mint, atMs)
		if err := it.Err(); err != nil {
			return nil, fmt.Errorf("rule %q: read %s: %w", c.rule.Name, lset, err)
		}
		if len(w.V) == 0 {
			// Matched by the index, but no float sample in the window.
			continue
		}
		for d := range r.ev.baseline {
			r.ev.baseline[d] = base[d][h]
		}
		state, explain, err := r.run(lset)
		out = append(out, Outcome{Labels: lset, State: state, Err: err, Explain: explain})
	}
	if err := ss.Err(); err != nil {
		return nil, fmt.Errorf("rule %q: select: %w", c.rule.Name, err)
	}
	return out, nil
}

// readBaseline reads, for each of the previous baselineDays days, the same
// window shifted by that many days, keyed by the series' label hash.
func (c *Compiled) readBaseline(ctx context.Context, q storage.Queryable, atMs int64) ([]map[uint64]daySamples, error) {
	if c.baselineDays == 0 {
		return nil, nil
	}
	out := make([]map[uint64]daySamples, c.baselineDays)
	var it chunkenc.Iterator
	for d := range out {
		maxt := atMs - int64(d+1)*day.Milliseconds()
		mint := maxt - c.rule.Window.Milliseconds() + 1
		qr, err := q.Querier(mint, maxt)
		if err != nil {
			return nil, fmt.Errorf("rule %q: baseline querier: %w", c.rule.Name, err)
		}
		m := map[uint64]daySamples{}
		ss := qr.Select(ctx, false, &storage.SelectHints{Start: mint, End: maxt}, c.matchers...)
		for ss.Next() {
			s := ss.At()
			it = s.Iterator(it)
			var ds daySamples
			ds.T, ds.V = appendSamples(nil, nil, it, mint, maxt)
			if err := it.Err(); err != nil {
				qr.Close()
				return nil, fmt.Errorf("rule %q: baseline read: %w", c.rule.Name, err)
			}
			m[s.Labels().Hash()] = ds
		}
		err = ss.Err()
		qr.Close()
		if err != nil {
			return nil, fmt.Errorf("rule %q: baseline select: %w", c.rule.Name, err)
		}
		out[d] = m
	}
	return out, nil
}

// appendSamples appends the float samples of it within [mint, maxt],
// staleness markers left out.
func appendSamples(ts []int64, vs []float64, it chunkenc.Iterator, mint, maxt int64) ([]int64, []float64) {
	vt := it.Seek(mint)
	for ; vt != chunkenc.ValNone; vt = it.Next() {
		if vt != chunkenc.ValFloat {
			continue
		}
		t, v := it.At()
		if t > maxt {
			break
		}
		if value.IsStaleNaN(v) {
			continue
		}
		ts = append(ts, t)
		vs = append(vs, v)
	}
	return ts, vs
}

// runner runs the compiled expression over one series at a time, reusing
// its VM, environment and buffers. It belongs to one goroutine.
type runner struct {
	c   *Compiled
	vm  vm.VM
	env *env
	ev  *evalState
}

func (c *Compiled) newRunner(at time.Time) *runner {
	ev := &evalState{baseline: make([]daySamples, c.baselineDays)}
	return &runner{
		c:   c,
		ev:  ev,
		env: &env{Window: &Window{At: at.UnixMilli(), ev: ev}, Now: at},
	}
}

// run evaluates the expression over r.env.Window (set by the caller) and
// returns the state and explanation.
func (r *runner) run(lset labels.Labels) (state, explain string, err error) {
	r.ev.explain.reset()
	r.ev.fit.done = false
	if r.c.usesLabels {
		r.env.Labels = lset.Map()
	}
	res, err := r.vm.Run(r.c.program, r.env)
	explain = r.ev.explain.String()
	if err != nil {
		return StateUnknown, explain, runError(err)
	}
	s, ok := res.(string)
	if !ok || !ValidState(s) {
		return StateUnknown, explain, fmt.Errorf("expression yielded %v, not a state (ok, minor, major, critical, unknown)", res)
	}
	return s, explain, nil
}

// runError makes expr's run-time error one line, fit for a log or a table
// of outcomes: the column and the cause, without the source snippet (the
// rule's expression is known to whoever reads it).
func runError(err error) error {
	var fe *file.Error
	if !errors.As(err, &fe) {
		return err
	}
	if fe.Prev != nil {
		return fmt.Errorf("column %d: %w", fe.Column+1, fe.Prev)
	}
	return fmt.Errorf("column %d: %s", fe.Column+1, fe.Message)
}
