"""Drops under --replicate: what a drop guards must hold on the node that takes over. A
standby applies the primary's records, but which products an open drop holds (so that only
admitted shoppers may add them) and the counts of the limits across accounts are derived
from those records, not logged: a restart derives them again, and a takeover must too.
And a standby leaves a drop's clock to its primary: it opens, admits and expires by the
primary's records (a follower that recorded would stop at once: its log refuses records).
Real nodes on three local nats-servers, as failover_test.py.

    replicated_drops_test.py build/stampede
"""
import hashlib
import hmac
import signal
import time
from datetime import datetime, timezone

from failover_harness import ClusterTest, FAILOVER_BOUND_S, JWT_SECRET, main, make_token


def rfc3339(t):
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (int(t * 1000) % 1000)


def admission_token(secret, user, drop_id, expires_ms):
    """A Stampede-Admission token as core/drop_admission.cc makes one with `secret`."""
    key = hmac.new(secret.encode(), b"stampede admission token v1", hashlib.sha256).digest()
    mac = hmac.new(key, ("%s\n%s\n%d" % (user, drop_id, expires_ms)).encode(), hashlib.sha256)
    return "%d.%s.%s" % (expires_ms, mac.hexdigest(), drop_id)


class ReplicatedDrops(ClusterTest):
    def product(self, node, pid, on_hand, **fields):
        body = {"id": pid, "name": "Limited", "price": 1000, "on_hand": on_hand}
        body.update(fields)
        status, _, p = node.request("POST", "/v1/admin/products", body)
        self.assertEqual(status, 201, p)

    def add(self, node, user, pid, admission=None):
        headers = {"Stampede-Admission": admission} if admission else None
        return node.request("POST", "/v1/cart/items", {"product_id": pid, "quantity": 1},
                            token=make_token(user), headers=headers)

    def order(self, node, user, line1):
        token = make_token(user)
        status, _, adr = node.request("POST", "/v1/addresses", {
            "name": "Ada", "line1": line1, "city": "Springfield", "postal_code": "1",
            "country": "US"}, token=token)
        self.assertEqual(status, 201, adr)
        return node.request("POST", "/v1/orders", {"shipping_address_id": adr["id"],
                                                   "shipping_method": "standard"}, token=token)

    def take_over(self, a, b):
        b.wait_caught_up(a)
        a.kill()
        b.wait_role("primary", timeout=FAILOVER_BOUND_S + 5)

    def test_a_drop_made_while_the_standby_followed_still_needs_admission_after_a_takeover(self):
        a, b = self.pair()
        self.product(a, "sku-drop", 10)
        opens_at = time.time() + 0.5
        status, _, d = a.request("POST", "/v1/admin/drops", {
            "id": "fall", "product_ids": ["sku-drop"], "opens_at": rfc3339(opens_at), "mode": "queue"})
        self.assertEqual(status, 201, d)
        time.sleep(max(0.0, opens_at - time.time()) + 0.2)
        status, _, body = self.add(a, "early", "sku-drop")
        self.assertEqual((status, body["error"]["code"]), (403, "not_admitted"), body)
        self.take_over(a, b)
        status, _, body = self.add(b, "sneaky", "sku-drop")
        self.assertEqual(status, 403, body)
        self.assertEqual(body["error"]["code"], "not_admitted", body)
        # The queue still lets the admitted in on the new primary.
        status, _, t = b.request("POST", "/v1/drops/fall/queue", token=make_token("fair"))
        self.assertIn(status, (200, 201), t)
        deadline = time.monotonic() + 10
        while t["state"] != "admitted" and time.monotonic() < deadline:
            time.sleep(0.1)
            t = b.request("GET", "/v1/drops/fall/queue/me", token=make_token("fair"))[2]
        self.assertEqual(t["state"], "admitted", t)
        status, _, cart = self.add(b, "fair", "sku-drop", t["admission_token"])
        self.assertEqual(status, 200, cart)

    def test_admission_tokens_are_keyed_by_the_nodes_secret_not_the_development_one(self):
        # A replicated node once built its engine without the JWT secret, so its admission
        # tokens were keyed by the development secret, which is in the source: anyone could
        # make one. One made with the node's own secret is what the queue hands out.
        a = self.node("a")
        a.wait_role("primary")
        self.product(a, "sku-keyed", 10)
        opens_at = time.time() + 0.5
        status, _, d = a.request("POST", "/v1/admin/drops", {
            "id": "keyed", "product_ids": ["sku-keyed"], "opens_at": rfc3339(opens_at), "mode": "queue"})
        self.assertEqual(status, 201, d)
        time.sleep(max(0.0, opens_at - time.time()) + 0.2)
        expires_ms = int((time.time() + 600) * 1000)
        forged = admission_token("stampede-dev-secret", "forger", "keyed", expires_ms)
        status, _, body = self.add(a, "forger", "sku-keyed", forged)
        self.assertEqual((status, body.get("error", {}).get("code")), (403, "not_admitted"), body)
        own = admission_token(JWT_SECRET, "holder", "keyed", expires_ms)
        status, _, cart = self.add(a, "holder", "sku-keyed", own)
        self.assertEqual(status, 200, cart)

    def test_a_standby_leaves_the_opening_of_a_drop_to_its_primary(self):
        # The primary is stopped before the opening instant and the standby's clock passes it;
        # a takeover would end the test, so it is put far off.
        a, b = self.pair(takeover_ms=20000)
        self.product(a, "sku-clock", 10)
        opens_at = time.time() + 4.0  # room for the standby to catch up on a busy machine
        status, _, d = a.request("POST", "/v1/admin/drops", {
            "id": "clock", "product_ids": ["sku-clock"], "opens_at": rfc3339(opens_at), "mode": "queue"})
        self.assertEqual(status, 201, d)
        b.wait_caught_up(a)
        self.assertLess(time.time(), opens_at, "too slow to stop the primary before the opening")
        a.signal(signal.SIGSTOP)
        try:
            time.sleep(opens_at - time.time() + 1.0)
            self.assertIsNone(b.proc.poll(), b.log())
            self.assertEqual(b.role(), "standby")
        finally:
            a.signal(signal.SIGCONT)
        # The primary opens it, and the standby follows.
        b.wait_caught_up(a)
        self.assertIsNone(b.proc.poll(), b.log())
        status, _, t = a.request("POST", "/v1/drops/clock/queue", token=make_token("after"))
        self.assertEqual((status, t["state"]), (201, "waiting"), t)

    def test_an_address_limit_counts_the_orders_placed_before_a_takeover(self):
        a, b = self.pair()
        self.product(a, "sku-lim", 10, max_per_address=1)
        self.assertEqual(self.add(a, "first", "sku-lim")[0], 200)
        status, _, o = self.order(a, "first", "1 Main St")
        self.assertEqual(status, 201, o)
        self.take_over(a, b)
        self.assertEqual(self.add(b, "second", "sku-lim")[0], 200)
        status, _, body = self.order(b, "second", "1 MAIN ST.")
        self.assertEqual(status, 409, body)
        self.assertEqual(body["error"]["code"], "limit_exceeded", body)
        self.assertEqual(body["error"]["details"]["scope"], "address", body)


if __name__ == "__main__":
    main()
