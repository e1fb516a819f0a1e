#!/usr/bin/env bash
# Issue 12's watching figure: N tickets watched on the WebSocket (queue:{drop}, each its own
# user on its own connection) while the drop admits RATE a second, then the sell-out.
#   [CONNS=100000] [RATE=500] [SECONDS_RUN=10] [DURABILITY=fsync] loadtest/drops/watch.sh [build dir]
# The server runs --shards 2; the client is build/ws_fanout's queue mode (see its header
# for how the delays are measured). Both get a descriptor limit above the connections
# (prlimit; run as root), and the client connects from 127.0.0.2, .3, ... (one address per
# 25,000 connections: one source address has ~28k ephemeral ports towards one server port).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
conns=${CONNS:-100000}
rate=${RATE:-500}
seconds=${SECONDS_RUN:-10}
durability=${DURABILITY:-fsync}
secret=loadtest-secret
port=18193
fds=$((conns + 10000))
nr_open=$(cat /proc/sys/fs/nr_open)
[ "$fds" -le "$nr_open" ] || { echo "need $fds descriptors, nr_open is $nr_open" >&2; exit 1; }
# Raising a hard limit takes CAP_SYS_RESOURCE. Without it, each process keeps the hard limit
# it has, and the run is cut to what the server's descriptor budget takes (the limit less
# the 128 it keeps for its logs and the rest; server/transport_limits.h), less the setup's.
if ! err=$(prlimit --nofile=$fds:$fds true 2>&1); then
  fds=$(ulimit -Hn)
  cut=$((fds - 128 - 200))
  echo "cannot raise the descriptor limit to $((conns + 10000)): $err; hard limit $fds:" \
       "$conns watchers cut to $((conns < cut ? conns : cut))"
  conns=$((conns < cut ? conns : cut))
fi
sources=$(((conns + 24999) / 25000))
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf $work' EXIT

prlimit --nofile=$fds:$fds "$build/stampede" serve --shards 2 --listen 127.0.0.1:$port \
  --jwt-secret $secret --data-dir $work/data --durability $durability --rate-limit 0 \
  > $work/serve.log 2>&1 &
server=$!
for _ in $(seq 100); do curl -sf http://127.0.0.1:$port/readyz >/dev/null && break; sleep 0.1; done
echo "stampede serve --shards 2 --durability $durability (pid $server); $conns watchers from $sources source addresses"
prlimit --nofile=$fds:$fds "$build/ws_fanout" --port $port --secret $secret queue \
  --connections "$conns" --rate "$rate" --seconds "$seconds" --sources "$sources" --pid $server \
  --driver-threads 4 || { echo "---- server log"; tail -20 $work/serve.log; exit 1; }
grep -iE "error|refus|too many" $work/serve.log | head -5 || true
