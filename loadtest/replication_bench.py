#!/usr/bin/python3
"""Replication figures (issue 10) on one machine, each beside its peer or its bound:

  orders [DURATION_S]      durable orders a second and their p99: a single node with
                           --durability fsync, then a replicated primary (fsync + a JetStream
                           R3 ack) with a standby following it, under the same wrk load
                           (loadtest/checkout.lua: add a unit, place the order). The node is
                           pinned to core 0, wrk to core 1; the three nats-servers and the
                           standby float over both cores (2 cores cannot keep them apart).
  takeover [RUNS] [nats]   RUNS times: kill -9 of a primary under orders, to the first change
                           the standby acknowledges (median, p90, max, beside
                           --takeover-after-ms); then every order either node acknowledged
                           is checked on the new primary. With `nats`, the nats-server leading
                           shard 0's stream is killed (kill -9) at the same instant.
  lag [DURATION_S]         a standby's lag behind its primary under the wrk load of `orders`:
                           every 100 ms the primary's last stream sequence per shard, and how
                           long until the standby applied it (p50, p99, max), and the records
                           it was behind (the standby's own view).
  catchup [SECONDS]        a node behind its streams' purge point, seeded from the primary's
                           snapshot (GET /v1/admin/snapshot) and then following: the primary
                           first takes SECONDS of product creations (one record each), takes a
                           snapshot and purges; the time from starting the new node to a
                           caught-up standby, and records a second.

    loadtest/replication_bench.py build/stampede MODE [ARGS]
Needs wrk and nats-server (Debian packages). Every process is stopped by PID at the end."""
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "persistence"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "server"))
from failover_harness import (ADMIN, Node, Shoppers, check_store, create_product,  # noqa: E402
                              TAKEOVER_MS)
from harness import JWT_SECRET  # noqa: E402
from nats_cluster import NatsCluster, free_ports, _die_with_parent  # noqa: E402

CATCHUP_SNAPSHOT_S = 2  # --snapshot-interval of the catch-up primary


def wrk(port, duration_s, script, env, pattern):
    out = subprocess.run(["taskset", "-c", "1", "wrk", "-t1", "-c256", "-d%ds" % duration_s,
                          "-s", os.path.join(HERE, script), "http://127.0.0.1:%d" % port],
                         env=dict(os.environ, **env), capture_output=True, text=True).stdout
    m = re.search(pattern, out)
    if not m:
        raise SystemExit("wrk said:\n" + out)
    return m


def wrk_orders(port, duration_s, work):
    users = os.path.join(work, "users-%d.txt" % port)
    with open(users, "w") as f:
        subprocess.run(["/usr/bin/python3", os.path.join(HERE, "make_users.py"), str(port),
                        JWT_SECRET, "256"], stdout=f, check=True)
    m = wrk(port, duration_s, "checkout.lua", {"USERS": users},
            r"orders (\d+) in ([\d.]+) s: (\d+) orders/s; p99 ([\d.]+) ms")
    return int(m.group(3)), float(m.group(4))


def single_node(binary, duration_s, work):
    port = free_ports(1)[0]
    data = tempfile.mkdtemp(prefix="stampede-single-", dir=work)
    proc = subprocess.Popen(["taskset", "-c", "0", binary, "serve", "--shards", "1", "--listen",
                             "127.0.0.1:%d" % port, "--jwt-secret", JWT_SECRET, "--data-dir", data,
                             "--durability", "fsync", "--rate-limit", "0"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            preexec_fn=_die_with_parent)
    try:
        node = type("N", (), {})()
        node.port = port
        node.request = lambda *a, **kw: Node.request(node, *a, **kw)
        deadline = time.monotonic() + 30
        while Node.request(node, "GET", "/readyz", token=None)[0] != 200:
            if time.monotonic() > deadline:
                raise SystemExit("the single node did not start")
            time.sleep(0.1)
        create_product(node, "hot", 10**9)
        return wrk_orders(port, duration_s, work)
    finally:
        proc.terminate()
        proc.wait(15)


def replicated_pair(binary, nats, shards=1, b_extra=()):
    a = Node(binary, nats, "a", shards=shards, extra=("--rate-limit", "0", "--durability", "fsync"))
    a.wait_role("primary")
    subprocess.run(["taskset", "-p", "-c", "0", str(a.proc.pid)], stdout=subprocess.DEVNULL)
    b = Node(binary, nats, "b", shards=shards, extra=("--rate-limit", "0", *b_extra))
    b.wait_role("standby")
    return a, b


def orders(binary, nats, work, duration_s=10):
    single = single_node(binary, duration_s, work)
    a, b = replicated_pair(binary, nats)
    try:
        create_product(a, "hot", 10**9)
        repl = wrk_orders(a.port, duration_s, a.data_dir)
    finally:
        a.stop()
        b.stop()
    print("durable orders, wrk -t1 -c256 -d%ds (checkout.lua), node on core 0, wrk on core 1:"
          % duration_s)
    print("  single node, --durability fsync:      %6d orders/s   p99 %7.2f ms" % single)
    print("  replicated (fsync + R3 ack), standby: %6d orders/s   p99 %7.2f ms" % repl)
    print("  ratio replicated/single: %.2f x throughput, %.2f x p99"
          % (repl[0] / max(single[0], 1), repl[1] / max(single[1], 1e-9)))


class _Checks(unittest.TestCase):
    def runTest(self):
        pass


def takeover_once(binary, nats, run, kill_nats_leader):
    cluster = "takeover%d" % run  # fresh streams each run
    a = Node(binary, nats, "a", cluster=cluster)
    b = None
    shoppers = None
    killed_nats = None
    try:
        a.wait_role("primary")
        b = Node(binary, nats, "b", cluster=cluster)
        b.wait_role("standby")
        create_product(a, "sku", 10**6)
        shoppers = Shoppers([a, b], "sku", threads=2).start()
        while len(shoppers.orders) < 5:
            time.sleep(0.02)
        leader = nats.stream_leader("STAMPEDE_%s_0" % cluster) if kill_nats_leader else None
        killed = time.monotonic()
        a.kill()
        if leader is not None:
            killed_nats = nats.index_of(leader)
            nats.kill(killed_nats)
        deadline = killed + 60
        while "b" not in shoppers.first_ack_at and time.monotonic() < deadline:
            time.sleep(0.005)
        took = shoppers.first_ack_at.get("b", float("inf")) - killed
        time.sleep(1)  # orders go on against the new primary
        shoppers.stop()
        check_store(_Checks(), b, "sku", shoppers.orders)  # every acknowledged order is there
        by_b = sum(1 for _, node, _ in shoppers.orders.values() if node == "b")
        return took, len(shoppers.orders), by_b
    finally:
        if shoppers:
            shoppers.stop()
        for n in (a, b):
            if n:
                n.stop()
        if killed_nats is not None:
            nats.start(killed_nats)
            nats.wait_ready()


def takeover(binary, nats, runs=20, kill_nats_leader=False):
    times, checked = [], 0
    for i in range(runs):
        took, acked, by_b = takeover_once(binary, nats, i + (1000 if kill_nats_leader else 0),
                                          kill_nats_leader)
        times.append(took)
        checked += acked
        print("  run %2d: %.2f s (%d orders acknowledged, %d by the new primary, all present)"
              % (i + 1, took, acked, by_b), flush=True)
    times.sort()
    p90 = times[min(len(times) - 1, int(round(0.9 * len(times))) - 1)]
    print("kill -9 of the primary%s to the first change the standby acknowledged, %d runs "
          "(--takeover-after-ms %d, 2 shards):" % (
              " and of shard 0's NATS stream leader" if kill_nats_leader else "", runs, TAKEOVER_MS))
    print("  median %.2f s   p90 %.2f s   max %.2f s   min %.2f s   median / takeover-after %.2f x"
          % (statistics.median(times), p90, times[-1], times[0],
             statistics.median(times) / (TAKEOVER_MS / 1000)))
    print("  %d acknowledged orders checked on the new primaries: all present, stock invariant held"
          % checked)


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * len(values))) - 1)] if values else float("nan")


def lag(binary, nats, work, duration_s=10):
    a, b = replicated_pair(binary, nats, shards=2)
    stop = threading.Event()
    delays, behind = [], []

    def sample():
        pending = []  # (sampled at, {shard: primary's last seq})
        while not stop.is_set():
            now = time.monotonic()
            theirs = {s["shard"]: s["last_seq"] for s in a.cluster_view()["shards"]}
            pending.append((now, theirs))
            mine = b.cluster_view()
            applied = {s["shard"]: s["applied_seq"] for s in mine["shards"]}
            behind.append(sum(s["lag"] for s in mine["shards"]))
            seen = time.monotonic()
            while pending and all(applied[k] >= v for k, v in pending[0][1].items()):
                delays.append(seen - pending[0][0])
                pending.pop(0)
            time.sleep(0.1)

    try:
        create_product(a, "hot", 10**9)
        t = threading.Thread(target=sample)
        t.start()
        n, p99 = wrk_orders(a.port, duration_s, a.data_dir)
        stop.set()
        t.join()
    finally:
        stop.set()
        a.stop()
        b.stop()
    print("standby lag under wrk -t1 -c256 -d%ds (checkout.lua, %d orders/s on the primary), "
          "%d samples every 100 ms:" % (duration_s, n, len(delays)))
    print("  time until the standby applied the primary's last message: p50 %.0f ms   p99 %.0f ms   "
          "max %.0f ms (includes up to ~2 x one poll of the standby's view)"
          % (1000 * percentile(delays, 50), 1000 * percentile(delays, 99), 1000 * max(delays)))
    print("  messages behind, as the standby sees it: p50 %d   p99 %d   max %d"
          % (percentile(behind, 50), percentile(behind, 99), max(behind)))


def metric(node, name):
    status, _, text = node.request("GET", "/metrics")
    return sum(float(m.group(1)) for m in re.finditer(r"^%s(?:\{[^}]*\})? (\S+)$" % name, text, re.M))


# A phase of a node's start, as server/replicated_serve.cc logs it: what, and its seconds.
PHASE = re.compile(r"^stampede: replication: (.*) \(([\d.]+) s\)$", re.M)


def download_snapshot(node):
    """GET /v1/admin/snapshot read to nothing: (bytes, seconds), the copy and its transfer."""
    import http.client
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=120)
    conn.request("GET", "/v1/admin/snapshot", headers={"Authorization": "Bearer " + ADMIN})
    r = conn.getresponse()
    total = 0
    while True:
        chunk = r.read(1 << 20)
        if not chunk:
            break
        total += len(chunk)
    conn.close()
    if r.status != 200:
        raise SystemExit("GET /v1/admin/snapshot said %d" % r.status)
    return total, time.monotonic() - started


def catchup(binary, nats, work, seconds=60):
    a = Node(binary, nats, "a", extra=("--rate-limit", "0", "--snapshot-interval",
                                       str(CATCHUP_SNAPSHOT_S)))
    b = None
    try:
        a.wait_role("primary")
        m = wrk(a.port, seconds, "checkout.lua", {"CREATE_PRODUCTS": ADMIN},
                r"created (\d+) in ([\d.]+) s: (\d+) created/s")
        created = int(m.group(1))
        records = int(metric(a, "stampede_wal_records_appended_total"))
        # Until a snapshot covers the load and the streams are purged below it.
        snaps = metric(a, "stampede_snapshots_total")
        deadline = time.monotonic() + 120
        while metric(a, "stampede_snapshots_total") < snaps + 2 and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(12)  # a purge round (every 10 s)
        copy_bytes, copy_s = download_snapshot(a)
        started = time.monotonic()
        b = Node(binary, nats, "b", extra=("--rate-limit", "0"))
        b.wait_role("standby", timeout=600)
        b.wait_caught_up(a, timeout=600)
        took = time.monotonic() - started
        with open(os.path.join(b.data_dir, "node.log"), errors="replace") as f:
            phases = PHASE.findall(f.read())
        seeded = any("seeded from" in what for what, _ in phases)
        print("catch-up through snapshot seeding: the primary took %d product creations (%d log "
              "records in all) over %d s; a new node %s" % (
                  created, records, seconds,
                  "was seeded from its snapshot" if seeded else "was NOT seeded (replayed the stream)"))
        print("  from starting the node to a caught-up standby: %.1f s   %.0f records/s"
              % (took, records / took))
        print("  the primary's snapshot copy alone, to /dev/null over loopback before b started: "
              "%d bytes in %.2f s (%.0f MB/s)" % (copy_bytes, copy_s, copy_bytes / copy_s / 1e6))
        print("  phases in b's log (each since the one before):")
        logged = 0.0
        for what, secs in phases:
            logged += float(secs)
            print("    %7.3f s  %s" % (float(secs), what))
        print("    %7.3f s  the process's start before its first phase, the tail replayed after "
              "serving, and the bench's 100 ms polls (the rest of the %.1f s)" % (took - logged, took))
    finally:
        for n in (a, b):
            if n:
                n.stop()


def main():
    binary = os.path.abspath(sys.argv[1])
    mode = sys.argv[2] if len(sys.argv) > 2 else "orders"
    args = sys.argv[3:]
    work = tempfile.mkdtemp(prefix="stampede-replbench-")
    nats = NatsCluster(3)
    try:
        if mode == "orders":
            orders(binary, nats, work, *(int(x) for x in args))
        elif mode == "takeover":
            takeover(binary, nats, int(args[0]) if args else 20, "nats" in args[1:])
        elif mode == "lag":
            lag(binary, nats, work, *(int(x) for x in args))
        elif mode == "catchup":
            catchup(binary, nats, work, *(int(x) for x in args))
        else:
            raise SystemExit(__doc__)
    finally:
        nats.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
