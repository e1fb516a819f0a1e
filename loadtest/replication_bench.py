#!/usr/bin/python3
"""Replication figures (issue 10) on one machine, each beside its peer from the same run:
  1. durable orders a second and their p99: a single node with --durability fsync, then a
     replicated primary (fsync + a JetStream R3 ack) with a standby following it, under the
     same wrk load (loadtest/checkout.lua: add a unit, place the order). The Stampede node
     is pinned to core 0, wrk to core 1; the three nats-servers and the standby float over
     both cores (a 2-core machine cannot keep them apart).
  2. takeover time: RUNS times, kill -9 of a primary under orders to the first change the
     standby acknowledges, beside --takeover-after-ms (the silence a standby must see).

    loadtest/replication_bench.py build/stampede [RUNS] [DURATION_S]
Needs wrk and nats-server (Debian packages). Every process is stopped by PID at the end."""
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "persistence"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "server"))
from failover_harness import Node, Shoppers, create_product, TAKEOVER_MS  # noqa: E402
from harness import JWT_SECRET  # noqa: E402
from nats_cluster import NatsCluster, free_ports, _die_with_parent  # noqa: E402


def wrk_orders(port, duration_s, work):
    users = os.path.join(work, "users-%d.txt" % port)
    with open(users, "w") as f:
        subprocess.run(["/usr/bin/python3", os.path.join(HERE, "make_users.py"), str(port),
                        JWT_SECRET, "256"], stdout=f, check=True)
    out = subprocess.run(["taskset", "-c", "1", "wrk", "-t1", "-c256", "-d%ds" % duration_s,
                          "-s", os.path.join(HERE, "checkout.lua"), "http://127.0.0.1:%d" % port],
                         env=dict(os.environ, USERS=users), capture_output=True, text=True).stdout
    m = re.search(r"orders (\d+) in ([\d.]+) s: (\d+) orders/s; p99 ([\d.]+) ms", out)
    if not m:
        raise SystemExit("wrk said:\n" + out)
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


def replicated(binary, nats, duration_s):
    a = Node(binary, nats, "a", shards=1, extra=("--rate-limit", "0", "--durability", "fsync"))
    b = None
    try:
        a.wait_role("primary")
        subprocess.run(["taskset", "-p", "-c", "0", str(a.proc.pid)], stdout=subprocess.DEVNULL)
        b = Node(binary, nats, "b", shards=1, extra=("--rate-limit", "0"))
        b.wait_role("standby")
        create_product(a, "hot", 10**9)
        return wrk_orders(a.port, duration_s, a.data_dir)
    finally:
        for n in (a, b):
            if n:
                n.stop()


def takeover_once(binary, nats, run):
    cluster = "takeover%d" % run  # fresh streams each run
    a = Node(binary, nats, "a", cluster=cluster)
    a.wait_role("primary")
    b = Node(binary, nats, "b", cluster=cluster)
    shoppers = None
    try:
        b.wait_role("standby")
        create_product(a, "sku", 10**6)
        shoppers = Shoppers([a, b], "sku", threads=2).start()
        while len(shoppers.orders) < 5:
            time.sleep(0.02)
        killed = time.monotonic()
        a.kill()
        deadline = killed + 30
        while "b" not in shoppers.first_ack_at and time.monotonic() < deadline:
            time.sleep(0.005)
        return shoppers.first_ack_at.get("b", float("inf")) - killed
    finally:
        if shoppers:
            shoppers.stop()
        a.stop()
        b.stop()


def main():
    binary = os.path.abspath(sys.argv[1])
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    duration_s = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    work = tempfile.mkdtemp(prefix="stampede-replbench-")
    nats = NatsCluster(3)
    try:
        single = single_node(binary, duration_s, work)
        repl = replicated(binary, nats, duration_s)
        print("durable orders, wrk -t1 -c256 -d%ds (checkout.lua), node on core 0, wrk on core 1:"
              % duration_s)
        print("  single node, --durability fsync:      %6d orders/s   p99 %7.2f ms" % single)
        print("  replicated (fsync + R3 ack), standby: %6d orders/s   p99 %7.2f ms" % repl)
        print("  ratio replicated/single: %.2f x throughput, %.2f x p99"
              % (repl[0] / max(single[0], 1), repl[1] / max(single[1], 1e-9)))
        times = []
        for i in range(runs):
            times.append(takeover_once(binary, nats, i))
        times.sort()
        print("kill -9 of the primary to the first change the standby acknowledged, %d runs "
              "(--takeover-after-ms %d, 2 shards):" % (runs, TAKEOVER_MS))
        print("  median %.2f s   max %.2f s   min %.2f s   median / takeover-after %.2f x"
              % (statistics.median(times), times[-1], times[0],
                 statistics.median(times) / (TAKEOVER_MS / 1000)))
    finally:
        nats.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
