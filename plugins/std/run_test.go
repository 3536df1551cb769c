package std_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prophasis/prophasis/agent/collect"
	"github.com/prophasis/prophasis/agent/execjson"
	"github.com/prophasis/prophasis/agent/pluginout"
)

// The tests below run every plugin on this machine: exec and nagios ones
// through the agent's executor and parsers (see run), builtin ones through
// the agent's collectors. Where the machine lacks what a plugin measures
// (systemd as init, an NTP server, md arrays, SMART disks) the test checks
// that the plugin says so clearly, and runs it against a stand-in the test
// provides (a fake NTP server, mdstat files, a fake smartctl).

// publicDir makes a directory the plugin's user (nobody, when the tests
// run as root) can read.
func publicDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "prophasis-std-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	if err := os.Chmod(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// wantGraphs fails when the run returned a metric the manifest has no graph
// hint for (Nagios threshold extras _warn, _crit, _min, _max aside).
func wantGraphs(t *testing.T, dir string, r ran) {
	t.Helper()
	m := readManifest(t, dir)
	hinted := map[string]bool{}
	for _, g := range m.Graphs {
		hinted[g.Metric] = true
	}
	for _, x := range r.Metrics {
		name := x.Name
		if m.Kind == "nagios" {
			for _, suf := range []string{"_warn", "_crit", "_min", "_max"} {
				name = strings.TrimSuffix(name, suf)
			}
		}
		if !hinted[name] {
			t.Errorf("%s returned metric %s, which has no graph hint", dir, x.Name)
		}
	}
}

func wantValue(t *testing.T, r ran) float64 {
	t.Helper()
	if r.Value == nil {
		t.Fatalf("no value: %v", r)
	}
	return *r.Value
}

func wantClass(t *testing.T, dir string, r ran, state string) {
	t.Helper()
	if got := classifyRun(t, dir, r); got != state {
		t.Errorf("%s classified %s, want %s: %v", dir, got, state, r)
	}
}

func TestBuiltinsRunHere(t *testing.T) {
	for _, dir := range pluginDirs(t) {
		m := readManifest(t, dir)
		if m.Kind != "builtin" {
			continue
		}
		t.Run(dir, func(t *testing.T) {
			c, ok := collect.Lookup(m.Entrypoint)
			if !ok {
				t.Fatalf("no collector %s", m.Entrypoint)
			}
			// Twice: the rates (cpu, network) need a previous sample.
			var col collect.Collected
			for i := 0; i < 2; i++ {
				var err error
				if col, err = c.Collect(context.Background()); err != nil {
					t.Fatal(err)
				}
				time.Sleep(50 * time.Millisecond)
			}
			r := ran{}
			r.Value, r.Message, r.Metrics, r.ExitStatus = col.Value, col.Message, col.Metrics, 0
			t.Logf("%s: %v", dir, r)
			wantGraphs(t, dir, r)
			if got := classifyRun(t, dir, r); got == "unknown" {
				t.Errorf("%s classified unknown: %v", dir, r)
			}
		})
	}
}

func TestSwapRuns(t *testing.T) {
	r := run(t, "swap", nil)
	wantGraphs(t, "swap", r)
	if r.Value == nil {
		wantStatus(t, r, 0, "^no swap configured$")
		wantClass(t, "swap", r, "ok")
	} else if r.ExitStatus > 2 {
		t.Errorf("status %d: %v", r.ExitStatus, r)
	}

	d := publicDir(t)
	writeFile(t, filepath.Join(d, "meminfo"), "MemTotal: 4000000 kB\nSwapTotal: 2097152 kB\nSwapFree: 1048576 kB\n", 0o644)
	writeFile(t, filepath.Join(d, "vmstat"), "pswpin 5\npswpout 7\n", 0o644)
	r = run(t, "swap", map[string]string{"proc": d})
	wantStatus(t, r, 1, `^swap 50\.0% used \(1\.0 GiB of 2\.0 GiB\)$`)
	if v := wantValue(t, r); v != 50 {
		t.Errorf("value %v, want 50", v)
	}
	if v, _ := r.metric("pages_out_total"); v != 7 {
		t.Errorf("pages_out_total %v, want 7", v)
	}
	wantGraphs(t, "swap", r)
	wantClass(t, "swap", r, "minor")

	r = run(t, "swap", map[string]string{"proc": filepath.Join(d, "nope")})
	wantStatus(t, r, 3, "^cannot read .*/nope/meminfo$")
}

func TestDiskioRuns(t *testing.T) {
	r := run(t, "diskio", map[string]string{"sample": "0.2"})
	if r.Value == nil {
		wantStatus(t, r, 0, "^no block devices$")
	} else {
		if r.ExitStatus > 2 || !strings.HasPrefix(r.Message, "busiest: ") {
			t.Errorf("%v", r)
		}
		if _, ok := r.metric("busy_percent"); !ok {
			t.Errorf("no busy_percent: %v", r)
		}
	}
	wantGraphs(t, "diskio", r)
	if got := classifyRun(t, "diskio", r); got == "unknown" {
		t.Errorf("classified unknown: %v", r)
	}
	r = run(t, "diskio", map[string]string{"proc": "/nonexistent"})
	wantStatus(t, r, 3, "^cannot read /nonexistent/diskstats$")
	r = run(t, "diskio", map[string]string{"sample": `1"; rm -rf /`})
	wantStatus(t, r, 3, `^parameter sample "1"; rm -rf /" is not a number of seconds$`)
}

func TestProcessRuns(t *testing.T) {
	// A process of this test's own: check_procs never counts its parent
	// (here this test, under the agent the agent itself), so the test
	// starts a child with a name of its own (15 characters, the most a
	// command name has).
	d := publicDir(t)
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	name := "prophasis-sleep"
	writeFile(t, filepath.Join(d, name), string(b), 0o755)
	cmd := exec.Command(filepath.Join(d, name), "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()

	r := run(t, "process", map[string]string{"name": name})
	wantStatus(t, r, 0, "^PROCS OK: 1 process with command name 'prophasis-sleep'$")
	if v := wantValue(t, r); v != 1 {
		t.Errorf("value %v, want 1", v)
	}
	wantGraphs(t, "process", r)
	wantClass(t, "process", r, "ok")

	r = run(t, "process", map[string]string{"name": name, "min": "2"})
	wantStatus(t, r, 2, "^PROCS CRITICAL: 1 process with command name 'prophasis-sleep'$")
	wantClass(t, "process", r, "major")

	r = run(t, "process", map[string]string{"name": "prophasis-none"})
	wantStatus(t, r, 2, "^PROCS CRITICAL: 0 processes")
	wantClass(t, "process", r, "major")
}

func TestTCPRuns(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	r := run(t, "tcp", map[string]string{"port": port})
	wantStatus(t, r, 0, "^TCP OK - .* port "+port+"$")
	wantValue(t, r)
	wantGraphs(t, "tcp", r)
	wantClass(t, "tcp", r, "ok")

	ln.Close()
	r = run(t, "tcp", map[string]string{"port": port})
	wantStatus(t, r, 2, "Connection refused")
	wantClass(t, "tcp", r, "major")
}

func TestSystemdRuns(t *testing.T) {
	if _, err := os.Stat("/run/systemd/system"); err != nil {
		// Not booted with systemd (a container): the plugin must say so,
		// not report the unit down.
		r := run(t, "systemd", map[string]string{"unit": "ssh.service"})
		wantStatus(t, r, 3, `^systemd is not running on this host \(no /run/systemd/system\): cannot tell the state of ssh\.service$`)
		if _, err := exec.LookPath("systemctl"); err != nil {
			wantStatus(t, r, 3, "^systemctl not found")
		}
		wantClass(t, "systemd", r, "unknown")
		return
	}
	r := run(t, "systemd", map[string]string{"unit": "-.mount"})
	wantStatus(t, r, 0, `^-\.mount active`)
	wantClass(t, "systemd", r, "ok")
	r = run(t, "systemd", map[string]string{"unit": "prophasis-no-such-unit.service"})
	wantStatus(t, r, 3, "not found")
	wantClass(t, "systemd", r, "unknown")
}

func TestJournalRuns(t *testing.T) {
	r := run(t, "journal", nil)
	switch {
	case r.Value == nil:
		// No journald here, or no journal the plugin's user may read.
		wantStatus(t, r, 3, "^(the journal has no entries: journald is not running, or the plugin's user cannot read it|journalctl not found)")
		wantClass(t, "journal", r, "unknown")
	default:
		if r.ExitStatus > 2 || !strings.Contains(r.Message, "entries of priority err or worse in the last 10 min") {
			t.Errorf("%v", r)
		}
		if _, ok := r.metric("entries"); !ok {
			t.Errorf("no entries metric: %v", r)
		}
		wantGraphs(t, "journal", r)
	}
	r = run(t, "journal", map[string]string{"window": "ten"})
	wantStatus(t, r, 3, `^parameter window "ten" is not a whole number of minutes$`)

	// A stand-in journalctl: 30 error entries in the window (-o json, one
	// line each), the newest "kernel: I/O error" (-o cat); any entry at
	// all for the first probe (-n 1 -o short-unix). It records its
	// arguments, to check what the plugin asks.
	d := publicDir(t)
	fake := filepath.Join(d, "journalctl")
	writeFile(t, fake, `#!/bin/sh
echo "$*" >>"$(dirname "$0")/args"
case "$*" in
*"-o short-unix"*) echo "1763683200.000000 host kernel: booted" ;;
*"-o json"*) i=0; while [ $i -lt ${ENTRIES:-30} ]; do echo '{"MESSAGE":"I/O error"}'; i=$((i+1)); done ;;
*"-o cat"*) echo "kernel: I/O error, dev sda, sector 1234" ;;
esac
`, 0o755)
	writeFile(t, filepath.Join(d, "args"), "", 0o666)
	r = run(t, "journal", map[string]string{"journalctl": fake})
	wantStatus(t, r, 1, `^30 entries of priority err or worse in the last 10 min; last: kernel: I/O error, dev sda, sector 1234$`)
	if v := wantValue(t, r); v != 3 {
		t.Errorf("value %v, want 3 a minute", v)
	}
	if v, _ := r.metric("entries"); v != 30 {
		t.Errorf("entries %v, want 30", v)
	}
	wantGraphs(t, "journal", r)
	wantClass(t, "journal", r, "minor")
	args, _ := os.ReadFile(filepath.Join(d, "args"))
	if !strings.Contains(string(args), "-p err --since -10min -o json") {
		t.Errorf("journalctl called with %q", args)
	}
	r = run(t, "journal", map[string]string{"journalctl": fake, "window": "60", "priority": "crit", "critical": "0.5"})
	wantStatus(t, r, 2, `^30 entries of priority crit or worse in the last 60 min; last: `)
	wantClass(t, "journal", r, "major")

	// An empty journal: unknown, never "0 errors".
	empty := filepath.Join(d, "empty-journalctl")
	writeFile(t, empty, "#!/bin/sh\nexit 0\n", 0o755)
	r = run(t, "journal", map[string]string{"journalctl": empty})
	wantStatus(t, r, 3, "^the journal has no entries")
	r = run(t, "journal", map[string]string{"journalctl": filepath.Join(d, "nope")})
	wantStatus(t, r, 3, "^journalctl not found")
}

func TestHTTPRuns(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/down" {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "hello prophasis\n")
	})
	plain := httptest.NewServer(h)
	defer plain.Close()
	tls := httptest.NewTLSServer(h) // a certificate valid until 2084
	defer tls.Close()
	closed := httptest.NewServer(h)
	closed.Close()

	engines := []string{"curl"}
	if _, err := os.Stat("/usr/lib/nagios/plugins/check_http"); err == nil {
		engines = append(engines, "check_http")
	} else {
		t.Errorf("check_http not installed (.ci/run installs monitoring-plugins-standard): only curl tested")
	}
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			p := func(kv ...string) map[string]string {
				m := map[string]string{"engine": engine}
				for i := 0; i+1 < len(kv); i += 2 {
					m[kv[i]] = kv[i+1]
				}
				return m
			}
			r := run(t, "http", p("url", plain.URL+"/", "match", "hello [a-z]+"))
			wantStatus(t, r, 0, "^HTTP OK")
			wantValue(t, r)
			if v, _ := r.metric("status_code"); v != 200 {
				t.Errorf("status_code %v: %v", v, r)
			}
			if _, ok := r.metric("certificate_days_left"); ok {
				t.Errorf("certificate days for plain HTTP: %v", r)
			}
			wantGraphs(t, "http", r)
			wantClass(t, "http", r, "ok")

			r = run(t, "http", p("url", plain.URL, "match", "goodbye"))
			wantStatus(t, r, 2, "pattern not found")
			wantClass(t, "http", r, "major")

			r = run(t, "http", p("url", plain.URL+"/down"))
			wantStatus(t, r, 2, "^HTTP CRITICAL")
			wantClass(t, "http", r, "major")
			r = run(t, "http", p("url", plain.URL+"/down", "expect_status", "503"))
			wantStatus(t, r, 0, "^HTTP OK")

			r = run(t, "http", p("url", tls.URL+"/x", "match", "prophasis"))
			wantStatus(t, r, 0, `^HTTP OK.*; certificate: [0-9]+ days left$`)
			if v, ok := r.metric("certificate_days_left"); !ok || v < 365 {
				t.Errorf("certificate_days_left %v (%v), want years: %v", v, ok, r)
			}
			wantGraphs(t, "http", r)
			wantClass(t, "http", r, "ok")
			// A certificate "expiring" within cert_critical days.
			r = run(t, "http", p("url", tls.URL, "cert_warning", "100000", "cert_critical", "99999"))
			if r.ExitStatus != 2 {
				t.Errorf("certificate within cert_critical: %v", r)
			}

			// An IPv6 literal, where this machine has ::1.
			if ln, err := net.Listen("tcp6", "[::1]:0"); err == nil {
				v6 := httptest.NewUnstartedServer(h)
				v6.Listener.Close()
				v6.Listener = ln
				v6.Start()
				r = run(t, "http", p("url", v6.URL+"/", "match", "prophasis"))
				v6.Close()
				wantStatus(t, r, 0, "^HTTP OK")
			} else {
				t.Logf("no IPv6 loopback: %v", err)
			}

			r = run(t, "http", p("url", closed.URL+"/"))
			wantStatus(t, r, 2, "^HTTP CRITICAL")
			if r.Value != nil {
				t.Errorf("a value without an answer: %v", r)
			}
			wantClass(t, "http", r, "major")
		})
	}
	r := run(t, "http", map[string]string{"url": "ftp://example.org/"})
	wantStatus(t, r, 3, `^url "ftp://example.org/" is neither http:// nor https://$`)
	wantClass(t, "http", r, "unknown")
}

func TestDNSRuns(t *testing.T) {
	r := run(t, "dns", map[string]string{"name": "localhost"})
	wantStatus(t, r, 0, `^localhost resolves to .*(127\.0\.0\.1|::1)`)
	wantValue(t, r)
	if v, _ := r.metric("addresses"); v < 1 {
		t.Errorf("addresses %v: %v", v, r)
	}
	wantGraphs(t, "dns", r)
	wantClass(t, "dns", r, "ok")

	r = run(t, "dns", map[string]string{"name": "localhost", "expect": "192.0.2.1"})
	wantStatus(t, r, 2, ", not to 192.0.2.1$")
	wantClass(t, "dns", r, "critical")

	r = run(t, "dns", map[string]string{"name": "prophasis-test.invalid"})
	wantStatus(t, r, 2, "^prophasis-test.invalid does not resolve$")
	wantClass(t, "dns", r, "major")
}

// ntpServer answers NTP client requests on 127.0.0.1 with this machine's
// time, offset by skew; it returns the port.
func ntpServer(t *testing.T, skew time.Duration) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	ntpTime := func(tm time.Time) uint64 {
		secs := uint64(tm.Unix() + 2208988800)
		frac := uint64(tm.Nanosecond()) << 32 / 1e9
		return secs<<32 | frac
	}
	go func() {
		buf := make([]byte, 512)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n < 48 {
				continue
			}
			now := time.Now().Add(skew)
			resp := make([]byte, 48)
			resp[0] = 0<<6 | 4<<3 | 4 // no leap warning, version 4, server
			resp[1] = 2               // stratum
			resp[2] = buf[2]          // poll
			resp[3] = 0xec            // precision 2^-20
			copy(resp[12:16], "TEST")
			binary.BigEndian.PutUint64(resp[16:], ntpTime(now.Add(-time.Minute))) // reference
			copy(resp[24:32], buf[40:48])                                         // originate = client's transmit
			binary.BigEndian.PutUint64(resp[32:], ntpTime(now))                   // receive
			binary.BigEndian.PutUint64(resp[40:], ntpTime(time.Now().Add(skew)))  // transmit
			pc.WriteTo(resp, addr)
		}
	}()
	return strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port)
}

func TestNTPRuns(t *testing.T) {
	// This machine has no internet: the default server is unreachable, and
	// the plugin must say so rather than guess.
	r := run(t, "ntp", map[string]string{"timeout": "3"})
	if r.Value == nil {
		wantStatus(t, r, 3, "^(no NTP source reachable: |no NTP tool on this host)")
		wantClass(t, "ntp", r, "unknown")
	}

	// A server that does not answer.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	silent := strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port)
	defer pc.Close()
	r = run(t, "ntp", map[string]string{"server": "127.0.0.1", "port": silent, "timeout": "2"})
	wantStatus(t, r, 3, "^no NTP source reachable: 127.0.0.1: ")
	wantClass(t, "ntp", r, "unknown")

	// A server whose time is ours, and one 2 s ahead.
	if _, err := os.Stat("/usr/lib/nagios/plugins/check_ntp_time"); err != nil {
		t.Fatalf("check_ntp_time not installed (.ci/run installs monitoring-plugins-basic)")
	}
	r = run(t, "ntp", map[string]string{"server": "127.0.0.1", "port": ntpServer(t, 0), "timeout": "5"})
	wantStatus(t, r, 0, `^offset [-+]0\.[0-9]+ s from 127\.0\.0\.1 \(check_ntp_time\)$`)
	if v := wantValue(t, r); v > 0.1 || v < -0.1 {
		t.Errorf("offset %v from our own clock", v)
	}
	wantGraphs(t, "ntp", r)
	wantClass(t, "ntp", r, "ok")
	r = run(t, "ntp", map[string]string{"server": "127.0.0.1", "port": ntpServer(t, 2*time.Second), "timeout": "5"})
	wantStatus(t, r, 2, `^offset [-+]`)
	if v := wantValue(t, r); v < 1.5 && v > -1.5 {
		t.Errorf("offset %v, want about 2 s", v)
	}
	wantClass(t, "ntp", r, "critical")

	for _, m := range []string{"chronyc", "ntpq"} {
		if _, err := exec.LookPath(m); err != nil {
			r = run(t, "ntp", map[string]string{"method": m})
			wantStatus(t, r, 3, "^"+m+" not installed$")
		}
	}
}

const mdstatDegraded = `Personalities : [raid1] [raid6] [raid5] [raid4]
md0 : active raid1 sdb1[1] sda1[0]
      1048512 blocks super 1.2 [2/2] [UU]

md1 : active raid5 sdc1[2] sdb2[1](F) sda2[0]
      2096128 blocks super 1.2 level 5, 512k chunk, algorithm 2 [3/2] [U_U]

unused devices: <none>
`

const mdstatRebuilding = `Personalities : [raid1]
md0 : active raid1 sdc1[2] sda1[0]
      1048512 blocks super 1.2 [2/1] [U_]
      [=>...................]  recovery =  8.5% (89536/1048064) finish=1.5min speed=10416K/sec

unused devices: <none>
`

const mdstatHealthy = `Personalities : [raid1] [raid10]
md0 : active raid1 sdb1[1] sda1[0]
      1048512 blocks super 1.2 [2/2] [UU]
      [==>..................]  check = 12.6% (132224/1048512) finish=0.6min speed=22037K/sec

md127 : active raid10 sdd[3] sdc[2] sdb[1] sda[0]
      1047552 blocks super 1.2 512K chunks 2 near-copies [4/4] [UUUU]
      bitmap: 0/1 pages [0KB], 65536KB chunk

unused devices: <none>
`

func TestMdraidRuns(t *testing.T) {
	d := publicDir(t)
	for name, content := range map[string]string{"degraded": mdstatDegraded, "rebuilding": mdstatRebuilding, "healthy": mdstatHealthy} {
		writeFile(t, filepath.Join(d, name), content, 0o644)
	}
	r := run(t, "mdraid", map[string]string{"mdstat": filepath.Join(d, "degraded")})
	wantStatus(t, r, 2, `^1 of 2 arrays degraded \(0 rebuilding\): md0 raid1 ok \[2/2\]; md1 raid5 degraded \[3/2\], 1 failed device$`)
	if v := wantValue(t, r); v != 1 {
		t.Errorf("value %v", v)
	}
	if v, ok := r.metric("devices_working", "array", "md1"); !ok || v != 2 {
		t.Errorf("md1 devices_working %v %v", v, ok)
	}
	wantGraphs(t, "mdraid", r)
	wantClass(t, "mdraid", r, "critical")

	r = run(t, "mdraid", map[string]string{"mdstat": filepath.Join(d, "rebuilding")})
	wantStatus(t, r, 2, `^1 of 1 arrays degraded \(1 rebuilding\): md0 raid1 degraded \[2/1\], recovery 8\.5%$`)
	if v, ok := r.metric("sync_percent", "array", "md0"); !ok || v != 8.5 {
		t.Errorf("sync_percent %v %v", v, ok)
	}
	wantClass(t, "mdraid", r, "major")

	r = run(t, "mdraid", map[string]string{"mdstat": filepath.Join(d, "healthy")})
	wantStatus(t, r, 0, `^0 of 2 arrays degraded \(0 rebuilding\): md0 raid1 ok \[2/2\], check 12\.6%; md127 raid10 ok \[4/4\]$`)
	if v := wantValue(t, r); v != 0 {
		t.Errorf("value %v", v)
	}
	wantGraphs(t, "mdraid", r)
	wantClass(t, "mdraid", r, "ok")

	// This machine's own /proc/mdstat, when the md driver is loaded.
	r = run(t, "mdraid", nil)
	if _, err := os.Stat("/proc/mdstat"); err != nil {
		wantStatus(t, r, 3, `^no /proc/mdstat: the md driver is not loaded`)
		wantClass(t, "mdraid", r, "unknown")
	} else if r.ExitStatus > 2 {
		t.Errorf("%v", r)
	}
}

func TestSmartRuns(t *testing.T) {
	r := run(t, "smart", map[string]string{"smartctl": "/nonexistent/smartctl"})
	wantStatus(t, r, 3, `^smartctl not installed \(Debian package smartmontools\)$`)
	wantClass(t, "smart", r, "unknown")

	// The real smartctl, when installed: in a virtual machine or container
	// it finds no disk it can read, and says so.
	if _, err := exec.LookPath("smartctl"); err == nil {
		r = run(t, "smart", map[string]string{"devices": "/dev/prophasis-none"})
		wantStatus(t, r, 3, `^cannot read SMART health: /dev/prophasis-none unknown \(.+\)$`)
		r = run(t, "smart", nil)
		if r.ExitStatus == 3 {
			wantStatus(t, r, 3, "^(no devices: smartctl --scan found none|cannot read SMART health: )")
		}
	} else {
		r = run(t, "smart", nil)
		wantStatus(t, r, 3, "^smartctl not installed")
	}

	// A stand-in smartctl with one healthy and one failing disk.
	d := publicDir(t)
	fake := filepath.Join(d, "smartctl")
	writeFile(t, fake, `#!/bin/sh
echo "smartctl 7.3 2022-02-28 r5338 (fake)"
echo "Copyright (C) 2002-22, Bruce Allen, Christian Franke, www.smartmontools.org"
echo
case $1 in
--scan) echo "/dev/fake0 -d sat # /dev/fake0, ATA device"; echo "/dev/fake1 -d nvme # /dev/fake1, NVMe device" ;;
-H)
	case $2 in
	/dev/fake0) echo "SMART overall-health self-assessment test result: PASSED" ;;
	/dev/fake1) echo "SMART overall-health self-assessment test result: FAILED!"; exit 8 ;;
	*) echo "Smartctl open device: $2 failed: Permission denied"; exit 2 ;;
	esac ;;
esac
`, 0o755)
	r = run(t, "smart", map[string]string{"smartctl": fake})
	wantStatus(t, r, 2, `^1 of 2 disks failing: /dev/fake0 PASSED; /dev/fake1 FAILED$`)
	if v, ok := r.metric("healthy", "device", "/dev/fake1"); !ok || v != 0 {
		t.Errorf("healthy{/dev/fake1} %v %v", v, ok)
	}
	wantGraphs(t, "smart", r)
	wantClass(t, "smart", r, "critical")

	r = run(t, "smart", map[string]string{"smartctl": fake, "devices": "/dev/fake0 /dev/other"})
	wantStatus(t, r, 3, `^0 of 2 disks failing: /dev/fake0 PASSED; /dev/other unknown \(/dev/other failed: Permission denied\)$`)
	wantClass(t, "smart", r, "minor")

	r = run(t, "smart", map[string]string{"smartctl": fake, "devices": "/dev/fake0"})
	wantStatus(t, r, 0, `^0 of 1 disks failing: /dev/fake0 PASSED$`)
	wantClass(t, "smart", r, "ok")
}

// TestEveryPluginRuns keeps the list above complete: each plugin that is not
// builtin has a Test<Name>Runs.
func TestEveryPluginRuns(t *testing.T) {
	src, err := os.ReadFile("run_test.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range pluginDirs(t) {
		if readManifest(t, dir).Kind == "builtin" {
			continue
		}
		name := strings.ToUpper(dir[:1]) + dir[1:]
		switch dir {
		case "http", "tcp", "dns", "ntp":
			name = strings.ToUpper(dir)
		}
		if !strings.Contains(string(src), fmt.Sprintf("func Test%sRuns(", name)) {
			t.Errorf("no Test%sRuns for %s", name, dir)
		}
	}
}

// TestNTPFallbacks runs ntp.sh's chronyc and ntpq readings against
// stand-ins (this machine has neither daemon), found through PATH; the
// script is run directly, since the agent's runner fixes PATH.
func TestNTPFallbacks(t *testing.T) {
	d := publicDir(t)
	script, err := filepath.Abs("ntp/bin/ntp.sh")
	if err != nil {
		t.Fatal(err)
	}
	runWith := func(method, chronyc, ntpq string) ran {
		t.Helper()
		writeFile(t, filepath.Join(d, "chronyc"), "#!/bin/sh\nprintf '%s\\n' '"+chronyc+"'\n", 0o755)
		writeFile(t, filepath.Join(d, "ntpq"), "#!/bin/sh\ncat <<'END'\n"+ntpq+"END\n", 0o755)
		cmd := exec.Command(script)
		cmd.Env = []string{"PATH=" + d + ":/usr/bin:/bin", "LANG=C", "PROPHASIS_PARAM_METHOD=" + method}
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		code := 0
		if err := cmd.Run(); err != nil {
			ee, ok := err.(*exec.ExitError)
			if !ok {
				t.Fatal(err)
			}
			code = ee.ExitCode()
		}
		p := execjson.Parse(pluginout.Output{Stdout: []byte(stdout.String()), Stderr: []byte(stderr.String()), ExitCode: code})
		r := ran{Parsed: p}
		r.out.Stdout, r.out.Stderr, r.out.ExitCode = []byte(stdout.String()), []byte(stderr.String()), code
		if stderr.Len() > 0 || strings.Contains(p.Message, "invalid plugin output") {
			t.Errorf("%s: %v", method, r)
		}
		t.Logf("%s: %v", method, r)
		return r
	}
	const peers = `     remote           refid      st t when poll reach   delay   offset  jitter
==============================================================================
+192.0.2.2       192.0.2.1        2 u   30   64  377    0.800   -0.500   0.200
*192.0.2.1       .GPS.            1 u   33   64  377    0.512  734.000   0.100
`
	r := runWith("chronyc", "C0000201,ntp1.example.org,2,1763683200.123456789,-0.000012345,0.000001,0.000002,-1.234,0.001,0.010,0.001,0.0005,64.2,Normal", peers)
	wantStatus(t, r, 0, `^offset -0\.000012 s from chronyd's source ntp1\.example\.org$`)
	if v := wantValue(t, r); v != -0.000012345 {
		t.Errorf("offset %v", v)
	}
	r = runWith("chronyc", "00000000,,0,0.000000000,0.000000000,0.000000000,0.000000000,0.000,0.000,0.000,1.000000000,1.000000000,0.0,Not synchronised", peers)
	wantStatus(t, r, 3, `^no NTP source reachable: chronyd has no synchronised source$`)
	wantClass(t, "ntp", r, "unknown")
	r = runWith("chronyc", "506 Cannot talk to daemon", peers)
	wantStatus(t, r, 3, `^chronyc tracking failed: 506 Cannot talk to daemon$`)

	r = runWith("ntpq", "", peers)
	wantStatus(t, r, 1, `^offset \+0\.734000 s from ntpd's peer 192\.0\.2\.1$`)
	wantClass(t, "ntp", r, "major")
	r = runWith("ntpq", "", strings.ReplaceAll(peers, "*192", " 192"))
	wantStatus(t, r, 3, `^no NTP source reachable: ntpd has no system peer`)
}
