package trend

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/expr-lang/expr"
	"github.com/prometheus/common/model"
)

// never is what timeleft returns when the fitted line never reaches the
// threshold: the largest duration, so "timeleft(...) < x" is false.
const never = time.Duration(math.MaxInt64)

var errEmpty = errors.New("empty window")

// functions lists the functions expressions may call, with their types so
// the checker rejects misuse at compile time. Every function that computes
// a number records it for the outcome's explanation.
func functions() []expr.Option {
	return []expr.Option{
		windowFn("last", fnLast),
		windowFn("avg", fnAvg),
		windowFn("min", fnMin),
		windowFn("max", fnMax),
		windowFn("sum", fnSum),
		windowFn("stddev", fnStddev),
		windowFn("slope", fnSlope),
		windowFn("rate", fnRate),
		windowFn("zscore", fnZscore),
		expr.Function("count", func(p ...any) (any, error) {
			w := p[0].(*Window)
			n := len(w.V)
			w.ev.explain.add("count", nil, float64(n))
			return n, nil
		}, new(func(*Window) int)),
		expr.Function("quantile", func(p ...any) (any, error) {
			w, q := p[0].(*Window), toFloat(p[1])
			v, err := quantile(w, q)
			return record(w, "quantile", []float64{q}, v, err)
		}, new(func(*Window, float64) float64)),
		expr.Function("predict", func(p ...any) (any, error) {
			w, h := p[0].(*Window), toSeconds(p[1])
			v, err := predict(w, h)
			return record(w, "predict", []float64{h}, v, err)
		}, new(func(*Window, time.Duration) float64), new(func(*Window, float64) float64)),
		expr.Function("timeleft", func(p ...any) (any, error) {
			w, thr := p[0].(*Window), toFloat(p[1])
			d, err := timeleft(w, thr)
			if err != nil {
				return nil, fmt.Errorf("timeleft: %w", err)
			}
			w.ev.explain.addDuration("timeleft", thr, d)
			return d, nil
		}, new(func(*Window, float64) time.Duration)),
		expr.Function("holt", func(p ...any) (any, error) {
			w, sf, tf, h := p[0].(*Window), toFloat(p[1]), toFloat(p[2]), toSeconds(p[3])
			v, err := holt(w, sf, tf, h)
			return record(w, "holt", []float64{sf, tf, h}, v, err)
		}, new(func(*Window, float64, float64, time.Duration) float64), new(func(*Window, float64, float64, float64) float64)),
		expr.Function("baseline", func(p ...any) (any, error) {
			if len(p) != 2 {
				return nil, errors.New("BUG: baseline called without its window")
			}
			w, days := p[0].(*Window), toFloat(p[1])
			v, err := baseline(w, int(days))
			return record(w, "baseline", []float64{days}, v, err)
		}, new(func(*Window, int) float64), new(func(int) float64)),
		expr.Function("duration", func(p ...any) (any, error) {
			d, err := model.ParseDuration(p[0].(string))
			if err != nil {
				return nil, fmt.Errorf("duration: %w", err)
			}
			return time.Duration(d), nil
		}, new(func(string) time.Duration)),
		expr.Function("_div", func(p ...any) (any, error) {
			a, b := toFloat(p[0]), toFloat(p[1])
			if b == 0 {
				return nil, errors.New("division by zero")
			}
			return a / b, nil
		}, new(func(float64, float64) float64)),
	}
}

// windowFn registers a function of the window alone.
func windowFn(name string, f func(*Window) (float64, error)) expr.Option {
	return expr.Function(name, func(p ...any) (any, error) {
		w := p[0].(*Window)
		v, err := f(w)
		return record(w, name, nil, v, err)
	}, new(func(*Window) float64))
}

// record notes a result for the explanation, and turns NaN into an error:
// a NaN compares false with everything and would silently yield whatever
// state the expression's else-branch says.
func record(w *Window, name string, args []float64, v float64, err error) (any, error) {
	if err == nil && math.IsNaN(v) {
		err = errors.New("result is NaN")
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	w.ev.explain.add(name, args, v)
	return v, nil
}

func toFloat(v any) float64 {
	switch v := v.(type) {
	case float64:
		return v
	case int:
		return float64(v)
	case int64:
		return float64(v)
	case time.Duration:
		return v.Seconds()
	}
	panic(fmt.Sprintf("BUG: trend function got a %T", v))
}

// toSeconds reads a horizon: a duration, or a number of seconds.
func toSeconds(v any) float64 { return toFloat(v) }

func fnLast(w *Window) (float64, error) {
	if len(w.V) == 0 {
		return 0, errEmpty
	}
	return w.V[len(w.V)-1], nil
}

func fnSum(w *Window) (float64, error) {
	if len(w.V) == 0 {
		return 0, errEmpty
	}
	var s float64
	for _, v := range w.V {
		s += v
	}
	return s, nil
}

func fnAvg(w *Window) (float64, error) {
	s, err := fnSum(w)
	return s / float64(len(w.V)), err
}

func fnMin(w *Window) (float64, error) {
	if len(w.V) == 0 {
		return 0, errEmpty
	}
	return slices.Min(w.V), nil
}

func fnMax(w *Window) (float64, error) {
	if len(w.V) == 0 {
		return 0, errEmpty
	}
	return slices.Max(w.V), nil
}

// fnStddev is the population standard deviation, as stddev_over_time.
func fnStddev(w *Window) (float64, error) {
	mean, err := fnAvg(w)
	if err != nil {
		return 0, err
	}
	var sq float64
	for _, v := range w.V {
		sq += (v - mean) * (v - mean)
	}
	return math.Sqrt(sq / float64(len(w.V))), nil
}

// fnZscore is how many standard deviations the latest sample is from the
// window's mean.
func fnZscore(w *Window) (float64, error) {
	sd, err := fnStddev(w)
	if err != nil {
		return 0, err
	}
	if sd == 0 {
		return 0, errors.New("standard deviation is zero")
	}
	mean, _ := fnAvg(w)
	return (w.V[len(w.V)-1] - mean) / sd, nil
}

// quantile is quantile_over_time's: linear interpolation between ranks.
func quantile(w *Window, q float64) (float64, error) {
	if len(w.V) == 0 {
		return 0, errEmpty
	}
	if q < 0 || q > 1 || math.IsNaN(q) {
		return 0, fmt.Errorf("q must be in [0, 1], got %g", q)
	}
	s := append(w.ev.sortBuf[:0], w.V...)
	slices.Sort(s)
	w.ev.sortBuf = s
	rank := q * float64(len(s)-1)
	lo := int(math.Floor(rank))
	hi := min(lo+1, len(s)-1)
	f := rank - float64(lo)
	return s[lo]*(1-f) + s[hi]*f, nil
}

// regression fits v = slope*x + intercept by least squares, x in seconds
// relative to the evaluation time (so intercept is the fitted value at At),
// as PromQL's linearRegression behind predict_linear and deriv. The fit is
// computed once per window and cached.
func regression(w *Window) (slope, intercept float64, err error) {
	fit := &w.ev.fit
	if !fit.done {
		fit.slope, fit.intercept, fit.err = fitLine(w)
		fit.done = true
	}
	return fit.slope, fit.intercept, fit.err
}

// fitLine centres x and y on their means before summing products (two
// passes) rather than using PromQL's one-pass Kahan sums: as accurate (the
// PromQL comparison test holds to 1e-9 relative) and about three times
// faster, which matters at 14M samples a round.
func fitLine(w *Window) (slope, intercept float64, err error) {
	n := len(w.V)
	if n < 2 {
		return 0, 0, fmt.Errorf("need at least 2 samples, have %d", n)
	}
	var sumX, sumY float64
	constY := true
	y0 := w.V[0]
	for i, y := range w.V {
		sumX += float64(w.T[i] - w.At)
		sumY += y
		constY = constY && y == y0
	}
	if constY {
		// PromQL's special case: an exact zero slope, not rounding noise.
		if math.IsInf(y0, 0) {
			return math.NaN(), math.NaN(), nil
		}
		return 0, y0, nil
	}
	// x in milliseconds while summing: integers, exact up to 2^53.
	meanX, meanY := sumX/float64(n), sumY/float64(n)
	var sxy, sxx float64
	for i, y := range w.V {
		dx := float64(w.T[i]-w.At) - meanX
		sxy += dx * (y - meanY)
		sxx += dx * dx
	}
	slope = sxy / sxx * 1e3 // per millisecond to per second
	intercept = meanY - slope*meanX/1e3
	return slope, intercept, nil
}

// fnSlope is the least-squares slope per second.
func fnSlope(w *Window) (float64, error) {
	s, _, err := regression(w)
	return s, err
}

// predict is the least-squares value at At+horizon seconds, as
// predict_linear(v[window], horizon).
func predict(w *Window, horizon float64) (float64, error) {
	s, i, err := regression(w)
	return s*horizon + i, err
}

// timeleft is how long from At until the least-squares line reaches thr.
// A line that is flat, or moving away from thr (it crossed thr in the past,
// or never will), gives never: check "last(window) >= thr" as well when the
// value may already be past the threshold.
func timeleft(w *Window, thr float64) (time.Duration, error) {
	s, i, err := regression(w)
	if err != nil {
		return 0, err
	}
	if math.IsNaN(s) || s == 0 {
		return never, nil
	}
	secs := (thr - i) / s
	if secs < 0 || math.IsNaN(secs) {
		return never, nil
	}
	if secs >= float64(never/time.Second) {
		return never, nil
	}
	return time.Duration(secs * float64(time.Second)), nil
}

// fnRate is the per-second increase of a counter over the window: like
// PromQL's increase divided by the span between the first and the last
// sample, counter resets accounted for, without PromQL's extrapolation to
// the window's edges.
func fnRate(w *Window) (float64, error) {
	if len(w.V) < 2 {
		return 0, fmt.Errorf("need at least 2 samples, have %d", len(w.V))
	}
	var inc float64
	for i := 1; i < len(w.V); i++ {
		if d := w.V[i] - w.V[i-1]; d >= 0 {
			inc += d
		} else {
			inc += w.V[i] // reset: the counter restarted from zero
		}
	}
	span := float64(w.T[len(w.T)-1]-w.T[0]) / 1e3
	return inc / span, nil
}

// holt forecasts with double exponential smoothing (Holt's linear method):
// sf smooths the level, tf the trend, both in (0, 1). The forecast is the
// last level plus the trend times the number of average sample intervals in
// horizon seconds. With horizon 0 it is PromQL's
// double_exponential_smoothing.
func holt(w *Window, sf, tf, horizon float64) (float64, error) {
	if !(sf > 0 && sf < 1) || !(tf > 0 && tf < 1) {
		return 0, fmt.Errorf("smoothing and trend factors must be in (0, 1), got %g and %g", sf, tf)
	}
	n := len(w.V)
	if n < 2 {
		return 0, fmt.Errorf("need at least 2 samples, have %d", n)
	}
	level, trend := w.V[0], w.V[1]-w.V[0]
	for i := 1; i < n; i++ {
		prev := level
		level = sf*w.V[i] + (1-sf)*(level+trend)
		trend = tf*(level-prev) + (1-tf)*trend
	}
	step := float64(w.T[n-1]-w.T[0]) / 1e3 / float64(n-1)
	if step <= 0 {
		return level, nil
	}
	return level + trend*horizon/step, nil
}

// baseline is the mean, over the previous days, of the window's average at
// the same time of day: with a 1h window at 14:00 and days 7, the mean of
// the averages of 13:00-14:00 on each of the last 7 days. Days without
// samples are left out; none at all is an error.
func baseline(w *Window, days int) (float64, error) {
	if days < 1 || days > len(w.ev.baseline) {
		return 0, fmt.Errorf("BUG: baseline(%d) with %d days read", days, len(w.ev.baseline))
	}
	var sum float64
	var n int
	for _, d := range w.ev.baseline[:days] {
		if len(d.V) == 0 {
			continue
		}
		var s float64
		for _, v := range d.V {
			s += v
		}
		sum += s / float64(len(d.V))
		n++
	}
	if n == 0 {
		return 0, fmt.Errorf("no samples on the previous %d days", days)
	}
	return sum / float64(n), nil
}
