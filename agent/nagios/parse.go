package nagios

import (
	"fmt"
	"strings"

	"github.com/prophasis/prophasis/agent/pluginout"
)

// Parse reads one finished run of a Nagios plugin. It never fails: output it
// cannot make sense of still yields a result (unknown, or with notes), since
// a run always has something to report. See the package documentation for
// the rules.
func Parse(out pluginout.Output) pluginout.Parsed {
	if out.TimedOut {
		return pluginout.TimedOut(out)
	}
	text := string(out.Stdout)
	first, long, _ := strings.Cut(text, "\n")
	msg, perf, _ := strings.Cut(first, "|")
	if longPerf := longPerfdata(long); longPerf != "" {
		perf += " " + longPerf
	}

	p := pluginout.Parsed{
		Message:    pluginout.Text([]byte(msg), pluginout.MaxMessage),
		ExitStatus: out.ExitCode,
	}
	if strings.TrimSpace(text) == "" {
		p.Message = "plugin printed nothing"
		if e := pluginout.StderrLine(out); e != "" {
			p.Message += "; stderr: " + e
		}
	}
	if out.ExitCode < pluginout.StatusOK || out.ExitCode > pluginout.StatusUnknown {
		p.ExitStatus = pluginout.StatusUnknown
		prefix := fmt.Sprintf("plugin exited with code %d, not a Nagios status", out.ExitCode)
		if out.ExitCode == -1 {
			prefix = "plugin was killed by a signal"
		}
		if p.Message != "" {
			prefix += ": " + p.Message
		}
		p.Message = prefix
	}

	metrics, notes := ParsePerfdata(perf)
	p.Metrics = metrics
	if len(metrics) > 0 {
		v := metrics[0].Value
		p.Value = &v
	}
	p.Notes = append(pluginout.CommonNotes(out), notes...)
	return p
}

// longPerfdata returns the perfdata of the long output (the lines after the
// first): what follows the first '|' found there, through the last line.
func longPerfdata(long string) string {
	i := strings.IndexByte(long, '|')
	if i < 0 {
		return ""
	}
	return long[i+1:]
}
