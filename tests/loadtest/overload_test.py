"""The overload tool (loadtest/overload): its figures against a real `stampede serve`, and
its counting of shed and unanswered requests against stand-ins that shed everything or
answer nothing.

    overload_test.py path/to/overload path/to/stampede
"""
import json
import os
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from standin import NEVER, StandIn, free_port, harness, run_tool  # noqa: E402

OVERLOAD = STAMPEDE = None


def product_or_404(method, path):
    """What a stand-in answers to the tool's set-up: the product exists."""
    if method == "GET" and path.startswith("/v1/admin/products/"):
        return (200, {"id": "overload-item", "on_hand": 1000000000})
    if method == "GET" and path.startswith("/v1/products/"):
        return (200, {"id": "overload-item", "available": 1000000000})
    return None


def refuse_all(method, path, headers, body):
    """A stand-in that sheds every load request."""
    return product_or_404(method, path) or (
        503, {"error": {"code": "overloaded", "message": "busy"}}, {"Retry-After": "1"})


def accept_all(method, path, headers, body):
    """A stand-in that serves every load request."""
    return product_or_404(method, path) or (200, {"item_count": 1})


# The load alone: no probes, no reads, nothing before it.
LOAD_ONLY = ("--before", "0", "--probe-rate", "0", "--read-rate", "0")
# The throttle's tests: that, on a few connections, 1 s after.
THROTTLED = LOAD_ONLY + ("--after", "1", "--connections", "8", "--client-throttle", "2")


class OverloadTool(unittest.TestCase):
    def run_overload(self, port, *args):
        out_dir = tempfile.mkdtemp(prefix="overload-test-")
        self.addCleanup(shutil.rmtree, out_dir, True)
        out = os.path.join(out_dir, "out.json")
        code, stdout, stderr = run_tool([OVERLOAD, "--target", "http://127.0.0.1:%d" % port,
                                         "--jwt-secret", harness.JWT_SECRET, "--json", out] + list(args))
        self.assertEqual(code, 0, stdout + stderr)
        with open(out) as f:
            return json.load(f), stdout

    def test_every_request_is_accounted_for_against_a_real_server(self):
        server = harness.Server(STAMPEDE, "--shards", "1", "--rate-limit", "0")
        try:
            figures, stdout = self.run_overload(server.port, "--rate", "400", "--seconds", "1",
                                                "--before", "0.5", "--after", "1", "--users", "50")
            self.assertEqual(figures["requests"], 400)
            self.assertEqual(figures["ok"] + figures["shed"]["count"] + figures["other"] + figures["unanswered"], 400)
            self.assertEqual(figures["served"]["count"], figures["ok"])
            self.assertGreater(figures["ok"], 0)
            self.assertLessEqual(figures["ok_during_load"], figures["ok"])
            self.assertAlmostEqual(figures["goodput_per_s"], figures["ok_during_load"] / 1.0)
            self.assertGreater(figures["reads"]["count"], 0)
            self.assertIn("back to normal", stdout)
            # What the tool added is what the server holds: one unit an answered add.
            admin = harness.Client(server.port, harness.make_token("root", role="admin"))
            status, _, product, _ = admin.request("GET", "/v1/admin/products/overload-item")
            self.assertEqual(status, 200)
            # The probes add too, as other users: 50 a second for 2.5 s.
            self.assertGreaterEqual(product["reserved"], figures["ok"])
            self.assertLessEqual(product["reserved"], figures["ok"] + 125)
            admin.close()
        finally:
            server.stop()

    def test_shed_answers_are_counted_with_their_latency(self):
        stand_in = StandIn(refuse_all)
        try:
            figures, _ = self.run_overload(stand_in.port, "--rate", "200", "--seconds", "0.5",
                                           "--after", "2", "--connections", "8", *LOAD_ONLY)
            self.assertEqual(figures["requests"], 100)
            self.assertEqual(figures["shed"]["count"], 100)
            self.assertEqual(figures["ok"], 0)
            self.assertEqual(figures["goodput_per_s"], 0)
            self.assertGreater(figures["shed"]["max_ms"], 0)
            self.assertEqual(stand_in.count("POST", "/v1/cart/items"), 100)
        finally:
            stand_in.stop()

    def test_a_client_that_throttles_itself_stops_sending_to_a_server_that_refuses_everything(self):
        stand_in = StandIn(refuse_all)
        try:
            figures, stdout = self.run_overload(stand_in.port, "--rate", "1000", "--seconds", "1", *THROTTLED)
            sent = stand_in.count("POST", "/v1/cart/items")
            self.assertEqual(figures["requests"], 1000)
            self.assertEqual(figures["shed"]["count"], sent)
            self.assertEqual(figures["throttled"], 1000 - sent)
            # Nothing accepted: after the first few, a request goes out with probability
            # 1 / (attempts + 1), so about ln(1000) of them in all.
            self.assertGreater(sent, 0)
            self.assertLess(sent, 50)
            self.assertIn("throttled here", stdout)
            self.assertEqual(sum(r["throttled"] for r in figures["per_second"]), 1000 - sent)
        finally:
            stand_in.stop()

    def test_a_client_that_throttles_itself_holds_nothing_back_while_all_is_accepted(self):
        stand_in = StandIn(accept_all)
        try:
            figures, _ = self.run_overload(stand_in.port, "--rate", "100", "--seconds", "3", *THROTTLED)
            # Only requests due before the first answers were back (n attempts and none
            # accepted: n in n + 1) may be held back, and only until the accepted ones make
            # up for them: a slow first answer on a loaded machine holds back more of the
            # first second. After that every request goes out.
            self.assertLessEqual(figures["throttled"], 50)
            self.assertEqual([r["throttled"] for r in figures["per_second"][1:3]], [0, 0], figures["per_second"])
            self.assertEqual(figures["ok"], 300 - figures["throttled"])
            self.assertEqual(stand_in.count("POST", "/v1/cart/items"), figures["ok"])
        finally:
            stand_in.stop()

    def test_the_wait_for_a_free_connection_is_told_apart_from_the_servers_part(self):
        def slow(method, path, headers, body):
            if method == "POST":
                time.sleep(0.05)
            return accept_all(method, path, headers, body)
        stand_in = StandIn(slow)
        try:
            # 20 requests due over 0.5 s, on one connection that takes 50 ms a request: they
            # queue here, so the last is answered about 0.5 s after it was due, but each
            # about 50 ms after it was written.
            figures, stdout = self.run_overload(stand_in.port, "--rate", "40", "--seconds", "0.5",
                                                "--after", "1", "--connections", "1", *LOAD_ONLY)
            self.assertEqual(figures["ok"], 20)
            self.assertEqual(figures["served_from_sent"]["count"], 20)
            self.assertGreaterEqual(figures["served_from_sent"]["p50_ms"], 45)
            self.assertGreater(figures["served"]["max_ms"] - figures["served_from_sent"]["max_ms"], 300)
            self.assertIn("from when each was written here", stdout)
        finally:
            stand_in.stop()

    def test_no_setup_sends_nothing_to_the_admin_api(self):
        # A peer such as nginx has no admin API: without --no-setup the tool cannot start
        # against it; with it, the load runs and not one admin request is sent.
        def peer(method, path, headers, body):
            if path.startswith("/v1/admin/"):
                return (404, {"error": {"code": "not_found", "message": "no admin here"}})
            if method == "GET" and path.startswith("/v1/products/"):
                return (200, {"id": "overload-item"})
            return (503, {"error": {"code": "overloaded", "message": "busy"}}, {"Retry-After": "1"})
        stand_in = StandIn(peer)
        try:
            args = ["--rate", "100", "--seconds", "0.3", "--before", "0", "--after", "2",
                    "--probe-rate", "0", "--read-rate", "20", "--connections", "8"]
            code, _, err = run_tool([OVERLOAD, "--target", "http://127.0.0.1:%d" % stand_in.port,
                                     "--jwt-secret", harness.JWT_SECRET] + args)
            self.assertEqual(code, 2, err)
            admin_before = stand_in.count("GET", "/v1/admin/") + stand_in.count("POST", "/v1/admin/")
            self.assertGreater(admin_before, 0)
            figures, _ = self.run_overload(stand_in.port, "--no-setup", *args)
            self.assertEqual(figures["shed"]["count"], 30)
            self.assertGreater(figures["reads"]["count"], 0)
            admin_after = stand_in.count("GET", "/v1/admin/") + stand_in.count("POST", "/v1/admin/")
            self.assertEqual(admin_after, admin_before)
        finally:
            stand_in.stop()

    def test_requests_never_answered_count_as_unanswered(self):
        def silent(method, path, headers, body):
            return product_or_404(method, path) or NEVER
        stand_in = StandIn(silent)
        try:
            figures, stdout = self.run_overload(stand_in.port, "--rate", "100", "--seconds", "0.3",
                                                "--before", "0", "--after", "0.5", "--probe-rate", "20",
                                                "--read-rate", "0", "--connections", "64",
                                                "--timeout-ms", "300")
            self.assertEqual(figures["requests"], 30)
            self.assertEqual(figures["unanswered"], 30)
            self.assertEqual(figures["ok"], 0)
            self.assertIsNone(figures["recovery_s"])  # the probes after the stop got nothing either
            self.assertIn("not within", stdout)
        finally:
            stand_in.stop()

    def test_bad_flags_and_an_unreachable_target_exit_2(self):
        for args in (["--rate", "fast"], ["--seconds", "1"], ["--bogus", "1"],
                     ["--rate", "10", "--target", "https://127.0.0.1:1"]):
            code, _, err = run_tool([OVERLOAD] + args)
            self.assertEqual(code, 2, (args, err))
        code, _, err = run_tool([OVERLOAD, "--rate", "10", "--target", "http://127.0.0.1:%d" % free_port()])
        self.assertEqual(code, 2, err)
        self.assertIn("127.0.0.1", err)


if __name__ == "__main__":
    OVERLOAD, STAMPEDE = sys.argv[1], sys.argv[2]
    unittest.main(argv=[sys.argv[0]], verbosity=2)
