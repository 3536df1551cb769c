#!/bin/sh
# http: an HTTP(S) endpoint answers with the expected status, in how long,
# with a body matching a pattern, and how many days its TLS certificate has
# left. Uses Debian's check_http (monitoring-plugins) when installed, else
# curl. Prints one JSON object (Prophasis exec plugin); exit status per the
# Nagios convention.
#   PROPHASIS_PARAM_URL            http[s]://host[:port][/path] (required)
#   PROPHASIS_PARAM_EXPECT_STATUS  the status code expected (default 200)
#   PROPHASIS_PARAM_MATCH          an extended regular expression the body
#                                  must match (default: none)
#   PROPHASIS_PARAM_TIMEOUT        seconds to wait (default 10)
#   PROPHASIS_PARAM_CERT_WARNING   certificate days left for exit 1 (default 21)
#   PROPHASIS_PARAM_CERT_CRITICAL  certificate days left for exit 2 (default 7)
#   PROPHASIS_PARAM_ENGINE         auto (default), check_http or curl

# jstr prints its argument as a JSON string, on one line.
jstr() { printf '"%s"' "$(printf '%s' "$1" | tr '\n\t\r' '   ' | tr -d '\000-\037' | sed 's/\\/\\\\/g; s/"/\\"/g')"; }
unknown() {
	printf '{"value": null, "message": %s}\n' "$(jstr "$1")"
	exit 3
}
isnum() { case $1 in '' | *[!0-9]*) return 1 ;; esac; }

url=$PROPHASIS_PARAM_URL
expect=${PROPHASIS_PARAM_EXPECT_STATUS:-200}
match=$PROPHASIS_PARAM_MATCH
timeout=${PROPHASIS_PARAM_TIMEOUT:-10}
certw=${PROPHASIS_PARAM_CERT_WARNING:-21}
certc=${PROPHASIS_PARAM_CERT_CRITICAL:-7}
engine=${PROPHASIS_PARAM_ENGINE:-auto}
check_http=/usr/lib/nagios/plugins/check_http

[ -n "$url" ] || unknown "parameter url is not set"
isnum "$expect" || unknown "parameter expect_status \"$expect\" is not a status code"
isnum "$timeout" || unknown "parameter timeout \"$timeout\" is not a whole number of seconds"
isnum "$certw" && isnum "$certc" || unknown "parameters cert_warning and cert_critical must be whole numbers of days"

case $url in
http://*) scheme=http port=80 ;;
https://*) scheme=https port=443 ;;
*) unknown "url \"$url\" is neither http:// nor https://" ;;
esac
rest=${url#*://}
hostport=${rest%%/*}
path=${rest#"$hostport"}
[ -n "$path" ] || path=/
host=$hostport
case $hostport in
\[*\]:*) host=${hostport%:*} port=${hostport##*:} ;;
\[*\]) ;;
*:*) host=${hostport%:*} port=${hostport##*:} ;;
esac
isnum "$port" || unknown "url \"$url\": port \"$port\" is not a number"
[ -n "$host" ] || unknown "url \"$url\" has no host"

case $engine in
auto) if [ -x "$check_http" ]; then engine=check_http; else engine=curl; fi ;;
check_http) [ -x "$check_http" ] || unknown "$check_http not installed (Debian package monitoring-plugins-standard)" ;;
curl) ;;
*) unknown "parameter engine \"$engine\" is none of auto, check_http, curl" ;;
esac

tmp=$(mktemp -d) || exit 3
trap 'rm -rf "$tmp"' EXIT

# days_left DATE: whole days from now until DATE ("Dec  1 02:15:59 2026 GMT").
days_left() {
	t=$(date -u -d "$1" +%s 2>/dev/null) || return 1
	now=$(date -u +%s)
	echo $(((t - now) / 86400))
}

# emit EXIT STATUS_CODE SECONDS SIZE CERTDAYS MESSAGE (empty fields: unknown)
emit() {
	m=""
	add() { m="$m${m:+, }{\"name\": \"$1\", \"value\": $2${3:+, \"unit\": \"$3\"}}"; }
	[ -n "$2" ] && add status_code "$2"
	[ -n "$3" ] && add response_seconds "$3" seconds
	[ -n "$4" ] && add size_bytes "$4" bytes
	[ -n "$5" ] && add certificate_days_left "$5"
	printf '{"value": %s, "message": %s, "metrics": [%s]}\n' "${3:-null}" "$(jstr "$6")" "$m"
	exit "$1"
}

if [ "$engine" = check_http ]; then
	set -- -H "$host" -p "$port" -u "$path" -t "$timeout" -e "HTTP/1.0 $expect,HTTP/1.1 $expect"
	[ "$scheme" = https ] && set -- "$@" -S --sni -C "$certw,$certc" --continue-after-certificate
	[ -n "$match" ] && set -- "$@" -r "$match"
	"$check_http" "$@" >"$tmp/out" 2>&1
	rc=$?
	[ "$rc" -le 3 ] || rc=3
	httpline=$(grep -m 1 '^HTTP ' "$tmp/out")
	[ -n "$httpline" ] || httpline=$(grep -v -m 1 -e '^$' -e 'Certificate' "$tmp/out")
	certline=$(grep -m 1 "Certificate '" "$tmp/out")
	status=$(printf '%s\n' "$httpline" | sed -n 's/.*HTTP\/[0-9.]* \([0-9][0-9][0-9]\).*/\1/p' | head -n 1)
	secs=$(printf '%s\n' "$httpline" | sed -n 's/.*|.*time=\([0-9.]*\)s.*/\1/p')
	size=$(printf '%s\n' "$httpline" | sed -n 's/.*|.*size=\([0-9]*\)B.*/\1/p')
	days=""
	case $certline in
	*"will expire on "*)
		d=$(printf '%s\n' "$certline" | sed 's/.*will expire on \(.*\)\.$/\1/')
		# "Tue Dec  1 02:15:59 2026 +0000", which date -d reads as "1 Dec 2026 02:15:59 +0000"
		set -- $d
		[ $# -ge 6 ] && days=$(days_left "$3 $2 $5 $4 $6")
		;;
	*"expires in "*" day"*) days=$(printf '%s\n' "$certline" | sed 's/.*expires in \([0-9]*\) day.*/\1/') ;;
	*"expires in "* | *"expires today"*) days=0 ;;
	*expired*) days=-1 ;;
	esac
	msg=${httpline%%|*}
	# check_http says 'Status line output matched "HTTP/1.0 200,HTTP/1.1 200"' for -e
	msg=$(printf '%s' "$msg" | sed 's/ *$//; s/Status line output matched "[^"]*"/status '"$status"'/')
	if [ -n "$certline" ]; then
		case $certline in
		OK*) msg="$msg; certificate: ${days:-?} days left" ;;
		*) msg="$msg; $certline" ;;
		esac
	fi
	[ -n "$msg" ] || msg="check_http printed nothing (exit $rc)"
	emit "$rc" "$status" "$secs" "$size" "$days" "$msg"
fi

# curl: -k, so an untrusted certificate is judged by its days left, like
# check_http does; the body is read up to 1 MiB for the match.
command -v curl >/dev/null 2>&1 || unknown "neither check_http nor curl is installed"
fmt='%{http_code} %{time_total} %{size_download}\n'
[ "$scheme" = https ] && fmt="$fmt%{certs}"
curl -sS -k -o "$tmp/body" --max-filesize 1048576 -m "$timeout" -w "$fmt" -- "$url" >"$tmp/w" 2>"$tmp/err"
crc=$?
if [ "$crc" -ne 0 ] && [ "$crc" -ne 63 ]; then
	emit 2 "" "" "" "" "HTTP CRITICAL - $(head -n 1 "$tmp/err" | sed 's/^curl: ([0-9]*) //')"
fi
set -- $(head -n 1 "$tmp/w")
status=$1 secs=$2 size=$3
days=""
if [ "$scheme" = https ]; then
	d=$(sed -n 's/^Expire date:\(.*\)/\1/p' "$tmp/w" | head -n 1)
	[ -n "$d" ] && days=$(days_left "$d")
fi
rc=0
msg="HTTP $status in $secs s, $size bytes"
if [ "$status" != "$expect" ]; then
	rc=2 msg="HTTP CRITICAL: status $status, expected $expect; $msg"
elif [ -n "$match" ] && ! grep -Eq -- "$match" "$tmp/body"; then
	rc=2 msg="HTTP CRITICAL: pattern not found; $msg"
else
	msg="HTTP OK: $msg"
fi
if [ -n "$days" ]; then
	msg="$msg; certificate: $days days left"
	if [ "$days" -lt "$certc" ]; then rc=2; elif [ "$days" -lt "$certw" ] && [ "$rc" -eq 0 ]; then rc=1; fi
fi
emit "$rc" "$status" "$secs" "$size" "$days" "$msg"
