package schedule

import (
	"fmt"
	"time"

	"github.com/prophasis/prophasis/wire"
)

// SkipMessage says why a run was skipped, for the Message of a skipped
// wire.Result: "skipped: started 2m10s after its slot at 12:00:00, max
// lateness 30s". The slot is shown in UTC.
func SkipMessage(slot time.Time, late, maxLateness time.Duration) string {
	return fmt.Sprintf("skipped: started %s after its slot at %s, max lateness %s",
		roundLate(late), slot.UTC().Format(time.TimeOnly), maxLateness)
}

// roundLate keeps messages short: whole seconds from a second up,
// milliseconds below.
func roundLate(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Round(time.Second)
	}
	return d.Round(time.Millisecond)
}

// SkippedResult is the result to report for a skipped event: stamped with
// the grid time it belongs to, Skipped set, and SkipMessage as its message.
// The caller sets Host.
func (e Event) SkippedResult() wire.Result {
	return wire.Result{
		Plugin:    e.Run.Plugin,
		Check:     e.Run.Check,
		Timestamp: e.Slot.UnixMilli(),
		Skipped:   true,
		Message:   SkipMessage(e.Slot, e.Late, e.Run.MaxLateness.D()),
	}
}
