package mesh

import (
	"bytes"
	"fmt"
	"log"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// memberlist logs through a *log.Logger with "[LEVEL] memberlist: ..."
// lines. They go to the agent's slog logger: debug lines at debug, and
// warnings and errors (a peer with the wrong key, a refused address) at
// warn but at most one per level a minute, since a flood of bad packets
// would otherwise flood the log. The lines that say memberlist dropped
// something it received are counted in set, by reason, in
// prophasis_mesh_refused_total (beside the allow list's reasons).
func newMemberlistLogger(l *slog.Logger, set *metrics.Set, node string) *log.Logger {
	return log.New(&memberlistLog{logger: l, last: make(map[string]time.Time), set: set, node: node}, "", 0)
}

// dropReasons map what memberlist says when it drops received input to a
// reason label; the first match wins.
var dropReasons = []struct{ substr, reason string }{
	{"unacceptable label", "wrong_cluster"},
	{"label header", "wrong_cluster"},
	{"decrypt", "undecryptable"},
	{"Decrypt", "undecryptable"},
	{"Too many pending push/pull", "overload"},
	{"handler queue full", "overload"},
	{"Failed to decode", "malformed"},
	{"Failed to read remote state", "malformed"},
	{"Failed push/pull merge", "malformed"},
	{"invalid msgType", "malformed"},
	{"not supported", "malformed"},
	{"missing message type", "malformed"},
	{"invalid checksum", "malformed"},
	{"truncated messages", "malformed"},
	{"decompress", "malformed"},
	{"failed to receive", "malformed"},
	{"Failed to receive user message", "malformed"},
}

// dropReason returns the reason memberlist's line drops input for, or "".
func dropReason(line string) string {
	for _, r := range dropReasons {
		if strings.Contains(line, r.substr) {
			return r.reason
		}
	}
	return ""
}

type memberlistLog struct {
	set        *metrics.Set
	node       string
	logger     *slog.Logger
	mu         sync.Mutex
	last       map[string]time.Time
	suppressed int
}

func (w *memberlistLog) Write(b []byte) (int, error) {
	line := string(bytes.TrimSpace(b))
	level := "DEBUG"
	if i := bytes.IndexByte(b, ']'); bytes.HasPrefix(b, []byte("[")) && i > 0 {
		level = string(b[1:i])
	}
	if level == "ERR" || level == "WARN" {
		if reason := dropReason(line); reason != "" && w.set != nil {
			w.set.GetOrCreateCounter(fmt.Sprintf(`prophasis_mesh_refused_total{node=%q,reason=%q}`, w.node, reason)).Inc()
		}
	}
	if level == "DEBUG" || level == "INFO" {
		w.logger.Debug(line)
		return len(b), nil
	}
	w.mu.Lock()
	now := time.Now()
	if now.Sub(w.last[level]) < time.Minute {
		w.suppressed++
		w.mu.Unlock()
		w.logger.Debug(line)
		return len(b), nil
	}
	w.last[level] = now
	n := w.suppressed
	w.suppressed = 0
	w.mu.Unlock()
	w.logger.Warn(line, "similar_suppressed", n)
	return len(b), nil
}
