package pkg

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/prophasis/prophasis/rules/classify"
)

// FixtureResult is one recorded result of a test fixture: a JSON array of
// them, oldest first, replayed by RunFixture.
type FixtureResult struct {
	// Timestamp is the result's time in milliseconds since the epoch; 0
	// means a minute after the previous result (the first: FixtureStart).
	Timestamp int64 `json:"timestamp,omitempty"`
	// Value is the result's value; nil (null or absent) when it had none.
	Value *float64 `json:"value"`
	// Message is the result's message.
	Message string `json:"message,omitempty"`
	// ExitCode is the run's exit status; absent means 0.
	ExitCode *int `json:"exit_code,omitempty"`
	// Expect is the state the classifier should give this result ("ok",
	// "minor", "major", "critical", "unknown"); "" expects nothing.
	Expect string `json:"expect,omitempty"`
}

// FixtureStep is what RunFixture made of one FixtureResult.
type FixtureStep struct {
	// Time is the result's timestamp (filled in when the fixture had 0).
	Time     int64
	Value    *float64
	Message  string
	ExitCode int
	// State is the classifier's state, "" when the result was not
	// classified (older than one already seen: it joins the history only,
	// as in the engine).
	State string
	// Expect is the fixture's expectation ("" for none); OK says whether
	// State met it (true without one).
	Expect string
	OK     bool
	// Error is the classifier's error, if it failed (State is then unknown).
	Error string
}

// Limits of fixtures.
const (
	// FixtureStart is the time of a first result without a timestamp:
	// 2026-01-01T00:00:00Z.
	FixtureStart = int64(1767225600000)
	// MaxFixtureResults bounds a fixture's results.
	MaxFixtureResults = 10000
	// FixtureTimeout bounds a whole replay: honest classifiers take
	// microseconds a result, so 10 000 results fit easily, while a
	// classifier that runs into its time limit at every result cannot hold
	// a caller (the registry linting an upload) for minutes.
	FixtureTimeout = 5 * time.Second
)

// ErrFixtureAborted is returned by RunFixture when the replay stopped
// early: the classifier ran out of time or memory, or the replay took
// longer than FixtureTimeout.
var ErrFixtureAborted = errors.New("fixture replay stopped")

// ParseFixture decodes a fixture: a JSON array of FixtureResult objects,
// oldest first, at most 1 MiB and MaxFixtureResults entries. Unknown fields
// and expectations that are not states are errors naming the entry.
func ParseFixture(data []byte) ([]FixtureResult, error) {
	if len(data) > maxFixture {
		return nil, fmt.Errorf("fixture: more than %d bytes", maxFixture)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var fx []FixtureResult
	if err := dec.Decode(&fx); err != nil {
		return nil, fmt.Errorf("fixture: %w (want a JSON array of {\"timestamp\", \"value\", \"message\", \"exit_code\", \"expect\"}, oldest first)", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("fixture: unexpected data after the JSON array")
	}
	if len(fx) == 0 {
		return nil, errors.New("fixture: no results")
	}
	if len(fx) > MaxFixtureResults {
		return nil, fmt.Errorf("fixture: %d results, more than %d", len(fx), MaxFixtureResults)
	}
	for i, r := range fx {
		if r.Expect != "" {
			if _, ok := classify.ParseState(r.Expect); !ok {
				return nil, fmt.Errorf("fixture: result %d: expect %q is not a state (ok, minor, major, critical, unknown)", i, r.Expect)
			}
		}
		if r.Timestamp < 0 {
			return nil, fmt.Errorf("fixture: result %d: timestamp %d is negative", i, r.Timestamp)
		}
	}
	return fx, nil
}

// fixtureEntry is one result in the replayed history.
type fixtureEntry struct {
	ts    int64
	value float64
	msg   string
	exit  int
	state classify.State
}

// RunFixture replays the package's classifier (or the default for its
// kind) over fixture, oldest first, exactly as the rules engine does: the
// last n results (the manifest's history) newest first, states[1]
// "unknown" for the result being judged and the earlier results' states
// as the classifier returned them. A result not newer than the newest so
// far joins the history without being classified. It returns one step per
// result; an error only when the classifier does not compile, the fixture
// is unusable or the replay stopped early (ErrFixtureAborted: the
// classifier hit its time or memory limit, or the whole replay
// FixtureTimeout; the steps so far come with it).
func RunFixture(p *Package, fixture []FixtureResult) ([]FixtureStep, error) {
	ctx, cancel := context.WithTimeout(context.Background(), FixtureTimeout)
	defer cancel()
	src, name := p.Classifier, p.Manifest.Name
	if src == "" {
		src, name = classify.DefaultSource(p.Manifest.Kind), name+" (default)"
	}
	cls, err := classify.Compile(name, src)
	if err != nil {
		return nil, err
	}
	if len(fixture) > MaxFixtureResults {
		return nil, fmt.Errorf("fixture: %d results, more than %d", len(fixture), MaxFixtureResults)
	}
	n := p.Manifest.HistoryN()
	var ring []fixtureEntry // oldest first, at most n
	var h classify.History
	steps := make([]FixtureStep, 0, len(fixture))
	prev := FixtureStart - 60000
	for _, r := range fixture {
		e := fixtureEntry{ts: r.Timestamp, value: math.NaN(), msg: r.Message}
		if e.ts == 0 {
			e.ts = prev + 60000
		}
		prev = e.ts
		if r.Value != nil {
			e.value = *r.Value
		}
		if r.ExitCode != nil {
			e.exit = *r.ExitCode
		}
		step := FixtureStep{Time: e.ts, Value: r.Value, Message: r.Message, ExitCode: e.exit, Expect: r.Expect}
		if len(ring) > 0 && e.ts <= ring[len(ring)-1].ts {
			ring = insertEntry(ring, e, n)
			step.OK = r.Expect == ""
			steps = append(steps, step)
			continue
		}
		ring = append(ring, e)
		if len(ring) > n {
			ring = slices.Delete(ring, 0, len(ring)-n)
		}
		fillHistory(&h, ring)
		st, err := cls.Classify(ctx, h)
		ring[len(ring)-1].state = st
		step.State = st.String()
		step.OK = r.Expect == "" || r.Expect == step.State
		if err != nil {
			step.Error = err.Error()
		}
		steps = append(steps, step)
		if errors.Is(err, classify.ErrTimeout) || errors.Is(err, classify.ErrMemory) || ctx.Err() != nil {
			return steps, fmt.Errorf("%w at result %d: %v", ErrFixtureAborted, len(steps)-1, err)
		}
	}
	return steps, nil
}

// insertEntry places e, not newer than the newest, in time order (after
// entries of the same time); when ring is full and e is older than all of
// it, e is dropped. It mirrors the engine's ring.insert.
func insertEntry(ring []fixtureEntry, e fixtureEntry, n int) []fixtureEntry {
	if len(ring) == n && e.ts < ring[0].ts {
		return ring
	}
	i := len(ring)
	for j, x := range ring {
		if e.ts < x.ts {
			i = j
			break
		}
	}
	// Never classified: later histories show it as unknown, as the
	// engine's do.
	e.state = classify.Unknown
	ring = slices.Insert(ring, i, e)
	if len(ring) > n {
		ring = slices.Delete(ring, 0, len(ring)-n)
	}
	return ring
}

// fillHistory fills h with ring newest first, the newest's state Unknown
// (it is being classified), as the engine's ring.history does.
func fillHistory(h *classify.History, ring []fixtureEntry) {
	h.Values, h.Messages, h.Timestamps = h.Values[:0], h.Messages[:0], h.Timestamps[:0]
	h.States, h.ExitStatuses = h.States[:0], h.ExitStatuses[:0]
	for i := len(ring) - 1; i >= 0; i-- {
		e := ring[i]
		h.Values = append(h.Values, e.value)
		h.Messages = append(h.Messages, e.msg)
		h.Timestamps = append(h.Timestamps, e.ts)
		h.ExitStatuses = append(h.ExitStatuses, e.exit)
		if i == len(ring)-1 {
			h.States = append(h.States, classify.Unknown)
		} else {
			h.States = append(h.States, e.state)
		}
	}
}
