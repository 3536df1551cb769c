#!/bin/sh
# diskio: disk I/O per block device, from two samples of /proc/diskstats
# taken PROPHASIS_PARAM_SAMPLE seconds apart. Prints one JSON object
# (Prophasis exec plugin); exit status per the Nagios convention.
#   PROPHASIS_PARAM_SAMPLE    seconds between the samples (default 1)
#   PROPHASIS_PARAM_EXCLUDE   devices left out, an extended regexp
#                             (default ^(loop|ram|zram|fd|sr)[0-9])
#   PROPHASIS_PARAM_WARNING   busy percent of the busiest device for exit 1 (default 80)
#   PROPHASIS_PARAM_CRITICAL  busy percent for exit 2 (default 95)
#   PROPHASIS_PARAM_PROC      where /proc is (default /proc)
sample=${PROPHASIS_PARAM_SAMPLE:-1}
exclude=${PROPHASIS_PARAM_EXCLUDE-^(loop|ram|zram|fd|sr)[0-9]}
warn=${PROPHASIS_PARAM_WARNING:-80}
crit=${PROPHASIS_PARAM_CRITICAL:-95}
proc=${PROPHASIS_PARAM_PROC:-/proc}

# jstr prints its argument as a JSON string, on one line.
jstr() { printf '"%s"' "$(printf '%s' "$1" | tr '\n\t\r' '   ' | tr -d '\000-\037' | sed 's/\\/\\\\/g; s/"/\\"/g')"; }

case $sample in
'' | *[!0-9.]* | .* | *.*.*)
	printf '{"value": null, "message": %s}\n' "$(jstr "parameter sample \"$sample\" is not a number of seconds")"
	exit 3
	;;
esac
# Whole disks are the entries of /sys/block; partitions are left out.
disks=" $(ls /sys/block 2>/dev/null | tr '\n' ' ')"
if [ ! -r "$proc/diskstats" ]; then
	printf '{"value": null, "message": %s}\n' "$(jstr "cannot read $proc/diskstats")"
	exit 3
fi

tmp=$(mktemp) || exit 3
trap 'rm -f "$tmp"' EXIT
# Each sample: the uptime line (the time base), then diskstats.
{ cat "$proc/uptime"; cat "$proc/diskstats"; } >"$tmp"
sleep "$sample"
{ cat "$proc/uptime"; cat "$proc/diskstats"; } | awk -v disks="$disks" -v exclude="$exclude" -v warn="$warn" -v crit="$crit" '
function human(b) {
	if (b >= 1073741824) return sprintf("%.1f GiB", b / 1073741824)
	if (b >= 1048576) return sprintf("%.1f MiB", b / 1048576)
	if (b >= 1024) return sprintf("%.1f KiB", b / 1024)
	return sprintf("%.0f B", b)
}
function metric(name, dev, v, unit, counter) {
	s = sprintf("{\"name\": \"%s\", \"labels\": {\"device\": \"%s\"}, \"value\": %.2f", name, dev, v)
	if (unit != "") s = s sprintf(", \"unit\": \"%s\"", unit)
	if (counter) s = s ", \"counter\": true"
	metrics = metrics (metrics == "" ? "" : ", ") s "}"
}
# The first file is the earlier sample; both start with /proc/uptime.
FNR == 1 { t[NR == FNR ? 0 : 1] = $1; next }
{
	dev = $3
	if (exclude != "" && dev ~ exclude) next
	# A partition is counted with its disk: only whole disks, those in
	# /sys/block; without /sys, devices that are not a partition of one
	# listed before (sda1 after sda).
	if (NR == FNR) {
		if (disks != " ") {
			if (index(disks, " " dev " ") == 0) next
		} else {
			for (d in rd) if (index(dev, d) == 1 && dev ~ /[0-9]$/ && length(dev) > length(d)) next
		}
		rd[dev] = $6; wr[dev] = $10; ticks[dev] = $13; order[++n] = dev
		next
	}
	if (!(dev in rd)) next
	r1[dev] = $6; w1[dev] = $10; k1[dev] = $13
}
END {
	el = t[1] - t[0]
	if (el <= 0) el = 0.01
	best = -1
	for (i = 1; i <= n; i++) {
		d = order[i]
		if (!(d in r1)) continue
		rb = (r1[d] - rd[d]) * 512 / el; wb = (w1[d] - wr[d]) * 512 / el
		if (rb < 0) rb = 0
		if (wb < 0) wb = 0
		u = (k1[d] - ticks[d]) / (el * 1000) * 100
		if (u < 0) u = 0
		if (u > 100) u = 100
		metric("read_bytes_per_second", d, rb, "bytes")
		metric("write_bytes_per_second", d, wb, "bytes")
		metric("busy_percent", d, u, "percent")
		metric("read_bytes_total", d, r1[d] * 512, "bytes", 1)
		metric("written_bytes_total", d, w1[d] * 512, "bytes", 1)
		metric("io_seconds_total", d, k1[d] / 1000, "seconds", 1)
		devs++
		if (u > best) { best = u; bdev = d; brb = rb; bwb = wb }
	}
	if (devs == 0) {
		printf "{\"value\": null, \"message\": \"no block devices\"}\n"
		exit 0
	}
	printf "{\"value\": %.2f, \"message\": \"busiest: %s %.1f%% busy, read %s/s, write %s/s; %d devices\", \"metrics\": [%s]}\n", best, bdev, best, human(brb), human(bwb), devs, metrics
	if (best >= crit + 0) exit 2
	if (best >= warn + 0) exit 1
	exit 0
}' "$tmp" -
