"""Admission control from outside (issue 9, "Overload"): a burst of add-to-cart requests that
one shard cannot start within its allowed queueing time gets `503 overloaded` with
`Retry-After` in API.md's error shape, what was refused changed nothing, and product reads
sent in the same burst are all served.

The server runs one shard with a queueing allowance of 1 ms (--write-wait-target-ms and
--write-wait-interval-ms), and the burst is every request written at once on its own
connection: the shard reads them all in one pass (a JWT check and a parse each) before it
runs the first write, so the last writes of the burst have waited past 1 ms on any machine.
Before admission control was wired into HTTP, every one of them was served (or waited).

Usage: overload_test.py PATH_TO_STAMPEDE
"""
import json
import os
import re
import socket
import sys
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


class Overload(unittest.TestCase):
    def setUp(self):
        self.server = Server(BINARY, "--shards", "1", "--rate-limit", "0",
                             "--write-wait-target-ms", "1", "--write-wait-interval-ms", "1")
        self.sockets = []
        self.admin = Client(self.server.port, make_token("root", role="admin"))

    def tearDown(self):
        for s in self.sockets:
            s.close()
        self.admin.close()
        self.assertEqual(self.server.stop(), 0)

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=20)
        self.sockets.append(s)
        return s

    def test_a_burst_past_the_allowed_wait_is_shed_with_503_and_changes_nothing(self):
        status, _, _, _ = self.admin.request("POST", "/v1/admin/products",
                                          {"id": "burst", "name": "Burst", "price": 100,
                                           "on_hand": 1_000_000})
        self.assertEqual(status, 201)
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
        for s, data in order:
            s.sendall(data)

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


if __name__ == "__main__":
    BINARY = sys.argv.pop(1)
    unittest.main()
