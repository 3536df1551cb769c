package trend

import "time"

// Window is the samples of one series that an expression sees as window:
// float samples in (at-window, at], oldest first. Histogram samples and
// staleness markers are left out.
type Window struct {
	// T are the sample timestamps in milliseconds, V the values.
	T []int64
	V []float64
	// At is the evaluation time in milliseconds: predict, timeleft and slope
	// measure time from here, as PromQL's predict_linear does.
	At int64

	ev *evalState
}

// Len is the number of samples.
func (w *Window) Len() int { return len(w.V) }

// evalState is the per-series scratch of one evaluation: what functions
// computed (for Explain), the baseline windows, and reusable buffers.
// It belongs to one goroutine.
type evalState struct {
	explain explainer
	// baseline[d-1] holds the samples of the same window d days earlier.
	baseline []daySamples
	sortBuf  []float64
	// fit caches the least-squares fit of the window: the example rule
	// calls timeleft twice, and the fit is a third of a round's time.
	fit struct {
		done             bool
		slope, intercept float64
		err              error
	}
}

type daySamples struct {
	T []int64
	V []float64
}

const day = 24 * time.Hour
