"""Standbys and read replicas of `stampede serve --replicate`: what they serve, what they
refuse (503 not_primary with the primary's URL, after size limits and before
authentication), /readyz and GET /v1/admin/cluster as API.md says, and a replica serving
product reads and the product topic while the primary takes orders.

    replica_test.py build/stampede [TestName]
"""
import time

from failover_harness import (ClusterTest, Shoppers, create_product, main, make_token,
                              STEADY_TAKEOVER_MS, TAKEOVER_MS)
from harness import WebSocket


class Standby(ClusterTest):
    def test_a_standby_answers_changes_with_not_primary_and_the_primarys_url(self):
        a, b = self.pair(takeover_ms=STEADY_TAKEOVER_MS)
        create_product(a, "sku-s", 5)
        user = make_token("someone")
        status, headers, body = b.request("POST", "/v1/cart/items", {"product_id": "sku-s", "quantity": 1},
                                          token=user)
        self.assertEqual(status, 503, body)
        self.assertEqual(headers.get("retry-after"), "1")
        self.assertEqual(body["error"]["code"], "not_primary")
        self.assertEqual(body["error"]["details"]["primary"], a.url)
        # Before authentication: no token, a bad token, an admin route, a read of user state.
        for method, path, token in [("POST", "/v1/cart/items", None), ("POST", "/v1/cart/items", "bad"),
                                    ("POST", "/v1/admin/products", None), ("GET", "/v1/cart", user),
                                    ("GET", "/v1/orders", None), ("GET", "/v1/notifications", user)]:
            status, _, body = b.request(method, path, {"x": 1} if method == "POST" else None, token=token)
            self.assertEqual(status, 503, (method, path, body))
            self.assertEqual(body["error"]["code"], "not_primary")
        # Size limits first.
        status, _, _ = b.request("POST", "/v1/cart/items", {"x": "y" * (70 * 1024)}, token=user)
        self.assertEqual(status, 413)
        # What a standby serves.
        b.wait_caught_up(a)
        status, _, p = b.request("GET", "/v1/products/sku-s", token=None)
        self.assertEqual((status, p["available"]), (200, 5), p)
        status, _, page = b.request("GET", "/v1/products", token=None)
        self.assertEqual(status, 200)
        self.assertIn("sku-s", [x["id"] for x in page["items"]])
        status, _, methods = b.request("GET", "/v1/shipping-methods", token=None)
        self.assertEqual(status, 200)
        self.assertIn("standard", [m["id"] for m in methods["items"]])
        # On the WebSocket, product topics only; the others name the primary.
        admin = make_token("root", role="admin")
        ws = WebSocket(b.port, token=admin)
        self.addCleanup(ws.close)
        self.assertEqual(ws.status, 101)
        for topic in ("orders", "order:ord_0000000000000000000001", "admin:orders", "admin:stats", "queue:d1"):
            ws.send({"op": "subscribe", "topic": topic})
            m = ws.recv(10)
            self.assertEqual((m["type"], m["code"]), ("error", "not_primary"), (topic, m))
            self.assertIn(a.url, m["message"])
        ws.send({"op": "subscribe", "topic": "product:sku-s"})
        m = ws.recv(10)
        self.assertEqual((m["type"], m["snapshot"]["available"]), ("subscribed", 5), m)
        # The primary takes the same change.
        status, _, _ = a.request("POST", "/v1/cart/items", {"product_id": "sku-s", "quantity": 1}, token=user)
        self.assertEqual(status, 200)

    def test_readyz_and_the_cluster_route_say_who_is_primary(self):
        a, b = self.pair(takeover_ms=STEADY_TAKEOVER_MS)
        status, _, body = a.request("GET", "/readyz", token=None)
        self.assertEqual(status, 200)
        status, _, body = b.request("GET", "/readyz", token=None)
        self.assertEqual((status, body), (503, {"status": "standby", "primary": a.url}))
        create_product(a, "sku-c", 3)
        b.wait_caught_up(a)
        for node, role in ((a, "primary"), (b, "standby")):
            view = node.cluster_view()
            self.assertEqual(set(view), {"node_id", "role", "epoch", "primary", "shards"}, view)
            self.assertEqual(view["node_id"], node.node_id)
            self.assertEqual(view["role"], role)
            self.assertIsInstance(view["epoch"], int)
            self.assertEqual(view["primary"], {"node_id": "a", "url": a.url})
            self.assertEqual([s["shard"] for s in view["shards"]], [0, 1])
            for s in view["shards"]:
                self.assertEqual(set(s), {"shard", "applied_seq", "last_seq", "lag"})
                self.assertIsInstance(s["lag"], int)
                self.assertGreaterEqual(s["lag"], 0)
        self.assertEqual(a.cluster_view()["epoch"], b.cluster_view()["epoch"])
        status, _, body = b.request("GET", "/v1/admin/cluster", token=make_token("not-an-admin"))
        self.assertEqual(status, 403, body)
        status, _, text = b.request("GET", "/metrics", token=None)
        self.assertEqual(status, 200)
        self.assertIn("stampede_replication_lag", text)


class Replica(ClusterTest):
    def test_a_replica_serves_product_reads_and_the_product_topic_while_the_primary_takes_orders(self):
        a = self.node("a")
        a.wait_role("primary")
        r = self.node("r", role="replica")
        r.wait_role("replica")
        create_product(a, "sku-p", 60)
        r.wait_caught_up(a)
        ws = WebSocket(r.port)
        self.assertEqual(ws.status, 101)
        ws.send({"op": "subscribe", "topic": "product:sku-p"})
        first = ws.recv(10)
        self.assertEqual(first["type"], "subscribed")
        self.assertEqual(first["snapshot"]["available"], 60)
        # Read on fresh connections (so on each shard's), before the sales: every read after
        # them must show them, not an answer the replica rendered and kept.
        for _ in range(8):
            self.assertEqual(r.request("GET", "/v1/products/sku-p", token=None)[2]["available"], 60)
        shoppers = Shoppers([a], "sku-p", threads=2).start()
        seen = first["snapshot"]["available"]
        deadline = time.monotonic() + 30
        while seen > 50 and time.monotonic() < deadline:
            m = ws.recv(30)
            if m.get("type") == "product.availability":
                self.assertLessEqual(m["available"], seen)
                seen = m["available"]
        shoppers.stop()
        self.assertLessEqual(seen, 50, "the replica's topic followed the primary's sales")
        r.wait_caught_up(a)
        _, _, on_a = a.request("GET", "/v1/admin/products/sku-p")
        for _ in range(8):
            status, _, on_r = r.request("GET", "/v1/products/sku-p", token=None)
            self.assertEqual(status, 200)
            self.assertEqual(on_r["available"], on_a["available"],
                             "a replica's available counts the holds and orders it applied")
        ws.close()
        status, _, body = r.request("POST", "/v1/cart/items", {"product_id": "sku-p", "quantity": 1},
                                    token=make_token("x"))
        self.assertEqual((status, body["error"]["details"]["primary"]), (503, a.url))
        # A replica never takes over.
        a.kill()
        time.sleep(3 * TAKEOVER_MS / 1000)
        self.assertEqual(r.role(), "replica")
        status, _, body = r.request("GET", "/readyz", token=None)
        self.assertEqual(body["status"], "replica")


if __name__ == "__main__":
    main()
