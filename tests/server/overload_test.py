"""Admission control from outside (issue 9, "Overload"): a burst of add-to-cart requests that
one shard cannot start within its allowed queueing time gets `503 overloaded` with
`Retry-After` in API.md's error shape, what was refused changed nothing, and product reads
sent in the same burst are all served.

The server runs one shard with a queueing allowance of 1 ms (--write-wait-target-ms and
--write-wait-interval-ms), and the burst is every request written at once on its own
connection: the shard reads them all in one pass (a JWT check and a parse each) before it
runs the first write, so the last writes of the burst have waited past 1 ms on any machine.
Before admission control was wired into HTTP, every one of them was served (or waited).

GoneClients: a write whose client has gone is not run. Add-to-cart requests whose connections
close before their answer leave no hold and the stock as it was, whether they wait behind a
backlog of writes (the client's close is seen while they wait) or the close came with the
request (seen when the request is read, before the shard runs the writes of that pass).

Usage: overload_test.py PATH_TO_STAMPEDE
"""
import json
import os
import re
import signal
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Client, Server, make_token  # noqa: E402

BINARY = None
BURST = 600  # add-to-cart requests, one connection each
READS = 40   # product reads sent in the same burst


def read_answer(sock):
    """One HTTP/1.1 answer: (status, headers, body bytes)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before an answer: %r" % data)
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed within the body")
        body += chunk
    return status, headers, body[:length]


def raw_request(method, path, token, body=None):
    payload = b"" if body is None else json.dumps(body).encode()
    head = "%s %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n" % (method, path, token)
    if body is not None:
        head += "Content-Type: application/json\r\nContent-Length: %d\r\n" % len(payload)
    return (head + "\r\n").encode() + payload


def wait_stopped(pid, timeout_s=10):
    """Waits until every thread of process `pid` is stopped (state T in /proc)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        states = []
        for tid in os.listdir("/proc/%d/task" % pid):
            try:
                with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                    states.append(f.read().rsplit(")", 1)[1].split()[0])
            except FileNotFoundError:
                pass  # a thread that ended
        if states and all(st in ("T", "t") for st in states):
            return
        time.sleep(0.001)
    raise AssertionError("process %d did not stop" % pid)


class OneShard(unittest.TestCase):
    """A one-shard server allowing writes `wait_ms` of queueing time, with no rate limit."""
    wait_ms = "1"

    def setUp(self):
        self.server = Server(BINARY, "--shards", "1", "--rate-limit", "0",
                             "--write-wait-target-ms", self.wait_ms,
                             "--write-wait-interval-ms", self.wait_ms)
        self.sockets = []
        self.admin = Client(self.server.port, make_token("root", role="admin"))

    def tearDown(self):
        if self.server.proc.poll() is None:
            self.server.proc.send_signal(signal.SIGCONT)  # if a test paused it
        for s in self.sockets:
            s.close()
        self.admin.close()
        self.assertEqual(self.server.stop(), 0)

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=20)
        self.sockets.append(s)
        return s

    def while_paused(self, send):
        """Runs send() while the server is stopped (SIGSTOP), every connection accepted
        first, so that what it writes reaches the server at once however slowly this client
        runs. kill() returns before a thread running on the other core has stopped: a
        request sent in that window could be read, and its write run, before the rest
        arrived (one add of 120 ran, once, under ASan), hence wait_stopped."""
        time.sleep(0.3)  # every connection accepted, its session waiting for a head
        self.server.proc.send_signal(signal.SIGSTOP)
        try:
            wait_stopped(self.server.proc.pid)
            send()
        finally:
            self.server.proc.send_signal(signal.SIGCONT)

    def product(self, pid, on_hand):
        status, _, _, _ = self.admin.request("POST", "/v1/admin/products",
                                          {"id": pid, "name": pid, "price": 100, "on_hand": on_hand})
        self.assertEqual(status, 201)


class Overload(OneShard):
    def test_a_burst_past_the_allowed_wait_is_shed_with_503_and_changes_nothing(self):
        self.product("burst", 1_000_000)
        adds = [(self.connect(), raw_request("POST", "/v1/cart/items", make_token("u%d" % i),
                                             {"product_id": "burst", "quantity": 1}))
                for i in range(BURST)]
        reads = [(self.connect(), raw_request("GET", "/v1/products/burst", make_token("r%d" % i)))
                 for i in range(READS)]
        # Interleave the reads with the writes, so that they reach the shard among them.
        step = BURST // READS
        order = []
        for i, add in enumerate(adds):
            order.append(add)
            if i % step == step // 2:
                order.append(reads[i // step])
        self.assertEqual(len(order), BURST + READS)
        # Written while the server is paused: sent one at a time to a running server, on a
        # loaded machine, each add could be served before the next arrived and none be shed.
        def send():
            for s, data in order:
                s.sendall(data)
        self.while_paused(send)

        served, shed = 0, 0
        for s, _ in adds:
            status, headers, body = read_answer(s)
            if status == 200:
                served += 1
                continue
            self.assertEqual(status, 503, body)
            shed += 1
            self.assertEqual(headers.get("retry-after"), "1")
            error = json.loads(body)["error"]
            self.assertEqual(error["code"], "overloaded")
            self.assertTrue(error["message"])
        for s, _ in reads:
            status, _, body = read_answer(s)
            self.assertEqual(status, 200, body)  # reads are never shed
        self.assertGreater(shed, 0, "no write of the burst was shed")
        self.assertEqual(served + shed, BURST)

        # What was shed changed nothing: exactly the served adds hold a unit each.
        status, _, product, _ = self.admin.request("GET", "/v1/admin/products/burst")
        self.assertEqual(status, 200)
        self.assertEqual(product["reserved"], served)
        # And /metrics says why they were refused.
        status, _, text, _ = self.admin.request("GET", "/metrics")
        self.assertEqual(status, 200)
        counted = sum(int(n) for n in re.findall(r'stampede_writes_shed_total\{reason="[a-z_]+"\} (\d+)',
                                                  text))
        self.assertEqual(counted, shed)


class GoneClients(OneShard):
    """The server is paused (SIGSTOP) while the requests arrive and the gone clients close,
    so that on resuming the shard finds them all at once: as a shard busy with something
    else would. Queueing time sheds nothing here (a 10 s allowance): only the client's
    absence may stop a write."""
    BACKLOG = 300  # live adds queued ahead of the gone ones
    GONE = 120     # more than a pass's write batch (core/limits.h, write_batch_max)
    wait_ms = "10000"

    def send_while_paused(self, backlog, gone):
        """Sends `backlog` adds of "busy" that wait for their answers, then `gone` adds of
        "left" whose connections close at once, all while the server is stopped; returns
        the live sockets once it runs again."""
        live = [(self.connect(), raw_request("POST", "/v1/cart/items", make_token("live%d" % i),
                                             {"product_id": "busy", "quantity": 1}))
                for i in range(backlog)]
        leaving = [(self.connect(), raw_request("POST", "/v1/cart/items", make_token("gone%d" % i),
                                                {"product_id": "left", "quantity": 1}))
                   for i in range(gone)]
        def send():
            for s, data in live:
                s.sendall(data)
            for s, data in leaving:
                s.sendall(data)
                s.close()
        self.while_paused(send)
        return [s for s, _ in live]

    def wait_until_decided(self, gone):
        """Waits (10 s at most) until the server has read every gone client's add and either
        shed it or run it. The live answers do not mean it has: which ready sockets a poll
        returns first is the kernel's choice (seen under TSan: 16 of 120 decided then)."""
        deadline = time.monotonic() + 10
        while True:
            _, _, text, _ = self.admin.request("GET", "/metrics")
            decided = sum(int(n) for n in re.findall(
                r'stampede_writes_shed_total\{reason="client_gone"\} (\d+)', text))
            status, _, product, _ = self.admin.request("GET", "/v1/admin/products/left")
            if decided + product["reserved"] >= gone or time.monotonic() > deadline:
                return
            time.sleep(0.05)

    def assert_nothing_ran_for_the_gone(self, gone):
        self.wait_until_decided(gone)
        status, _, product, _ = self.admin.request("GET", "/v1/admin/products/left")
        self.assertEqual(status, 200)
        self.assertEqual(product["reserved"], 0, "adds of clients that had gone were run")
        self.assertEqual(product["available"], 1000)
        for i in (0, gone // 2, gone - 1):
            status, _, cart, _ = Client(self.server.port, make_token("gone%d" % i)).request(
                "GET", "/v1/cart")
            self.assertEqual(status, 200)
            self.assertEqual(cart["items"], [], "a gone client's add left a hold")
        status, _, text, _ = self.admin.request("GET", "/metrics")
        m = re.search(r'stampede_writes_shed_total\{reason="client_gone"\} (\d+)', text)
        self.assertEqual(int(m.group(1)), gone)

    def test_adds_queued_behind_a_backlog_do_not_run_once_their_clients_have_gone(self):
        self.product("busy", 1_000_000)
        self.product("left", 1000)
        for s in self.send_while_paused(self.BACKLOG, self.GONE):
            status, _, body = read_answer(s)
            self.assertEqual(status, 200, body)
        self.assert_nothing_ran_for_the_gone(self.GONE)

    def test_adds_whose_close_came_with_the_request_do_not_run(self):
        self.product("busy", 1_000_000)
        self.product("left", 1000)
        self.send_while_paused(0, self.GONE)
        # The server reads them, finds each client gone, and closes.
        self.assert_nothing_ran_for_the_gone(self.GONE)


if __name__ == "__main__":
    BINARY = sys.argv.pop(1)
    unittest.main()
