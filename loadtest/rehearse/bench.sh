#!/usr/bin/env bash
# The rehearsal figure of BENCHMARKS.md: 20,000 shoppers for 300 units against
# `stampede serve --shards 1` pinned to core 0, the rehearsal pinned to core 1; then a picture
# of the report's first screen by Debian's headless Chromium.
#   loadtest/rehearse/bench.sh [build dir] [output dir]
# Writes OUT/rehearsal.json, OUT/rehearsal.html, OUT/rehearsal.txt and OUT/rehearsal.png.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
out=${2:-.}
port=18801
secret=bench-jwt-secret
gateway=bench-gateway-secret
work=$(mktemp -d)
cleanup() {
  [ -n "${server_pid:-}" ] && kill "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

taskset -c 0 "$build/stampede" serve --shards 1 --listen 127.0.0.1:$port --data-dir "$work/data" \
  --jwt-secret $secret --gateway-secret $gateway > "$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 50); do curl -sf http://127.0.0.1:$port/readyz > /dev/null && break; sleep 0.1; done
echo "uptime: $(uptime)" | tee "$out/rehearsal.txt"
set +e
taskset -c 1 "$build/stampede" rehearse --target http://127.0.0.1:$port --jwt-secret $secret \
  --gateway-secret $gateway --shoppers 20000 --units 300 --quiet \
  --json "$out/rehearsal.json" --report "$out/rehearsal.html" | tee -a "$out/rehearsal.txt"
status=${PIPESTATUS[0]}
set -e
/usr/bin/chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run --user-data-dir="$work/chromium" \
  --window-size=1280,900 --screenshot="$out/rehearsal.png" "file://$(realpath "$out/rehearsal.html")" \
  > /dev/null 2>&1
echo "exit status of the rehearsal: $status; picture: $out/rehearsal.png"
exit "$status"
