// Package trend evaluates trend rules: a PromQL selector picks series, a
// window of their recent samples is read from storage, and an expr-lang
// expression over that window yields a state for each series, with an
// explanation of the numbers that led to it. Backtest replays a rule over
// past data to list when its states would have changed, so users can tune a
// rule before turning it on.
//
// The package reads through Prometheus's storage.Queryable only and never
// writes: storing trend states as series and events, and scheduling rounds,
// belong to the server's rules wiring, its only intended importer (with the
// API's test endpoint for Backtest).
//
// # Expressions
//
// An expression (https://expr-lang.org) must yield one of "ok", "minor",
// "major", "critical" or "unknown". It is type-checked when the rule is
// compiled; string constants it may yield are checked then too, other
// results at run time. It sees:
//
//	window              the series' float samples in (at-window, at], oldest first
//	now                 the evaluation time (time.Time)
//	labels              the series' labels (map[string]string)
//
//	last(window), avg, min, max, sum, stddev (population), count (int)
//	quantile(window, q)           linear interpolation, as quantile_over_time
//	slope(window)                 least-squares slope, per second (as deriv)
//	rate(window)                  per-second increase of a counter, resets
//	                              handled, without PromQL's extrapolation
//	predict(window, horizon)      least-squares value at now+horizon, as
//	                              predict_linear; horizon a duration or seconds
//	timeleft(window, threshold)   duration until the least-squares line
//	                              reaches threshold; the largest duration
//	                              ("never") when flat or moving away
//	holt(window, sf, tf, horizon) Holt's double exponential smoothing
//	                              forecast horizon ahead (0: PromQL's
//	                              double_exponential_smoothing)
//	zscore(window)                (last - mean) / stddev
//	baseline(days)                mean over the previous days of the
//	                              window's average at the same time of day;
//	                              also baseline(window, days)
//	duration("24h")               a time.Duration; accepts d, w, y as well
//
// and expr's own builtins (abs, round, date, ...) and let bindings.
//
// Example: a disk full within a day is critical, within three days major:
//
//	timeleft(window, 100) < duration("24h") ? "critical" :
//	timeleft(window, 100) < duration("72h") ? "major" : "ok"
//
// baseline needs data beyond the window. Its days argument must be an
// integer constant (1 to 28), found by walking the compiled expression, so
// the engine knows before running it how far back to read: Evaluate reads
// the same window shifted by one, two... days for each series; Backtest
// reads the whole range once and slides both windows over it.
//
// A failure for one series (too few samples, a NaN result, division by
// zero: a / b is rewritten to fail on a zero divisor rather than yield Inf)
// makes that series unknown, with the error; the round goes on.
package trend
