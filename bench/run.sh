#!/usr/bin/env bash
# Whole-system benchmark: builds prophasis from this tree and runs
# bench/compare against it and Debian's Prometheus 2.42, one server at a time.
# `make bench` calls it. Extra arguments go to bench/compare, e.g.
#   bash bench/run.sh --parts rw,query         # only the Prometheus comparison
#   bash bench/run.sh --rss-series 100000      # skip the 1M-series run
#   bash bench/run.sh --strict                 # exit 2 if a goal is missed
#   bash bench/run.sh --parts alert            # alert latency against Prometheus + Alertmanager
# `go run ./bench/compare -h` lists every flag. Takes about 7-8 minutes on a
# 2-core machine (plus the build).
set -euo pipefail
cd "$(dirname "$0")/.."

PROMETHEUS="${PROMETHEUS:-/usr/bin/prometheus}"
if [ ! -x "$PROMETHEUS" ]; then
  echo "bench: $PROMETHEUS not found: install Debian's Prometheus (apt-get install prometheus) or set PROMETHEUS=/path/to/prometheus" >&2
  exit 1
fi
ALERTMANAGER="${ALERTMANAGER:-/usr/bin/prometheus-alertmanager}"
if [ ! -x "$ALERTMANAGER" ]; then
  echo "bench: $ALERTMANAGER not found (part alert): install Debian's Alertmanager (apt-get install prometheus-alertmanager) or set ALERTMANAGER=/path/to/alertmanager" >&2
  exit 1
fi
# The Debian package starts a Prometheus service; it would compete for the CPUs.
if command -v systemctl >/dev/null && systemctl is-active --quiet prometheus 2>/dev/null; then
  echo "bench: note: the prometheus system service is running and will share the CPUs (systemctl stop prometheus)" >&2
fi

out="$(mktemp -d "${TMPDIR:-/tmp}/prophasis-bench-bin.XXXXXX")"
trap 'rm -rf "$out"' EXIT
echo "bench: building prophasis from $(pwd) ($(git describe --tags --always --dirty 2>/dev/null || echo unknown)) with $(go version)"
CGO_ENABLED=0 go build -trimpath -o "$out/" ./cmd/prophasis ./cmd/prophasis-agent
go build -o "$out/compare" ./bench/compare
echo "bench: prophasis = $out/prophasis (built now from this tree)"
echo "bench: prometheus = $PROMETHEUS ($("$PROMETHEUS" --version 2>&1 | head -1); package $(dpkg -S "$PROMETHEUS" 2>/dev/null | cut -d: -f1 || echo unknown))"
"$out/compare" --prophasis "$out/prophasis" --prometheus "$PROMETHEUS" --alertmanager "$ALERTMANAGER" "$@"
