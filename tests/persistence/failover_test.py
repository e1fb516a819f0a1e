"""Failover of real `stampede serve --replicate` nodes on three local nats-servers: the
primary killed under concurrent orders, the zombie (a paused primary that comes back after
a takeover), a killed node rejoining, a new node seeded from the primary's snapshot, and
idempotency across a failover.

    failover_test.py build/stampede [TestName]
"""
import signal
import threading
import time

from failover_harness import (ClusterTest, Shoppers, check_store, create_product, main,
                              make_token, primary_of, FAILOVER_BOUND_S, STEP_DOWN_BOUND_S)

# How long the primary gets to snapshot and purge its streams (persistence/replication_node.h
# purges every 10 s), polled.
PURGE_WAIT_S = 60


class Failover(ClusterTest):
    def test_the_primary_killed_under_orders_the_standby_takes_over_losing_nothing(self):
        a, b = self.pair()
        create_product(a, "sku-1", 400)
        shoppers = Shoppers([a, b], "sku-1", threads=4).start()
        deadline = time.monotonic() + 30
        while len(shoppers.orders) < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertGreaterEqual(len(shoppers.orders), 20, shoppers.errors)
        killed_at = time.monotonic()
        a.kill()
        b.wait_role("primary", timeout=FAILOVER_BOUND_S + 5)
        deadline = time.monotonic() + 30
        while "b" not in shoppers.first_ack_at and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(2)  # orders go on against the new primary
        shoppers.stop()
        self.assertIn("b", shoppers.first_ack_at, "the new primary acknowledged nothing")
        failover_s = shoppers.first_ack_at["b"] - killed_at
        print("kill -9 to the first change acknowledged by the standby: %.2f s" % failover_s)
        self.assertLess(failover_s, FAILOVER_BOUND_S)
        self.assertEqual(shoppers.errors, [])
        by = {"a": 0, "b": 0}
        for _, node_id, _ in shoppers.orders.values():
            by[node_id] += 1
        self.assertGreater(by["a"], 0)
        self.assertGreater(by["b"], 0)
        check_store(self, b, "sku-1", shoppers.orders)

    def test_a_paused_primary_acknowledges_nothing_after_the_takeover_and_steps_down(self):
        a, b = self.pair()
        create_product(a, "sku-z", 100)
        zombie_user = make_token("zombie-user")
        a.signal(signal.SIGSTOP)
        # A request that reaches the paused primary waits in its socket until it resumes.
        answer = {}
        sent = threading.Thread(target=lambda: answer.update(
            r=a.request("POST", "/v1/cart/items", {"product_id": "sku-z", "quantity": 1},
                        token=zombie_user, timeout=60)))
        sent.start()
        b.wait_role("primary", timeout=FAILOVER_BOUND_S + 5)
        status, _, cart = b.request("POST", "/v1/cart/items", {"product_id": "sku-z", "quantity": 2},
                                    token=make_token("new-primary-user"))
        self.assertEqual(status, 200, cart)
        # While the deposed primary rebuilds its store, a read of a product it has is never
        # a 404 (a 503 while it rebuilds), and it never names itself as the primary.
        seen = []
        watching = threading.Event()

        def watch():
            while not watching.is_set():
                product = a.request("GET", "/v1/products/sku-z", token=None, timeout=5)
                ready = a.request("GET", "/readyz", token=None, timeout=5)
                seen.append((product[0], product[2], ready[0], ready[2]))
        watcher = threading.Thread(target=watch)
        resumed_at = time.monotonic()
        a.signal(signal.SIGCONT)
        watcher.start()
        sent.join(60)
        status, _, body = answer["r"]
        self.assertNotEqual(status // 100, 2, "the deposed primary acknowledged a change: %r" % (body,))
        a.wait_role("standby", timeout=STEP_DOWN_BOUND_S)
        print("the deposed primary turned standby %.2f s after it resumed" % (time.monotonic() - resumed_at))
        time.sleep(0.2)
        watching.set()
        watcher.join(30)
        self.assertTrue(seen)
        for status, body, ready_status, ready in seen:
            self.assertIn(status, (0, 200, 503), body)  # 0: no listener for a moment, no answer
            if status == 503:
                self.assertIn(body["error"]["code"], ("overloaded", "not_primary"), body)
            if ready_status == 503 and isinstance(ready, dict):
                self.assertNotEqual(ready.get("primary"), a.url, ready)
        status, headers, body = a.request("POST", "/v1/cart/items", {"product_id": "sku-z", "quantity": 1},
                                          token=zombie_user)
        self.assertEqual(status, 503, body)
        self.assertEqual(body["error"]["code"], "not_primary")
        self.assertEqual(body["error"]["details"]["primary"], b.url)
        # Nothing of the zombie's is in the new primary's store.
        status, _, cart = b.request("GET", "/v1/cart", token=zombie_user)
        self.assertEqual(status, 200, cart)
        self.assertEqual(cart["items"], [])
        status, _, p = b.request("GET", "/v1/admin/products/sku-z")
        self.assertEqual(p["reserved"], 2, p)
        # And it follows the new primary.
        a.wait_caught_up(b)
        self.assertEqual(a.cluster_view()["epoch"], b.cluster_view()["epoch"])

    def test_after_every_node_stopped_and_started_the_epoch_goes_on_growing(self):
        a, b = self.pair()
        create_product(a, "sku-e", 10)
        b.wait_caught_up(a)
        before = a.cluster_view()["epoch"]
        self.assertGreaterEqual(before, 1)
        b.stop(remove=False)
        a.stop(remove=False)  # a clean stop: its last snapshot covers its whole stream
        a.start()
        a.wait_role("primary")
        b.start()
        b.wait_role("standby")
        b.wait_caught_up(a)
        after = a.cluster_view()["epoch"]
        self.assertGreater(after, before, "the epoch went back after a restart of every node")
        self.assertEqual(b.cluster_view()["epoch"], after)
        status, _, p = a.request("GET", "/v1/admin/products/sku-e")
        self.assertEqual((status, p["on_hand"]), (200, 10), p)

    def test_a_killed_node_restarted_on_its_data_rejoins_as_standby_and_catches_up(self):
        a, b = self.pair()
        create_product(a, "sku-r", 300)
        shoppers = Shoppers([a, b], "sku-r", threads=2).start()
        while len(shoppers.orders) < 10:
            time.sleep(0.05)
        a.kill()
        b.wait_role("primary", timeout=FAILOVER_BOUND_S + 5)
        while shoppers.first_ack_at.get("b") is None:
            time.sleep(0.05)
        time.sleep(1)
        a.start()  # the same data directory and flags
        a.wait_role("standby")
        time.sleep(1)
        shoppers.stop()
        mine = a.wait_caught_up(b)
        theirs = b.cluster_view()
        self.assertEqual(mine["role"], "standby")
        self.assertEqual(mine["epoch"], theirs["epoch"])
        self.assertEqual(mine["primary"], {"node_id": "b", "url": b.url})
        for s in mine["shards"]:
            self.assertEqual(s["lag"], 0, mine)
        _, _, pa = a.request("GET", "/v1/products/sku-r", token=None)
        _, _, pb = b.request("GET", "/v1/products/sku-r", token=None)
        self.assertEqual(pa["available"], pb["available"])
        for order_id in shoppers.orders:
            status, _, order = a.request("GET", "/v1/orders/" + order_id)
            self.assertEqual(status, 503, "a standby serves no orders")
            break
        check_store(self, b, "sku-r", shoppers.orders)

    def test_a_retry_on_the_new_primary_gets_the_first_answer_not_a_second_order(self):
        a, b = self.pair()
        create_product(a, "sku-i", 10)
        token = make_token("careful-shopper")
        status, _, _ = a.request("POST", "/v1/cart/items", {"product_id": "sku-i", "quantity": 1},
                                 token=token, headers={"Idempotency-Key": "cart-1"})
        self.assertEqual(status, 200)
        status, _, addr = a.request("POST", "/v1/addresses", {
            "name": "A", "line1": "1 Way", "city": "Town", "postal_code": "1", "country": "GB"},
            token=token)
        self.assertEqual(status, 201)
        body = {"shipping_address_id": addr["id"], "shipping_method": "standard"}
        c = a.client(token)
        status, _, first, first_raw = c.request("POST", "/v1/orders", body,
                                                headers={"Idempotency-Key": "order-1"})
        c.close()
        self.assertEqual(status, 201, first)
        a.kill()  # before the client could see the answer, say
        b.wait_role("primary", timeout=FAILOVER_BOUND_S + 5)
        c = b.client(token)
        status, headers, again, again_raw = c.request("POST", "/v1/orders", body,
                                                      headers={"Idempotency-Key": "order-1"})
        c.close()
        self.assertEqual(status, 201, again)
        self.assertEqual(headers.get("idempotent-replayed"), "true")
        self.assertEqual(again_raw, first_raw)
        status, _, orders = b.request("GET", "/v1/orders", token=token)
        self.assertEqual([o["id"] for o in orders["items"]], [first["id"]])
        status, _, p = b.request("GET", "/v1/admin/products/sku-i")
        self.assertEqual((p["committed"], p["reserved"]), (1, 0), p)

    def test_a_node_behind_the_purge_point_is_seeded_from_a_snapshot_and_oversells_nothing(self):
        a = self.node("a", extra=("--snapshot-interval", "1"))
        a.wait_role("primary")
        create_product(a, "sku-s", 60)
        shoppers = Shoppers([a], "sku-s", threads=2).start()
        while len(shoppers.orders) < 10:
            time.sleep(0.05)
        shoppers.stop()
        holders = [make_token("holder-%d" % i) for i in range(3)]
        for t in holders:  # holds: reserved units the snapshot must carry
            status, _, body = a.request("POST", "/v1/cart/items", {"product_id": "sku-s", "quantity": 2},
                                        token=t)
            self.assertEqual(status, 200, body)
        # Until a snapshot covers all that and every stream is purged past its first message.
        deadline = time.monotonic() + PURGE_WAIT_S
        while any((self.nats.stream_first_seq("STAMPEDE_shop_%d" % k) or 0) <= 1 for k in range(2)):
            self.assertLess(time.monotonic(), deadline, "the primary never purged its streams")
            time.sleep(0.5)
        # A tail after the snapshot's sequence: more orders, and a hold released.
        tail = Shoppers([a], "sku-s", threads=1).start()
        while len(tail.orders) < 3:
            time.sleep(0.05)
        tail.stop()
        status, _, _ = a.request("DELETE", "/v1/cart/items/sku-s", token=holders[0])
        self.assertEqual(status, 200)
        b = self.node("b")
        b.wait_role("standby", timeout=120)
        b.wait_caught_up(a, timeout=120)
        self.assertIn("seeded from", b.log(), "b was not seeded from a's snapshot")
        _, _, before = a.request("GET", "/v1/admin/products/sku-s")
        self.assertEqual((before["reserved"] > 0, before["committed"] > 0), (True, True), before)
        a.kill()
        b.wait_role("primary", timeout=FAILOVER_BOUND_S + 5)
        orders = dict(shoppers.orders, **tail.orders)
        after = check_store(self, b, "sku-s", orders)  # reserved + committed <= on_hand, ...
        for field in ("on_hand", "reserved", "committed", "available"):
            self.assertEqual(after[field], before[field], (before, after))


if __name__ == "__main__":
    main()
