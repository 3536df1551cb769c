package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// source produces the request bodies of one connection. next returns the
// next body and how many results or samples it carries, or n == 0 when the
// source is exhausted; the body is valid until the next call. A source
// belongs to one worker and need not be safe for concurrent use.
type source interface {
	next() (body []byte, n int)
}

// target is where and how requests are sent.
type target struct {
	url    string
	header http.Header
	// ack reads a 2xx response body; nil means the request is acknowledged
	// whole (remote write answers 204 with no body).
	ack func(body []byte, items int) (ack, error)
}

func agentTarget(server, token string, gzipped bool) target {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	if gzipped {
		h.Set("Content-Encoding", "gzip")
	}
	setAuth(h, token)
	return target{url: server + "/agent/v1/results", header: h, ack: agentAck}
}

func remoteWriteTarget(server, token string) target {
	h := http.Header{}
	h.Set("Content-Type", "application/x-protobuf")
	h.Set("Content-Encoding", "snappy")
	h.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	h.Set("User-Agent", "prophasis-loadgen")
	setAuth(h, token)
	return target{url: server + "/api/v1/write", header: h}
}

func setAuth(h http.Header, token string) {
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
}

// agentAck decodes the server's envelope around a wire.BatchResponse.
func agentAck(body []byte, items int) (ack, error) {
	var env struct {
		Status string `json:"status"`
		Data   struct {
			Accepted   int64             `json:"accepted"`
			Duplicates int64             `json:"duplicates"`
			Rejected   []json.RawMessage `json:"rejected"`
		} `json:"data"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return ack{}, fmt.Errorf("decode acknowledgement: %w", err)
	}
	if env.Status != "success" {
		return ack{}, fmt.Errorf("acknowledgement status %q: %s", env.Status, env.Error)
	}
	a := ack{accepted: env.Data.Accepted, duplicates: env.Data.Duplicates, rejected: int64(len(env.Data.Rejected))}
	if got := a.accepted + a.duplicates + a.rejected; got != int64(items) {
		return a, fmt.Errorf("acknowledgement covers %d results of %d sent", got, items)
	}
	return a, nil
}

// trackedBody is a request body whose Close tells the sender the transport
// is done with it, so the buffer under it can be reused for the next
// request (the transport may close the body after Do returns).
type trackedBody struct {
	bytes.Reader
	once   sync.Once
	closed chan struct{}
}

func (b *trackedBody) Close() error {
	b.once.Do(func() { close(b.closed) })
	return nil
}

// bodyCloseWait bounds the wait for the transport to close a request body.
const bodyCloseWait = 5 * time.Second

// errorBackoff is how long a worker waits after a transport error, so a
// server that is down is not hammered and the generator does not spin.
const errorBackoff = 100 * time.Millisecond

// worker sends one source's requests one at a time over one keep-alive
// connection until the source is exhausted, stop is closed or ctx ends.
type worker struct {
	client *http.Client
	t      target
	src    source
	rec    *recorder
	logger *slog.Logger
}

func (w *worker) run(ctx context.Context, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		default:
		}
		body, n := w.src.next()
		if n == 0 {
			return
		}
		if !w.post(ctx, body, n) {
			select {
			case <-time.After(errorBackoff):
			case <-ctx.Done():
				return
			}
		}
	}
}

// post sends one request and records the outcome; it returns false after a
// failure. A request cut short by ctx is not recorded: cancellation is not a
// failure of the server.
func (w *worker) post(ctx context.Context, body []byte, n int) bool {
	tb := &trackedBody{closed: make(chan struct{})}
	tb.Reset(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.t.url, tb)
	if err != nil {
		w.rec.fail(0, fmt.Errorf("build request: %w", err))
		return false
	}
	req.ContentLength = int64(len(body))
	// Lets the transport resend on a keep-alive connection the server had
	// just closed, instead of failing the request.
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	req.Header = w.t.header.Clone()
	start := time.Now()
	a, err := w.do(req, n)
	d := time.Since(start)
	select {
	case <-tb.closed:
	case <-time.After(bodyCloseWait):
		// Only a resent copy can still be in use; it is over when the
		// response has been read, which it has.
	}
	if ctx.Err() != nil {
		return true
	}
	if err != nil {
		w.rec.fail(d, err)
		w.logger.Debug("request failed", "err", err)
		return false
	}
	w.rec.ok(d, n, len(body), a)
	return true
}

func (w *worker) do(req *http.Request, n int) (ack, error) {
	resp, err := w.client.Do(req)
	if err != nil {
		return ack{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return ack{}, fmt.Errorf("read response: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		if len(body) > 300 {
			body = body[:300]
		}
		return ack{}, fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(body))
	}
	if w.t.ack == nil {
		return ack{accepted: int64(n)}, nil
	}
	return w.t.ack(body, n)
}

// newClient returns an HTTP client keeping one idle connection per worker.
func newClient(conns int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = conns * 2
	tr.MaxIdleConnsPerHost = conns * 2
	tr.MaxConnsPerHost = conns * 2
	// Responses are small; asking for gzip would only add work.
	tr.DisableCompression = true
	return &http.Client{Transport: tr}
}

// errNoSources is returned when a run would send nothing.
var errNoSources = errors.New("nothing to send")

// runWorkers sends every source's requests, one worker per source, until the
// sources are exhausted, duration (if > 0) has passed, or ctx ends, printing
// a progress line every progressEvery to progress (if non-nil).
func runWorkers(ctx context.Context, o *Options, t target, sources []source, unit string) (Report, error) {
	if len(sources) == 0 {
		return Report{}, errNoSources
	}
	client := o.Client
	if client == nil {
		client = newClient(len(sources))
	}
	cpu0, cpuOK := processCPU()
	start := time.Now()
	rec := newRecorder(start)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, src := range sources {
		w := &worker{client: client, t: t, src: src, rec: rec, logger: o.Logger}
		wg.Go(func() { w.run(ctx, stop) })
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	var deadline <-chan time.Time
	if o.Duration > 0 {
		timer := time.NewTimer(o.Duration)
		defer timer.Stop()
		deadline = timer.C
	}
	var tick <-chan time.Time
	if o.Progress != nil && o.ReportEvery > 0 {
		ticker := time.NewTicker(o.ReportEvery)
		defer ticker.Stop()
		tick = ticker.C
	}
wait:
	for {
		select {
		case <-done:
			break wait
		case <-deadline:
			// Let in-flight requests finish: they are part of the run.
			close(stop)
			deadline = nil
		case now := <-tick:
			rec.progress(o.Progress, unit, now)
		}
	}
	elapsed := time.Since(start)
	cpu1, _ := processCPU()

	rec.mu.Lock()
	defer rec.mu.Unlock()
	r := Report{
		Mode:       o.Mode,
		Elapsed:    elapsed,
		Requests:   rec.requests,
		Errors:     rec.errors,
		Sent:       rec.items,
		Accepted:   rec.accepted,
		Duplicates: rec.duplicates,
		Rejected:   rec.rejected,
		Bytes:      rec.bytes,
		FirstError: rec.firstErr,
		CPUKnown:   cpuOK,
		CPU:        cpu1 - cpu0,
		Workers:    len(sources),
	}
	r.P50, r.P99, r.Max = percentiles(rec.all)
	if ctx.Err() != nil {
		return r, fmt.Errorf("load run interrupted: %w", context.Cause(ctx))
	}
	return r, nil
}
