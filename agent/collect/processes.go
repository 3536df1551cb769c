package collect

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prophasis/prophasis/wire"
)

// ProcessStat is the part of /proc/<pid>/stat the processes collector uses.
type ProcessStat struct {
	PID   int
	Comm  string
	State byte
	// CPU is user plus system time in seconds; Start is the start time in
	// seconds after boot.
	CPU, Start float64
	Threads    float64
	// RSSPages is the resident set size in pages.
	RSSPages float64
}

// ParseProcessStat parses one /proc/<pid>/stat line. The command name is in
// parentheses and may itself contain spaces and parentheses, so the fields
// are counted from the last ')'.
func ParseProcessStat(b []byte) (ProcessStat, error) {
	open := bytes.IndexByte(b, '(')
	closing := bytes.LastIndexByte(b, ')')
	if open < 0 || closing < open {
		return ProcessStat{}, fmt.Errorf("parse process stat: no (comm)")
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b[:open])))
	if err != nil {
		return ProcessStat{}, fmt.Errorf("parse process stat: pid: %w", err)
	}
	// rest[0] is field 3 (state) of proc(5), so field k is rest[k-3].
	var rest [22][]byte
	n := 0
	for f := range bytes.FieldsSeq(b[closing+1:]) {
		if n == len(rest) {
			break
		}
		rest[n] = f
		n++
	}
	if n < len(rest) || len(rest[0]) != 1 {
		return ProcessStat{}, fmt.Errorf("parse process stat: too few fields")
	}
	num := func(k int) (float64, error) {
		v, err := strconv.ParseUint(string(rest[k-3]), 10, 64)
		return float64(v), err
	}
	p := ProcessStat{PID: pid, Comm: cString(b[open+1 : closing]), State: rest[0][0]}
	utime, err1 := num(14)
	stime, err2 := num(15)
	threads, err3 := num(20)
	start, err4 := num(22)
	rss, err5 := strconv.ParseInt(string(rest[24-3]), 10, 64)
	for _, err := range []error{err1, err2, err3, err4, err5} {
		if err != nil {
			return ProcessStat{}, fmt.Errorf("parse process stat: %w", err)
		}
	}
	p.CPU = (utime + stime) / userHZ
	p.Start = start / userHZ
	p.Threads = threads
	p.RSSPages = float64(max(rss, 0))
	return p, nil
}

// processStates names the state letters of proc(5), for the count metric.
var processStates = []struct {
	letter byte
	name   string
}{
	{'R', "running"}, {'S', "sleeping"}, {'D', "disk_sleep"}, {'Z', "zombie"},
	{'T', "stopped"}, {'t', "tracing_stop"}, {'I', "idle"}, {'X', "dead"},
}

// topN is how many processes the message names per ranking.
const topN = 5

// procKey tells a process from a later one that reuses its pid.
type procKey struct {
	pid   int
	start float64
}

// processesCollector counts processes by state and names the top ones by
// CPU (since its previous run; over their lifetime on the first run) and by
// resident memory. Its value is the number of processes. Only counts become
// metrics: per-process series would be unbounded.
type processesCollector struct {
	env      env
	pageSize float64 // bytes, to convert RSS pages

	mu       sync.Mutex
	prev     map[procKey]float64 // CPU seconds at the previous run
	prevTime time.Time
	buf      []byte
}

func (*processesCollector) Name() string { return "processes" }

type procSample struct {
	name     string
	cpu, rss float64
}

func (c *processesCollector) Collect(ctx context.Context) (Collected, error) {
	c.mu.Lock()
	defer c.mu.Unlock()

	dir, err := os.Open(c.env.path("proc"))
	if err != nil {
		return Collected{}, fmt.Errorf("open proc: %w", err)
	}
	names, err := dir.Readdirnames(-1)
	dir.Close()
	if err != nil {
		return Collected{}, fmt.Errorf("list proc: %w", err)
	}
	var uptime float64
	if b, err := c.env.read("proc/uptime"); err == nil {
		uptime, _ = ParseUptime(b)
	}
	now := c.env.now()
	elapsed := now.Sub(c.prevTime).Seconds()
	first := c.prev == nil || elapsed <= 0
	if c.buf == nil {
		c.buf = make([]byte, 4096)
	}

	procDir := c.env.path("proc") + "/"
	cur := make(map[procKey]float64, len(names))
	samples := make([]procSample, 0, len(names))
	var byState [256]int
	var total int
	var threads float64
	for _, name := range names {
		if name[0] < '0' || name[0] > '9' {
			continue
		}
		if err := ctx.Err(); err != nil {
			return Collected{}, err
		}
		b, err := readInto(procDir+name+"/stat", c.buf)
		if err != nil {
			continue // the process exited meanwhile
		}
		p, err := ParseProcessStat(b)
		if err != nil {
			continue
		}
		total++
		byState[p.State]++
		threads += p.Threads
		k := procKey{p.PID, p.Start}
		cur[k] = p.CPU
		var pct float64
		switch prev, ok := c.prev[k]; {
		case !first && ok:
			pct = 100 * (p.CPU - prev) / elapsed
		case !first:
			// Started since the previous run.
			pct = 100 * p.CPU / elapsed
		case uptime > p.Start:
			pct = 100 * p.CPU / (uptime - p.Start)
		}
		samples = append(samples, procSample{name: p.Comm, cpu: max(pct, 0), rss: p.RSSPages * c.pageSize})
	}
	c.prev, c.prevTime = cur, now

	ms := make([]wire.Metric, 0, len(processStates)+2)
	ms = append(ms, gauge("count", "", float64(total)), gauge("threads", "", threads))
	for _, s := range processStates {
		ms = append(ms, gauge("count_by_state", "", float64(byState[s.letter]), "state", s.name))
	}

	var msg strings.Builder
	fmt.Fprintf(&msg, "%d processes (%d running, %d blocked, %d zombie)", total, byState['R'], byState['D'], byState['Z'])
	// Ties (idle processes) are broken by name, so the message is stable.
	sort.Slice(samples, func(i, j int) bool {
		if samples[i].cpu != samples[j].cpu {
			return samples[i].cpu > samples[j].cpu
		}
		return samples[i].name < samples[j].name
	})
	for i, s := range samples[:min(topN, len(samples))] {
		if s.cpu < 0.05 {
			break
		}
		if i == 0 {
			msg.WriteString("; top cpu: ")
		} else {
			msg.WriteString(", ")
		}
		fmt.Fprintf(&msg, "%s %.1f%%", s.name, s.cpu)
	}
	sort.Slice(samples, func(i, j int) bool {
		if samples[i].rss != samples[j].rss {
			return samples[i].rss > samples[j].rss
		}
		return samples[i].name < samples[j].name
	})
	for i, s := range samples[:min(topN, len(samples))] {
		if s.rss <= 0 {
			break
		}
		if i == 0 {
			msg.WriteString("; top memory: ")
		} else {
			msg.WriteString(", ")
		}
		fmt.Fprintf(&msg, "%s %s", s.name, humanBytes(s.rss))
	}
	return Collected{Value: ptr(float64(total)), Message: msg.String(), Metrics: ms}, nil
}

// readInto reads a small file into buf (a /proc/<pid>/stat line is far
// below 4 KiB; a longer file is an error) without the
// allocation os.ReadFile makes per call.
func readInto(path string, buf []byte) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	n, err := io.ReadFull(f, buf)
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		return buf[:n], nil
	}
	if err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("%s: longer than %d bytes", path, len(buf))
}
