#!/bin/sh
# systemd: the state of one systemd unit (systemctl is-active). Prints one
# JSON object (Prophasis exec plugin); exit status per the Nagios
# convention: 0 active, 1 activating/reloading/deactivating, 2 inactive or
# failed, 3 when it cannot tell (no systemd, no such unit).
#   PROPHASIS_PARAM_UNIT  the unit (ssh.service, nginx, var-lib.mount)

# jstr prints its argument as a JSON string, on one line.
jstr() { printf '"%s"' "$(printf '%s' "$1" | tr '\n\t\r' '   ' | tr -d '\000-\037' | sed 's/\\/\\\\/g; s/"/\\"/g')"; }
# out VALUE MESSAGE EXIT
out() {
	printf '{"value": %s, "message": %s}\n' "$1" "$(jstr "$2")"
	exit "$3"
}

unit=$PROPHASIS_PARAM_UNIT
[ -n "$unit" ] || out null "parameter unit is not set" 3
command -v systemctl >/dev/null 2>&1 || out null "systemctl not found: this host does not use systemd" 3
# sd_booted(3): systemd is the init system when /run/systemd/system exists.
[ -d /run/systemd/system ] || out null "systemd is not running on this host (no /run/systemd/system): cannot tell the state of $unit" 3

load=$(systemctl show --property=LoadState --value -- "$unit" 2>/dev/null)
state=$(systemctl is-active -- "$unit" 2>/dev/null)
sub=$(systemctl show --property=SubState --value -- "$unit" 2>/dev/null)
case $load in
not-found) out null "unit $unit not found" 3 ;;
masked) out 0 "unit $unit is masked ($state)" 2 ;;
esac
case $state in
active) out 1 "$unit active ($sub)" 0 ;;
activating | reloading | deactivating | refreshing) out 0 "$unit $state ($sub)" 1 ;;
inactive | failed) out 0 "$unit $state ($sub)" 2 ;;
'') out null "systemctl is-active $unit printed nothing" 3 ;;
*) out null "$unit is in state $state" 3 ;;
esac
