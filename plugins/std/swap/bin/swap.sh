#!/bin/sh
# swap: swap space in use and swap activity, from /proc/meminfo and
# /proc/vmstat. Prints one JSON object (Prophasis exec plugin); exit status
# per the Nagios convention.
#   PROPHASIS_PARAM_WARNING   used percent for exit 1 (default 50)
#   PROPHASIS_PARAM_CRITICAL  used percent for exit 2 (default 80)
#   PROPHASIS_PARAM_PROC      where /proc is (default /proc; for tests)
warn=${PROPHASIS_PARAM_WARNING:-50}
crit=${PROPHASIS_PARAM_CRITICAL:-80}
proc=${PROPHASIS_PARAM_PROC:-/proc}

# jstr prints its argument as a JSON string, on one line.
jstr() { printf '"%s"' "$(printf '%s' "$1" | tr '\n\t\r' '   ' | tr -d '\000-\037' | sed 's/\\/\\\\/g; s/"/\\"/g')"; }

if [ ! -r "$proc/meminfo" ]; then
	printf '{"value": null, "message": %s}\n' "$(jstr "cannot read $proc/meminfo")"
	exit 3
fi
vmstat=$proc/vmstat
[ -r "$vmstat" ] || vmstat=/dev/null

awk -v warn="$warn" -v crit="$crit" '
$1 == "SwapTotal:" { total = $2 * 1024 }
$1 == "SwapFree:"  { free = $2 * 1024 }
$1 == "pswpin"  { pin = $2; havevm = 1 }
$1 == "pswpout" { pout = $2; havevm = 1 }
function human(b) {
	if (b >= 1073741824) return sprintf("%.1f GiB", b / 1073741824)
	if (b >= 1048576) return sprintf("%.1f MiB", b / 1048576)
	return sprintf("%.0f KiB", b / 1024)
}
END {
	used = total - free
	if (used < 0) used = 0
	m = sprintf("{\"name\": \"total_bytes\", \"value\": %.0f, \"unit\": \"bytes\"}, {\"name\": \"used_bytes\", \"value\": %.0f, \"unit\": \"bytes\"}, {\"name\": \"free_bytes\", \"value\": %.0f, \"unit\": \"bytes\"}", total, used, free)
	if (havevm)
		m = m sprintf(", {\"name\": \"pages_in_total\", \"value\": %.0f, \"counter\": true}, {\"name\": \"pages_out_total\", \"value\": %.0f, \"counter\": true}", pin, pout)
	if (total <= 0) {
		printf "{\"value\": null, \"message\": \"no swap configured\", \"metrics\": [%s]}\n", m
		exit 0
	}
	pct = 100 * used / total
	m = m sprintf(", {\"name\": \"used_percent\", \"value\": %.2f, \"unit\": \"percent\"}", pct)
	printf "{\"value\": %.2f, \"message\": \"swap %.1f%% used (%s of %s)\", \"metrics\": [%s]}\n", pct, pct, human(used), human(total), m
	if (pct >= crit + 0) exit 2
	if (pct >= warn + 0) exit 1
	exit 0
}' "$proc/meminfo" "$vmstat"
