package mesh

import (
	"bytes"
	"log"
	"log/slog"
	"sync"
	"time"
)

// memberlist logs through a *log.Logger with "[LEVEL] memberlist: ..."
// lines. They go to the agent's slog logger: debug lines at debug, and
// warnings and errors (a peer with the wrong key, a refused address) at
// warn but at most one per level a minute, since a flood of bad packets
// would otherwise flood the log.
func newMemberlistLogger(l *slog.Logger) *log.Logger {
	return log.New(&memberlistLog{logger: l, last: make(map[string]time.Time)}, "", 0)
}

type memberlistLog struct {
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
