#!/usr/bin/env bash
# Overload figures (issue 9) for BENCHMARKS.md: one shard on core 0, the open-model tool on
# core 1. Finds the add-to-cart capacity of binary A, then drives 10x that rate at A and at
# a peer binary B (e.g. the previous commit's), alternating, ROUNDS times each.
# usage: [LOAD_RATE=R] loadtest/overload/bench.sh OVERLOAD_TOOL STAMPEDE_A STAMPEDE_B [ROUNDS] [OUT_DIR]
# LOAD_RATE: drive this rate instead of 10x the capacity found (the search still runs).
set -euo pipefail
tool=$1; a=$2; b=$3; rounds=${4:-2}; out=${5:-$(mktemp -d /tmp/overload-bench-XXXX)}
port=$((20000 + RANDOM % 20000))
mkdir -p "$out"
server_pid=""
data=""
stop_server() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  server_pid=""
  if [ -n "$data" ]; then rm -rf "$data"; fi
  data=""
}
trap stop_server EXIT
start_server() {  # binary
  data=$(mktemp -d /tmp/overload-data-XXXX)
  taskset -c 0 "$1" serve --shards 1 --listen "127.0.0.1:$port" --data-dir "$data" \
      --jwt-secret S --rate-limit 0 > "$data.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/readyz" > /dev/null && return 0
    sleep 0.1
  done
  echo "server $1 did not become ready" >&2; cat "$data.log" >&2; return 1
}
start_server "$a"
taskset -c 1 "$tool" --target "http://127.0.0.1:$port" --jwt-secret S --find-capacity --rate 1000 \
    --seconds 3 | tee "$out/capacity.txt"
stop_server
capacity=$(sed -n 's/^capacity: about \([0-9]*\)\/s.*/\1/p' "$out/capacity.txt")
rate=${LOAD_RATE:-$((capacity * 10))}
echo "capacity of A: $capacity/s; the load: $rate/s"
for r in $(seq "$rounds"); do
  for which in a b; do
    bin=$a; [ "$which" = b ] && bin=$b
    start_server "$bin"
    taskset -c 1 "$tool" --target "http://127.0.0.1:$port" --jwt-secret S --rate "$rate" --seconds 10 \
        --json "$out/$which-$r.json" > "$out/$which-$r.txt"
    stop_server
    /usr/bin/python3 - "$out/$which-$r.json" "$which" "$r" "$capacity" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); cap = float(sys.argv[4])
rec = d["recovery_s"]
print(f'{sys.argv[2]} round {sys.argv[3]}: goodput {d["goodput_per_s"]:.0f}/s ({100 * d["goodput_per_s"] / cap:.0f}% of capacity), '
      f'served p99 {d["served"]["p99_ms"]:.0f} ms, shed {d["shed"]["count"]} p50 {d["shed"]["p50_ms"]:.0f} ms '
      f'p99 {d["shed"]["p99_ms"]:.0f} ms, reads p99 {d["reads"]["p99_ms"]:.0f} ms, unanswered {d["unanswered"]}, '
      f'normal again {"never" if rec is None else f"{rec:.2f} s"}')
PY
  done
done
