"""Crash test over HTTP: clients place, pay and cancel orders while the test kill -9s the
server at random moments and restarts it on the same data directory. After every restart:
every acknowledged order is back with its acknowledged status (or one a request still in
flight could have moved it to), every product keeps reserved + committed <= on_hand, and
committed equals the units in orders that are not canceled.

Usage: crash_test.py PATH_TO_STAMPEDE [CYCLES]
"""
import os
import random
import sys
import shutil
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server"))
from harness import Client, Server, make_token  # noqa: E402

BINARY = None
CYCLES = 20
ADMIN = make_token("root", role="admin")
PRODUCTS = ["p%d" % i for i in range(5)]
# What an order acknowledged in one status may be found in after a crash: a later request
# may have reached the log without its answer reaching the client.
MAY_BECOME = {"pending": {"pending", "paid", "canceled"}, "paid": {"paid", "canceled"},
              "canceled": {"canceled"}}


# Snapshots every second and 1 MB log segments, so kills land during snapshot rounds, after
# them (covered segments deleted) and mid-rotation.
SERVER_ARGS = ("--shards", "2", "--snapshot-interval", "1", "--segment-mb", "1")


class Crash(unittest.TestCase):
    def test_acknowledged_orders_survive_kill_9_and_stock_stays_exact(self):
        data_dir = tempfile.mkdtemp(prefix="stampede-crash-")
        self.addCleanup(shutil.rmtree, data_dir, True)
        rng = random.Random(20261122)
        acknowledged = {}  # order id -> (owner token, last acknowledged status)
        lock = threading.Lock()
        server = Server(BINARY, *SERVER_ARGS, data_dir=data_dir)
        admin = Client(server.port, ADMIN)
        for p in PRODUCTS:
            self.assertEqual(admin.request("POST", "/v1/admin/products",
                                           {"id": p, "name": p, "price": 100, "on_hand": 400})[0], 201)
        admin.close()
        total_acked = 0
        for cycle in range(CYCLES):
            stop = threading.Event()

            def shopper(worker):
                r = random.Random(cycle * 100 + worker)
                user = "c%d-w%d" % (cycle, worker)
                token = make_token(user)
                c = Client(server.port, token)
                try:
                    addr = c.request("POST", "/v1/addresses", {"name": "N", "line1": "L", "city": "C",
                                                               "postal_code": "1", "country": "GB"})[2]["id"]
                    mine = []
                    while not stop.is_set():
                        choice = r.random()
                        if choice < 0.45 or not mine:
                            c.request("POST", "/v1/cart/items", {"product_id": r.choice(PRODUCTS),
                                                                 "quantity": r.randint(1, 3)})
                            status, _, body, _ = c.request("POST", "/v1/orders", {
                                "shipping_address_id": addr, "shipping_method": "standard"})
                            if status == 201:
                                with lock:
                                    acknowledged[body["id"]] = (token, "pending")
                                mine.append(body)
                        elif choice < 0.75:
                            o = r.choice(mine)
                            status, _, body, _ = c.request("POST", "/v1/orders/%s/payments" % o["id"], {
                                "method": "card", "amount": o["total"],
                                "card": {"number": "4242424242424242", "exp_month": 12,
                                         "exp_year": 2030, "cvc": "123"}})
                            if status == 201:
                                with lock:
                                    acknowledged[o["id"]] = (token, "paid")
                        else:
                            o = r.choice(mine)
                            status, _, body, _ = c.request("POST", "/v1/orders/%s/cancel" % o["id"])
                            if status == 200:
                                with lock:
                                    acknowledged[o["id"]] = (token, "canceled")
                except Exception:
                    pass  # the server died under us: what was acknowledged is recorded
                finally:
                    c.close()

            threads = [threading.Thread(target=shopper, args=(w,)) for w in range(8)]
            for t in threads:
                t.start()
            time.sleep(rng.uniform(0.05, 1.5))
            server.kill()
            stop.set()
            for t in threads:
                t.join()
            server = Server(BINARY, *SERVER_ARGS, data_dir=data_dir)
            self.check(server, acknowledged, cycle)
            total_acked = len(acknowledged)
        self.assertEqual(server.stop(), 0)
        print("crash test: %d cycles, %d acknowledged orders checked after every restart"
              % (CYCLES, total_acked), file=sys.stderr)
        self.assertGreater(total_acked, CYCLES * 5)

    def check(self, server, acknowledged, cycle):
        admin = Client(server.port, ADMIN)
        try:
            for order_id, (token, status) in list(acknowledged.items()):
                got_status, _, body, _ = admin.request("GET", "/v1/orders/" + order_id)
                self.assertEqual(got_status, 200, "cycle %d: acknowledged order %s is gone" % (cycle, order_id))
                self.assertIn(body["status"], MAY_BECOME[status],
                              "cycle %d: order %s was acknowledged %s, came back %s"
                              % (cycle, order_id, status, body["status"]))
                acknowledged[order_id] = (token, body["status"])
            live_units = {p: 0 for p in PRODUCTS}
            cursor = None
            while True:
                path = "/v1/admin/orders?limit=200" + ("&cursor=" + cursor if cursor else "")
                page = admin.request("GET", path)[2]
                for o in page["items"]:
                    if o["status"] != "canceled":
                        for item in o["items"]:
                            live_units[item["product_id"]] += item["quantity"]
                cursor = page["next_cursor"]
                if not cursor:
                    break
            for p in PRODUCTS:
                v = admin.request("GET", "/v1/admin/products/" + p)[2]
                self.assertLessEqual(v["reserved"] + v["committed"], v["on_hand"], "cycle %d: %s" % (cycle, p))
                self.assertEqual(v["committed"], live_units[p], "cycle %d: %s" % (cycle, p))
        finally:
            admin.close()


if __name__ == "__main__":
    BINARY = sys.argv.pop(1)
    if len(sys.argv) > 1 and sys.argv[1].isdigit():
        CYCLES = int(sys.argv.pop(1))
    unittest.main(verbosity=1)
