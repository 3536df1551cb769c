package rules

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/prophasis/prophasis/rules/classify"
)

// ErrBadTest is wrapped by the errors TestClassifier returns for a request
// it cannot run (the API answers 400).
var ErrBadTest = errors.New("bad classifier test")

// MaxTestResults bounds ClassifierTest.Last and the length of a given
// history.
const MaxTestResults = 1000

// ClassifierTest asks what a classifier says: over a given history, or
// replayed over the last results of a host ("what would this classifier
// have said?").
type ClassifierTest struct {
	// Source is the classifier to run; "" means the one configured for
	// Check × Plugin (the check's override, the plugin's, or the default
	// for the plugin's kind).
	Source string `json:"source,omitempty"`
	Plugin string `json:"plugin"`
	Check  string `json:"check,omitempty"`
	// History, when set, is classified once, as given (newest first).
	History *TestHistory `json:"history,omitempty"`
	// Host and Last, when History is not set: the last Last results of
	// Host × Plugin × Check (at most MaxTestResults, default 20) are each
	// classified with the n results before them, as the engine would have.
	Host string `json:"host,omitempty"`
	Last int    `json:"last,omitempty"`
}

// TestHistory is a history given to a classifier test, newest first. A
// null value is a result without a value.
type TestHistory struct {
	Values     []*float64       `json:"values"`
	Messages   []string         `json:"messages,omitempty"`
	Timestamps []int64          `json:"timestamps,omitempty"`
	ExitCodes  []int            `json:"exit_codes,omitempty"`
	States     []classify.State `json:"states,omitempty"`
}

// TestStep is one classification of a test, oldest first.
type TestStep struct {
	Time    int64          `json:"time,omitempty"`
	Value   *float64       `json:"value,omitempty"`
	Message string         `json:"message,omitempty"`
	State   classify.State `json:"state"`
	// Recorded is the state the engine recorded for this result, when
	// replaying stored results that were judged.
	Recorded *classify.State `json:"recorded,omitempty"`
	Error    string          `json:"error,omitempty"`
}

// TestClassifier runs a classifier test. Errors wrap ErrBadTest when the
// request is wrong, or classify.ErrCompile when the source does not
// compile; a classifier failing at run time is a step with Error set.
func (e *Engine) TestClassifier(ctx context.Context, t ClassifierTest) ([]TestStep, error) {
	if t.Plugin == "" {
		return nil, fmt.Errorf("%w: plugin is required", ErrBadTest)
	}
	j := e.cfg.Load().lookup(t.Check, t.Plugin)
	cls := j.cls
	if t.Source != "" {
		c, err := classify.CompileOptions(t.Plugin, t.Source, e.opts.Classify)
		if err != nil {
			return nil, err
		}
		cls = c
	}
	if t.History != nil {
		if t.Host != "" || t.Last != 0 {
			return nil, fmt.Errorf("%w: give either history or host and last, not both", ErrBadTest)
		}
		h := t.History
		if n := max(len(h.Values), len(h.Messages), len(h.Timestamps), len(h.ExitCodes), len(h.States)); n > MaxTestResults {
			return nil, fmt.Errorf("%w: history has %d entries, at most %d", ErrBadTest, n, MaxTestResults)
		}
		hist := classify.History{Messages: h.Messages, Timestamps: h.Timestamps, ExitStatuses: h.ExitCodes, States: h.States}
		for _, v := range h.Values {
			if v == nil {
				hist.Values = append(hist.Values, math.NaN())
			} else {
				hist.Values = append(hist.Values, *v)
			}
		}
		st, err := cls.Classify(ctx, hist)
		step := TestStep{State: st}
		if len(h.Values) > 0 {
			step.Value = h.Values[0]
		}
		if len(h.Messages) > 0 {
			step.Message = h.Messages[0]
		}
		if len(h.Timestamps) > 0 {
			step.Time = h.Timestamps[0]
		}
		if err != nil {
			step.Error = err.Error()
		}
		return []TestStep{step}, nil
	}
	if t.Host == "" {
		return nil, fmt.Errorf("%w: give a history, or a host whose stored results to replay", ErrBadTest)
	}
	last := t.Last
	if last == 0 {
		last = 20
	}
	if last < 0 || last > MaxTestResults {
		return nil, fmt.Errorf("%w: last %d must be between 1 and %d", ErrBadTest, last, MaxTestResults)
	}
	k := Key{Host: t.Host, Plugin: t.Plugin, Check: t.Check}
	all, err := e.readResults(ctx, []*labels.Matcher{
		labels.MustNewMatcher(labels.MatchEqual, "host", k.Host),
		labels.MustNewMatcher(labels.MatchEqual, "plugin", k.Plugin),
		labels.MustNewMatcher(labels.MatchEqual, "check", k.Check),
	}, func(Key) int { return last + j.n - 1 })
	if err != nil {
		return nil, err
	}
	entries := all[k]
	if len(entries) == 0 {
		return nil, fmt.Errorf("%w: no stored results for host %q, plugin %q, check %q in the last %s",
			ErrBadTest, t.Host, t.Plugin, t.Check, e.opts.Rebuild)
	}
	var r ring
	r.resize(j.n)
	var hist classify.History
	var steps []TestStep
	first := max(0, len(entries)-last)
	for i, en := range entries {
		recorded, judged := en.state, en.judged
		en.state = classify.Unknown
		r.push(en.entry)
		if i < first {
			r.setNewestState(recorded)
			continue
		}
		r.history(&hist)
		st, err := cls.Classify(ctx, hist)
		r.setNewestState(st)
		step := TestStep{Time: en.ts, Value: valuePtr(en.value), Message: en.msg, State: st}
		if judged {
			step.Recorded = &recorded
		}
		if err != nil {
			step.Error = err.Error()
		}
		steps = append(steps, step)
	}
	return steps, nil
}
