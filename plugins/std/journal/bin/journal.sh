#!/bin/sh
# journal: the rate of error entries in the systemd journal over the last
# PROPHASIS_PARAM_WINDOW minutes. Prints one JSON object (Prophasis exec
# plugin); exit status per the Nagios convention.
#   PROPHASIS_PARAM_WINDOW    minutes looked back (default 10)
#   PROPHASIS_PARAM_PRIORITY  the least severe priority counted (default err:
#                             emerg, alert, crit and err)
#   PROPHASIS_PARAM_WARNING   entries per minute for exit 1 (default 1)
#   PROPHASIS_PARAM_CRITICAL  entries per minute for exit 2 (default 10)
#   PROPHASIS_PARAM_JOURNALCTL  the journalctl program (default journalctl,
#                             looked up in PATH)

# jstr prints its argument as a JSON string, on one line.
jstr() { printf '"%s"' "$(printf '%s' "$1" | tr '\n\t\r' '   ' | tr -d '\000-\037' | sed 's/\\/\\\\/g; s/"/\\"/g')"; }
unknown() {
	printf '{"value": null, "message": %s}\n' "$(jstr "$1")"
	exit 3
}

window=${PROPHASIS_PARAM_WINDOW:-10}
prio=${PROPHASIS_PARAM_PRIORITY:-err}
warn=${PROPHASIS_PARAM_WARNING:-1}
crit=${PROPHASIS_PARAM_CRITICAL:-10}
journalctl=${PROPHASIS_PARAM_JOURNALCTL:-journalctl}
case $window in
'' | *[!0-9]* | 0) unknown "parameter window \"$window\" is not a whole number of minutes" ;;
esac
command -v "$journalctl" >/dev/null 2>&1 || unknown "journalctl not found: this host has no systemd journal (the builtin syslog collector reads /var/log/syslog)"

# No entry at all: journald does not run here, or this user may not read
# the journal. Saying "0 errors" then would be a lie.
if [ -z "$("$journalctl" -q --no-pager -n 1 -o short-unix 2>/dev/null | head -n 1)" ]; then
	unknown "the journal has no entries: journald is not running, or the plugin's user cannot read it (add it to group systemd-journal or adm)"
fi
err=$(mktemp) || exit 3
trap 'rm -f "$err"' EXIT
# -o json prints one line per entry, whatever the message holds.
count=$("$journalctl" -q --no-pager -p "$prio" --since "-${window}min" -o json 2>"$err" | wc -l)
if [ -s "$err" ]; then
	unknown "journalctl failed: $(head -n 1 "$err")"
fi
last=""
if [ "$count" -gt 0 ]; then
	last=$("$journalctl" -q --no-pager -p "$prio" --since "-${window}min" -n 1 -o cat 2>/dev/null | head -n 1 | cut -c 1-200)
fi
rate=$(awk -v c="$count" -v w="$window" 'BEGIN { printf "%.3f", c / w }')
msg="$count entries of priority $prio or worse in the last $window min"
[ -n "$last" ] && msg="$msg; last: $last"
printf '{"value": %s, "message": %s, "metrics": [{"name": "entries", "value": %d}, {"name": "entries_per_minute", "value": %s}]}\n' \
	"$rate" "$(jstr "$msg")" "$count" "$rate"
awk -v r="$rate" -v w="$warn" -v c="$crit" 'BEGIN { if (r + 0 >= c + 0) exit 2; if (r + 0 >= w + 0) exit 1; exit 0 }'
