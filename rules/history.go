package rules

import (
	"math"

	"github.com/prophasis/prophasis/rules/classify"
)

// entry is one result as a classifier sees it.
type entry struct {
	ts    int64
	value float64 // NaN when the result had none
	msg   string
	exit  int
	state classify.State
}

// ring keeps the last n results of one host × plugin × check, ordered by
// time. It is what makes classification event-driven: the history is in
// memory, so a classification never waits on a query.
type ring struct {
	buf   []entry // capacity n; buf[(start+i)%n] is the i-th oldest
	start int
	size  int
}

// resize keeps the newest min(size, n) entries in a ring of capacity n.
func (r *ring) resize(n int) {
	if n == len(r.buf) {
		return
	}
	keep := min(r.size, n)
	buf := make([]entry, n)
	for i := range keep {
		buf[i] = r.at(r.size - keep + i)
	}
	r.buf, r.start, r.size = buf, 0, keep
}

// at returns the i-th oldest entry.
func (r *ring) at(i int) entry { return r.buf[(r.start+i)%len(r.buf)] }

// newest returns the newest entry's time, or math.MinInt64 when empty.
func (r *ring) newestTS() int64 {
	if r.size == 0 {
		return math.MinInt64
	}
	return r.at(r.size - 1).ts
}

// push appends e, the newest result, dropping the oldest when full.
func (r *ring) push(e entry) {
	n := len(r.buf)
	if r.size < n {
		r.buf[(r.start+r.size)%n] = e
		r.size++
		return
	}
	r.buf[r.start] = e
	r.start = (r.start + 1) % n
}

// insert places e, older than the newest entry, in time order; when the ring
// is full and e is older than all of it, e is dropped. It reports whether e
// was kept.
func (r *ring) insert(e entry) bool {
	n := len(r.buf)
	if r.size == n && e.ts < r.at(0).ts {
		return false
	}
	// Collect, insert, rebuild: out-of-order results are rare (a resent
	// backlog overlapping newer results), so simplicity wins.
	all := make([]entry, 0, r.size+1)
	inserted := false
	for i := range r.size {
		x := r.at(i)
		if !inserted && e.ts < x.ts {
			all = append(all, e)
			inserted = true
		}
		all = append(all, x)
	}
	if !inserted {
		all = append(all, e)
	}
	if len(all) > n {
		all = all[len(all)-n:]
	}
	copy(r.buf, all)
	r.start, r.size = 0, len(all)
	return true
}

// setNewestState records the state classified for the newest entry.
func (r *ring) setNewestState(s classify.State) {
	r.buf[(r.start+r.size-1)%len(r.buf)].state = s
}

// history fills h (reusing its slices) with the entries newest first; the
// newest entry's state is Unknown, as it is being classified.
func (r *ring) history(h *classify.History) {
	h.Values, h.Messages, h.Timestamps = h.Values[:0], h.Messages[:0], h.Timestamps[:0]
	h.States, h.ExitStatuses = h.States[:0], h.ExitStatuses[:0]
	for i := r.size - 1; i >= 0; i-- {
		e := r.at(i)
		h.Values = append(h.Values, e.value)
		h.Messages = append(h.Messages, e.msg)
		h.Timestamps = append(h.Timestamps, e.ts)
		h.ExitStatuses = append(h.ExitStatuses, e.exit)
		if i == r.size-1 {
			h.States = append(h.States, classify.Unknown)
		} else {
			h.States = append(h.States, e.state)
		}
	}
}
