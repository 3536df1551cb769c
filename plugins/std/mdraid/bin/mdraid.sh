#!/bin/sh
# mdraid: health of Linux software RAID arrays, read from /proc/mdstat.
# Prints one JSON object (Prophasis exec plugin); exit status per the Nagios
# convention: 0 every array complete (a resync or check of a complete array
# is fine), 1 a failed device in an array that is still complete (a failed
# spare), 2 an array degraded (members missing, rebuilding or not) or
# inactive, 3 no md driver.
#   PROPHASIS_PARAM_MDSTAT  the file to read (default /proc/mdstat)

# jstr prints its argument as a JSON string, on one line.
jstr() { printf '"%s"' "$(printf '%s' "$1" | tr '\n\t\r' '   ' | tr -d '\000-\037' | sed 's/\\/\\\\/g; s/"/\\"/g')"; }

mdstat=${PROPHASIS_PARAM_MDSTAT:-/proc/mdstat}
if [ ! -r "$mdstat" ]; then
	printf '{"value": null, "message": %s}\n' "$(jstr "no $mdstat: the md driver is not loaded (no software RAID on this host)")"
	exit 3
fi

# An array is a line "md0 : active raid1 sdb1[1] sda1[0](F)" followed by
# indented lines: "... [2/1] [U_]" (members wanted/working) and maybe
# "[==>....]  recovery = 12.6% (...) finish=1.5min speed=...".
awk '
function flush() {
	if (name == "") return
	n++
	degraded = (state == "inactive" || (want > 0 && have < want))
	if (degraded) bad++
	if (state == "inactive") s = "inactive"
	else if (degraded) s = "degraded"
	else s = "ok"
	d = name (level == "-" ? "" : " " level) " " s
	if (want > 0) d = d sprintf(" [%d/%d]", want, have)
	if (failed > 0) { d = d sprintf(", %d failed device%s", failed, failed > 1 ? "s" : ""); faileddevs += failed }
	if (action != "") { d = d sprintf(", %s %s%%", action, pct); if (degraded) rebuilding++ }
	desc = desc (desc == "" ? "" : "; ") d
	lb = sprintf("\"labels\": {\"array\": \"%s\", \"level\": \"%s\"}", name, level)
	m = m (m == "" ? "" : ", ") sprintf("{\"name\": \"degraded\", %s, \"value\": %d}", lb, degraded)
	m = m sprintf(", {\"name\": \"devices_wanted\", %s, \"value\": %d}", lb, want)
	m = m sprintf(", {\"name\": \"devices_working\", %s, \"value\": %d}", lb, have)
	m = m sprintf(", {\"name\": \"devices_failed\", %s, \"value\": %d}", lb, failed)
	if (action != "") m = m sprintf(", {\"name\": \"sync_percent\", %s, \"value\": %s, \"unit\": \"percent\"}", lb, pct)
	name = ""
}
/^md[0-9a-zA-Z_]* *: / {
	flush()
	name = $1; state = $3; level = "unknown"; want = 0; have = 0; failed = 0; action = ""; pct = ""
	for (i = 4; i <= NF; i++) {
		if ($i ~ /^\(/) continue            # "(auto-read-only)"
		if ($i ~ /^(raid|linear|multipath|faulty)/ && level == "unknown") { level = $i; continue }
		if ($i ~ /\(F\)$/) failed++
	}
	if (state == "inactive") level = "-"
	next
}
name != "" && /\[[0-9]+\/[0-9]+\]/ {
	for (i = 1; i <= NF; i++) if ($i ~ /^\[[0-9]+\/[0-9]+\]$/) {
		split(substr($i, 2, length($i) - 2), a, "/"); want = a[1]; have = a[2]
	}
}
name != "" && /(recovery|resync|reshape|check|repair) *=/ {
	for (i = 1; i <= NF; i++) if ($i ~ /^(recovery|resync|reshape|check|repair)$/) action = $i
	if (match($0, /= *[0-9.]+%/)) { pct = substr($0, RSTART, RLENGTH); gsub(/[= %]/, "", pct) }
}
name != "" && /^[ \t]*$/ { flush() }
/^unused devices/ { flush() }
END {
	flush()
	if (n == 0) {
		printf "{\"value\": 0, \"message\": \"no md arrays\", \"metrics\": []}\n"
		exit 0
	}
	printf "{\"value\": %d, \"message\": \"%d of %d arrays degraded (%d rebuilding): %s\", \"metrics\": [%s]}\n", bad, bad, n, rebuilding, desc, m
	if (bad > 0) exit 2
	if (faileddevs > 0) exit 1
	exit 0
}' "$mdstat"
