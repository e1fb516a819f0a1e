"""The WebSocket of API.md against the real `stampede serve`: subscriptions with their
snapshots, live order status and notifications, live availability, refusals, bad frames and
messages, ping/pong, and a client that stops reading.

Usage: ws_test.py PATH_TO_STAMPEDE
"""
import json
import os
import re
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Client, ServerTest, WebSocket, make_token  # noqa: E402

BINARY = None
ADMIN = make_token("root", role="admin")
CARD_OK = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}


class Ws(ServerTest):
    # No per-user rate limit: some tests have one user place orders back to back.
    server_args = ("--shards", "2", "--rate-limit", "0")

    def product(self, on_hand=100):
        pid = self.unique("sku")
        status, _, p, _ = self.admin.request("POST", "/v1/admin/products",
                                             {"id": pid, "name": pid, "price": 1000, "on_hand": on_hand})
        self.assertEqual(status, 201, p)
        return pid

    def shopper(self):
        user = self.unique("user")
        token = make_token(user)
        c = Client(self.server.port, token)
        self.addCleanup(c.close)
        return user, token, c

    def address(self, c):
        status, _, a, _ = c.request("POST", "/v1/addresses", {
            "name": "N", "line1": "L", "city": "C", "postal_code": "1", "country": "GB"})
        self.assertEqual(status, 201, a)
        return a["id"]

    def order(self, c, pid, address_id=None):
        self.assertEqual(c.request("POST", "/v1/cart/items", {"product_id": pid, "quantity": 1})[0], 200)
        status, _, o, _ = c.request("POST", "/v1/orders", {"shipping_address_id": address_id or self.address(c),
                                                           "shipping_method": "standard"})
        self.assertEqual(status, 201, o)
        return o

    def ws(self, token=None, **kw):
        w = WebSocket(self.server.port, token, **kw)
        self.addCleanup(w.close)
        return w

    def subscribe(self, w, topic):
        w.send({"op": "subscribe", "topic": topic})
        m = w.recv()
        self.assertEqual((m["type"], m["topic"]), ("subscribed", topic), m)
        return m

    # ---- orders ----

    def test_an_order_topic_starts_with_a_snapshot_then_each_change_pushed_at_once(self):
        pid = self.product()
        user, token, c = self.shopper()
        o = self.order(c, pid)
        w = self.ws(token)
        m = self.subscribe(w, "order:" + o["id"])
        self.assertEqual(m["snapshot"]["id"], o["id"])
        self.assertEqual(m["snapshot"]["status"], "pending")

        # paid (by the owner), then shipped with tracking and delivered (by an admin)
        steps = [
            ("paid", "pending", None, lambda: c.request("POST", "/v1/orders/%s/payments" % o["id"], {
                "method": "card", "amount": o["total"], "card": CARD_OK})),
            ("shipped", "paid", "1Z999", lambda: self.admin.request(
                "POST", "/v1/admin/orders/%s/status" % o["id"], {"status": "shipped", "tracking_number": "1Z999"})),
            ("delivered", "shipped", "1Z999", lambda: self.admin.request(
                "POST", "/v1/admin/orders/%s/status" % o["id"], {"status": "delivered"})),
        ]
        for status, previous, tracking, act in steps:
            start = time.time()
            result = act()
            self.assertIn(result[0], (200, 201), result[2])
            m, _ = w.recv_until(lambda m: m["type"] == "order.status", timeout=10)
            latency = time.time() - start
            self.assertEqual((m["order_id"], m["status"], m["previous"], m["tracking_number"]),
                             (o["id"], status, previous, tracking), m)
            self.assertRegex(m["at"], r"^\d{4}-\d\d-\d\dT")
            # Pushed at the change, not on a later tick or sweep. The 100 ms figure is measured
            # in loadtest/ws_fanout (BENCHMARKS.md); here the bound leaves room for a busy
            # shared machine (0.14 s was seen at load 13; a slow fsync adds to it) without letting
            # a periodic path pass: no sweep or tick of the server's sends order.status.
            self.assertLess(latency, 2.0, "%s took %.3f s from the request to the message" % (status, latency))
            n, _ = w.recv_until(lambda m: m["type"] == "notification", timeout=10)
            self.assertEqual(n["notification"]["event"], "order." + status)
            self.assertEqual(n["notification"]["order_id"], o["id"])

    def test_replies_are_never_pushed_out_by_pushes(self):
        # Found in review: a full queue pushed out its oldest message, which could be a reply.
        # The client stops reading, so the server's writes stall and its queue stays full of
        # pongs while availability pushes keep coming.
        pids = [self.product(on_hand=1000000) for _ in range(3)]
        w = self.ws(rcvbuf=4096)
        for pid in pids:
            self.subscribe(w, "product:" + pid)
        stop = threading.Event()

        def churn():  # availability changes on every tick while the replies wait
            admin = Client(self.server.port, ADMIN)
            try:
                while not stop.is_set():
                    for pid in pids:
                        admin.request("POST", "/v1/admin/products/%s/stock" % pid, {"delta": -1})
            finally:
                admin.close()
        t = threading.Thread(target=churn)
        t.start()
        try:
            ping = json.dumps({"op": "ping"}).encode()
            frames = []
            for _ in range(5000):  # about 85 KB of pongs: more than the sockets' buffers hold
                mask = os.urandom(4)
                frames.append(bytes([0x81, 0x80 | len(ping)]) + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(ping)))
            w.sock.sendall(b"".join(frames))
            time.sleep(1.5)  # not reading: the pongs wait in the server's full queue
            pongs, deadline = 0, time.time() + 30
            while pongs < 5000 and time.time() < deadline:
                m = w.recv(timeout=10)
                if m["type"] == "pong":
                    pongs += 1
                else:
                    self.assertEqual(m["type"], "product.availability", m)
            self.assertEqual(pongs, 5000)
        finally:
            stop.set()
            t.join()

    def test_an_admin_watching_an_order_gets_its_status_but_not_the_owners_notifications(self):
        # API.md: notifications go to the owner's orders and order:{id} subscriptions. Found
        # from outside: an admin on order:{id} got the customer's notifications too.
        pid = self.product()
        user, token, c = self.shopper()
        o = self.order(c, pid)
        owner, admin = self.ws(token), self.ws(ADMIN)
        self.subscribe(owner, "order:" + o["id"])
        self.subscribe(admin, "order:" + o["id"])
        result = self.admin.request("POST", "/v1/admin/orders/%s/status" % o["id"], {"status": "canceled"})
        self.assertEqual(result[0], 200, result[2])
        n, _ = owner.recv_until(lambda m: m["type"] == "notification", timeout=5)
        self.assertEqual(n["notification"]["event"], "order.canceled")
        m, before = admin.recv_until(lambda m: m["type"] == "order.status" and m["status"] == "canceled", timeout=5)
        admin.send({"op": "ping"})  # anything the hub sent before the pong comes before it
        m, between = admin.recv_until(lambda m: m["type"] == "pong", timeout=5)
        self.assertEqual([x["type"] for x in before + between if x["type"] == "notification"], [])

    def test_the_orders_topic_shows_new_orders_with_no_previous_status(self):
        pid = self.product()
        user, token, c = self.shopper()
        w = self.ws(query_token=token)  # the token in ?access_token=
        m = self.subscribe(w, "orders")
        self.assertNotIn("snapshot", m)
        o = self.order(c, pid)
        m, _ = w.recv_until(lambda m: m["type"] == "order.status")
        self.assertEqual((m["order_id"], m["status"], m["previous"]), (o["id"], "pending", None))
        n, _ = w.recv_until(lambda m: m["type"] == "notification")
        self.assertEqual(n["notification"]["event"], "order.created")

    def test_admin_orders_sees_every_users_orders(self):
        pid = self.product()
        w = self.ws(ADMIN)
        self.subscribe(w, "admin:orders")
        seen = set()
        for _ in range(4):  # users on both shards
            _, _, c = self.shopper()
            seen.add(self.order(c, pid)["id"])
        got = set()
        while got != seen:
            m, _ = w.recv_until(lambda m: m["type"] == "order.status")
            got.add(m["order_id"])
        self.assertEqual(got, seen)

    def test_unsubscribe_stops_the_messages(self):
        pid = self.product()
        user, token, c = self.shopper()
        w = self.ws(token)
        self.subscribe(w, "orders")
        w.send({"op": "unsubscribe", "topic": "orders"})
        self.order(c, pid)
        w.send({"op": "ping"})
        self.assertEqual(w.recv(), {"type": "pong"})  # nothing about the order came first
        with self.assertRaises(socket.timeout):  # ...nor after, given time to
            w.recv(timeout=0.5)
        # The same steps while subscribed do bring the order (the check above can fail).
        self.subscribe(w, "orders")
        o = self.order(c, pid)
        m, _ = w.recv_until(lambda m: m["type"] == "order.status")
        self.assertEqual(m["order_id"], o["id"])

    # ---- refusals ----

    def test_topics_the_caller_may_not_see_are_refused(self):
        pid = self.product()
        owner, _, c = self.shopper()
        o = self.order(c, pid)
        _, other, _ = self.shopper()
        w = self.ws(other)
        w.send({"op": "subscribe", "topic": "order:" + o["id"]})
        self.assertEqual(w.recv()["code"], "not_found")  # another user's order
        w.send({"op": "subscribe", "topic": "admin:orders"})
        self.assertEqual(w.recv()["code"], "forbidden")
        w.send({"op": "subscribe", "topic": "order:ord_nonsense"})
        self.assertEqual(w.recv()["code"], "not_found")
        w.send({"op": "subscribe", "topic": "product:no-such-product"})
        self.assertEqual(w.recv()["code"], "not_found")
        w.send({"op": "subscribe", "topic": "weather"})
        self.assertEqual(w.recv()["code"], "not_found")
        anon = self.ws()
        anon.send({"op": "subscribe", "topic": "orders"})
        self.assertEqual(anon.recv()["code"], "unauthorized")
        anon.send({"op": "subscribe", "topic": "order:" + o["id"]})
        self.assertEqual(anon.recv()["code"], "unauthorized")
        # ...and an admin may watch any order.
        a = self.ws(ADMIN)
        self.assertEqual(self.subscribe(a, "order:" + o["id"])["snapshot"]["user_id"], owner)

    def test_a_bad_token_is_refused_before_the_upgrade(self):
        w = WebSocket(self.server.port, make_token("x", secret="wrong"))
        self.assertEqual(w.status, 401)
        w.sock.close()
        w = WebSocket(self.server.port, query_token="not.a.token")
        self.assertEqual(w.status, 401)
        w.sock.close()
        status = Client(self.server.port).request("GET", "/v1/ws")
        self.assertEqual(status[0], 400)  # not an upgrade

    def test_a_handshake_beast_would_refuse_is_refused_in_the_apis_error_shape(self):
        # Found from outside: no key, or another version, got Beast's plain-text 400 and 426.
        upgrade = {"Upgrade": "websocket", "Connection": "Upgrade"}
        for extra, want_version_header in (({"Sec-WebSocket-Version": "13"}, False),
                                           ({"Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                                             "Sec-WebSocket-Version": "8"}, True)):
            c = Client(self.server.port)
            try:
                status, headers, body, _ = c.request("GET", "/v1/ws", headers=dict(upgrade, **extra))
            finally:
                c.close()
            self.assertEqual((status, body["error"]["code"]), (400, "invalid_request"), body)
            self.assertTrue(body["error"]["message"])
            self.assertEqual(headers.get("sec-websocket-version"), "13" if want_version_header else None)

    # ---- bad input ----

    def test_a_malformed_message_gets_an_error_and_the_connection_stays_open(self):
        w = self.ws()
        for bad in ['{"op":', '[1,2]', '{"op": 7}', '{"op": "dance"}', '{"op": "subscribe"}',
                    '{"op": "subscribe", "topic": ""}', '{"op": "unsubscribe", "topic": "product:x"}']:
            w.send(bad)
            m = w.recv()
            self.assertEqual(m["type"], "error", bad)
            self.assertIn(m["code"], ("invalid_request", "not_found"), bad)
            self.assertTrue(m["message"])
        w.send_frame(0x2, b"\x00\x01")  # binary
        self.assertEqual(w.recv()["type"], "error")
        pid = self.product()
        w.send({"op": "subscribe", "topic": "product:" + pid})
        self.assertEqual(w.recv()["type"], "subscribed")
        w.send({"op": "subscribe", "topic": "product:" + pid})
        self.assertEqual(w.recv()["code"], "invalid_request")  # already subscribed
        w.send({"op": "ping"})
        self.assertEqual(w.recv(), {"type": "pong"})

    def test_a_malformed_frame_closes_the_connection_and_the_server_goes_on(self):
        for frame in [lambda w: w.send_frame(0x1, b'{"op":"ping"}', mask=False),  # clients must mask
                      lambda w: w.send_frame(0x3, b"x"),                          # reserved opcode
                      lambda w: w.send_frame(0x1, b"x" * 5000)]:                  # over 4 KiB
            w = self.ws()
            frame(w)
            with self.assertRaises((ConnectionError, OSError)):
                for _ in range(3):
                    w.recv(timeout=3)
        w = self.ws()
        w.send({"op": "ping"})
        self.assertEqual(w.recv(), {"type": "pong"})

    def test_subscriptions_per_connection_are_bounded(self):
        w = self.ws()
        for _ in range(64):
            self.subscribe(w, "product:" + self.product())
        w.send({"op": "subscribe", "topic": "product:" + self.product()})
        m = w.recv()
        self.assertEqual(m["code"], "invalid_request", m)  # the 65th
        self.assertIn("64", m["message"])

    # ---- availability ----

    def test_availability_is_live_coalesced_and_ends_at_the_latest_value(self):
        pid = self.product(on_hand=1000)
        w = self.ws()
        m = self.subscribe(w, "product:" + pid)
        self.assertEqual(m["snapshot"], {"product_id": pid, "available": 1000})
        added = []

        def shop(i):
            _, _, c = self.shopper()
            for _ in range(15):
                if c.request("POST", "/v1/cart/items", {"product_id": pid, "quantity": 1})[0] == 200:
                    added.append(1)
        # (a failed add is counted out of `added`, so the expected value stays exact)

        start = time.time()
        threads = [threading.Thread(target=shop, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        expected = 1000 - len(added)
        values = []
        while not values or values[-1] != expected:
            m, _ = w.recv_until(lambda m: m["type"] == "product.availability", timeout=3)
            self.assertEqual(m["product_id"], pid)
            values.append(m["available"])
        elapsed = time.time() - start
        self.assertEqual(values, sorted(values, reverse=True))
        self.assertLess(len(values), len(added))  # coalesced
        self.assertLessEqual(len(values), elapsed * 10 + 2, "more than 10 a second: %r" % values)

    # ---- a client that stops reading ----

    def test_a_client_that_stops_reading_is_sent_the_latest_not_a_backlog(self):
        def metric(name):
            text = Client(self.server.port).request("GET", "/metrics")[2]
            return int(re.search(r"^%s (\d+)$" % name, text, re.M).group(1))

        def rss_kb():
            with open("/proc/%d/status" % self.server.proc.pid) as f:
                return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))

        stalled = self.ws(ADMIN, rcvbuf=4096)
        stalled.send({"op": "subscribe", "topic": "admin:orders"})
        time.sleep(0.2)
        dropped_before = metric("stampede_ws_messages_dropped_total")
        rss_before = rss_kb()
        pid = self.product(on_hand=100000)

        failures = []

        def shop(i):
            try:
                _, _, c = self.shopper()
                address_id = self.address(c)
                for _ in range(100):
                    self.order(c, pid, address_id)
            except Exception as e:  # noqa: BLE001 - reported below, on the test's thread
                failures.append(e)

        threads = [threading.Thread(target=shop, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(failures, [])
        # 800 orders' events could not all be queued for the stalled client.
        self.assertGreater(metric("stampede_ws_messages_dropped_total"), dropped_before)
        self.assertLess(rss_kb() - rss_before, 64 * 1024, "the server grew past 64 MB")
        # A reader still gets through at once.
        w = self.ws()
        w.send({"op": "ping"})
        self.assertEqual(w.recv(), {"type": "pong"})


if __name__ == "__main__":
    BINARY = ServerTest.binary = sys.argv.pop(1)
    unittest.main(verbosity=1)
