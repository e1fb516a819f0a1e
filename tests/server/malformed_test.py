"""A corpus of malformed and hostile requests, sent as raw bytes. Each must get its exact
status and error code (or a closed connection where API.md allows it), change nothing, and
leave the server healthy.

Usage: malformed_test.py PATH_TO_STAMPEDE
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
TOKEN = make_token("hostile")
ADMIN = make_token("root", role="admin")


def req(method, path, body=b"", headers=None, content_type="application/json", auth=True):
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: 127.0.0.1"]
    if auth:
        lines.append("Authorization: Bearer " + TOKEN)
    if content_type is not None and body:
        lines.append("Content-Type: " + content_type)
    if body and not any(h.lower().startswith(("content-length", "transfer-encoding")) for h in (headers or [])):
        lines.append("Content-Length: %d" % len(body))
    lines += headers or []
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


ADD = "/v1/cart/items"

# (name, raw request, expected status or None for "connection closed", expected error code)
CASES = [
    ("head over 8 KiB", req("GET", "/v1/products", headers=["X-Pad: " + "a" * 9000]), 431,
     "request_header_fields_too_large"),
    ("request line over 8 KiB", req("GET", "/v1/products?q=" + "a" * 9000), 431,
     "request_header_fields_too_large"),
    ("body over 64 KiB", req("POST", ADD, b'{"a":"' + b"x" * 70000 + b'"}'), 413, "payload_too_large"),
    ("chunked body over 64 KiB",
     req("POST", ADD, b"", headers=["Content-Type: application/json", "Transfer-Encoding: chunked"])
     + b"".join(b"%x\r\n%s\r\n" % (8192, b"x" * 8192) for _ in range(9)) + b"0\r\n\r\n", 413, "payload_too_large"),
    ("content-length and transfer-encoding",
     req("POST", ADD, b"", headers=["Content-Type: application/json", "Content-Length: 5",
                                    "Transfer-Encoding: chunked"]) + b"0\r\n\r\n", 400, "invalid_request"),
    ("text/plain body", req("POST", ADD, b'{"product_id":"x","quantity":1}', content_type="text/plain"),
     415, "unsupported_media_type"),
    ("form body", req("POST", ADD, b"product_id=x&quantity=1", content_type="application/x-www-form-urlencoded"),
     415, "unsupported_media_type"),
    ("no content type", req("POST", ADD, b'{"product_id":"x","quantity":1}', content_type=None),
     415, "unsupported_media_type"),
    ("truncated JSON", req("POST", ADD, b'{"product_id": '), 400, "invalid_request"),
    ("trailing garbage", req("POST", ADD, b'{"product_id":"x","quantity":1} x'), 400, "invalid_request"),
    ("invalid UTF-8", req("POST", ADD, b'{"product_id":"\xff\xfe","quantity":1}'), 400, "invalid_request"),
    ("lone surrogate escape", req("POST", ADD, b'{"product_id":"\\ud800","quantity":1}'), 400, "invalid_request"),
    ("nesting 100 deep", req("POST", ADD, b"[" * 100 + b"]" * 100), 400, "invalid_request"),
    ("array body", req("POST", ADD, b"[1,2,3]"), 400, "invalid_request"),
    ("empty JSON body", req("POST", ADD, b"", headers=["Content-Type: application/json", "Content-Length: 0"]),
     400, "invalid_request"),
    ("comment in JSON", req("POST", ADD, b'{/*c*/"product_id":"x","quantity":1}'), 400, "invalid_request"),
    ("NaN literal", req("POST", ADD, b'{"product_id":"x","quantity":NaN}'), 400, "invalid_request"),
    ("quantity a string", req("POST", ADD, b'{"product_id":"x","quantity":"1"}'), 400, "invalid_request"),
    ("quantity a float", req("POST", ADD, b'{"product_id":"x","quantity":1.5}'), 400, "invalid_request"),
    ("quantity 1e30", req("POST", ADD, b'{"product_id":"x","quantity":1e30}'), 400, "invalid_request"),
    ("quantity 1e400", req("POST", ADD, b'{"product_id":"x","quantity":1e400}'), 400, "invalid_request"),
    ("quantity past int64", req("POST", ADD, b'{"product_id":"x","quantity":99999999999999999999999}'),
     400, "invalid_request"),
    ("quantity negative", req("POST", ADD, b'{"product_id":"x","quantity":-3}'), 400, "invalid_request"),
    ("product_id a number", req("POST", ADD, b'{"product_id":12,"quantity":1}'), 400, "invalid_request"),
    ("idempotency key too long", req("POST", ADD, b'{"product_id":"x","quantity":1}',
                                     headers=["Idempotency-Key: " + "k" * 256]), 400, "invalid_request"),
    ("garbage request line", b"HELLO THERE\r\n\r\n", 400, "invalid_request"),
    ("binary noise", bytes(range(256)) + b"\r\n\r\n", 400, "invalid_request"),
    ("bad HTTP version", b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n", 400, "invalid_request"),
    ("header without colon", b"GET /healthz HTTP/1.1\r\nHost x\r\n\r\n", 400, "invalid_request"),
    ("content-length not a number", req("POST", ADD, b"", headers=["Content-Type: application/json",
                                                                 "Content-Length: abc"]), 400, "invalid_request"),
    ("bad percent-encoding", req("GET", "/v1/products/%zz"), 400, "invalid_request"),
    ("bad query encoding", req("GET", "/v1/products?q=%G1"), 400, "invalid_request"),
    ("limit negative", req("GET", "/v1/products?limit=-1"), 400, "invalid_request"),
    ("unknown route", req("GET", "/v1/../../etc/passwd"), 404, "not_found"),
    ("wrong method", req("PATCH", "/v1/cart"), 405, "method_not_allowed"),
    ("alg none token", req("GET", "/v1/cart", headers=[
        "Authorization: Bearer " + make_token("x", header={"alg": "none"}).rsplit(".", 1)[0] + "."], auth=False),
     401, "unauthorized"),
    ("huge token", req("GET", "/v1/cart", headers=["Authorization: Bearer " + "a" * 5000], auth=False),
     401, "unauthorized"),
    ("bearer with nothing", req("GET", "/v1/cart", headers=["Authorization: Bearer "], auth=False),
     401, "unauthorized"),
    ("webhook with bad signature", req("POST", "/v1/webhooks/payments", b'{"payment_id":"pay_x","status":"succeeded"}',
                                       headers=["Stampede-Signature: sha256=00"], auth=False), 401, "unauthorized"),
    ("admin route as customer", req("POST", "/v1/admin/products", b'{"id":"x","name":"x","price":1}'),
     403, "forbidden"),
]


def parse(raw):
    if not raw:
        return None, None
    m = re.match(rb"HTTP/1\.1 (\d{3})", raw)
    if not m:
        return "garbled", None
    _, _, body = raw.partition(b"\r\n\r\n")
    try:
        return int(m.group(1)), json.loads(body)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return int(m.group(1)), None


class Malformed(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(BINARY, "--shards", "2")
        admin = Client(cls.server.port, ADMIN)
        status = admin.request("POST", "/v1/admin/products", {"id": "x", "name": "Target", "price": 100,
                                                               "on_hand": 7})[0]
        assert status == 201
        admin.close()

    @classmethod
    def tearDownClass(cls):
        assert cls.server.stop() == 0

    def test_the_corpus_has_at_least_30_cases(self):
        self.assertGreaterEqual(len(CASES), 30)

    def test_each_hostile_request_gets_its_exact_answer(self):
        for name, raw, status, code in CASES:
            with self.subTest(name):
                got_status, got_code = parse(self.server.raw(raw))
                self.assertEqual(got_status, status, name)
                if code is not None:
                    self.assertEqual(got_code, code, name)

    def test_the_server_is_healthy_and_unchanged_afterwards(self):
        for _, raw, _, _ in CASES:
            self.server.raw(raw)
        c = Client(self.server.port, ADMIN)
        try:
            self.assertEqual(c.request("GET", "/healthz")[0], 200)
            p = c.request("GET", "/v1/admin/products/x")[2]
            self.assertEqual((p["on_hand"], p["reserved"], p["committed"]), (7, 0, 0))
            self.assertEqual(Client(self.server.port, TOKEN).request("GET", "/v1/cart")[2]["items"], [])
        finally:
            c.close()

    def test_pipelined_requests_are_answered_in_order(self):
        raw = (b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
               b"GET /v1/products/x HTTP/1.1\r\nHost: x\r\n\r\n"
               b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as s:
            s.sendall(raw)
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        statuses = [int(x) for x in re.findall(rb"HTTP/1\.1 (\d{3})", data)]
        self.assertEqual(statuses, [200, 200, 404])


class SlowClients(unittest.TestCase):
    def test_a_client_that_never_finishes_its_request_is_closed(self):
        import time
        server = Server(BINARY, "--shards", "1", "--request-timeout", "1")
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # the head never ends
                start = time.monotonic()
                data = s.recv(4096)
                waited = time.monotonic() - start
            self.assertEqual(data, b"")
            self.assertGreater(waited, 0.8)
            self.assertLess(waited, 4)
            self.assertEqual(Client(server.port).request("GET", "/healthz")[0], 200)
        finally:
            self.assertEqual(server.stop(), 0)


if __name__ == "__main__":
    BINARY = sys.argv.pop(1)
    unittest.main(verbosity=1)
