package nagios

import (
	"errors"
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/prophasis/prophasis/agent/pluginout"
	"github.com/prophasis/prophasis/wire"
)

// pluginDir is where Debian's monitoring-plugins-basic and
// monitoring-plugins-standard install the check_* plugins; .ci/run installs
// them.
const pluginDir = "/usr/lib/nagios/plugins"

// run runs a real Nagios plugin and parses its output as the runner would.
func run(t *testing.T, name string, args ...string) pluginout.Parsed {
	t.Helper()
	path := pluginDir + "/" + name
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s is missing: install Debian's monitoring-plugins-basic and monitoring-plugins-standard (%v)", path, err)
	}
	cmd := exec.Command(path, args...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C"}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	code := 0
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Fatalf("run %s: %v", name, err)
		}
		code = exit.ExitCode()
	}
	p := Parse(pluginout.Output{Stdout: []byte(stdout.String()), Stderr: []byte(stderr.String()), ExitCode: code})
	t.Logf("%s %s: exit %d, stdout %q -> message %q, %d metrics, notes %q",
		name, strings.Join(args, " "), code, stdout.String(), p.Message, len(p.Metrics), p.Notes)
	return p
}

// metric returns the metric called name with label (if not empty), failing
// the test when it is missing or not finite.
func metric(t *testing.T, p pluginout.Parsed, name, label string) wire.Metric {
	t.Helper()
	for _, m := range p.Metrics {
		if m.Name == name && m.Labels["label"] == label {
			if math.IsNaN(m.Value) || math.IsInf(m.Value, 0) {
				t.Fatalf("metric %s{label=%q} = %v, not finite", name, label, m.Value)
			}
			return m
		}
	}
	t.Fatalf("no metric %s{label=%q} in %s", name, label, show(p.Metrics))
	return wire.Metric{}
}

func TestRealCheckLoad(t *testing.T) {
	p := run(t, "check_load", "-w", "1000,1000,1000", "-c", "2000,2000,2000")
	if p.ExitStatus != 0 || !strings.HasPrefix(p.Message, "LOAD OK") {
		t.Fatalf("exit %d message %q, want 0 and LOAD OK", p.ExitStatus, p.Message)
	}
	for _, n := range []string{"load1", "load5", "load15"} {
		if m := metric(t, p, n, ""); m.Value < 0 || m.Unit != "" || m.Counter {
			t.Errorf("%s = %+v, want a plain non-negative value", n, m)
		}
		if w := metric(t, p, n+"_warn", ""); w.Value != 1000 {
			t.Errorf("%s_warn = %v, want 1000", n, w.Value)
		}
		if c := metric(t, p, n+"_crit", ""); c.Value != 2000 {
			t.Errorf("%s_crit = %v, want 2000", n, c.Value)
		}
	}
	if p.Value == nil || *p.Value != metric(t, p, "load1", "").Value {
		t.Errorf("value %v, want load1", p.Value)
	}
	if len(p.Notes) != 0 {
		t.Errorf("notes %q on a well-formed output", p.Notes)
	}

	// Thresholds of zero: the load is above them, so the plugin says CRITICAL.
	p = run(t, "check_load", "-w", "0,0,0", "-c", "0,0,0")
	if p.ExitStatus != 2 || !strings.HasPrefix(p.Message, "LOAD CRITICAL") {
		// A load of exactly 0.00 on all three is not above 0; accept OK then.
		if !(p.ExitStatus == 0 && strings.HasPrefix(p.Message, "LOAD OK")) {
			t.Fatalf("exit %d message %q, want LOAD CRITICAL", p.ExitStatus, p.Message)
		}
	}
}

func TestRealCheckDisk(t *testing.T) {
	p := run(t, "check_disk", "-w", "10%", "-c", "5%", "-p", "/")
	if !strings.HasPrefix(p.Message, "DISK ") || p.ExitStatus > 2 {
		t.Fatalf("exit %d message %q, want a DISK verdict", p.ExitStatus, p.Message)
	}
	used := metric(t, p, "path", "/")
	if used.Unit != "bytes" || used.Value <= 0 {
		t.Fatalf("used space of / = %+v, want positive bytes", used)
	}
	total := metric(t, p, "path_max", "/")
	if total.Unit != "bytes" || total.Value < used.Value {
		t.Fatalf("size of / = %+v, want bytes at least the used %v", total, used.Value)
	}
	var st = metric(t, p, "path_warn", "/")
	if st.Value <= 0 || st.Value > total.Value {
		t.Fatalf("warn threshold of / = %v, want within (0, %v]", st.Value, total.Value)
	}
}

func TestRealCheckProcs(t *testing.T) {
	p := run(t, "check_procs")
	if p.ExitStatus != 0 || !strings.HasPrefix(p.Message, "PROCS OK") {
		t.Fatalf("exit %d message %q, want PROCS OK", p.ExitStatus, p.Message)
	}
	// The test itself and its plugin are running.
	if m := metric(t, p, "procs", ""); m.Value < 2 {
		t.Fatalf("procs = %v, want at least 2", m.Value)
	}
	p = run(t, "check_procs", "-w", "0", "-c", "1000000")
	if p.ExitStatus != 1 || !strings.HasPrefix(p.Message, "PROCS WARNING") {
		t.Fatalf("exit %d message %q, want PROCS WARNING", p.ExitStatus, p.Message)
	}
}

func TestRealCheckDummy(t *testing.T) {
	p := run(t, "check_dummy", "0", "all fine")
	if p.ExitStatus != 0 || p.Message != "OK: all fine" || len(p.Metrics) != 0 || p.Value != nil {
		t.Fatalf("check_dummy 0: %+v", p)
	}
	p = run(t, "check_dummy", "1", "so so")
	if p.ExitStatus != 1 || p.Message != "WARNING: so so" {
		t.Fatalf("check_dummy 1: %+v", p)
	}
	p = run(t, "check_dummy", "2", "bad")
	if p.ExitStatus != 2 || p.Message != "CRITICAL: bad" {
		t.Fatalf("check_dummy 2: %+v", p)
	}
	p = run(t, "check_dummy", "3", "who knows")
	if p.ExitStatus != 3 || p.Message != "UNKNOWN: who knows" {
		t.Fatalf("check_dummy 3: %+v", p)
	}
	// A bad argument: the plugin says so, exits 3.
	p = run(t, "check_dummy", "7")
	if p.ExitStatus != 3 || p.Message == "" {
		t.Fatalf("check_dummy 7: %+v", p)
	}
}

func TestRealCheckUsers(t *testing.T) {
	p := run(t, "check_users", "-w", "1000", "-c", "2000")
	if p.ExitStatus != 0 || !strings.HasPrefix(p.Message, "USERS OK") {
		t.Fatalf("exit %d message %q, want USERS OK", p.ExitStatus, p.Message)
	}
	if m := metric(t, p, "users", ""); m.Value < 0 {
		t.Fatalf("users = %v", m.Value)
	}
	if m := metric(t, p, "users_crit", ""); m.Value != 2000 {
		t.Fatalf("users_crit = %v, want 2000", m.Value)
	}
}

func TestRealCheckSwap(t *testing.T) {
	p := run(t, "check_swap", "-w", "10%", "-c", "5%")
	if !strings.HasPrefix(p.Message, "SWAP ") {
		t.Fatalf("exit %d message %q, want a SWAP verdict", p.ExitStatus, p.Message)
	}
	// Without swap the plugin says CRITICAL (or what -n asks); either way the
	// free swap is a number of bytes.
	if m := metric(t, p, "swap", ""); m.Unit != "bytes" || m.Value < 0 {
		t.Fatalf("swap = %+v, want non-negative bytes", m)
	}
}
