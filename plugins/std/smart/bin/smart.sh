#!/bin/sh
# smart: the SMART overall health of disks (smartctl -H, from smartmontools).
# Prints one JSON object (Prophasis exec plugin); exit status per the Nagios
# convention: 0 every disk passes, 2 one fails its self-assessment, 3 when it
# cannot tell (smartctl not installed, no device, a device it cannot open:
# smartctl needs root, or the CAP_SYS_RAWIO capability, to talk to disks).
#   PROPHASIS_PARAM_DEVICES   devices, separated by spaces (default: those
#                             smartctl --scan finds)
#   PROPHASIS_PARAM_SMARTCTL  the smartctl program (default smartctl, looked
#                             up in PATH)

# jstr prints its argument as a JSON string, on one line.
jstr() { printf '"%s"' "$(printf '%s' "$1" | tr '\n\t\r' '   ' | tr -d '\000-\037' | sed 's/\\/\\\\/g; s/"/\\"/g')"; }
unknown() {
	printf '{"value": null, "message": %s}\n' "$(jstr "$1")"
	exit 3
}

smartctl=${PROPHASIS_PARAM_SMARTCTL:-smartctl}
devices=$PROPHASIS_PARAM_DEVICES
command -v "$smartctl" >/dev/null 2>&1 || unknown "smartctl not installed (Debian package smartmontools)"
if [ -z "$devices" ]; then
	# --scan: "/dev/sda -d scsi # /dev/sda, SCSI device"
	devices=$("$smartctl" --scan 2>/dev/null | awk '$1 ~ /^\// { print $1 }' | tr '\n' ' ')
	[ -n "$devices" ] || unknown "no devices: smartctl --scan found none (a virtual machine or container, or not run as root)"
fi

failing=0 unknowns=0 n=0 parts="" metrics=""
for dev in $devices; do
	n=$((n + 1))
	out=$("$smartctl" -H "$dev" 2>&1)
	rc=$?
	health=-1
	case $out in
	*"overall-health self-assessment test result: PASSED"* | *"SMART Health Status: OK"*) health=1 s="PASSED" ;;
	*"overall-health self-assessment test result: FAILED"* | *"SMART Health Status: "*) health=0 s="FAILED" ;;
	esac
	if [ "$health" = -1 ]; then
		# bit 1 (2): the device could not be opened; bit 2 (4): a
		# command failed, SMART unsupported or disabled
		why=$(printf '%s\n' "$out" | grep -v -e '^smartctl [0-9]' -e '^Copyright' -e '^[[:space:]]*$' | head -n 1 | sed 's/^Smartctl open device: //')
		[ -n "$why" ] || why="smartctl -H exited $rc"
		s="unknown ($why)"
		unknowns=$((unknowns + 1))
	elif [ "$health" = 0 ]; then
		failing=$((failing + 1))
	fi
	parts="$parts${parts:+; }$dev $s"
	[ "$health" = -1 ] || metrics="$metrics${metrics:+, }{\"name\": \"healthy\", \"labels\": {\"device\": $(jstr "$dev")}, \"value\": $health}"
done
known=$((n - unknowns))
msg="$failing of $n disks failing: $parts"
if [ "$known" -eq 0 ]; then
	unknown "cannot read SMART health: $parts"
fi
printf '{"value": %d, "message": %s, "metrics": [%s]}\n' "$failing" "$(jstr "$msg")" "$metrics"
if [ "$failing" -gt 0 ]; then exit 2; fi
if [ "$unknowns" -gt 0 ]; then exit 3; fi
exit 0
