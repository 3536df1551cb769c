package rules

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/prophasis/prophasis/msglog"
	"github.com/prophasis/prophasis/rules/classify"
	"github.com/prophasis/prophasis/rules/state"
	"github.com/prophasis/prophasis/store"
)

// The series ingest writes for every result (ingest's names; rules may not
// import ingest). Every stored result has a duration sample, so its
// timestamps are the results'.
const (
	metricValue    = "prophasis_value"
	metricDuration = "prophasis_result_duration_seconds"
)

// restore brings back what the last run knew: the confirmed states (from
// the store) and each check's last n results (from the TSDB and the message
// log), so the first result after a restart is judged with its history and
// changes no state it does not change.
func (e *Engine) restore(ctx context.Context) error {
	start := time.Now()
	saved, err := e.st.CurrentStates(ctx)
	if err != nil {
		return fmt.Errorf("restore states: %w", err)
	}
	for _, cs := range saved {
		switch cs.Subject.Kind {
		case "check":
			k := Key{Host: cs.Subject.Host, Plugin: cs.Subject.Plugin, Check: cs.Subject.Check}
			s := e.shardOf(k.Host)
			sub := s.subject(k)
			sub.m = *state.Restore(classify.State(cs.State), cs.Since, cs.Flapping)
			s.view.set(k, Status{Host: k.Host, Plugin: k.Plugin, Check: k.Check, State: classify.State(cs.State),
				Since: cs.Since, Flapping: cs.Flapping, Time: cs.UpdatedAt})
		case "host":
			s := e.shardOf(cs.Subject.Host)
			h := s.host(cs.Subject.Host)
			h.m = *state.Restore(classify.State(cs.State), cs.Since, false)
			s.view.setHost(h.name, HostStatus{Host: h.name, State: classify.State(cs.State), Since: cs.Since, Reason: cs.Reason})
		case "trend":
			e.trends.restore(cs)
		}
	}
	n, err := e.rebuild(ctx)
	if err != nil {
		return err
	}
	e.logger.Info("restored states and histories", "states", len(saved), "results", n, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// rebuild reads the last n results of every check from the last
// Options.Rebuild of the TSDB into the rings. It returns how many results
// it restored.
func (e *Engine) rebuild(ctx context.Context) (int, error) {
	now := e.opts.Now()
	q, err := e.db.Querier(now.Add(-e.opts.Rebuild).UnixMilli(), now.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("rebuild histories: %w", err)
	}
	defer q.Close()
	m, err := labels.NewMatcher(labels.MatchRegexp, model.MetricNameLabel,
		metricDuration+"|"+metricValue+"|"+msglog.MetricMessageID+"|"+MetricState)
	if err != nil {
		return 0, err
	}
	cfg := e.cfg.Load()
	type series struct {
		ts     []int64 // duration samples: one per result
		values map[int64]float64
		msgIDs map[int64]int64
		states map[int64]classify.State
		n      int
	}
	all := map[Key]*series{}
	get := func(k Key) *series {
		s, ok := all[k]
		if !ok {
			s = &series{values: map[int64]float64{}, msgIDs: map[int64]int64{}, states: map[int64]classify.State{},
				n: cfg.lookup(k.Check, k.Plugin).n}
			all[k] = s
		}
		return s
	}
	set := q.Select(ctx, false, nil, m)
	var it chunkenc.Iterator
	for set.Next() {
		lset := set.At().Labels()
		k := Key{Host: lset.Get("host"), Plugin: lset.Get("plugin"), Check: lset.Get("check")}
		if k.Host == "" || k.Plugin == "" {
			continue
		}
		s := get(k)
		name := lset.Get(model.MetricNameLabel)
		it = set.At().Iterator(it)
		for it.Next() == chunkenc.ValFloat {
			t, v := it.At()
			switch name {
			case metricDuration:
				s.ts = append(s.ts, t)
				if len(s.ts) > 4*s.n { // keep memory bounded on long histories
					s.ts = append(s.ts[:0], s.ts[len(s.ts)-s.n:]...)
				}
			case metricValue:
				s.values[t] = v
			case msglog.MetricMessageID:
				s.msgIDs[t] = int64(v)
			case MetricState:
				s.states[t] = classify.State(v)
			}
		}
		if err := it.Err(); err != nil {
			return 0, fmt.Errorf("rebuild histories: %w", err)
		}
	}
	if err := set.Err(); err != nil {
		return 0, fmt.Errorf("rebuild histories: %w", err)
	}

	var ids []int64
	for _, s := range all {
		if len(s.ts) > s.n {
			s.ts = s.ts[len(s.ts)-s.n:]
		}
		for _, t := range s.ts {
			if id, ok := s.msgIDs[t]; ok {
				ids = append(ids, id)
			}
		}
	}
	msgs := map[int64]store.Message{}
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 10_000)]
		ids = ids[len(chunk):]
		got, err := e.st.MessagesByID(ctx, chunk)
		if err != nil {
			return 0, fmt.Errorf("rebuild histories: messages: %w", err)
		}
		for id, msg := range got {
			msgs[id] = msg
		}
	}

	restored := 0
	for k, s := range all {
		if len(s.ts) == 0 {
			continue
		}
		sh := e.shardOf(k.Host)
		sub := sh.subject(k)
		sub.ring.resize(s.n)
		for _, t := range s.ts {
			en := entry{ts: t, value: math.NaN(), state: classify.Unknown}
			if v, ok := s.values[t]; ok {
				en.value = v
			}
			if id, ok := s.msgIDs[t]; ok {
				if msg, ok := msgs[id]; ok {
					en.msg, en.exit = msg.Text, msg.ExitStatus
				}
			}
			if st, ok := s.states[t]; ok {
				en.state = st
			}
			sub.ring.push(en)
			restored++
		}
		last := sub.ring.at(sub.ring.size - 1)
		sub.lastTS, sub.lastValue, sub.lastMsg = last.ts, last.value, last.msg
		st, since, flapping := sub.m.State()
		sh.view.set(k, Status{Host: k.Host, Plugin: k.Plugin, Check: k.Check, State: st, Since: since,
			Flapping: flapping, Time: last.ts, Value: valuePtr(last.value), Message: last.msg})
	}
	return restored, nil
}
