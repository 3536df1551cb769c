package loadgen

import (
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// maxLatencies bounds the latencies kept for the final percentiles; past it
// a uniform reservoir sample is kept (16 MiB of durations).
const maxLatencies = 2 << 20

// recorder collects what the workers observe. It is safe for concurrent use;
// at a few thousand requests per second a mutex costs nothing measurable.
type recorder struct {
	mu   sync.Mutex
	all  []time.Duration
	seen int64
	rng  *rand.Rand

	requests, errors          int64
	items, accepted           int64
	duplicates, rejected      int64
	bytes                     int64
	firstErr                  string
	win                       []time.Duration // latencies since the last progress line
	winAccepted, winErrors    int64
	winRequests               int64
	lastProgress, progressRef time.Time
}

func newRecorder(start time.Time) *recorder {
	return &recorder{rng: rand.New(rand.NewPCG(1, 2)), lastProgress: start, progressRef: start}
}

// ack is what the server acknowledged of one request.
type ack struct {
	accepted, duplicates, rejected int64
}

func (r *recorder) ok(d time.Duration, items, bytes int, a ack) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.latency(d)
	r.requests++
	r.winRequests++
	r.items += int64(items)
	r.bytes += int64(bytes)
	r.accepted += a.accepted
	r.winAccepted += a.accepted
	r.duplicates += a.duplicates
	r.rejected += a.rejected
}

func (r *recorder) fail(d time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.latency(d)
	r.requests++
	r.winRequests++
	r.errors++
	r.winErrors++
	if r.firstErr == "" {
		r.firstErr = err.Error()
	}
}

func (r *recorder) latency(d time.Duration) {
	r.seen++
	r.win = append(r.win, d)
	if len(r.all) < maxLatencies {
		r.all = append(r.all, d)
		return
	}
	if j := r.rng.Int64N(r.seen); j < maxLatencies {
		r.all[j] = d
	}
}

// progress writes one line about the requests since the previous line.
func (r *recorder) progress(w io.Writer, unit string, now time.Time) {
	r.mu.Lock()
	win := r.win
	r.win = nil
	acc, errs, reqs := r.winAccepted, r.winErrors, r.winRequests
	r.winAccepted, r.winErrors, r.winRequests = 0, 0, 0
	secs := now.Sub(r.lastProgress).Seconds()
	r.lastProgress = now
	elapsed := now.Sub(r.progressRef)
	r.mu.Unlock()
	p50, p99, _ := percentiles(win)
	fmt.Fprintf(w, "t=%-6s %s/s=%-9.0f requests/s=%-7.1f p50=%-8s p99=%-8s errors=%d\n",
		elapsed.Round(100*time.Millisecond), unit, float64(acc)/secs, float64(reqs)/secs,
		p50.Round(10*time.Microsecond), p99.Round(10*time.Microsecond), errs)
}

// percentiles returns the median, 99th percentile and maximum of ds (which
// it sorts).
func percentiles(ds []time.Duration) (p50, p99, maxd time.Duration) {
	if len(ds) == 0 {
		return 0, 0, 0
	}
	slices.Sort(ds)
	at := func(q float64) time.Duration {
		i := int(q*float64(len(ds))+0.5) - 1
		return ds[min(max(i, 0), len(ds)-1)]
	}
	return at(0.50), at(0.99), ds[len(ds)-1]
}
