package manifest

// FileName is the manifest's name at the archive's root.
const FileName = "manifest.json"

// Version is the manifest format this package reads and writes.
const Version = 1

// Manifest is a plugin package's manifest.json.
type Manifest struct {
	// ManifestVersion is the format's version; 0 (absent) means Version.
	ManifestVersion int `json:"manifest_version,omitempty"`
	// Name is the plugin's name (store.NamePattern, at most 64 bytes).
	Name string `json:"name"`
	// Version is the package's semantic version (MAJOR.MINOR.PATCH with an
	// optional -prerelease and +build).
	Version     string `json:"version"`
	Description string `json:"description"`
	Author      string `json:"author,omitempty"`
	// License is an SPDX identifier ("MIT", "Apache-2.0", "GPL-2.0-or-later").
	License  string `json:"license,omitempty"`
	Homepage string `json:"homepage,omitempty"`
	// Kind is how the agent runs it: "exec" (prints one JSON object),
	// "nagios", "munin" or "builtin" (a collector inside the agent).
	Kind string `json:"kind"`
	// Entrypoint is the file to run: a path inside the package ("bin/x.sh",
	// relative, no ".."), or an absolute path on the host for a system
	// plugin the package wraps ("/usr/lib/nagios/plugins/check_disk"), or
	// for builtin plugins the collector's name.
	Entrypoint string `json:"entrypoint"`
	// Args are passed to the program; "${name}" in them is replaced by the
	// parameter's value ("$$" is a literal "$").
	Args []string `json:"args,omitempty"`
	// Platforms lists the GOOS/GOARCH pairs the package runs on ("linux/amd64");
	// empty means any.
	Platforms []string `json:"platforms,omitempty"`
	// Interval is the default period of the schedule a new check gets
	// ("1m"); Timeout bounds one run (default 10 s, at most 1 h). Both are
	// Go durations with d (day) allowed.
	Interval string `json:"interval,omitempty"`
	Timeout  string `json:"timeout,omitempty"`
	// Parameters are the plugin's settings: each reaches the program as
	// the environment variable PROPHASIS_PARAM_<NAME> (upper case) and as
	// ${name} in Args.
	Parameters []Parameter `json:"parameters,omitempty"`
	// History is n, the results the classifier sees (1 to 1000; default 10).
	History int `json:"history,omitempty"`
	// Classifier is the path of the classifier's Lua source in the package
	// ("classifier.lua"); empty means the default for Kind.
	Classifier string `json:"classifier,omitempty"`
	// TrendRules are trend rules installed with the plugin, named
	// "<plugin>.<name>" on the server (store names allow no ':').
	TrendRules []TrendRule `json:"trend_rules,omitempty"`
	// Graphs are the hints the built-in dashboards use, one per value or
	// metric worth a chart.
	Graphs []Graph `json:"graphs,omitempty"`
}

// Parameter is one setting of a plugin.
type Parameter struct {
	// Name is ^[a-z][a-z0-9_]{0,62}$.
	Name string `json:"name"`
	// Type is one of ParamTypes.
	Type string `json:"type"`
	// Default is the value when a check sets none, written as a JSON value
	// of the type (a duration as a string, "30s"); nil means none, which
	// Required then demands. Parse decodes numbers as json.Number; Defaults
	// gives every default as the string a check would set.
	Default any `json:"default,omitempty"`
	// Required: a check must set it (when there is no default).
	Required    bool   `json:"required,omitempty"`
	Description string `json:"description,omitempty"`
}

// ParamTypes are the types a Parameter may have.
var ParamTypes = []string{"string", "int", "float", "bool", "duration"}

// TrendRule is a trend rule a plugin ships (see docs/trend-rules.md).
type TrendRule struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Selector    string `json:"selector"`
	Window      string `json:"window"`
	Interval    string `json:"interval,omitempty"`
	Expr        string `json:"expr"`
}

// Graph is how to chart one of the plugin's values.
type Graph struct {
	// Metric is "value" (the result's value, prophasis_value), "state"
	// (prophasis_state) or the name of a metric the plugin returns
	// (prophasis_<plugin>_<metric>).
	Metric string `json:"metric"`
	// Unit is a Prometheus base unit or a display unit: "percent",
	// "bytes", "seconds", "bytes_per_second", "ratio", "count", "celsius"...
	Unit string `json:"unit,omitempty"`
	Help string `json:"help,omitempty"`
	// Chart is one of Charts.
	Chart string `json:"chart"`
	// Min and Max fix the axis (gauges need both); nil lets it follow the data.
	Min *float64 `json:"min,omitempty"`
	Max *float64 `json:"max,omitempty"`
}

// Charts are the preferred chart types a Graph may name.
var Charts = []string{"line", "stacked", "gauge", "state"}

// Kinds are the kinds of plugin.
var Kinds = []string{"exec", "nagios", "munin", "builtin"}
