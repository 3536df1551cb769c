#!/bin/sh
# ntp: the offset of this host's clock from NTP time, in seconds. Asks
# PROPHASIS_PARAM_SERVER with check_ntp_time (Debian's monitoring-plugins)
# when installed; else reads the local NTP daemon (chronyc tracking, or
# ntpq -pn's system peer). Prints one JSON object (Prophasis exec plugin);
# exit status per the Nagios convention; UNKNOWN (3) when no NTP source
# answers, since then the offset cannot be told.
#   PROPHASIS_PARAM_SERVER    the NTP server check_ntp_time asks (default pool.ntp.org)
#   PROPHASIS_PARAM_PORT      its UDP port (default 123)
#   PROPHASIS_PARAM_METHOD    auto (default), check_ntp_time, chronyc or ntpq
#   PROPHASIS_PARAM_WARNING   |offset| in seconds for exit 1 (default 0.5)
#   PROPHASIS_PARAM_CRITICAL  |offset| in seconds for exit 2 (default 1)
#   PROPHASIS_PARAM_TIMEOUT   seconds to wait for the server (default 10)

# jstr prints its argument as a JSON string, on one line.
jstr() { printf '"%s"' "$(printf '%s' "$1" | tr '\n\t\r' '   ' | tr -d '\000-\037' | sed 's/\\/\\\\/g; s/"/\\"/g')"; }
unknown() {
	printf '{"value": null, "message": %s}\n' "$(jstr "$1")"
	exit 3
}
# result OFFSET SOURCE: prints the result and exits by the thresholds.
result() {
	msg=$(awk -v o="$1" 'BEGIN { printf "offset %+.6f s", o }')
	printf '{"value": %s, "message": %s, "metrics": [{"name": "offset_seconds", "value": %s, "unit": "seconds"}]}\n' \
		"$1" "$(jstr "$msg from $2")" "$1"
	awk -v o="$1" -v w="$warn" -v c="$crit" 'BEGIN { if (o < 0) o = -o; if (o >= c + 0) exit 2; if (o >= w + 0) exit 1; exit 0 }'
	exit $?
}

server=${PROPHASIS_PARAM_SERVER:-pool.ntp.org}
port=${PROPHASIS_PARAM_PORT:-123}
method=${PROPHASIS_PARAM_METHOD:-auto}
warn=${PROPHASIS_PARAM_WARNING:-0.5}
crit=${PROPHASIS_PARAM_CRITICAL:-1}
timeout=${PROPHASIS_PARAM_TIMEOUT:-10}
check=/usr/lib/nagios/plugins/check_ntp_time

if [ "$method" = auto ]; then
	if [ -x "$check" ]; then method=check_ntp_time
	elif command -v chronyc >/dev/null 2>&1; then method=chronyc
	elif command -v ntpq >/dev/null 2>&1; then method=ntpq
	else unknown "no NTP tool on this host: none of check_ntp_time (monitoring-plugins-basic), chronyc, ntpq"
	fi
fi

case $method in
check_ntp_time)
	[ -x "$check" ] || unknown "$check not installed (Debian package monitoring-plugins-basic)"
	out=$("$check" -H "$server" -p "$port" -t "$timeout" -w "$warn" -c "$crit" 2>&1 | head -n 1)
	offset=$(printf '%s\n' "$out" | sed -n 's/.*|.*offset=\([-+0-9.eE]*\)s.*/\1/p')
	if [ -z "$offset" ]; then
		# "No response from NTP server", "Invalid hostname/address": no offset
		unknown "no NTP source reachable: $server: ${out%%|*}"
	fi
	result "$offset" "$server (check_ntp_time)"
	;;
chronyc)
	command -v chronyc >/dev/null 2>&1 || unknown "chronyc not installed"
	# -c: CSV; field 2 the reference's name, 3 the stratum, 5 the system
	# clock's offset from NTP time (positive: slow)
	line=$(chronyc -c tracking 2>&1 | head -n 1)
	stratum=$(printf '%s\n' "$line" | cut -d, -f3)
	offset=$(printf '%s\n' "$line" | cut -d, -f5)
	case $stratum in
	'' | *[!0-9]*) unknown "chronyc tracking failed: $line" ;;
	0) unknown "no NTP source reachable: chronyd has no synchronised source" ;;
	esac
	[ "$(printf '%s\n' "$line" | cut -d, -f2)" = "" ] && unknown "no NTP source reachable: chronyd has no reference"
	result "$offset" "chronyd's source $(printf '%s\n' "$line" | cut -d, -f2)"
	;;
ntpq)
	command -v ntpq >/dev/null 2>&1 || unknown "ntpq not installed"
	# the system peer is marked '*'; offset (column 9) is in milliseconds
	peer=$(ntpq -pn 2>&1 | awk '/^\*/ { print substr($1, 2), $9 / 1000; exit }')
	[ -n "$peer" ] || unknown "no NTP source reachable: ntpd has no system peer (ntpq -pn lists none marked *)"
	set -- $peer
	result "$2" "ntpd's peer $1"
	;;
*) unknown "parameter method \"$method\" is none of auto, check_ntp_time, chronyc, ntpq" ;;
esac
