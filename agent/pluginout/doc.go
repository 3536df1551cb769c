// Package pluginout is what the agent's parsers of external plugin output
// share: the finished run they read ([Output]), what they make of it
// ([Parsed]), the text and metric-name rules every kind follows, and the
// limits that bound a result.
//
// The parsers agent/nagios, agent/munin and agent/execjson import it, and so
// does the runner that dispatches to them by wire.PlanRun.Kind; each parser
// has the same entry point, Parse, returning a [Parsed]. It imports only wire
// and the standard library, like the rest of the agent.
package pluginout
