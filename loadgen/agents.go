package loadgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"

	"github.com/klauspost/compress/gzip"

	"github.com/prophasis/prophasis/wire"
)

// tsPlaceholder is the timestamp rendered into result templates; it has the
// 13 digits every millisecond timestamp between 2001 and 2286 has, so the
// real timestamp is written over it in place.
const tsPlaceholder = 1_000_000_000_000

const (
	minTs13 = 1_000_000_000_000
	maxTs13 = 9_999_999_999_999
)

// templateBudget bounds the memory the result templates of one run take;
// past it each series gets fewer value variants.
const templateBudget = 64 << 20

// maxVariants is how many different runs (value, message, exit status) each
// series cycles through. Eight is enough for the server to see changing
// values and messages; the load generator stays cheap because it renders
// them once.
const maxVariants = 8

// resultSeries is one (agent, plugin): its pre-rendered results, each a
// complete JSON object of wire.Result with the timestamp at tsOff.
type resultSeries struct {
	variants [][]byte
	tsOff    int
}

// agentStream produces the batches one connection sends: the results of the
// agents it owns, round after round (every plugin of every agent once per
// round). Since one connection owns an agent, the agent's results arrive in
// order, as they do from a real agent; a batch may span rounds.
//
// Bodies are assembled by copying pre-rendered results and writing the
// timestamp digits in place: no JSON encoding, no allocation per batch.
// It is not safe for concurrent use.
type agentStream struct {
	series []resultSeries
	batch  int
	quota  int64 // results left to send; <0 means no limit
	clock  *clock

	pos        int // next series of the round
	round      int
	ts, spread int64

	buf  []byte
	gz   *gzip.Writer
	gbuf bytes.Buffer
}

// agentConfig is what agentStreams need of Options.
type agentConfig struct {
	Agents, Plugins, Metrics, Batch int
	Gzip                            bool
	HostPrefix                      string
}

// newAgentStreams splits the agents over n streams (at most one per agent) (agent a goes to stream
// a mod n) and renders their result templates. quota is the total number of
// results over all streams (0: unlimited).
func newAgentStreams(cfg agentConfig, n int, quota int64, mkClock func() *clock) ([]*agentStream, error) {
	variants := variantsFor(cfg.Agents*cfg.Plugins, 260+cfg.Metrics*40)
	n = min(n, cfg.Agents) // a connection without agents would have nothing to send
	streams := make([]*agentStream, n)
	for i := range streams {
		streams[i] = &agentStream{batch: cfg.Batch, quota: -1, clock: mkClock()}
		if quota > 0 {
			streams[i].quota = quota / int64(n)
			if int64(i) < quota%int64(n) {
				streams[i].quota++
			}
		}
		if cfg.Gzip {
			gz, err := gzip.NewWriterLevel(&streams[i].gbuf, gzip.BestSpeed)
			if err != nil {
				return nil, fmt.Errorf("gzip writer: %w", err)
			}
			streams[i].gz = gz
		}
	}
	for a := range cfg.Agents {
		s := streams[a%n]
		host := fmt.Sprintf("%s%05d.example.net", cfg.HostPrefix, a)
		for p := range cfg.Plugins {
			rs, err := renderSeries(host, a, p, cfg.Metrics, variants)
			if err != nil {
				return nil, err
			}
			s.series = append(s.series, rs)
		}
	}
	return streams, nil
}

// variantsFor picks how many variants each of n series of about size bytes
// gets within templateBudget.
func variantsFor(n, size int) int {
	v := templateBudget / max(n*size, 1)
	return min(max(v, 1), maxVariants)
}

// renderSeries renders the results of agent a's plugin p.
func renderSeries(host string, a, p, metrics, variants int) (resultSeries, error) {
	name, check, kind := pluginFor(p)
	// Seeded by agent and plugin: a run renders the same results every time,
	// so two servers fed by it get the same data.
	r := rand.New(rand.NewPCG(uint64(a), uint64(p)))
	rs := resultSeries{tsOff: -1}
	for range variants {
		v, exit, msg := kind.run(r)
		res := wire.Result{
			Host: host, Plugin: name, Check: check,
			Timestamp:  tsPlaceholder,
			Value:      &v,
			Message:    msg,
			Duration:   float64(1+r.IntN(250)) / 1000,
			ExitStatus: exit,
		}
		for m := range metrics {
			res.Metrics = append(res.Metrics, wire.Metric{
				Name:  "extra_" + strconv.Itoa(m),
				Value: round2(r.Float64() * 1000),
			})
		}
		js, err := json.Marshal(&res)
		if err != nil {
			return rs, fmt.Errorf("render result: %w", err)
		}
		off := bytes.Index(js, []byte(`"timestamp":`+strconv.Itoa(tsPlaceholder)))
		if off < 0 {
			return rs, fmt.Errorf("BUG: no timestamp in rendered result %s", js)
		}
		off += len(`"timestamp":`)
		if rs.tsOff >= 0 && rs.tsOff != off {
			return rs, fmt.Errorf("BUG: timestamp moved between variants of %s/%s", host, name)
		}
		rs.tsOff = off
		rs.variants = append(rs.variants, js)
	}
	return rs, nil
}

// put13 writes ts as exactly 13 decimal digits.
func put13(dst []byte, ts int64) {
	if ts < minTs13 || ts > maxTs13 {
		panic(fmt.Sprintf("BUG: timestamp %d does not have 13 digits", ts))
	}
	for i := 12; i >= 0; i-- {
		dst[i] = byte('0' + ts%10)
		ts /= 10
	}
}

// next returns the next batch body and how many results it holds, or n == 0
// when the stream's quota is spent. The body is valid until the next call.
func (s *agentStream) next() (body []byte, n int) {
	want := s.batch
	if s.quota >= 0 {
		want = int(min(int64(want), s.quota))
		s.quota -= int64(want)
	}
	if want == 0 {
		return nil, 0
	}
	buf := append(s.buf[:0], `{"results":[`...)
	for i := range want {
		if s.pos == 0 {
			s.ts, s.spread = s.clock.tick()
			s.round++
		}
		if i > 0 {
			buf = append(buf, ',')
		}
		rs := &s.series[s.pos]
		start := len(buf)
		buf = append(buf, rs.variants[s.round%len(rs.variants)]...)
		// A backfill round staggers the series over the interval, as
		// agents whose plugins run one after the other do.
		put13(buf[start+rs.tsOff:], s.ts+s.spread*int64(s.pos)/int64(len(s.series)))
		s.pos++
		if s.pos == len(s.series) {
			s.pos = 0
		}
	}
	buf = append(buf, "]}"...)
	s.buf = buf
	if s.gz == nil {
		return buf, want
	}
	s.gbuf.Reset()
	s.gz.Reset(&s.gbuf)
	if _, err := s.gz.Write(buf); err != nil {
		panic("BUG: gzip into a bytes.Buffer failed: " + err.Error())
	}
	if err := s.gz.Close(); err != nil {
		panic("BUG: gzip into a bytes.Buffer failed: " + err.Error())
	}
	return s.gbuf.Bytes(), want
}
