package loadgen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
)

// pluginKind is one kind of simulated plugin: its name, the check that would
// schedule it, and how it turns a random source into one run's value, exit
// status and Nagios-style first line of output.
type pluginKind struct {
	name  string
	check string
	run   func(r *rand.Rand) (value float64, exit int, message string)
}

// nagiosState is the word a Nagios plugin starts its output with.
func nagiosState(exit int) string {
	switch exit {
	case 0:
		return "OK"
	case 1:
		return "WARNING"
	case 2:
		return "CRITICAL"
	}
	return "UNKNOWN"
}

// threshold maps a value to a Nagios exit status: over warn is 1, over crit 2.
func threshold(v, warn, crit float64) int {
	switch {
	case v >= crit:
		return 2
	case v >= warn:
		return 1
	}
	return 0
}

// round2 rounds to two decimals, so the value in the JSON and in the message
// read the same, as they do for a real plugin.
func round2(v float64) float64 { return math.Round(v*100) / 100 }

// pluginKinds are the kinds the simulated agents run, in order: an agent with
// P plugins runs the first P kinds, then repeats them with a suffix (disk_2,
// http_2, ...), as a host with several disks or endpoints would. The
// distributions are chosen so a few percent of runs are WARNING or CRITICAL,
// which is what a healthy estate looks like.
var pluginKinds = []pluginKind{
	{"load", "resources", func(r *rand.Rand) (float64, int, string) {
		l1 := round2(r.ExpFloat64() * 0.6)
		l5, l15 := round2(l1*0.9+r.Float64()*0.1), round2(l1*0.8+r.Float64()*0.1)
		exit := threshold(l1, 4, 8)
		return l1, exit, fmt.Sprintf("%s - load average: %.2f, %.2f, %.2f", nagiosState(exit), l1, l5, l15)
	}},
	{"disk", "resources", func(r *rand.Rand) (float64, int, string) {
		// check_disk reports free space; the value is the free percentage.
		free := round2(8 + r.Float64()*72)
		exit := 0
		switch {
		case free < 5:
			exit = 2
		case free < 15:
			exit = 1
		}
		return free, exit, fmt.Sprintf("DISK %s - free space: / %d MB (%.2f%% inode=%d%%)", nagiosState(exit), int(free/100*51200), free, 60+r.IntN(39))
	}},
	{"memory", "resources", func(r *rand.Rand) (float64, int, string) {
		used := round2(30 + r.Float64()*60)
		exit := threshold(used, 90, 97)
		return used, exit, fmt.Sprintf("%s - %.2f%% used (%.1f GB of 8.0 GB)", nagiosState(exit), used, used/100*8)
	}},
	{"swap", "resources", func(r *rand.Rand) (float64, int, string) {
		free := round2(80 + r.Float64()*20)
		exit := 0
		if free < 50 {
			exit = 1
		}
		return free, exit, fmt.Sprintf("SWAP %s - %.0f%% free (%d MB out of 2047 MB)", nagiosState(exit), free, int(free/100*2047))
	}},
	{"http", "web", func(r *rand.Rand) (float64, int, string) {
		secs := round2(0.01 + r.ExpFloat64()*0.08)
		exit := threshold(secs, 1, 5)
		return secs, exit, fmt.Sprintf("HTTP %s: HTTP/1.1 200 OK - %d bytes in %.2f second response time", nagiosState(exit), 4000+r.IntN(2000), secs)
	}},
	{"ping", "network", func(r *rand.Rand) (float64, int, string) {
		rta := round2(0.2 + r.ExpFloat64()*0.5)
		exit := threshold(rta, 100, 500)
		return rta, exit, fmt.Sprintf("PING %s - Packet loss = 0%%, RTA = %.2f ms", nagiosState(exit), rta)
	}},
	{"procs", "resources", func(r *rand.Rand) (float64, int, string) {
		n := float64(90 + r.IntN(120))
		exit := threshold(n, 400, 800)
		return n, exit, fmt.Sprintf("PROCS %s: %.0f processes", nagiosState(exit), n)
	}},
	{"users", "resources", func(r *rand.Rand) (float64, int, string) {
		n := float64(r.IntN(6))
		return n, 0, fmt.Sprintf("USERS OK - %.0f users currently logged in", n)
	}},
	{"ntp", "time", func(r *rand.Rand) (float64, int, string) {
		off := math.Round((r.Float64()-0.5)*0.02*1e4) / 1e4
		exit := threshold(math.Abs(off), 0.5, 1)
		return off, exit, fmt.Sprintf("NTP %s: Offset %s secs", nagiosState(exit), strconv.FormatFloat(off, 'f', 4, 64))
	}},
	{"raid", "hardware", func(r *rand.Rand) (float64, int, string) {
		if r.IntN(200) == 0 {
			return 1, 2, "CRITICAL - md0: active raid1 1/2 [U_]"
		}
		return 2, 0, "OK - md0: active raid1 2/2 [UU]"
	}},
	{"smart", "hardware", func(r *rand.Rand) (float64, int, string) {
		temp := float64(30 + r.IntN(20))
		exit := threshold(temp, 55, 65)
		return temp, exit, fmt.Sprintf("SMART %s - /dev/sda: temperature %.0f C, 0 reallocated sectors", nagiosState(exit), temp)
	}},
	{"cpu", "resources", func(r *rand.Rand) (float64, int, string) {
		busy := round2(r.Float64() * 70)
		exit := threshold(busy, 90, 98)
		return busy, exit, fmt.Sprintf("CPU %s - busy=%.2f%% (user=%.2f%% system=%.2f%% iowait=%.2f%%)", nagiosState(exit), busy, busy*0.7, busy*0.25, busy*0.05)
	}},
	{"uptime", "resources", func(r *rand.Rand) (float64, int, string) {
		days := float64(1 + r.IntN(400))
		return days, 0, fmt.Sprintf("OK - uptime %.0f days", days)
	}},
	{"ssh", "network", func(r *rand.Rand) (float64, int, string) {
		secs := round2(0.005 + r.Float64()*0.02)
		return secs, 0, fmt.Sprintf("SSH OK - OpenSSH_9.2p1 Debian-2 (protocol 2.0) | time=%.2fs", secs)
	}},
	{"tls_cert", "web", func(r *rand.Rand) (float64, int, string) {
		days := float64(5 + r.IntN(85))
		exit := 0
		if days < 14 {
			exit = 1
		}
		return days, exit, fmt.Sprintf("SSL %s - Certificate 'www.example.org' will expire in %.0f days", nagiosState(exit), days)
	}},
	{"mysql", "database", func(r *rand.Rand) (float64, int, string) {
		qps := round2(50 + r.Float64()*400)
		return qps, 0, fmt.Sprintf("Uptime: 3520155  Threads: %d  Questions: 91238472  Queries per second avg: %.2f", 2+r.IntN(30), qps)
	}},
	{"postgres", "database", func(r *rand.Rand) (float64, int, string) {
		conns := float64(5 + r.IntN(80))
		exit := threshold(conns, 90, 98)
		return conns, exit, fmt.Sprintf("POSTGRES_BACKENDS %s: DB \"app\" %.0f of 100 connections (%.0f%%)", nagiosState(exit), conns, conns)
	}},
	{"mailq", "mail", func(r *rand.Rand) (float64, int, string) {
		n := float64(r.IntN(30))
		exit := threshold(n, 100, 500)
		return n, exit, fmt.Sprintf("%s: mailq is %.0f", nagiosState(exit), n)
	}},
	{"netif", "network", func(r *rand.Rand) (float64, int, string) {
		mbps := round2(r.ExpFloat64() * 40)
		return mbps, 0, fmt.Sprintf("OK - eth0: in %.2f Mbit/s, out %.2f Mbit/s", mbps, round2(mbps*0.3))
	}},
	{"apt", "updates", func(r *rand.Rand) (float64, int, string) {
		n := float64(r.IntN(12))
		exit := 0
		if n > 8 {
			exit = 1
		}
		return n, exit, fmt.Sprintf("APT %s: %.0f packages available for upgrade (0 critical updates).", nagiosState(exit), n)
	}},
}

// pluginFor returns the name, check and kind of an agent's i-th plugin.
func pluginFor(i int) (name, check string, kind *pluginKind) {
	k := &pluginKinds[i%len(pluginKinds)]
	name = k.name
	if rep := i / len(pluginKinds); rep > 0 {
		name = k.name + "_" + strconv.Itoa(rep+1)
	}
	return name, k.check, k
}
