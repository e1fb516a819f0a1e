#!/usr/bin/env bash
# HTTP figures (issues 3 and 4) on a 2-core machine: the server pinned to core 0 (--shards 1), wrk
# pinned to core 1, and nginx serving a static JSON body of the product's size on core 0
# with the same wrk settings: the HTTP ceiling of this machine.
#   [DURABILITY=fsync|async] loadtest/http_bench.sh [path/to/stampede]
#   (needs wrk and nginx: apt-get install wrk nginx-light). The per-user rate limit is off
#   (--rate-limit 0): these clients are machines, not shoppers.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../build/stampede}
secret=loadtest-secret
port=18181
nginx_port=18182
duration=${DURATION:-10s}
conns=${CONNS:-64}
durability=${DURABILITY:-fsync}
source "$here/wrk_vs_nginx.sh"
start_server
curl -sf -XPOST http://127.0.0.1:$port/v1/admin/products -H "Authorization: Bearer $admin" \
  -H 'Content-Type: application/json' \
  -d '{"id":"hot","name":"Limited sneaker","description":"The drop everyone is waiting for.","price":12999,"on_hand":1000000000,"images":["https://cdn.example/hot.jpg"]}' >/dev/null
/usr/bin/python3 "$here/make_tokens.py" $secret 10000 > $work/tokens.txt

# nginx: the same body GET /v1/products/hot returns, as a static file.
mkdir -p $work/www
curl -sf http://127.0.0.1:$port/v1/products/hot > $work/www/product.json
start_nginx $nginx_port

echo "wrk -t1 -c$conns -d$duration, server (--durability $durability) and nginx on core 0, wrk on core 1"
run "nginx static product.json" http://127.0.0.1:$nginx_port/product.json
run "GET /v1/products/hot" http://127.0.0.1:$port/v1/products/hot
TOKENS=$work/tokens.txt run "POST /v1/cart/items (10k users)" -s "$here/add_to_cart.lua" http://127.0.0.1:$port
# Durable order placements: 256 clients, each adding a unit and placing an order in turn.
/usr/bin/python3 "$here/make_users.py" $port $secret 256 > $work/users.txt
echo "orders, 256 clients:"
USERS=$work/users.txt taskset -c 1 wrk -t1 -c256 -d$duration -s "$here/checkout.lua" http://127.0.0.1:$port | grep orders
curl -sf http://127.0.0.1:$port/v1/admin/products/hot -H "Authorization: Bearer $admin"; echo
