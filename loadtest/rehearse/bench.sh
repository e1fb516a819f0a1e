#!/usr/bin/env bash
# The rehearsal figures of BENCHMARKS.md: 20,000 shoppers for 300 units against
# `stampede serve --shards 1` pinned to core 0, the rehearsal pinned to core 1; then a picture
# of the report's first screen by Debian's headless Chromium.
#   loadtest/rehearse/bench.sh [build dir] [output dir] [drop]
# With `drop`, the product is in a queue-mode drop opening 5 s later (50 admissions a second,
# 30 s to use one) and the server holds carts for 15 s, so abandoned carts come back while the
# queue waits. Writes OUT/rehearsal[-drop].{json,html,txt,png}.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
out=${2:-.}
mode=${3:-}
port=18801
secret=bench-jwt-secret
gateway=bench-gateway-secret
work=$(mktemp -d)
cleanup() {
  [ -n "${server_pid:-}" ] && kill "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

serve_flags=()
rehearse_flags=(--units 300)
name=rehearsal
if [ "$mode" = drop ]; then
  serve_flags=(--hold-ttl 15)
  rehearse_flags=(--product drop-item --drop bench-drop --arrival ramp:30 --connections 1024 --duration 180)
  name=rehearsal-drop
fi
taskset -c 0 "$build/stampede" serve --shards 1 --listen 127.0.0.1:$port --data-dir "$work/data" \
  --jwt-secret $secret --gateway-secret $gateway "${serve_flags[@]}" > "$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 50); do curl -sf http://127.0.0.1:$port/readyz > /dev/null && break; sleep 0.1; done
if [ "$mode" = drop ]; then
  admin=$("$build/stampede" token --sub bench-admin --role admin --jwt-secret $secret)
  post() {
    curl -sf -XPOST "http://127.0.0.1:$port$1" -H "Authorization: Bearer $admin" \
      -H 'Content-Type: application/json' -d "$2" > /dev/null
  }
  post /v1/admin/products \
    '{"id":"drop-item","name":"Drop item","price":12999,"on_hand":300,"max_per_user":1}'
  post /v1/admin/drops '{"id":"bench-drop","product_ids":["drop-item"],"mode":"queue",
    "opens_at":"'"$(date -u -d '+5 seconds' +%Y-%m-%dT%H:%M:%S.000Z)"'",
    "admit_per_s":50,"admission_ttl":60}'
fi
echo "uptime: $(uptime)" | tee "$out/$name.txt"
set +e
taskset -c 1 "$build/stampede" rehearse --target http://127.0.0.1:$port --jwt-secret $secret \
  --gateway-secret $gateway --shoppers 20000 "${rehearse_flags[@]}" --quiet \
  --json "$out/$name.json" --report "$out/$name.html" | tee -a "$out/$name.txt"
status=${PIPESTATUS[0]}
set -e
echo "uptime: $(uptime)" | tee -a "$out/$name.txt"
/usr/bin/chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run --user-data-dir="$work/chromium" \
  --window-size=1280,900 --screenshot="$out/$name.png" "file://$(realpath "$out/$name.html")" \
  > /dev/null 2>&1
echo "exit status of the rehearsal: $status; picture: $out/$name.png"
exit "$status"
