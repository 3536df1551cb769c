package rules

import (
	"context"
	"fmt"
	"math"
	"slices"
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
	// What changed for the services while the server was down (or in the
	// configuration): their events are recorded once the engine runs.
	if evs := e.rollup.restore(saved, e.opts.Now().UnixMilli()); len(evs) > 0 {
		e.rollup.writeChanges(ctx, e.db, evs)
		e.rec.record(evs, currentServiceStates(evs))
		e.pendingEvents = evs
	}
	e.logger.Info("restored states and histories", "states", len(saved), "results", n, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// rebuild reads the last n results of every check from the last
// Options.Rebuild of the TSDB into the rings. It returns how many results
// it restored.
func (e *Engine) rebuild(ctx context.Context) (int, error) {
	cfg := e.cfg.Load()
	all, err := e.readResults(ctx, nil, func(k Key) int { return cfg.lookup(k.Check, k.Plugin).n })
	if err != nil {
		return 0, fmt.Errorf("rebuild histories: %w", err)
	}
	restored := 0
	for k, entries := range all {
		sh := e.shardOf(k.Host)
		sub := sh.subject(k)
		sub.ring.resize(cfg.lookup(k.Check, k.Plugin).n)
		for _, en := range entries {
			sub.ring.push(en.entry)
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

// replayEntry is a stored result: judged says whether a state was recorded
// at its time (entry.state holds it).
type replayEntry struct {
	entry
	judged bool
}

// readResults reads, from the last Options.Rebuild of the TSDB and the
// message log, the last limit(k) results of every host × plugin × check the
// matchers select (nil: all), oldest first. Every stored result has a
// duration sample, so those timestamps are the results'; the value, message
// id and recorded state are looked up at the same times.
func (e *Engine) readResults(ctx context.Context, match []*labels.Matcher, limit func(Key) int) (map[Key][]replayEntry, error) {
	now := e.opts.Now()
	q, err := e.db.Querier(now.Add(-e.opts.Rebuild).UnixMilli(), now.UnixMilli())
	if err != nil {
		return nil, err
	}
	defer q.Close()
	ms := append([]*labels.Matcher{labels.MustNewMatcher(labels.MatchRegexp, model.MetricNameLabel,
		metricDuration+"|"+metricValue+"|"+msglog.MetricMessageID+"|"+MetricState)}, match...)
	type series struct {
		ts     []int64
		values map[int64]float64
		msgIDs map[int64]int64
		states map[int64]classify.State
		n      int
	}
	all := map[Key]*series{}
	set := q.Select(ctx, false, nil, ms...)
	var it chunkenc.Iterator
	for set.Next() {
		lset := set.At().Labels()
		k := Key{Host: lset.Get("host"), Plugin: lset.Get("plugin"), Check: lset.Get("check")}
		if k.Host == "" || k.Plugin == "" {
			continue
		}
		s, ok := all[k]
		if !ok {
			s = &series{values: map[int64]float64{}, msgIDs: map[int64]int64{}, states: map[int64]classify.State{}, n: limit(k)}
			all[k] = s
		}
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
			return nil, err
		}
	}
	if err := set.Err(); err != nil {
		return nil, err
	}

	var ids []int64
	for _, s := range all {
		// Series are read one after another, so a result's samples may
		// come before or after its duration sample: sort once at the end.
		slices.Sort(s.ts)
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
			return nil, fmt.Errorf("messages: %w", err)
		}
		for id, msg := range got {
			msgs[id] = msg
		}
	}

	out := make(map[Key][]replayEntry, len(all))
	for k, s := range all {
		if len(s.ts) == 0 {
			continue
		}
		entries := make([]replayEntry, 0, len(s.ts))
		for _, t := range s.ts {
			en := replayEntry{entry: entry{ts: t, value: math.NaN(), state: classify.Unknown}}
			if v, ok := s.values[t]; ok {
				en.value = v
			}
			if id, ok := s.msgIDs[t]; ok {
				if msg, ok := msgs[id]; ok {
					en.msg, en.exit = msg.Text, msg.ExitStatus
				}
			}
			if st, ok := s.states[t]; ok {
				en.state, en.judged = st, true
			}
			entries = append(entries, en)
		}
		out[k] = entries
	}
	return out, nil
}
