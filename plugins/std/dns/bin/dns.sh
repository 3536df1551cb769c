#!/bin/sh
# dns: a name resolves, through the system's resolver (getent ahosts: the
# same /etc/hosts, DNS and nsswitch.conf every program on the host uses),
# how fast, and optionally to an expected address. Prints one JSON object
# (Prophasis exec plugin); exit status per the Nagios convention.
#   PROPHASIS_PARAM_NAME     the name to resolve (required)
#   PROPHASIS_PARAM_EXPECT   an address that must be among the answers (default: any)
#   PROPHASIS_PARAM_WARNING  seconds from which a slow answer exits 1 (default 1)

# jstr prints its argument as a JSON string, on one line.
jstr() { printf '"%s"' "$(printf '%s' "$1" | tr '\n\t\r' '   ' | tr -d '\000-\037' | sed 's/\\/\\\\/g; s/"/\\"/g')"; }
out() {
	printf '{"value": %s, "message": %s%s}\n' "$1" "$(jstr "$2")" "$4"
	exit "$3"
}
now() { date +%s.%N; }

name=$PROPHASIS_PARAM_NAME
expect=$PROPHASIS_PARAM_EXPECT
warn=${PROPHASIS_PARAM_WARNING:-1}
[ -n "$name" ] || out null "parameter name is not set" 3
command -v getent >/dev/null 2>&1 || out null "getent not found (Debian package libc-bin)" 3

t0=$(now)
answers=$(getent ahosts "$name")
rc=$?
t1=$(now)
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')
# getent: 2 = not found; 1 = bad arguments; 3 = enumeration unsupported
case $rc in
0) ;;
2) out "$secs" "$name does not resolve" 2 ", \"metrics\": [{\"name\": \"resolve_seconds\", \"value\": $secs, \"unit\": \"seconds\"}, {\"name\": \"addresses\", \"value\": 0}]" ;;
*) out null "getent ahosts $name failed with exit code $rc" 3 ;;
esac
addrs=$(printf '%s\n' "$answers" | awk '!seen[$1]++ { print $1 }')
count=$(printf '%s\n' "$addrs" | grep -c .)
list=$(printf '%s\n' "$addrs" | head -n 5 | tr '\n' ' ' | sed 's/ $//; s/ /, /g')
[ "$count" -gt 5 ] && list="$list, ..."
metrics=", \"metrics\": [{\"name\": \"resolve_seconds\", \"value\": $secs, \"unit\": \"seconds\"}, {\"name\": \"addresses\", \"value\": $count}]"
if [ -n "$expect" ] && ! printf '%s\n' "$addrs" | grep -qxF -- "$expect"; then
	out "$secs" "$name resolves to $list, not to $expect" 2 "$metrics"
fi
slow=$(awk -v s="$secs" -v w="$warn" 'BEGIN { print (s + 0 >= w + 0) ? 1 : 0 }')
if [ "$slow" = 1 ]; then
	out "$secs" "$name resolves to $list, slowly ($secs s)" 1 "$metrics"
fi
out "$secs" "$name resolves to $list in $secs s" 0 "$metrics"
