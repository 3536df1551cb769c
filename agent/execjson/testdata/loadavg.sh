#!/bin/sh
# An exec plugin in a few lines of shell: the 1-minute load as the value,
# all three as metrics, warning above $WARN (default 1000).
read l1 l5 l15 rest < /proc/loadavg
status=ok
if [ "$(echo "$l1 > ${WARN:-1000}" | awk '{print ($1 > $3)}')" = 1 ]; then status=warning; fi
printf '{"value": %s, "message": "load %s", "status": "%s", "metrics": {"load1": %s, "load5": %s, "load15": %s}}\n' \
  "$l1" "$l1" "$status" "$l1" "$l5" "$l15"
