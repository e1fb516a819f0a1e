#!/usr/bin/env bash
# Is the open-model client core ever the bottleneck? The same request (GET of the product's
# JSON) to the same server, by wrk and by `overload`, each pinned to core 1; nginx (a static
# copy of the body) and `stampede serve --shards 1` on core 0. wrk runs closed-loop with 64
# connections; `overload` gets 64 connections and a rate 1.25x, 1.5x, 2x, then 3x what wrk just
# measured, until it no longer keeps up; its best goodput (2xx a second) is set beside wrk's
# figure, with each tool's CPU a request in those runs.
#   [DURATION=5] [ROUNDS=3] loadtest/tool_vs_wrk.sh [build dir]
set -euo pipefail
build=${1:-$(cd "$(dirname "$0")/.." && pwd)/build}
duration=${DURATION:-5}
rounds=${ROUNDS:-3}
port=18701
nginx_port=18702
work=$(mktemp -d)
chmod 755 "$work"  # nginx workers run as another user
cleanup() {
  [ -n "${server_pid:-}" ] && kill "$server_pid" 2>/dev/null
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

taskset -c 0 "$build/stampede" serve --shards 1 --listen 127.0.0.1:$port --data-dir "$work/data" \
  --rate-limit 0 > "$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 50); do curl -sf http://127.0.0.1:$port/readyz > /dev/null && break; sleep 0.1; done
# Makes the product `hot` (the tool's set-up), then copies its body for nginx.
"$build/overload" --target http://127.0.0.1:$port --product hot --rate 10 --seconds 0.2 --before 0 \
  --after 0 > /dev/null 2>&1
mkdir -p "$work/www"
curl -sf http://127.0.0.1:$port/v1/products/hot > "$work/www/product.json"
chmod -R a+rX "$work/www"
cat > "$work/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http { access_log off; server { listen 127.0.0.1:$nginx_port; location / { root $work/www; default_type application/json; } } }
CONF
taskset -c 0 nginx -c "$work/nginx.conf"

# Each tool's own CPU (user + system) a request, from /usr/bin/time: what pinning it to one
# core lets it generate, however busy the machine is.
cpu_us_per_request() {  # time output file, requests
  awk -v n="$2" '{printf "%.1f", ($1 + $2) * 1e6 / (n > 0 ? n : 1)}' "$1"
}

echo "uptime: $(uptime)"
printf "%-9s %5s %10s %12s %12s %14s %12s %6s\n" server round "wrk req/s" "wrk CPU/req" "tool rate" \
  "tool 2xx/s" "tool CPU/req" ratio
for round in $(seq "$rounds"); do
  for target in "nginx $nginx_port /product.json" "stampede $port /v1/products/hot"; do
    set -- $target
    /usr/bin/time -f "%U %S" -o "$work/wrk.time" taskset -c 1 wrk -t1 -c64 -d"${duration}s" \
      "http://127.0.0.1:$2$3" > "$work/wrk.out"
    wrk_rps=$(awk '/Requests\/sec/ {printf "%d", $2}' "$work/wrk.out")
    wrk_n=$(awk '/requests in/ {print $1}' "$work/wrk.out")
    best=0 best_rate=0 best_cpu=0
    for factor in 1.25 1.5 2 3; do
      rate=$(awk -v w="$wrk_rps" -v f="$factor" 'BEGIN {printf "%d", w * f}')
      /usr/bin/time -f "%U %S" -o "$work/tool.time" taskset -c 1 "$build/overload" \
        --target "http://127.0.0.1:$2" --request browse --path "$3" --rate "$rate" \
        --seconds "$duration" --before 0 --after 0 --read-rate 0 --probe-rate 0 --connections 64 \
        --timeout-ms 2000 --json "$work/o.json" > /dev/null 2>&1
      read -r got answered < <(/usr/bin/python3 -c "import json,sys; f=json.load(open(sys.argv[1])); print(int(f['goodput_per_s']), f['ok'])" "$work/o.json")
      if [ "$got" -gt "$best" ]; then
        best=$got best_rate=$rate best_cpu=$(cpu_us_per_request "$work/tool.time" "$answered")
      fi
      [ "$got" -lt $((rate * 95 / 100)) ] && break  # no longer keeping up: that was its most
    done
    printf "%-9s %5d %10d %10s us %12d %14d %9s us %6s\n" "$1" "$round" "$wrk_rps" \
      "$(cpu_us_per_request "$work/wrk.time" "$wrk_n")" "$best_rate" "$best" "$best_cpu" \
      "$(awk -v o="$best" -v w="$wrk_rps" 'BEGIN {printf "%.2f", o / w}')"
  done
done
