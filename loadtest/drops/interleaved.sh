#!/usr/bin/env bash
# Joins (POST /v1/drops/{id}/queue, fsync durability) against two stampede binaries and
# nginx serving the ticket's 125 bytes, interleaved in short rounds so that the machine's
# drift hits all three alike: A, B, nginx, A, B, nginx, ... Each server has one shard, and
# it and nginx are pinned to core 0, wrk to core 1, as in bench.sh; each round's joins are
# new users' first joins. Prints each round's rates and ratios (BENCHMARKS.md, "Log segments
# zeroed ahead").
#   loadtest/drops/interleaved.sh BIN_A BIN_B [ROUNDS=8] [SECONDS=3] [CONNS=64]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../wrk_vs_nginx.sh"
a=$1; b=$2; rounds=${3:-8}; secs=${4:-3}; conns=${5:-64}
secret=loadtest-secret
work=$(mktemp -d /tmp/interleaved-XXXX)
chmod 755 "$work"
mkdir -p "$work/www"
pids=()
stop_all() {
  kill "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  if [ -f "$work/nginx.pid" ]; then kill "$(cat "$work/nginx.pid")" 2>/dev/null || true; sleep 0.5; fi
  rm -rf "$work"
}
trap stop_all EXIT

start() {  # binary port name: a server with a product and an open queue drop "bench"
  taskset -c 0 "$1" serve --shards 1 --listen "127.0.0.1:$2" --jwt-secret $secret \
      --data-dir "$work/$3" --rate-limit 0 > "$work/$3.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$2/readyz" > /dev/null && break; sleep 0.1; done
  local admin
  admin=$("$1" token --sub loadtest-admin --role admin --jwt-secret $secret)
  local opens_at
  opens_at=$(date -u -d '+1 seconds' +%Y-%m-%dT%H:%M:%SZ)
  for body in '/v1/admin/products {"id":"drop-sku","name":"Limited sneaker","price":12999,"on_hand":1000000000}' \
              "/v1/admin/drops {\"id\":\"bench\",\"product_ids\":[\"drop-sku\"],\"opens_at\":\"$opens_at\",\"mode\":\"queue\",\"admit_per_s\":50}"; do
    curl -sf -X POST "http://127.0.0.1:$2${body%% *}" -H "Authorization: Bearer $admin" \
        -H 'Content-Type: application/json' -d "${body#* }" > /dev/null
  done
}
start "$a" 18401 a
start "$b" 18402 b
printf '{"drop_id":"bench","state":"waiting","position":9999,"ahead":9997,"eta_s":95211,"admission_token":null,"admitted_until":null}' \
    > "$work/www/ticket"
start_nginx 18403  # loadtest/wrk_vs_nginx.sh: one worker on core 0, serving $work/www
# Enough users for every round at 45k joins a second, a slice of them each round.
/usr/bin/python3 "$here/../make_tokens.py" $secret $((rounds * secs * 45000)) > "$work/tokens.txt"
split -n "l/$rounds" -d -a 3 "$work/tokens.txt" "$work/tokens."
sleep 1  # the drops are open: joins queue FIFO
rps() { awk '/Requests\/sec/ {print $2}'; }
join() {  # port tokens
  MODE=join DROP=bench TOKENS=$2 taskset -c 1 wrk -t1 -c"$conns" -d"${secs}s" -s "$here/queue.lua" \
      "http://127.0.0.1:$1" | rps
}
echo "joins, wrk -t1 -c$conns, ${secs} s a run; A=$a B=$b"
for r in $(seq 0 $((rounds - 1))); do
  tokens=$(printf "%s/tokens.%03d" "$work" "$r")
  ja=$(join 18401 "$tokens")
  jb=$(join 18402 "$tokens")
  ng=$(taskset -c 1 wrk -t1 -c"$conns" -d"${secs}s" http://127.0.0.1:18403/ticket | rps)
  awk -v r="$r" -v a="$ja" -v b="$jb" -v n="$ng" 'BEGIN {
    printf "round %d: A %.0f/s  B %.0f/s  nginx %.0f/s  A/nginx %.2f  B/nginx %.2f  B/A %.2f\n",
           r, a, b, n, a / n, b / n, b / a }'
done
