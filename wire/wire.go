// Package wire defines the messages that prophasis-agent and the Prophasis server
// exchange over the agent API (/agent/v1/...).
//
// It is a leaf package: both the agent and the server import it, and it imports
// neither. Changing a field here changes the protocol; add fields, never rename
// them, so agents of the previous release keep working.
package wire

// Result is one plugin run on one host.
//
// A result always has a timestamp; Value, Message and Metrics are each optional,
// so a plugin can report a number, a text, both or neither (a pure exit status).
type Result struct {
	// Host is the host the plugin ran on.
	Host string `json:"host"`
	// Plugin is the plugin's name, as registered on the server.
	Plugin string `json:"plugin"`
	// Check names the check that scheduled the run; empty for ad-hoc runs.
	Check string `json:"check,omitempty"`
	// Timestamp is when the run started, in milliseconds since the Unix epoch.
	// Agents replaying a backlog send the original timestamp.
	Timestamp int64 `json:"timestamp"`
	// Value is the plugin's main value; nil when the plugin reports none.
	Value *float64 `json:"value,omitempty"`
	// Message is the plugin's text output (first line of a Nagios plugin, say).
	Message string `json:"message,omitempty"`
	// Metrics are extra named values, stored as prophasis_<plugin>_<name>.
	Metrics []Metric `json:"metrics,omitempty"`
	// Duration is how long the run took, in seconds.
	Duration float64 `json:"duration"`
	// ExitStatus is the plugin's exit status (Nagios: 0 ok, 1 warning, 2 critical, 3 unknown).
	ExitStatus int `json:"exit_status"`
	// Skipped marks a scheduled run that did not happen because it would
	// have started later than its max lateness; Message says why.
	Skipped bool `json:"skipped,omitempty"`
}

// Metric is one extra value of a result, with optional labels of its own
// (a disk plugin reports used_bytes once per mount, labelled mount="/var").
type Metric struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
	Value  float64           `json:"value"`
	// Unit is the value's unit after normalisation ("seconds", "bytes",
	// "percent", or empty); Counter marks a value that only grows (a Nagios
	// "c" or a Munin COUNTER/DERIVE), which graphs show as a rate.
	Unit    string `json:"unit,omitempty"`
	Counter bool   `json:"counter,omitempty"`
}

// Batch is the body of POST /agent/v1/results.
type Batch struct {
	Results []Result `json:"results"`
}

// BatchResponse acknowledges a batch. Every result counted in Accepted or
// Duplicates is durably stored and may be dropped from the agent's spool; a
// result listed in Rejected can never be stored (too old, conflicting value)
// and must be dropped too, since resending it cannot succeed.
type BatchResponse struct {
	Accepted   int         `json:"accepted"`
	Duplicates int         `json:"duplicates"`
	Rejected   []Rejection `json:"rejected,omitempty"`
}

// Rejection says why one result of a batch was not stored.
type Rejection struct {
	// Index is the result's position in Batch.Results.
	Index int    `json:"index"`
	Error string `json:"error"`
}
