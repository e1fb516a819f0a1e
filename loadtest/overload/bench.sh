#!/usr/bin/env bash
# Overload figures (issue 9) for BENCHMARKS.md: one shard on core 0, the open-model tool on
# core 1. Finds the add-to-cart capacity of binary A, then drives 10x that rate at A and at
# a peer binary B (e.g. the previous commit's), alternating, ROUNDS times each.
# usage: [LOAD_RATE=R] [CAPACITY=C] [PEER_NGINX=1] [PROFILE=1] [TOOL_ARGS='--connections 8192'] \
#        loadtest/overload/bench.sh OVERLOAD_TOOL STAMPEDE_A STAMPEDE_B [ROUNDS] [OUT_DIR]
# LOAD_RATE: drive this rate instead of 10x the capacity found (the search still runs).
# CAPACITY:  take this capacity instead of searching for it.
# PEER_NGINX=1 (not NGINX: nginx reads $NGINX as sockets handed over by an upgrade, and
#            then does not daemonize): each round also drives nginx (one worker, core 0) at the same rate: adds get a
#            static 503 with Retry-After, product reads a static copy of A's product body.
#            The peer for "how many answers a second can any server give here".
# PROFILE=1: `perf record -g` of the server during each round's run, into OUT_DIR.
# TOOL_ARGS: more flags for the tool's load runs (not the capacity search), e.g. more connections.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tool=$1; a=$2; b=$3; rounds=${4:-2}; out=${5:-$(mktemp -d /tmp/overload-bench-XXXX)}
port=$((20000 + RANDOM % 20000))
mkdir -p "$out"
server_pid=""
data=""
work=$(mktemp -d /tmp/overload-nginx-XXXX)  # nginx's files and config (start_nginx)
chmod 755 "$work"
mkdir -p "$work/www/v1/products"
source "$here/../wrk_vs_nginx.sh"
stop_server() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  server_pid=""
  if [ -f "$work/nginx.pid" ]; then kill "$(cat "$work/nginx.pid")" 2>/dev/null || true; sleep 0.5; fi
  rm -f "$work/nginx.pid"
  if [ -n "$data" ]; then rm -rf "$data"; fi
  data=""
}
trap 'stop_server; rm -rf "$work"' EXIT
wait_ready() {  # url
  for _ in $(seq 100); do
    curl -sf "$1" > /dev/null && return 0
    sleep 0.1
  done
  echo "$1 did not become ready" >&2; return 1
}
cpu_ticks() {  # pid: its user + system CPU so far, in clock ticks
  awk '{print $14 + $15}' "/proc/$1/stat"
}
start_server() {  # binary
  data=$(mktemp -d /tmp/overload-data-XXXX)
  taskset -c 0 "$1" serve --shards 1 --listen "127.0.0.1:$port" --data-dir "$data" \
      --jwt-secret S --rate-limit 0 > "$data.log" 2>&1 &
  server_pid=$!
  wait_ready "http://127.0.0.1:$port/readyz" || { cat "$data.log" >&2; return 1; }
}
# What nginx answers: the server's own 503 body and Retry-After for every add, and the
# product's body as a file for reads. nginx would close a keep-alive connection after 1,000
# requests; the server does not, so neither does the peer.
nginx_conf='keepalive_requests 100000000;
    location = /v1/cart/items {
      default_type application/json;
      add_header Retry-After 1 always;
      return 503 '"'"'{"error":{"code":"overloaded","message":"the store is busy; retry shortly","details":{}}}'"'"';
    }'
start_peer() {  # a | b | nginx
  case $1 in
    a) start_server "$a" ;;
    b) start_server "$b" ;;
    nginx)
      start_nginx "$port" "$nginx_conf"
      wait_ready "http://127.0.0.1:$port/v1/products/overload-item" ;;
  esac
}
start_server "$a"
if [ -n "${CAPACITY:-}" ]; then
  echo "capacity: about $CAPACITY/s (given)" > "$out/capacity.txt"
  # A short run only to make the product.
  taskset -c 1 "$tool" --target "http://127.0.0.1:$port" --jwt-secret S --rate 100 --seconds 0.2 \
      --before 0 --after 0 > /dev/null
else
  taskset -c 1 "$tool" --target "http://127.0.0.1:$port" --jwt-secret S --find-capacity --rate 1000 \
      --seconds 3 | tee "$out/capacity.txt"
fi
# The tool made the product; nginx serves a copy of its public body.
curl -sf "http://127.0.0.1:$port/v1/products/overload-item" > "$work/www/v1/products/overload-item"
stop_server
capacity=$(sed -n 's/^capacity: about \([0-9]*\)\/s.*/\1/p' "$out/capacity.txt")
rate=${LOAD_RATE:-$((capacity * 10))}
echo "capacity of A: $capacity/s; the load: $rate/s"
peers="a b"
[ "${PEER_NGINX:-}" = 1 ] && peers="a b nginx"
for r in $(seq "$rounds"); do
  for which in $peers; do
    start_peer "$which"
    setup=()
    [ "$which" = nginx ] && setup=(--no-setup)
    server=$server_pid
    [ "$which" = nginx ] && server=$(pgrep -P "$(cat "$work/nginx.pid")" | head -1)
    cpu_before=$(cpu_ticks "$server")
    perf_pid=""
    if [ "${PROFILE:-}" = 1 ]; then
      # The load starts 2.3 s into the run (lead-in and --before) and lasts 10 s.
      (sleep 2.5; exec perf record -F 499 --call-graph dwarf,16384 -o "$out/$which-$r.perf.data" \
          -p "$server" -- sleep 9) > "$out/$which-$r.perf.log" 2>&1 &
      perf_pid=$!
    fi
    (sleep 7; uptime) > "$out/$which-$r.uptime" &
    uptime_pid=$!
    # shellcheck disable=SC2086
    taskset -c 1 "$tool" --target "http://127.0.0.1:$port" --jwt-secret S --rate "$rate" --seconds 10 \
        "${setup[@]}" ${TOOL_ARGS:-} --json "$out/$which-$r.json" > "$out/$which-$r.txt"
    cpu_s=$(echo "$(cpu_ticks "$server") $cpu_before $(getconf CLK_TCK)" | awk '{print ($1 - $2) / $3}')
    if [ -n "$perf_pid" ]; then wait "$perf_pid" || true; fi
    wait "$uptime_pid" || true
    stop_server
    /usr/bin/python3 - "$out/$which-$r.json" "$which" "$r" "$capacity" "$(cat "$out/$which-$r.uptime")" \
        "$cpu_s" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); cap = float(sys.argv[4]); cpu_s = float(sys.argv[6])
rec = d["recovery_s"]
# Answers of any kind to the load's requests in the seconds the load ran: what the server
# (or nginx) got through, whatever it answered.
rows = [r for r in d["per_second"] if 0 <= r["t_s"] < d["seconds"]]
answers = sum(r["ok"] + r["shed"] + r["other"] for r in rows) / max(1, len(rows))
# Every answer of the run (the load's, the probes' and the reads'), for the server's CPU an answer.
answered = d["ok"] + d["shed"]["count"] + d["other"] + d["reads"]["count"]
print(f'{sys.argv[2]} round {sys.argv[3]}: answers {answers:.0f}/s, goodput {d["goodput_per_s"]:.0f}/s '
      f'({100 * d["goodput_per_s"] / cap:.0f}% of capacity), '
      f'served p99 {d["served"]["p99_ms"]:.0f} ms, shed {d["shed"]["count"]} p50 {d["shed"]["p50_ms"]:.0f} ms '
      f'p99 {d["shed"]["p99_ms"]:.0f} ms, reads p99 {d["reads"]["p99_ms"]:.0f} ms, unanswered {d["unanswered"]}, '
      f'normal again {"never" if rec is None else f"{rec:.2f} s"}, tool CPU {d["generator"]["cpu_s"]:.1f} s, '
      f'server CPU {cpu_s:.1f} s ({1e6 * cpu_s / max(1, answered):.1f} us an answer); '
      f'load average{sys.argv[5].split("load average")[-1]}')
PY
  done
done
