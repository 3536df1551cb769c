package rules

import (
	"fmt"
	"time"
)

// limitedLog holds back a system log line that repeats: a new message is
// written at once, the same one again at most every interval, with the
// number of repeats held back in between (a classifier failing on every
// result, or an agent skipping every run, writes a line a minute, not
// thousands).
type limitedLog struct {
	key      string // what the last message written was about
	at       int64  // when, Unix ms
	repeated int    // held back since
}

// next returns the text to write at ts (Unix ms), or false to hold it
// back. Messages with the same key count as the same (a skipped run's
// message names its own slot; its key does not).
func (l *limitedLog) next(key, text string, ts, every int64) (string, bool) {
	if key == l.key && ts-l.at < every {
		l.repeated++
		return "", false
	}
	if key == l.key && l.repeated > 0 {
		text = fmt.Sprintf("%s (and %d more times since %s)", text, l.repeated, time.UnixMilli(l.at).UTC().Format(time.RFC3339))
	}
	l.key, l.at, l.repeated = key, ts, 0
	return text, true
}
