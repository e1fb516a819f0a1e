#!/usr/bin/env bash
# Issue 12's HTTP figure: queue joins (POST /v1/drops/{id}/queue, each a distinct user's
# first join) and ticket reads (GET /v1/drops/{id}/queue/me) against nginx serving a static
# file of the ticket's size, on the same machine and in the same run. As loadtest/http_bench.sh:
# the server (--shards 1) and nginx (one worker) pinned to core 0, wrk pinned to core 1,
# the same wrk settings for all three; the per-user rate limit is off (these are machines).
#   [DURABILITY=fsync|async] [DURATION=10s] [CONNS=64] [JOIN_USERS=600000] [PROFILE=1] \
#     loadtest/drops/bench.sh [path/to/stampede]
# PROFILE=1: perf record -g of the server during the join run; its top symbols are printed.
# JOIN_USERS must exceed the joins wrk makes in DURATION, or users come round again (a
# second join answers 200 with the same ticket and writes nothing): the script says so.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../../build/stampede}
secret=loadtest-secret
port=18191
nginx_port=18192
duration=${DURATION:-10s}
conns=${CONNS:-64}
join_users=${JOIN_USERS:-600000}
readers=10000
durability=${DURABILITY:-fsync}
source "$here/../wrk_vs_nginx.sh"
start_server
api() { curl -sf -X"$1" http://127.0.0.1:$port"$2" -H "Authorization: Bearer $admin" \
          -H 'Content-Type: application/json' ${3:+-d "$3"}; }
api POST /v1/admin/products '{"id":"drop-sku","name":"Limited sneaker","price":12999,"on_hand":1000000000}' >/dev/null
opens_at=$(date -u -d '+2 seconds' +%Y-%m-%dT%H:%M:%SZ)
api POST /v1/admin/drops "{\"id\":\"bench\",\"product_ids\":[\"drop-sku\"],\"opens_at\":\"$opens_at\",\"mode\":\"queue\",\"admit_per_s\":50}" >/dev/null
/usr/bin/python3 "$here/../make_tokens.py" $secret "$join_users" > $work/tokens.txt
sleep 3   # open: joins after the opening queue FIFO (the engine's faster case is not chosen:
          # before the opening each join is ranked by HMAC, see BENCHMARKS.md)

echo "wrk -t1 -c$conns -d$duration; server (--shards 1, --durability $durability) and nginx on core 0, wrk on core 1"
server=$(jobs -p | head -1)
[ -n "${PROFILE:-}" ] && { perf record -q -F 499 -g -p "$server" -o $work/perf.data 2>/dev/null & }
MODE=join DROP=bench TOKENS=$work/tokens.txt run join -s "$here/queue.lua" http://127.0.0.1:$port
join_rps=$last_rps
if [ -n "${PROFILE:-}" ]; then
  kill -INT $(jobs -p | tail -1); wait $(jobs -p | tail -1) 2>/dev/null || true
  echo "  server profile during the joins (self time, by what it is for):"
  # Self time by symbol (the call graphs lack frame pointers), summed into what each is for.
  perf report -i $work/perf.data --no-children --sort dso,sym --stdio -g none 2>/dev/null |
    awk '/^ +[0-9.]+%/ {
      pct = $1 + 0; line = $0
      if (line ~ /fdatasync|ext4|jbd2|blk_|nvme|virtio_blk|posix_file|wal::/) k = "log (write, fdatasync)"
      else if (line ~ /tcp_|ip_|sock|skb|sendmsg|recvmsg|epoll|net_|napi|__dev_|loopback|syscall|irq|entry_SYSCALL/) k = "kernel: sockets, syscalls, interrupts"
      else if (line ~ /malloc|free|_int_|cfree|operator new|operator delete|sysmalloc|memcpy|memmove/) k = "allocation and copies"
      else if (line ~ /token_verifier|b64url|sha256|SHA256|hmac|identity/) k = "the bearer token (HS256, base64, its cache)"
      else if (line ~ /beast|http_session|basic_parser|http::/) k = "HTTP parsing and answering"
      else if (line ~ /drop|ticket|queue/) k = "the drop (join, ticket, record)"
      else if (line ~ /json|boost::json/) k = "JSON"
      else { k = "other"; if (pct >= 1) { sub(/^ +/, "", line); top = top sprintf("      (other: %s)\n", substr(line, 1, 110)) } }
      sum[k] += pct
    }
    END { for (k in sum) printf "    %5.1f%%  %s\n", sum[k], k; printf "%s", top }' | sort -rn -s
fi
view=$(api GET /v1/admin/drops/bench)
tickets=$(/usr/bin/python3 -c 'import json,sys; v=json.loads(sys.argv[1]); print(v["waiting"]+v["admitted"])' "$view")
requests=$(awk -v r="$join_rps" -v d="${duration%s}" 'BEGIN {printf "%d", r * d}')
echo "  tickets made: $tickets (about $requests joins; $join_users users)"
if [ "$tickets" -lt "$join_users" ] && [ "$requests" -gt "$tickets" ] && [ $((requests - tickets)) -gt $((requests / 100)) ]; then
  echo "  WARNING: users came round again; raise JOIN_USERS"
fi

readers=$((tickets < readers ? tickets : readers))   # the first users joined (a short run: fewer)

# nginx: a ticket's body (GET /v1/drops/bench/queue/me of a waiting user), as a static file.
mkdir -p $work/www
curl -sf http://127.0.0.1:$port/v1/drops/bench/queue/me \
  -H "Authorization: Bearer $(sed -n "${readers}p" $work/tokens.txt)" > $work/www/ticket.json
echo "  ticket body: $(wc -c < $work/www/ticket.json) bytes: $(cat $work/www/ticket.json)"
start_nginx $nginx_port
MODE=ticket DROP=bench TOKENS=$work/tokens.txt READERS=$readers run ticket -s "$here/queue.lua" http://127.0.0.1:$port
ticket_rps=$last_rps
run nginx http://127.0.0.1:$nginx_port/ticket.json
awk -v j="$join_rps" -v t="$ticket_rps" -v n="$last_rps" \
  'BEGIN {printf "ratio to nginx static: joins %.2fx, ticket reads %.2fx (goal >= 0.6x)\n", j / n, t / n}'
