"""`stampede rehearse` against a real `stampede serve`: a small sale whose audit passes and
whose figures agree with what the admin API lists, its HTML report, --compare; every audit
rule firing when a stand-in proxy lies one way at a time; coordinated omission (a stall
shows in the p99); exit 2 when the run cannot start (also against a target that never
answers, before anything is sent); a sale in a queue-mode drop whose queue figures are the
server's; a rerun that counts only its own orders; watchers reconnecting after their
WebSockets are cut.

    rehearse_test.py path/to/stampede [TestClass ...]
"""
import html.parser
import json
import os
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lying_proxy import LyingProxy  # noqa: E402
from standin import NEVER, StandIn, free_port, harness, run_tool  # noqa: E402

STAMPEDE = None
ADMIN = harness.make_token("auditor", role="admin")


def rehearse(port, *args, expect=None, timeout=120):
    """Runs a rehearsal against 127.0.0.1:port; (exit code, stdout, JSON, report text)."""
    with tempfile.TemporaryDirectory(prefix="rehearse-test-") as work:
        out_json, out_html = os.path.join(work, "run.json"), os.path.join(work, "run.html")
        code, stdout, stderr = run_tool(
            [STAMPEDE, "rehearse", "--target", "http://127.0.0.1:%d" % port, "--jwt-secret", harness.JWT_SECRET,
             "--gateway-secret", harness.GATEWAY_SECRET, "--json", out_json, "--report", out_html, "--quiet"]
            + list(args), timeout=timeout)
        if expect is not None and code != expect:
            raise AssertionError("exit %d, expected %d\n%s\n%s" % (code, expect, stdout, stderr))
        result = json.load(open(out_json)) if os.path.exists(out_json) else None
        report = open(out_html).read() if os.path.exists(out_html) else None
    return code, stdout, result, report


def admin_orders(port, product):
    client = harness.Client(port, ADMIN)
    orders, cursor = [], None
    while True:
        status, _, page, _ = client.request("GET", "/v1/admin/orders?limit=200" + ("&cursor=" + cursor if cursor else ""))
        assert status == 200, page
        orders += [o for o in page["items"] if any(i["product_id"] == product for i in o["items"])]
        cursor = page["next_cursor"]
        if not cursor:
            break
    status, _, view, _ = client.request("GET", "/v1/admin/products/" + product)
    client.close()
    return orders, view


class ReportParser(html.parser.HTMLParser):
    """Counts what a self-contained report must and must not have."""

    def __init__(self):
        super().__init__()
        self.svgs = 0
        self.titles = []
        self.scripts = 0
        self.external = []
        self.classes = []
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "svg":
            self.svgs += 1
        if tag == "script":
            self.scripts += 1
        if tag == "title":
            self._in_title = True
        for key in ("src", "href"):
            if key in a:
                self.external.append(a[key])
        if "class" in a:
            self.classes.append(a["class"])

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.titles.append(data)


def parsed(report):
    p = ReportParser()
    p.feed(report)
    p.close()
    return p


class WithServer(unittest.TestCase):
    """One two-shard `stampede serve` for the class, with `server_args` added."""
    server_args = ()

    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server(STAMPEDE, "--shards", "2", *cls.server_args)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()


class Sale(WithServer):
    """A small sale straight against the server."""

    def test_a_small_sale_passes_the_audit_and_its_figures_match_the_store(self):
        code, stdout, r, report = rehearse(self.server.port, "--shoppers", "2000", "--units", "100",
                                           "--product", "sale-a", "--opens-in", "1", "--watchers", "50",
                                           "--seed", "7", expect=0)
        self.assertEqual(r["audit"]["violations"], [])
        orders, view = admin_orders(self.server.port, "sale-a")
        live = [o for o in orders if o["status"] != "canceled"]
        units = sum(i["quantity"] for o in live for i in o["items"] if i["product_id"] == "sale-a")
        self.assertEqual(r["audit"]["orders"], len(orders))
        self.assertEqual(r["audit"]["units_sold"], units)
        self.assertEqual(view["committed"], units)
        self.assertLessEqual(units, 100)
        self.assertEqual(r["steps"]["order"]["ok"], len(orders))
        self.assertEqual(r["audit"]["paid_orders"], sum(1 for o in orders if o["status"] == "paid"))
        self.assertEqual(r["steps"]["browse"]["count"], 2000)
        self.assertEqual(r["steps"]["add"]["ok"], view["committed"] + view["reserved"])
        self.assertEqual(r["shoppers"]["arrived"], 2000)
        # A sale of 100 units among 2,000 shoppers sells out, and says when.
        self.assertIsNotNone(r["sold_out_at_s"])
        self.assertEqual(view["available"], 0)
        self.assertGreater(r["steps"]["add"]["errors"].get("out_of_stock", 0), 0)
        # Declined cards were retried, PayPal settled through the signed webhook.
        self.assertGreater(r["steps"]["pay"]["errors"].get("payment_failed", 0), 0)
        self.assertGreater(r["steps"]["webhook"]["ok"], 0)
        self.assertEqual(r["ws"]["connected"], 50)
        for key in ("count", "ok", "errors", "p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms"):
            self.assertIn(key, r["steps"]["add"])
        self.assertIn("audit: %d orders" % len(orders), stdout)
        self.assertNotIn("VIOLATION", stdout)

        p = parsed(report)
        self.assertGreaterEqual(p.svgs, 6)
        self.assertEqual(p.scripts, 0)
        self.assertEqual(p.external, [])
        titles = " | ".join(p.titles)
        for chart in ("Stock over time", "Requests a second", "Answers a second", "WebSocket delivery delay",
                      "Latency of add"):
            self.assertIn(chart, titles)
        self.assertIn("verdict pass", p.classes)
        self.assertIn("sold out", report)

        # --compare: the run beside itself, in the terminal and as a report.
        work = tempfile.mkdtemp(prefix="rehearse-compare-")
        self.addCleanup(shutil.rmtree, work, True)
        a = os.path.join(work, "before.json")
        with open(a, "w") as f:
            json.dump(r, f)
        code, out, err = run_tool([STAMPEDE, "rehearse", "--compare", a, a, "--report", os.path.join(work, "c.html")])
        self.assertEqual(code, 0, err)
        self.assertIn("add p99 (ms)", out)
        self.assertIn("1.00x", out)
        c = parsed(open(os.path.join(work, "c.html")).read())
        self.assertGreaterEqual(c.svgs, 2 * 6)
        self.assertEqual(c.scripts, 0)

    def test_a_run_that_cannot_start_exits_2(self):
        port = self.server.port
        for args in (["--arrival", "sideways"], ["--shoppers", "-1"], ["--bogus"], ["--abandon", "2"],
                     ["--compare", "only-one.json"], ["--target", "https://127.0.0.1:%d" % port]):
            code, _, _, _ = rehearse(port, *args)
            self.assertEqual(code, 2, args)
        code, _, _, _ = rehearse(free_port(), "--shoppers", "10")
        self.assertEqual(code, 2)
        code, _, err = run_tool([STAMPEDE, "rehearse", "--target", "http://127.0.0.1:%d" % port,
                                 "--jwt-secret", "not-the-secret", "--shoppers", "10"])
        self.assertEqual(code, 2)
        self.assertIn("jwt-secret", err)


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % int(t % 1 * 1000)


class Drop(WithServer):
    """A sale in a queue-mode drop: shoppers join the queue, wait for admission on the
    WebSocket and add with their admission; the tool's queue figures are the server's."""
    # Short holds: carts given up on come back within the run, so the drop sells out.
    server_args = ("--hold-ttl", "3")

    def test_shoppers_queue_wait_for_admission_and_the_drop_sells_out(self):
        admin = harness.Client(self.server.port, ADMIN)
        self.addCleanup(admin.close)
        status, _, p, _ = admin.request("POST", "/v1/admin/products", {
            "id": "drop-a", "name": "Drop item", "price": 4200, "on_hand": 30, "max_per_user": 1})
        self.assertEqual(status, 201, p)
        status, _, d, _ = admin.request("POST", "/v1/admin/drops", {
            "id": "drop-a", "product_ids": ["drop-a"], "opens_at": rfc3339(time.time() + 2), "mode": "queue",
            "admit_per_s": 50, "admission_ttl": 10})
        self.assertEqual(status, 201, d)
        code, stdout, r, report = rehearse(self.server.port, "--shoppers", "500", "--product", "drop-a",
                                           "--drop", "drop-a", "--watchers", "20", "--duration", "180",
                                           "--seed", "3", expect=0, timeout=240)
        self.assertEqual(r["audit"]["violations"], [])
        orders, view = admin_orders(self.server.port, "drop-a")
        admin = harness.Client(self.server.port, ADMIN)  # the first one's connection has idled out
        self.addCleanup(admin.close)
        status, _, drop, _ = admin.request("GET", "/v1/admin/drops/drop-a")
        self.assertEqual(status, 200, drop)
        # Every unit sold, and only to admitted shoppers: the server refuses a drop product
        # without a live admission, and counts an admitted shopper's order as converted.
        self.assertEqual(r["audit"]["units_sold"], 30)
        self.assertEqual(view["committed"], 30)
        self.assertEqual(drop["state"], "sold_out")
        self.assertEqual(r["steps"]["add"]["errors"].get("not_admitted", 0), 0, r["steps"]["add"])
        self.assertEqual(drop["converted"], len(orders))
        self.assertEqual(r["steps"]["order"]["ok"], len(orders))
        # The queue's figures are the server's counts.
        q = r["queue"]
        self.assertEqual(q["drop"], "drop-a")
        self.assertEqual(q["admitted"], drop["admitted"])
        self.assertEqual(q["expired"], drop["expired"])
        self.assertEqual(drop["waiting"], 0)
        self.assertGreaterEqual(q["admitted"], 30)
        self.assertLessEqual(r["steps"]["add"]["ok"], q["admitted"])
        # Everyone who got a ticket ended admitted, sold out or expired; nobody was cut off.
        self.assertEqual(r["steps"]["admission"]["count"], q["joined"])
        self.assertEqual(q["joined"], q["admitted"] + r["steps"]["admission"]["errors"].get("sold_out", 0) + q["expired"])
        self.assertGreater(r["shoppers"]["sold_out"], 0)
        self.assertEqual(r["shoppers"]["sold_out"], q["sold_out"])
        # The tickets turned sold out once nothing was left, not before every unit was taken.
        self.assertGreaterEqual(q["sold_out_at_s"], r["sold_out_at_s"])
        self.assertEqual(r["shoppers"]["unfinished"], 0)
        self.assertEqual(r["shoppers"]["arrived"], 500)
        # The wait to admission is its own latency, and the report and summary show the queue.
        self.assertGreater(q["wait_to_admission"]["p99_ms"], 0)
        self.assertLessEqual(q["wait_to_admission"]["p50_ms"], q["wait_to_admission"]["p99_ms"])
        self.assertIn("queue        drop drop-a: %d joined, %d admitted" % (q["joined"], q["admitted"]), stdout)
        self.assertIn("wait to admission p99", report)
        self.assertIn("Latency of admission", " | ".join(parsed(report).titles))


class Audit(WithServer):
    """Each lie of the proxy makes the audit fail with its violation kind, and only then."""
    runs = 0

    def run_through(self, lie, shoppers="300", units="30"):
        Audit.runs += 1
        product = "lie-%s-%d" % (lie, Audit.runs)
        proxy = LyingProxy(self.server.port, lie, product)
        try:
            code, stdout, r, _ = rehearse(proxy.port, "--shoppers", shoppers, "--units", units, "--product", product,
                                          "--opens-in", "1", "--watchers", "10", "--seed", "11")
        finally:
            proxy.stop()
        kinds = sorted({v["kind"] for v in r["audit"]["violations"]})
        return code, stdout, kinds, proxy.told

    def expect_caught(self, lie, kind):
        code, stdout, kinds, told = self.run_through(lie)
        self.assertGreater(told, 0, "the proxy never told the lie")
        self.assertEqual(code, 1, stdout)
        self.assertIn("VIOLATION %s: " % kind, stdout)
        return kinds

    def test_a_truthful_proxy_passes(self):
        code, stdout, kinds, _ = self.run_through("none")
        self.assertEqual((code, kinds), (0, []), stdout)

    def test_an_acknowledged_order_that_does_not_exist(self):
        # Its units are then missing from the sold units too: stock does not add up either.
        self.assertEqual(self.expect_caught("missing_order", "missing_order"),
                         ["missing_order", "stock_not_conserved"])

    def test_stock_that_does_not_add_up(self):
        self.assertEqual(self.expect_caught("stock", "stock_not_conserved"), ["stock_not_conserved"])

    def test_two_succeeded_payments_on_one_order(self):
        self.assertEqual(self.expect_caught("payments", "payments"), ["payments"])

    def test_a_frozen_availability_on_the_websocket(self):
        self.assertEqual(self.expect_caught("frozen", "watchers"), ["watchers"])

    def test_more_committed_than_on_hand(self):
        self.assertIn("oversold", self.expect_caught("oversold", "oversold"))

    def test_a_user_over_the_limit(self):
        self.assertEqual(self.expect_caught("limit", "limit_exceeded"), ["limit_exceeded"])


class CoordinatedOmission(unittest.TestCase):
    def test_a_one_second_stall_shows_in_the_p99(self):
        server = harness.Server(STAMPEDE, "--shards", "2")
        proxy = LyingProxy(server.port, "stall", "stall-item")
        try:
            # 1,000 shoppers over 4 s on 4 connections: while the proxy holds everything for
            # a second, the requests due then wait here, and are charged from when they were due.
            code, stdout, r, _ = rehearse(proxy.port, "--shoppers", "1000", "--units", "1000", "--product", "stall-item",
                                          "--arrival", "ramp:4", "--connections", "4", "--opens-in", "1",
                                          "--watchers", "0", "--abandon", "1", "--seed", "5", expect=0)
        finally:
            proxy.stop()
            server.stop()
        self.assertEqual(proxy.told, 1)
        browse = r["steps"]["browse"]
        self.assertEqual(browse["count"], 1000)
        # About a quarter of the reads were due during the stall; measured from when they were
        # sent, only the four in flight would have seen it.
        self.assertGreaterEqual(browse["p99_ms"], 700, browse)
        self.assertGreaterEqual(browse["max_ms"], 900, browse)
        self.assertLess(browse["p50_ms"], browse["p99_ms"])


class CannotStart(unittest.TestCase):
    """A run that cannot start exits 2 at once, before it sends anything that writes: a target
    that never answers, an output file that cannot be written, a target with a path or
    another scheme. Against stand-ins, so each is seen for what it is."""

    def start(self, handler):
        s = StandIn(handler)
        self.addCleanup(s.stop)
        return s

    def run_against(self, url, *args):
        return run_tool([STAMPEDE, "rehearse", "--target", url, "--jwt-secret", harness.JWT_SECRET,
                         "--shoppers", "10", "--watchers", "0", "--quiet"] + list(args), timeout=60)

    def test_a_target_that_never_answers_fails_the_setup_with_its_timeout(self):
        s = self.start(lambda *_: NEVER)
        url = "http://127.0.0.1:%d" % s.port
        code, _, err = self.run_against(url, "--timeout-ms", "300")
        self.assertEqual(code, 2, err)
        self.assertIn(url, err)
        self.assertIn("GET /readyz got no answer", err)
        self.assertIn("within 300 ms (--timeout-ms)", err)

    def test_every_setup_request_has_the_timeout_not_only_the_first(self):
        s = self.start(lambda method, path, *_: (200, {"status": "ready"}) if path == "/readyz" else NEVER)
        url = "http://127.0.0.1:%d" % s.port
        code, _, err = self.run_against(url, "--timeout-ms", "300", "--product", "p1")
        self.assertEqual(code, 2, err)
        self.assertIn(url, err)
        self.assertIn("GET /v1/admin/products/p1 got no answer", err)

    def test_an_output_file_that_cannot_be_written_is_refused_before_any_request(self):
        s = self.start(lambda *_: (200, {"status": "ready"}))
        for flag in ("--json", "--report"):
            code, _, err = self.run_against("http://127.0.0.1:%d" % s.port, flag, "/nonexistent/x.out")
            self.assertEqual(code, 2, err)
            self.assertIn("cannot write /nonexistent/x.out", err)
        self.assertEqual(s.requests, [])

    def test_a_writable_output_file_is_checked_without_being_left_behind(self):
        s = self.start(lambda *_: NEVER)
        work = tempfile.mkdtemp(prefix="rehearse-out-")
        self.addCleanup(shutil.rmtree, work, True)
        out = os.path.join(work, "run.json")
        code, _, err = self.run_against("http://127.0.0.1:%d" % s.port, "--json", out, "--timeout-ms", "100")
        self.assertEqual(code, 2, err)  # the target never answers
        self.assertFalse(os.path.exists(out))

    def test_a_target_with_a_path_or_another_scheme_is_refused(self):
        s = self.start(lambda *_: (200, {"status": "ready"}))
        for url, says in (("http://127.0.0.1:%d/v1" % s.port, "without a path ('/v1')"),
                          ("ftp://x", "'ftp' is not spoken")):
            code, _, err = self.run_against(url)
            self.assertEqual(code, 2, err)
            self.assertIn(says, err)
        self.assertEqual(s.requests, [])


class Rerun(unittest.TestCase):
    """A second run on a product that already has orders counts only its own."""

    def test_a_rerun_counts_only_its_own_orders(self):
        server = harness.Server(STAMPEDE, "--shards", "2")
        self.addCleanup(server.stop)
        args = ("--shoppers", "30", "--units", "1000", "--product", "rerun-a", "--opens-in", "0.5",
                "--watchers", "0", "--abandon", "0", "--declined", "0", "--paypal", "0")
        _, _, first, _ = rehearse(server.port, *args, "--seed", "1", expect=0)
        code, stdout, second, _ = rehearse(server.port, *args, "--seed", "2", expect=0)
        orders, view = admin_orders(server.port, "rerun-a")
        self.assertGreater(first["audit"]["orders"], 0)
        self.assertEqual(first["audit"]["orders"] + second["audit"]["orders"], len(orders))
        self.assertEqual(second["audit"]["orders"], second["steps"]["order"]["ok"])
        self.assertEqual(second["audit"]["other_orders"], first["audit"]["orders"])
        self.assertEqual(first["audit"]["units_sold"] + second["audit"]["units_sold"], view["committed"])
        self.assertIn("audit: %d orders of this run" % second["audit"]["orders"], stdout)
        self.assertIn("%d orders of rerun-a not placed by this run" % first["audit"]["orders"], stdout)


class Watchers(WithServer):
    """WebSockets cut mid-run, as a restart or a failover cuts them: the watchers reconnect
    and resubscribe, and one that cannot is reported, not counted as a server violation."""

    def run_through(self, cut, product):
        proxy = LyingProxy(self.server.port, cut, product)
        try:
            code, stdout, r, _ = rehearse(proxy.port, "--shoppers", "300", "--units", "30", "--product", product,
                                          "--opens-in", "1", "--watchers", "10", "--seed", "11")
        finally:
            proxy.stop()
        self.assertEqual(proxy.told, 10, "the proxy did not cut every watcher")
        return code, stdout, r

    def test_watchers_cut_mid_run_reconnect_and_agree_with_the_server(self):
        code, stdout, r = self.run_through("cut_ws", "cut-a")
        self.assertEqual(code, 0, stdout)
        self.assertEqual(r["audit"]["violations"], [])
        self.assertGreaterEqual(r["ws"]["reconnections"], 10)
        self.assertEqual(r["ws"]["connected"], 10)
        self.assertEqual(r["ws"]["lost"], 0)
        self.assertIn("10 of 10 connected at the end (%d reconnections, 0 lost)" % r["ws"]["reconnections"], stdout)

    def test_watchers_that_cannot_reconnect_are_reported_not_a_violation(self):
        code, stdout, r = self.run_through("cut_ws_for_good", "cut-b")
        self.assertEqual(code, 0, stdout)
        self.assertEqual(r["audit"]["violations"], [])
        self.assertEqual((r["ws"]["connected"], r["ws"]["lost"]), (0, 10))
        self.assertIn("10 of 10 watchers lost their connection and could not reconnect", stdout)
        self.assertNotIn("VIOLATION", stdout)


if __name__ == "__main__":
    STAMPEDE = sys.argv[1]
    unittest.main(argv=[sys.argv[0]] + sys.argv[2:], verbosity=2)
