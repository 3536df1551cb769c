// Package rules judges results: Lua classifiers over history, states as time
// series, trend rules, services, alert rules and notifiers. It receives every
// newly stored result from ingest through ingest.Hook. It may import tsdb and
// store, never api or ingest.
package rules
