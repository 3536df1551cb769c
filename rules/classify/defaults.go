package classify

// The classifiers used when a plugin has none of its own, by plugin kind.
// They read the exit status, which every kind of plugin has.
const (
	// NagiosDefault follows the Nagios plugin convention. WARNING maps to
	// major: it is the level below CRITICAL, and minor is left for the
	// classifiers that want a gentler step.
	NagiosDefault = `-- default for Nagios plugins: the exit status decides
local e = exit_codes[1]
if e == 0 then return "ok" end
if e == 1 then return "major" end
if e == 2 then return "critical" end
return "unknown"
`
	// RunDefault says only whether the plugin ran: a collector or Munin
	// plugin that exits non-zero has measured nothing.
	RunDefault = `-- default: a run that exited 0 is ok, anything else is unknown
if exit_codes[1] == 0 then return "ok" end
return "unknown"
`
)

// DefaultSource returns the classifier for a plugin of the given kind
// ("nagios", "exec", "munin", "builtin") that has none of its own: the Nagios
// convention for nagios and exec plugins (exec plugins follow it too, see
// docs/agent.md), RunDefault for the others.
func DefaultSource(kind string) string {
	switch kind {
	case "nagios", "exec":
		return NagiosDefault
	}
	return RunDefault
}
