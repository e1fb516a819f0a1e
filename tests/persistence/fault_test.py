"""Fault injection: the Nth fdatasync or write of the WAL fails (an LD_PRELOAD shim). The
server must not acknowledge what that I/O carried, must exit non-zero, and a restart on the
same data directory must have every acknowledged order.

Usage: fault_test.py PATH_TO_STAMPEDE PATH_TO_LIBFAIL_IO
"""
import os
import subprocess
import sys
import shutil
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server"))
from harness import Client, Server, make_token  # noqa: E402

BINARY = None
SHIM = None
ADMIN = make_token("root", role="admin")


class Faults(unittest.TestCase):
    def run_until_the_disk_fails(self, variable, at):
        data_dir = tempfile.mkdtemp(prefix="stampede-fault-")
        self.addCleanup(shutil.rmtree, data_dir, True)
        # First start: a catalog, on a healthy disk.
        server = Server(BINARY, "--shards", "2", data_dir=data_dir)
        admin = Client(server.port, ADMIN)
        self.assertEqual(admin.request("POST", "/v1/admin/products",
                                       {"id": "p", "name": "P", "price": 100, "on_hand": 10000})[0], 201)
        admin.close()
        self.assertEqual(server.stop(), 0)
        # Second start: the disk fails at the Nth call.
        # verify_asan_link_order=0: in the ASan build the shim is preloaded ahead of the ASan
        # runtime, which ASan otherwise refuses; other builds ignore the variable.
        env = dict(os.environ, LD_PRELOAD=SHIM, ASAN_OPTIONS="verify_asan_link_order=0:detect_leaks=1",
                   **{variable: str(at)})
        old_env = os.environ.copy()
        os.environ.update(env)
        try:
            server = Server(BINARY, "--shards", "2", data_dir=data_dir)
        finally:
            os.environ.clear()
            os.environ.update(old_env)
        # A server that kept running on the failed disk must not outlive the test.
        self.addCleanup(lambda proc=server.proc: proc.poll() is None and (proc.kill(), proc.wait()))
        acked = []
        lock = threading.Lock()

        def shopper(w):
            c = Client(server.port, make_token("f%d" % w))
            try:
                addr = c.request("POST", "/v1/addresses", {"name": "N", "line1": "L", "city": "C",
                                                           "postal_code": "1", "country": "GB"})[2]["id"]
                for _ in range(200):
                    c.request("POST", "/v1/cart/items", {"product_id": "p", "quantity": 1})
                    status, _, body, _ = c.request("POST", "/v1/orders", {
                        "shipping_address_id": addr, "shipping_method": "standard"})
                    if status == 201:
                        with lock:
                            acked.append(body["id"])
            except Exception:
                pass
            finally:
                c.close()

        threads = [threading.Thread(target=shopper, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        code = server.proc.wait(timeout=10)
        err = server.proc.stderr.read()
        server.proc.stdout.close()
        server.proc.stderr.close()
        self.assertNotEqual(code, 0, "the server kept running on a failed disk")
        self.assertIn("fatal: WAL", err)
        # Third start, healthy disk: everything acknowledged is there.
        server = Server(BINARY, "--shards", "2", data_dir=data_dir)
        admin = Client(server.port, ADMIN)
        try:
            for order_id in acked:
                self.assertEqual(admin.request("GET", "/v1/orders/" + order_id)[0], 200, order_id)
            p = admin.request("GET", "/v1/admin/products/p")[2]
            self.assertLessEqual(p["reserved"] + p["committed"], p["on_hand"])
            self.assertGreaterEqual(p["committed"], len(acked))
        finally:
            admin.close()
            self.assertEqual(server.stop(), 0)
        return acked

    def test_a_failed_fdatasync_stops_the_server_and_loses_nothing_acknowledged(self):
        for at in (20, 57):
            acked = self.run_until_the_disk_fails("STAMPEDE_FAIL_FDATASYNC_AT", at)
            self.assertGreater(len(acked), 0)

    def test_a_failed_write_stops_the_server_and_loses_nothing_acknowledged(self):
        for at in (15, 41):
            acked = self.run_until_the_disk_fails("STAMPEDE_FAIL_WRITE_AT", at)
            self.assertGreater(len(acked), 0)


if __name__ == "__main__":
    BINARY = sys.argv.pop(1)
    SHIM = sys.argv.pop(1)
    unittest.main(verbosity=1)
