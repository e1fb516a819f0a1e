# The HTTP benches' comparison with nginx (loadtest/http_bench.sh, loadtest/drops/bench.sh),
# sourced by them. Needs $bin, $port, $secret, $durability, $conns and $duration.
#   start_server            $work (a scratch directory nginx's workers may read, removed at
#                           exit with the server and nginx), then `$bin serve --shards 1` on
#                           core 0 without the per-user rate limit, ready; $admin a token
#   start_nginx PORT [CONF] one nginx worker on core 0, serving the files in $work/www; CONF:
#                           more directives for its server block (e.g. a location answering
#                           a static 503)
#   run NAME WRK-ARGS...    wrk -t1 -c$conns -d$duration pinned to core 1: req/s, p50, p99 and
#                           a script's "statuses" line; req/s also in $last_rps

start_server() {
  work=$(mktemp -d)
  chmod 755 "$work"   # nginx workers run as another user
  trap 'kill $(jobs -p) 2>/dev/null; [ -f $work/nginx.pid ] && kill $(cat $work/nginx.pid) 2>/dev/null; rm -rf $work' EXIT
  taskset -c 0 "$bin" serve --shards 1 --listen 127.0.0.1:$port --jwt-secret $secret \
    --data-dir $work/data --durability $durability --rate-limit 0 > $work/serve.log 2>&1 &
  for _ in $(seq 50); do curl -sf http://127.0.0.1:$port/readyz >/dev/null && break; sleep 0.1; done
  admin=$("$bin" token --sub loadtest-admin --role admin --jwt-secret $secret)
}

start_nginx() {
  chmod -R a+rX $work/www
  cat > $work/nginx.conf <<CONF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$1;
    location / { root $work/www; default_type application/json; }
    ${2:-}
  }
}
CONF
  taskset -c 0 nginx -c $work/nginx.conf
}

run() {
  local name=$1; shift
  local out p50 p99
  out=$(taskset -c 1 wrk -t1 -c$conns -d$duration --latency "$@")
  last_rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  printf "%-34s %12s req/s   p50 %8s   p99 %8s   %s\n" "$name" "$last_rps" "$p50" "$p99" \
    "$(grep -E '^statuses' <<<"$out" || true)"
  grep -E "Non-2xx|Socket errors" <<<"$out" || true
}
