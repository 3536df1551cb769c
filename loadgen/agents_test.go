package loadgen

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/prophasis/prophasis/wire"
)

// fakeNow is a clock tests move by hand.
type fakeNow struct{ t time.Time }

func (f *fakeNow) now() time.Time { return f.t }

var testEpoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// decodeBatch decodes a body strictly, as the server does.
func decodeBatch(body []byte, gzipped bool) (wire.Batch, error) {
	var b wire.Batch
	if gzipped {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return b, fmt.Errorf("gzip: %w", err)
		}
		if body, err = io.ReadAll(zr); err != nil {
			return b, fmt.Errorf("gunzip: %w", err)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return b, fmt.Errorf("body is not a wire.Batch: %w\n%.300s", err, body)
	}
	if dec.More() {
		return b, errors.New("trailing data after the batch")
	}
	return b, nil
}

// seriesID names a result's series.
func seriesID(r wire.Result) string { return r.Host + "/" + r.Plugin + "/" + r.Check }

// checkResults checks results in the order they were sent: no duplicate
// (host, plugin, check, timestamp), timestamps rising per series, every
// result realistic (value, message with the value, duration).
func checkResults(results []wire.Result, last map[string]int64) error {
	for _, r := range results {
		id := seriesID(r)
		if prev, ok := last[id]; ok && r.Timestamp <= prev {
			return fmt.Errorf("%s: timestamp %d after %d: duplicate or out of order", id, r.Timestamp, prev)
		}
		last[id] = r.Timestamp
		if r.Value == nil {
			return fmt.Errorf("%s: no value", id)
		}
		if r.Message == "" || r.Check == "" || r.Duration <= 0 {
			return fmt.Errorf("%s: incomplete result %+v", id, r)
		}
		if r.ExitStatus < 0 || r.ExitStatus > 3 {
			return fmt.Errorf("%s: exit status %d", id, r.ExitStatus)
		}
	}
	return nil
}

func TestAgentStreamBatches(t *testing.T) {
	f := func(agents, plugins, metrics, batch, conns int, gzipped bool) {
		t.Helper()
		t.Run(fmt.Sprintf("a%d_p%d_m%d_b%d_c%d_gz%v", agents, plugins, metrics, batch, conns, gzipped), func(t *testing.T) {
			clk := &fakeNow{testEpoch}
			const rounds = 5
			total := int64(agents * plugins * rounds)
			streams, err := newAgentStreams(agentConfig{agents, plugins, metrics, batch, gzipped, "agent"}, conns, total,
				func() *clock { return newClock(clk.now, testEpoch.Add(-time.Hour), time.Minute) })
			if err != nil {
				t.Fatal(err)
			}
			last := map[string]int64{}
			owner := map[string]int{}
			var got int64
			for i, s := range streams {
				for {
					body, n := s.next()
					if n == 0 {
						break
					}
					if n > batch {
						t.Fatalf("batch of %d results, limit %d", n, batch)
					}
					b, err := decodeBatch(body, gzipped)
					if err != nil {
						t.Fatal(err)
					}
					if len(b.Results) != n {
						t.Fatalf("next said %d results, body has %d", n, len(b.Results))
					}
					if err := checkResults(b.Results, last); err != nil {
						t.Fatal(err)
					}
					for _, r := range b.Results {
						if len(r.Metrics) != metrics {
							t.Fatalf("%d metrics, want %d", len(r.Metrics), metrics)
						}
						if o, ok := owner[r.Host]; ok && o != i {
							t.Fatalf("agent %s sent by connections %d and %d: its results could overtake each other", r.Host, o, i)
						}
						owner[r.Host] = i
					}
					got += int64(n)
				}
			}
			if got != total {
				t.Fatalf("sent %d results, want %d", got, total)
			}
			if len(last) != agents*plugins {
				t.Fatalf("%d series, want %d", len(last), agents*plugins)
			}
		})
	}
	f(100, 20, 0, 500, 4, false)
	f(3, 7, 2, 500, 4, false) // batches span rounds; fewer agents than connections
	f(10, 25, 0, 33, 3, true) // more plugins than kinds: disk_2, ...
	f(1, 1, 0, 10, 1, false)  // one series: a batch holds ten of its rounds
}

func TestMessagesCarryTheValue(t *testing.T) {
	seen := map[int]bool{}
	for p := range len(pluginKinds) {
		for a := range 20 {
			rs, err := renderSeries("h", a, p, 0, maxVariants)
			if err != nil {
				t.Fatal(err)
			}
			for _, js := range rs.variants {
				var r wire.Result
				if err := json.Unmarshal(js, &r); err != nil {
					t.Fatal(err)
				}
				seen[r.ExitStatus] = true
				if !strings.HasPrefix(string(js[rs.tsOff:]), strconv.Itoa(tsPlaceholder)) {
					t.Fatalf("tsOff %d does not point at the timestamp in %s", rs.tsOff, js)
				}
				if r.Plugin == "raid" {
					continue // its value is the count of active disks, 2/2
				}
				v := strconv.FormatFloat(*r.Value, 'f', -1, 64)
				if !messageHasNumber(r.Message, *r.Value) {
					t.Errorf("%s: message %q does not include the value %s", r.Plugin, r.Message, v)
				}
			}
		}
	}
	if !seen[0] || !seen[1] {
		t.Errorf("exit statuses seen %v: want mostly OK and some WARNING", seen)
	}
}

// messageHasNumber reports whether msg contains v written with 0, 2 or 4
// decimals.
func messageHasNumber(msg string, v float64) bool {
	for _, prec := range []int{0, 2, 4} {
		if strings.Contains(msg, strconv.FormatFloat(v, 'f', prec, 64)) {
			return true
		}
	}
	return false
}

func TestPut13(t *testing.T) {
	buf := []byte("xx0000000000000yy")
	put13(buf[2:], 1767225600123)
	if string(buf) != "xx1767225600123yy" {
		t.Fatalf("got %s", buf)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("a 14-digit timestamp must panic")
		}
	}()
	put13(buf[2:], 10_000_000_000_000)
}
