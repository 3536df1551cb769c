package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// thresholdClassifier is the alert part's classifier: critical above 90.
const thresholdClassifier = `
if isMissing(values[1]) then return "unknown" end
if values[1] > 90 then return "critical" end
return "ok"`

// prophasisAlert is what the Prophasis side measured.
type prophasisAlert struct {
	firing, resolved       latencies
	flips, skipped, failed int
	rate                   float64 // background results/s sustained
}

// alertJob is one batch for one connection.
type alertJob struct {
	body []byte
	n    int
	keys []string // host + "/" + status of the notifications this batch should cause
}

// runProphasisAlert starts a fresh Prophasis, configures a plugin with a
// threshold classifier, a webhook module pointing at the harness and a rule
// to [critical], then pushes the background load with one host turning
// critical every --alert-flip-every, and times each notification.
//
// The background load is sent from here, paced, rather than by `prophasis
// loadgen`, which sends as fast as the server accepts: issue 5 asks for the
// latency at a given load (20k results/s), and the flips must ride in the
// same stream, in order with each host's other results.
func runProphasisAlert(ctx context.Context, cfg *config) (*prophasisAlert, error) {
	a := cfg.alert
	fmt.Fprintf(cfg.progress, "alert part: prophasis, %d results/s background, one host critical every %s, for %s\n", a.rate, a.flipEvery, a.duration)

	var mu sync.Mutex
	sent := map[string]time.Time{} // host/status → when the batch carrying it was POSTed
	res := &prophasisAlert{}
	rcv, err := startReceiver(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		var al struct {
			Status  string `json:"status"`
			Subject struct {
				Host string `json:"host"`
			} `json:"subject"`
		}
		if err := decodeJSON(r, &al); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		key := al.Subject.Host + "/" + al.Status
		mu.Lock()
		if t, ok := sent[key]; ok {
			delete(sent, key)
			if al.Status == "firing" {
				res.firing = append(res.firing, now.Sub(t))
			} else {
				res.resolved = append(res.resolved, now.Sub(t))
			}
		}
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	if err != nil {
		return nil, err
	}
	defer rcv.close()

	s, err := cfg.start(ctx, "prophasis")
	if err != nil {
		return nil, err
	}
	defer s.stop()
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: a.conns + 2}}
	for _, c := range []struct{ path, body string }{
		{"/manage/v1/plugins", `{"name":"cpu","kind":"exec","entrypoint":"cpu","history":10,"classifier":` + strconv.Quote(thresholdClassifier) + `}`},
		{"/manage/v1/alert-modules", `{"name":"hook","kind":"webhook","config":{"url":"` + rcv.url + `/hook"}}`},
		{"/manage/v1/alert-rules", `{"name":"critical","to":["critical"],"modules":["hook"],"delay":"0s"}`},
	} {
		if err := postJSON(ctx, client, s, c.path, []byte(c.body)); err != nil {
			return nil, err
		}
	}

	// One channel per connection; slot (a batch of hosts) i always goes to
	// connection i % conns, so a host's results arrive in order.
	slots := a.hosts / a.batch
	tick := time.Duration(float64(time.Second) * float64(a.batch) / float64(a.rate))
	queues := make([]chan alertJob, a.conns)
	var accepted int64
	var wg sync.WaitGroup
	var firstErr error
	for i := range queues {
		queues[i] = make(chan alertJob, 2)
		wg.Go(func() {
			for j := range queues[i] {
				mu.Lock()
				now := time.Now()
				for _, k := range j.keys {
					sent[k] = now
				}
				mu.Unlock()
				err := postResults(ctx, client, s, j.body)
				mu.Lock()
				if err != nil {
					res.failed++
					if firstErr == nil {
						firstErr = err
					}
				} else {
					accepted += int64(j.n)
				}
				mu.Unlock()
			}
		})
	}
	critical := make([]bool, a.hosts)
	used := make([]int, slots) // hosts of each slot that have flipped already
	hostName := func(h int) string { return fmt.Sprintf("alerthost%05d", h) }
	// build renders slot's batch at ts, turning its next unused host
	// critical if flip and the critical ones of last time ok again. It
	// changes no state: commit does, once the batch is queued.
	build := func(slot int, ts int64, flip bool) (j alertJob, flipHost int, recovered []int) {
		var b bytes.Buffer
		b.WriteString(`{"results":[`)
		j.n = a.batch
		flipHost = -1
		if flip && used[slot] < a.batch {
			flipHost = slot*a.batch + used[slot]
		}
		for k := range a.batch {
			h := slot*a.batch + k
			v := 10 + float64(h%40) // 10..49: ok
			switch {
			case h == flipHost:
				v = 95
				j.keys = append(j.keys, hostName(h)+"/firing")
			case critical[h]:
				recovered = append(recovered, h)
				j.keys = append(j.keys, hostName(h)+"/resolved")
			}
			if k > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"host":%q,"plugin":"cpu","check":"load","timestamp":%d,"value":%g,"message":"load %g","duration":0.01}`,
				hostName(h), ts, v, v)
		}
		b.WriteString(`]}`)
		j.body = b.Bytes()
		return j, flipHost, recovered
	}

	// Warm up for 2 s (every host ok, no flips), then measure.
	warm := 2 * time.Second
	ticker := time.NewTicker(tick)
	began := time.Now()
	var measureFrom time.Time
	var acceptedAtStart int64
	lastFlip := time.Time{}
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
		case <-ticker.C:
		}
		now := time.Now()
		if ctx.Err() != nil || now.Sub(began) >= warm+a.duration {
			break
		}
		measuring := now.Sub(began) >= warm
		if measuring && measureFrom.IsZero() {
			measureFrom = now
			mu.Lock()
			acceptedAtStart = accepted
			mu.Unlock()
		}
		slot := i % slots
		flip := measuring && now.Sub(lastFlip) >= a.flipEvery
		j, flipHost, recovered := build(slot, now.UnixMilli(), flip)
		select {
		case queues[slot%a.conns] <- j:
			for _, h := range recovered {
				critical[h] = false
			}
			if flipHost >= 0 {
				critical[flipHost] = true
				used[slot]++
				lastFlip = now
				res.flips++
			}
		default:
			// The connection is still busy: the sender is behind. The
			// batch is skipped, and its flip tried in the next one.
			res.skipped++
		}
	}
	ticker.Stop()
	elapsed := time.Since(measureFrom)
	for _, q := range queues {
		close(q)
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	mu.Lock()
	res.rate = float64(accepted-acceptedAtStart) / elapsed.Seconds()
	mu.Unlock()
	// The last notifications.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		n := 0
		for k := range sent {
			if len(k) > 7 && k[len(k)-7:] == "/firing" {
				n++
			}
		}
		mu.Unlock()
		if n == 0 {
			break
		}
	}
	if err := s.alive(); err != nil {
		return nil, err
	}
	mu.Lock()
	defer mu.Unlock()
	if len(res.firing) == 0 {
		return nil, fmt.Errorf("alert part: no webhook notification from prophasis (first request error: %v); its log:\n%s", firstErr, s.logTail())
	}
	if firstErr != nil {
		cfg.logger.Warn("alert part: failed requests", "n", res.failed, "first", firstErr)
	}
	fmt.Fprintf(cfg.progress, "  prophasis: %d firing notifications timed of %d flips, p50 %.1f ms, p99 %.1f ms, max %.1f ms; %.0f results/s sustained\n",
		len(res.firing), res.flips, res.firing.q(0.5), res.firing.q(0.99), res.firing.max(), res.rate)
	return res, nil
}

// postJSON POSTs a management API body and fails on a non-2xx answer.
func postJSON(ctx context.Context, client *http.Client, s *server, path string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %s: %s", path, resp.Status, bytes.TrimSpace(data))
	}
	return nil
}

// postResults POSTs one agent batch and checks every result was accepted.
func postResults(ctx context.Context, client *http.Client, s *server, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url+"/agent/v1/results", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(data))
	}
	var env struct {
		Status string `json:"status"`
		Data   struct {
			Rejected []json.RawMessage `json:"rejected"`
		} `json:"data"`
	}
	if err := json.Unmarshal(data, &env); err != nil || env.Status != "success" || len(env.Data.Rejected) > 0 {
		return fmt.Errorf("results not all accepted: %s", bytes.TrimSpace(data))
	}
	return nil
}
