#!/usr/bin/env bash
# Agent RSS with the mesh on: a real server, three enrolled agents on
# 127.0.0.2-4 in one mesh, the footprint part's 20 plugins every 60 s on
# the measured agent; VmRSS of agent 1 sampled every second for DURATION
# seconds after a 60 s warm-up: median and peak (VmHWM).
# usage: agent/mesh/rss.sh BINDIR [DURATION]   (BINDIR holds prophasis and
# prophasis-agent, built as make build does: CGO_ENABLED=0 -trimpath -s -w);
# MESH=0 runs the agents without the mesh. Needs curl, python3, bc and
# /usr/lib/nagios/plugins (monitoring-plugins); uses 127.0.0.2-4:7946.
set -euo pipefail
BIN=$1; DUR=${2:-300}
W=$(mktemp -d /tmp/rssrun.XXXX); chmod 755 $W
PORT=$((20000 + RANDOM % 10000)); SPORT=$((PORT+1))
"$BIN/prophasis" serve --listen 127.0.0.1:$PORT --data-dir $W/server --log-level warn 2>$W/server.log &
SRV=$!
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null' EXIT
for i in $(seq 100); do [ -s $W/server/admin.token ] && break; sleep 0.2; done
TOK=$(cat $W/server/admin.token)
for i in $(seq 100); do curl -sf http://127.0.0.1:$PORT/-/ready >/dev/null && break; sleep 0.2; done
api() { curl -sf -X "$1" -H "Authorization: Bearer $TOK" -H 'Content-Type: application/json' "http://127.0.0.1:$PORT/manage/v1$2" -d "$3"; }
head -c 32 /dev/urandom | base64 > $W/mesh.key; chmod 600 $W/mesh.key
for n in 1 2 3; do
  ET=$(api POST /enrollments "{\"host\":\"rss-agent$n\"}" | python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]; print(d.get("token") or d.get("Token"))')
  mkdir -p $W/a$n; chmod 700 $W/a$n
  # Enrol first (the mesh takes the enrolled name only when it starts enrolled).
  "$BIN/prophasis-agent" --server http://127.0.0.1:$PORT --allow-http --enroll-token "$ET" --data-dir $W/a$n --host rss-agent$n --log-level warn 2>$W/enrol$n.log &
  E=$!
  for i in $(seq 100); do [ -f $W/a$n/agent.json ] && break; sleep 0.2; done
  kill $E; wait $E || true
done
for n in 1 2 3; do
  seeds=""; [ $n -gt 1 ] && seeds="--mesh-seeds 127.0.0.2"
  if [ "${MESH:-1}" = 0 ]; then
    "$BIN/prophasis-agent" --data-dir $W/a$n --log-level warn 2>$W/a$n.log &
    eval "A$n=$!"; continue
  fi
  "$BIN/prophasis-agent" --data-dir $W/a$n \
    --log-level warn --mesh --mesh-cluster rss --mesh-key-file $W/mesh.key --mesh-bind 127.0.0.$((n+1)) --mesh-allow 127.0.0.2-4 $seeds \
    $([ $n = 1 ] && echo --status-listen 127.0.0.1:$SPORT) 2>$W/a$n.log &
  eval "A$n=$!"
done
names=""
add() { api POST /plugins "$1" >/dev/null || echo "plugin $2: kept the existing one" >&2; names="$names\"$2\","; }
for p in uptime load memory cpu network disk users processes syslog; do add "{\"name\":\"$p\",\"kind\":\"builtin\",\"entrypoint\":\"$p\"}" $p; done
N=/usr/lib/nagios/plugins
add "{\"name\":\"check_load\",\"kind\":\"nagios\",\"entrypoint\":\"$N/check_load\",\"args\":[\"-w\",\"50,50,50\",\"-c\",\"100,100,100\"]}" check_load
add "{\"name\":\"check_disk\",\"kind\":\"nagios\",\"entrypoint\":\"$N/check_disk\",\"args\":[\"-w\",\"10%\",\"-c\",\"5%\",\"-p\",\"/\"]}" check_disk
add "{\"name\":\"check_procs\",\"kind\":\"nagios\",\"entrypoint\":\"$N/check_procs\"}" check_procs
add "{\"name\":\"check_users\",\"kind\":\"nagios\",\"entrypoint\":\"$N/check_users\",\"args\":[\"-w\",\"50\",\"-c\",\"100\"]}" check_users
add "{\"name\":\"check_swap\",\"kind\":\"nagios\",\"entrypoint\":\"$N/check_swap\",\"args\":[\"-w\",\"0%\",\"-c\",\"0%\"]}" check_swap
for d in 1:0 2:0 3:0 4:1 5:2 6:0; do add "{\"name\":\"check_dummy_${d%:*}\",\"kind\":\"nagios\",\"entrypoint\":\"$N/check_dummy\",\"args\":[\"${d#*:}\",\"x\"]}" check_dummy_${d%:*}; done
api POST /schedules '{"name":"minutely","intervals":[{"period":"60s"}]}' >/dev/null
api POST /checks "{\"name\":\"footprint\",\"plugins\":[${names%,}],\"hosts\":[\"rss-agent1\"],\"schedule\":\"minutely\"}" >/dev/null
sleep 60
rss=()
for i in $(seq $DUR); do
  kill -0 $A1 || { echo "agent died"; tail $W/a1.log; exit 1; }
  rss+=($(awk '/VmRSS/{print $2}' /proc/$A1/status)); sleep 1
done
peak=$(awk '/VmHWM/{print $2}' /proc/$A1/status)
hosts=$(curl -sf http://127.0.0.1:$SPORT/status.json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["hosts"]))' || echo none)
grep -E "^(RssAnon|RssFile)" /proc/$A1/status | tr -s ' \t' ' ' | tr '\n' ' '; echo
med=$(printf '%s\n' "${rss[@]}" | sort -n | awk '{a[NR]=$1} END{print a[int(NR/2)+1]}')
echo "agent RSS with the mesh $([ "${MESH:-1}" = 0 ] && echo off || echo on): median $(echo "scale=1; $med/1024" | bc) MiB, peak (VmHWM) $(echo "scale=1; $peak/1024" | bc) MiB over ${DUR}s; mesh hosts seen: $hosts; load: $(cut -d' ' -f1-3 /proc/loadavg)"
