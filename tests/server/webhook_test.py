"""Outbound webhooks against a local receiver: registration routes, the signature, retries
with the same event id, event filters, and delivery of events queued before a restart.

Usage: webhook_test.py PATH_TO_STAMPEDE
"""
import hashlib
import hmac
import http.server
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Client, Server, make_token  # noqa: E402

BINARY = None
ADMIN = make_token("root", role="admin")
SECRET = "whsec-test-0123456789"
CARD_OK = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}


def make_cert(directory, name):
    """A self-signed certificate for 127.0.0.1 (its own CA): (cert.pem, key.pem)."""
    cert, key = os.path.join(directory, name + ".pem"), os.path.join(directory, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return cert, key


class Receiver:
    """An HTTP(S) server that records every POST; the first `fail_first` answers are 500."""

    def __init__(self, fail_first=0, port=0, tls=None):
        self.received = []
        self.fail_first = fail_first
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with outer.lock:
                    outer.received.append((dict(self.headers), body, time.time()))
                    failing = outer.fail_first > 0
                    if failing:
                        outer.fail_first -= 1
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, pred, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                got = [r for r in self.received if pred(r)]
            if got:
                return got
            time.sleep(0.02)
        raise TimeoutError("nothing matching arrived; got %d posts" % len(self.received))

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class Silent:
    """A receiver that takes connections and never answers (its accept queue does the
    taking), as a hung server does."""

    def __init__(self):
        import socket
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1024)
        self.port = self.sock.getsockname()[1]

    def close(self):
        self.sock.close()


def event_of(record):
    return json.loads(record[1])


class Webhooks(unittest.TestCase):
    def setUp(self):
        self.data_dir = tempfile.mkdtemp(prefix="stampede-webhooks-")
        self.addCleanup(shutil.rmtree, self.data_dir, True)
        # Cleanups run last-added first: the clients a test opens close before the server stops.
        self.addCleanup(self.stop_server)
        self.server = self.start_server()
        self.counter = 0

    def start_server(self, *extra):
        server = Server(BINARY, "--shards", "2", "--webhook-retry-ms", "100", "--rate-limit", "0",
                        *extra, data_dir=self.data_dir)
        self.admin = Client(server.port, ADMIN)
        return server

    def stop_server(self):
        self.admin.close()
        self.assertEqual(self.server.stop(), 0)

    def register(self, url, events=None, secret=SECRET):
        body = {"url": url, "secret": secret}
        if events is not None:
            body["events"] = events
        status, _, w, _ = self.admin.request("POST", "/v1/admin/webhooks", body)
        self.assertEqual(status, 201, w)
        return w

    def place_order(self):
        self.counter += 1
        pid = "wsku-%d-%d" % (os.getpid(), self.counter)
        self.assertEqual(self.admin.request("POST", "/v1/admin/products",
                                            {"id": pid, "name": pid, "price": 500, "on_hand": 10})[0], 201)
        c = Client(self.server.port, make_token("buyer-%d" % self.counter))
        self.addCleanup(c.close)
        self.assertEqual(c.request("POST", "/v1/cart/items", {"product_id": pid, "quantity": 1})[0], 200)
        a = c.request("POST", "/v1/addresses", {"name": "N", "line1": "L", "city": "C",
                                                 "postal_code": "1", "country": "GB"})[2]
        status, _, o, _ = c.request("POST", "/v1/orders", {"shipping_address_id": a["id"],
                                                           "shipping_method": "standard"})
        self.assertEqual(status, 201, o)
        return c, o

    def place_orders(self, n):
        """n orders by one buyer of one product: n order.created events."""
        self.counter += 1
        pid = "bulk-%d-%d" % (os.getpid(), self.counter)
        self.assertEqual(self.admin.request("POST", "/v1/admin/products",
                                            {"id": pid, "name": pid, "price": 500, "on_hand": n})[0], 201)
        c = Client(self.server.port, make_token("bulk-buyer-%d" % self.counter))
        self.addCleanup(c.close)
        a = c.request("POST", "/v1/addresses", {"name": "N", "line1": "L", "city": "C",
                                                 "postal_code": "1", "country": "GB"})[2]
        ids = []
        for _ in range(n):
            self.assertEqual(c.request("POST", "/v1/cart/items", {"product_id": pid, "quantity": 1})[0], 200)
            status, _, o, _ = c.request("POST", "/v1/orders", {"shipping_address_id": a["id"],
                                                               "shipping_method": "standard"})
            self.assertEqual(status, 201, o)
            ids.append(o["id"])
        return ids

    def test_a_receiver_that_never_answers_does_not_starve_a_healthy_one(self):
        silent, healthy = Silent(), Receiver()
        self.addCleanup(silent.close)
        self.addCleanup(healthy.close)
        self.register("http://127.0.0.1:%d/hung" % silent.port, ["order.created"])
        self.register("http://127.0.0.1:%d/ok" % healthy.port, ["order.created"])
        orders = set(self.place_orders(40))
        # Well within the 10 s a delivery to the silent one takes to time out.
        deadline = time.time() + 6
        got = set()
        while got != orders and time.time() < deadline:
            with healthy.lock:
                got = {event_of(r)["data"]["order_id"] for r in healthy.received}
            time.sleep(0.05)
        self.assertEqual(len(got & orders), len(orders))

    def test_a_failing_receiver_is_left_alone_for_a_while_then_probed_and_caught_up(self):
        rx = Receiver(fail_first=1_000_000)
        self.addCleanup(rx.close)
        self.register("http://127.0.0.1:%d/" % rx.port, ["order.created"])
        orders = set(self.place_orders(30))
        # Retried per event every 100 ms and doubling, 30 events would be over a hundred
        # attempts in 3 s; the breaker opens after a few failures in a row instead.
        time.sleep(3)
        with rx.lock:
            attempts = len(rx.received)
            rx.fail_first = 0  # the receiver comes back
        self.assertLess(attempts, 20)
        got = set()
        deadline = time.time() + 15
        while got != orders and time.time() < deadline:
            with rx.lock:
                got = {event_of(r)["data"]["order_id"] for r in rx.received[attempts:]}
            time.sleep(0.05)
        self.assertEqual(got, orders)

    def test_registration_routes_and_their_refusals(self):
        w = self.register("http://127.0.0.1:9/hooks", ["order.*"])
        self.assertTrue(w["id"].startswith("whk_"))
        self.assertEqual(w["events"], ["order.*"])
        self.assertNotIn("secret", w)
        listed = self.admin.request("GET", "/v1/admin/webhooks")[2]["items"]
        self.assertEqual([x["id"] for x in listed], [w["id"]])
        self.assertNotIn("secret", listed[0])
        self.assertEqual(self.admin.request("GET", "/v1/admin/webhooks/" + w["id"])[2]["url"], w["url"])
        # Paginated as every list (API.md, Conventions): ordered by id, each page's cursor the last.
        more = [self.register("http://127.0.0.1:9/more-%d" % i, ["order.paid"])["id"] for i in range(2)]
        everyone = sorted([w["id"]] + more)
        first = self.admin.request("GET", "/v1/admin/webhooks?limit=2")[2]
        self.assertEqual([x["id"] for x in first["items"]], everyone[:2])
        rest = self.admin.request("GET", "/v1/admin/webhooks?limit=2&cursor=" + first["next_cursor"])[2]
        self.assertEqual(([x["id"] for x in rest["items"]], rest["next_cursor"]), (everyone[2:], None))
        self.assertEqual(self.admin.request("GET", "/v1/admin/webhooks?limit=0")[0], 400)
        for i in more:
            self.assertEqual(self.admin.request("DELETE", "/v1/admin/webhooks/" + i)[0], 204)
        for bad in [{"url": "ftp://example.com", "secret": SECRET},
                    {"url": "https://user@example.com/x", "secret": SECRET},
                    {"url": "http://", "secret": SECRET},
                    {"url": "http://example.com/x", "secret": "short"},
                    {"url": "http://example.com/x", "secret": SECRET, "events": ["order.exploded"]},
                    {"url": "http://example.com/x", "secret": SECRET, "events": []},
                    {"url": 7, "secret": SECRET},
                    {"secret": SECRET}]:
            status, _, body, _ = self.admin.request("POST", "/v1/admin/webhooks", bad)
            self.assertEqual(status, 400, (bad, body))
            self.assertEqual(body["error"]["code"], "invalid_request")
        customer = Client(self.server.port, make_token("someone"))
        self.assertEqual(customer.request("GET", "/v1/admin/webhooks")[0], 403)
        customer.close()
        self.assertEqual(self.admin.request("DELETE", "/v1/admin/webhooks/" + w["id"])[0], 204)
        self.assertEqual(self.admin.request("GET", "/v1/admin/webhooks/" + w["id"])[0], 404)
        self.assertEqual(self.admin.request("DELETE", "/v1/admin/webhooks/" + w["id"])[0], 404)

    def test_each_event_is_posted_signed(self):
        rx = Receiver()
        self.addCleanup(rx.close)
        self.register("http://127.0.0.1:%d/hooks/stampede" % rx.port)
        c, o = self.place_order()
        (headers, body, at), = rx.wait_for(lambda r: event_of(r)["event"] == "order.created")
        event = json.loads(body)
        self.assertTrue(event["id"].startswith("evt_"))
        self.assertEqual(headers["Stampede-Event-Id"], event["id"])
        self.assertEqual(event["data"]["order_id"], o["id"])
        self.assertEqual(event["data"]["event"], "order.created")
        self.assertRegex(event["created_at"], r"^\d{4}-\d\d-\d\dT")
        sig = dict(part.split("=", 1) for part in headers["Stampede-Signature"].split(","))
        self.assertLess(abs(int(sig["t"]) - time.time()), 60)
        expected = hmac.new(SECRET.encode(), (sig["t"] + ".").encode() + body, hashlib.sha256).hexdigest()
        self.assertTrue(hmac.compare_digest(sig["v1"], expected))
        # A receiver with another secret cannot verify it.
        wrong = hmac.new(b"other-secret", (sig["t"] + ".").encode() + body, hashlib.sha256).hexdigest()
        self.assertNotEqual(sig["v1"], wrong)
        # Paying is another event, with another id.
        self.assertEqual(c.request("POST", "/v1/orders/%s/payments" % o["id"],
                                   {"method": "card", "amount": o["total"], "card": CARD_OK})[0], 201)
        paid = event_of(rx.wait_for(lambda r: event_of(r)["event"] == "order.paid")[0])
        self.assertNotEqual(paid["id"], event["id"])

    def test_a_receiver_that_fails_twice_gets_the_same_event_a_third_time(self):
        rx = Receiver(fail_first=2)
        self.addCleanup(rx.close)
        self.register("http://127.0.0.1:%d/" % rx.port, ["order.created"])
        _, o = self.place_order()
        rx.wait_for(lambda r: True, timeout=10)
        deadline = time.time() + 10
        while len(rx.received) < 3 and time.time() < deadline:
            time.sleep(0.02)
        time.sleep(0.5)  # and no fourth: the third was acknowledged
        self.assertEqual(len(rx.received), 3, [event_of(r)["event"] for r in rx.received])
        ids = {r[0]["Stampede-Event-Id"] for r in rx.received}
        self.assertEqual(len(ids), 1)
        times = [r[2] for r in rx.received]
        self.assertGreater(times[2] - times[1], 0.04)  # backed off, not hammered
        metrics = Client(self.server.port).request("GET", "/metrics")[2]
        self.assertRegex(metrics, r"stampede_webhook_failed_attempts_total [2-9]")

    def test_filters_send_only_the_events_asked_for(self):
        rx = Receiver()
        self.addCleanup(rx.close)
        self.register("http://127.0.0.1:%d/" % rx.port, ["order.paid"])
        c, o = self.place_order()
        self.assertEqual(c.request("POST", "/v1/orders/%s/payments" % o["id"],
                                   {"method": "card", "amount": o["total"], "card": CARD_OK})[0], 201)
        rx.wait_for(lambda r: event_of(r)["event"] == "order.paid")
        time.sleep(0.3)
        self.assertEqual({event_of(r)["event"] for r in rx.received}, {"order.paid"})

    def test_drop_events_reach_the_webhooks_that_ask_for_them(self):
        # API.md, Notifications: drop.admitted, drop.won and waitlist.offered are delivered to
        # webhooks as the order events are; each can be asked for by name or pattern.
        drops_rx, orders_rx = Receiver(), Receiver()
        self.addCleanup(drops_rx.close)
        self.addCleanup(orders_rx.close)
        self.register("http://127.0.0.1:%d/" % drops_rx.port, ["drop.*", "waitlist.offered"])
        self.register("http://127.0.0.1:%d/" % orders_rx.port, ["order.*"])
        for events in (["drop.admitted"], ["drop.won"], ["waitlist.*"], ["*"]):
            self.assertEqual(self.admin.request("POST", "/v1/admin/webhooks", {
                "url": "http://127.0.0.1:9/x", "secret": SECRET, "events": events})[0], 201, events)
        for bad in (["drop.exploded"], ["drops.*"], ["waitlist.joined"]):
            status, _, body, _ = self.admin.request("POST", "/v1/admin/webhooks", {
                "url": "http://127.0.0.1:9/x", "secret": SECRET, "events": bad})
            self.assertEqual((status, body["error"]["code"]), (400, "invalid_request"), bad)
        pid = "drop-hook-%d" % os.getpid()
        self.assertEqual(self.admin.request("POST", "/v1/admin/products",
                                            {"id": pid, "name": pid, "price": 500, "on_hand": 5})[0], 201)
        opens = time.time()
        did = "dh-%d" % os.getpid()
        status, _, d, _ = self.admin.request("POST", "/v1/admin/drops", {
            "id": did, "product_ids": [pid], "mode": "queue",
            "opens_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(opens))})
        self.assertEqual(status, 201, d)
        shopper = Client(self.server.port, make_token("drop-hook-shopper"))
        self.addCleanup(shopper.close)
        self.assertEqual(shopper.request("POST", "/v1/drops/%s/queue" % did)[0], 201)
        got = drops_rx.wait_for(lambda r: event_of(r)["event"] == "drop.admitted")
        event = event_of(got[0])
        self.assertTrue(event["id"].startswith("evt_"), event)
        self.assertEqual(event["data"]["event"], "drop.admitted")
        time.sleep(0.5)
        self.assertEqual([event_of(r)["event"] for r in orders_rx.received], [])

    def test_https_receivers_must_present_a_certificate_the_server_trusts(self):
        trusted = make_cert(self.data_dir, "trusted")
        stranger = make_cert(self.data_dir, "stranger")
        self.admin.close()
        self.assertEqual(self.server.stop(), 0)
        self.server = self.start_server("--webhook-ca-file", trusted[0])
        good, bad = Receiver(tls=trusted), Receiver(tls=stranger)
        self.addCleanup(good.close)
        self.addCleanup(bad.close)
        self.register("https://127.0.0.1:%d/tls" % good.port, ["order.created"])
        self.register("https://127.0.0.1:%d/tls" % bad.port, ["order.created"])
        _, o = self.place_order()
        (headers, body, _), = good.wait_for(lambda r: True)
        self.assertEqual(json.loads(body)["data"]["order_id"], o["id"])
        sig = dict(part.split("=", 1) for part in headers["Stampede-Signature"].split(","))
        expected = hmac.new(SECRET.encode(), (sig["t"] + ".").encode() + body, hashlib.sha256).hexdigest()
        self.assertTrue(hmac.compare_digest(sig["v1"], expected))
        # The stranger's certificate does not verify: nothing is sent to it, and it is retried.
        deadline = time.time() + 5
        while time.time() < deadline:
            metrics = Client(self.server.port).request("GET", "/metrics")[2]
            failed = int(re.search(r"stampede_webhook_failed_attempts_total (\d+)", metrics).group(1))
            if failed >= 2:
                break
            time.sleep(0.1)
        self.assertGreaterEqual(failed, 2)
        self.assertEqual(bad.received, [])

    def test_events_queued_before_a_restart_are_delivered_after_it(self):
        # The receiver's port is reserved, then closed: nothing listens while orders are made.
        probe = Receiver()
        port = probe.port
        probe.close()
        self.register("http://127.0.0.1:%d/" % port, ["order.created"])
        orders = [self.place_order()[1]["id"] for _ in range(3)]
        time.sleep(0.3)  # a few failed attempts
        self.server.kill()  # no goodbye: only what is durable counts
        self.admin.close()
        rx = Receiver(port=port)
        self.addCleanup(rx.close)
        self.server = self.start_server()
        got = set()
        deadline = time.time() + 15
        while got != set(orders) and time.time() < deadline:
            got = {event_of(r)["data"]["order_id"] for r in rx.received}
            time.sleep(0.05)
        self.assertEqual(got, set(orders))


if __name__ == "__main__":
    BINARY = sys.argv.pop(1)
    unittest.main(verbosity=1)
