package promapi

import (
	"context"
	"errors"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/util/annotations"
	"github.com/prometheus/prometheus/util/stats"
)

// Splitting range queries by time. Prometheus's engine evaluates a query on
// one core; a range query's steps are independent of each other, so a
// query of many steps can run as consecutive parts on cores that are idle,
// and the parts' matrices concatenate to the same result (the split-by-
// interval of Thanos's and Mimir's query frontends). Cores are borrowed only
// when free: spare holds one token per core beyond the first, a query takes
// what it can without waiting, and under load queries run whole, so
// splitting never costs throughput. Not split: queries with few steps, with
// `@ start()` or `@ end()` (they would mean each part's start or end), and
// requests for statistics.

// minStepsPerPart keeps parts large enough that the work every part repeats
// (selecting series, the lookback before its first step) stays small.
const minStepsPerPart = 50

// spareCores hands out the cores beyond the first to split queries.
type spareCores chan struct{}

func newSpareCores(n int) spareCores {
	s := make(spareCores, max(n, 0))
	for range n {
		s <- struct{}{}
	}
	return s
}

var defaultSpareCores = newSpareCores(runtime.GOMAXPROCS(0) - 1)

// take takes up to n spare cores without waiting and returns how many.
func (s spareCores) take(n int) int {
	got := 0
	for got < n {
		select {
		case <-s:
			got++
		default:
			return got
		}
	}
	return got
}

func (s spareCores) give(n int) {
	for range n {
		s <- struct{}{}
	}
}

// newRangeQuery returns a range query, split into parts when that pays and
// cores are free.
func (a *api) newRangeQuery(ctx context.Context, opts promql.QueryOpts, qs string, start, end time.Time, step time.Duration, mayBorrow bool) (promql.Query, error) {
	steps := int(end.Sub(start)/step) + 1
	if !mayBorrow || steps < 2*minStepsPerPart || usesStartOrEnd(a.parser, qs) {
		return a.engine.NewRangeQuery(ctx, a.queryable, opts, qs, start, end, step)
	}
	extra := a.spare.take(min(cap(a.spare), steps/minStepsPerPart-1))
	if extra == 0 {
		return a.engine.NewRangeQuery(ctx, a.queryable, opts, qs, start, end, step)
	}
	n := extra + 1
	perPart := (steps + n - 1) / n
	sq := &splitQuery{spare: a.spare, borrowed: extra}
	for i := 0; i < n; i++ {
		ps := start.Add(time.Duration(i*perPart) * step)
		if ps.After(end) {
			break
		}
		pe := ps.Add(time.Duration(perPart-1) * step)
		if pe.After(end) {
			pe = end
		}
		q, err := a.engine.NewRangeQuery(ctx, a.queryable, opts, qs, ps, pe, step)
		if err != nil {
			sq.Close()
			return nil, err
		}
		sq.parts = append(sq.parts, q)
	}
	return sq, nil
}

// usesStartOrEnd reports whether a query uses `@ start()` or `@ end()`.
// An unparsable query reports false: the engine reports its error.
func usesStartOrEnd(p parser.Parser, qs string) bool {
	expr, err := p.ParseExpr(qs)
	if err != nil {
		return false
	}
	found := false
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.VectorSelector:
			found = found || n.StartOrEnd != 0
		case *parser.MatrixSelector:
			if vs, ok := n.VectorSelector.(*parser.VectorSelector); ok {
				found = found || vs.StartOrEnd != 0
			}
		case *parser.SubqueryExpr:
			found = found || n.StartOrEnd != 0
		}
		return nil
	})
	return found
}

// splitQuery is a range query run as consecutive parts in parallel.
type splitQuery struct {
	parts    []promql.Query
	spare    spareCores
	mu       sync.Mutex
	borrowed int // spare cores still held
}

// returnCores gives the borrowed cores back, once.
func (q *splitQuery) returnCores() {
	q.mu.Lock()
	n := q.borrowed
	q.borrowed = 0
	q.mu.Unlock()
	q.spare.give(n)
}

// Exec runs the parts in parallel and concatenates their matrices.
func (q *splitQuery) Exec(ctx context.Context) *promql.Result {
	results := make([]*promql.Result, len(q.parts))
	var wg sync.WaitGroup
	for i, p := range q.parts {
		wg.Go(func() { results[i] = p.Exec(ctx) })
	}
	wg.Wait()
	q.returnCores()
	var warnings annotations.Annotations
	for _, r := range results {
		if r.Err != nil {
			return &promql.Result{Err: firstError(results)}
		}
		warnings.Merge(r.Warnings)
	}
	merged, err := mergeMatrices(results)
	if err != nil {
		return &promql.Result{Err: err}
	}
	return &promql.Result{Value: merged, Warnings: warnings}
}

// firstError prefers an error that is not a cancellation: a part that failed
// on its own beats the parts canceled with it.
func firstError(results []*promql.Result) error {
	var first error
	for _, r := range results {
		if r.Err == nil {
			continue
		}
		var canceled promql.ErrQueryCanceled
		if !errors.As(r.Err, &canceled) {
			return r.Err
		}
		if first == nil {
			first = r.Err
		}
	}
	return first
}

// mergeMatrices concatenates the parts' series by labels. The points are
// copied: each part's memory returns to the engine's pools on Close.
func mergeMatrices(results []*promql.Result) (promql.Matrix, error) {
	var out promql.Matrix
	index := map[string]int{}
	for _, r := range results {
		m, ok := r.Value.(promql.Matrix)
		if !ok {
			return nil, errors.New("BUG: a range query part returned no matrix")
		}
		for _, s := range m {
			key := s.Metric.String()
			i, ok := index[key]
			if !ok {
				i = len(out)
				index[key] = i
				out = append(out, promql.Series{Metric: s.Metric, DropName: s.DropName})
			}
			out[i].Floats = append(out[i].Floats, s.Floats...)
			out[i].Histograms = append(out[i].Histograms, s.Histograms...)
		}
	}
	sort.Slice(out, func(i, j int) bool { return labels.Compare(out[i].Metric, out[j].Metric) < 0 })
	return out, nil
}

// Close closes every part.
func (q *splitQuery) Close() {
	for _, p := range q.parts {
		p.Close()
	}
	q.returnCores()
}

// Statement returns the first part's statement.
func (q *splitQuery) Statement() parser.Statement { return q.parts[0].Statement() }

// Stats is nil: requests for statistics are not split.
func (q *splitQuery) Stats() *stats.Statistics { return nil }

// Cancel cancels every part.
func (q *splitQuery) Cancel() {
	for _, p := range q.parts {
		p.Cancel()
	}
}

// String returns the query string.
func (q *splitQuery) String() string { return q.parts[0].String() }
