"""API.md's bounds held from outside: money that stays exact in JavaScript, a token's `sub`
counted in characters, countries from ISO 3166-1, and a data directory that cannot be used
reported as what it is.

Usage: contract_test.py PATH_TO_STAMPEDE
"""
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Client, JWT_SECRET, ServerTest, make_token  # noqa: E402

JS_SAFE_MAX = 2 ** 53 - 1
PRICE_MAX = 9_000_000_000  # minor units: 100 lines of 10,000 units plus shipping stay exact
LINES, UNITS = 100, 10_000


class Money(ServerTest):
    server_args = ("--shards", "2", "--rate-limit", "0")

    def refused_naming(self, result, field):
        status, _, body, _ = result
        self.assertEqual(status, 400, body)
        self.assertEqual(body["error"]["code"], "invalid_request")
        self.assertEqual(body["error"]["details"].get("field"), field, body)

    def test_a_price_past_the_bound_is_refused_naming_the_field(self):
        pid = self.unique("p")
        self.refused_naming(self.admin.request("POST", "/v1/admin/products",
                                               {"id": pid, "name": "n", "price": PRICE_MAX + 1}), "price")
        self.assertEqual(self.admin.request("POST", "/v1/admin/products",
                                            {"id": pid, "name": "n", "price": PRICE_MAX})[0], 201)
        self.refused_naming(self.admin.request("PATCH", "/v1/admin/products/" + pid,
                                               {"price": PRICE_MAX + 1}), "price")
        self.refused_naming(self.admin.request("PUT", "/v1/admin/shipping-methods", {"items": [
            {"id": "standard", "name": "Standard", "price": PRICE_MAX + 1}]}), "price")
        self.assertEqual(self.admin.request("GET", "/v1/products/" + pid)[2]["price"], PRICE_MAX)

    def test_a_payment_amount_past_what_any_order_can_cost_is_refused(self):
        c = Client(self.server.port, make_token(self.unique("payer")))
        self.addCleanup(c.close)
        self.refused_naming(c.request("POST", "/v1/orders/ord_0000000000000000000001/payments",
                                      {"method": "paypal", "amount": JS_SAFE_MAX + 1}), "amount")

    def test_the_largest_cart_at_the_highest_prices_totals_exactly(self):
        status = self.admin.request("PUT", "/v1/admin/shipping-methods", {"items": [
            {"id": "standard", "name": "Standard", "price": 500},
            {"id": "express", "name": "Express", "price": PRICE_MAX}]})[0]
        self.assertEqual(status, 200)
        c = Client(self.server.port, make_token(self.unique("whale")))
        self.addCleanup(c.close)
        for i in range(LINES):
            pid = self.unique("lux")
            self.assertEqual(self.admin.request("POST", "/v1/admin/products", {
                "id": pid, "name": "Lux", "price": PRICE_MAX, "on_hand": UNITS})[0], 201)
            status, _, cart, raw = c.request("POST", "/v1/cart/items", {"product_id": pid, "quantity": UNITS})
            self.assertEqual(status, 200, cart)
        # The answer's own bytes, not a float: every amount is an integer a browser reads exactly.
        self.assertIn(b'"subtotal":%d' % (PRICE_MAX * UNITS * LINES), raw)
        self.assertEqual(cart["items"][0]["line_total"], PRICE_MAX * UNITS)
        status, _, preview, raw = c.request("POST", "/v1/checkout/preview", {"shipping_method": "express"})
        self.assertEqual(status, 200, preview)
        total = PRICE_MAX * UNITS * LINES + PRICE_MAX
        self.assertLessEqual(total, JS_SAFE_MAX)
        self.assertIn(b'"total":%d' % total, raw)


class Tokens(ServerTest):
    def cart_status(self, sub):
        c = Client(self.server.port, make_token(sub))
        try:
            return c.request("GET", "/v1/cart")[0]
        finally:
            c.close()

    def test_sub_is_counted_in_characters_not_bytes(self):
        self.assertEqual(self.cart_status("é" * 128), 200)   # 256 bytes
        self.assertEqual(self.cart_status("🎉" * 128), 200)  # 512 bytes
        self.assertEqual(self.cart_status("é" * 129), 401)
        self.assertEqual(self.cart_status("a" * 129), 401)
        self.assertEqual(self.cart_status(""), 401)


class Countries(ServerTest):
    def test_country_must_be_an_assigned_iso_3166_alpha_2_code(self):
        c = Client(self.server.port, make_token(self.unique("traveller")))
        self.addCleanup(c.close)
        address = {"name": "A", "line1": "1 Way", "city": "C", "postal_code": "1"}
        for code in ("XX", "UK", "ZZ", "us", "USA"):
            status, _, body, _ = c.request("POST", "/v1/addresses", dict(address, country=code))
            self.assertEqual(status, 400, code)
            self.assertEqual(body["error"]["details"].get("field"), "country", body)
        for code in ("GB", "US", "DE", "SS", "AX"):
            self.assertEqual(c.request("POST", "/v1/addresses", dict(address, country=code))[0], 201, code)


class Fields(ServerTest):
    """Text people type is shown again (an email, a label, a log line): no control characters,
    not blank where required; a preview refuses what the order would; messages say the rule."""

    def assertRefused(self, result, field, says=None):
        status, _, body, _ = result
        self.assertEqual(status, 400, body)
        self.assertEqual((body["error"]["code"], body["error"]["details"].get("field")),
                         ("invalid_request", field), body)
        if says:
            self.assertIn(says, body["error"]["message"])

    def customer(self):
        c = Client(self.server.port, make_token(self.unique("typist")))
        self.addCleanup(c.close)
        return c

    def address(self, **fields):
        body = {"name": "Ann", "line1": "1 Main St", "city": "Springfield", "postal_code": "12345",
                "country": "US"}
        body.update(fields)
        return body

    def test_product_names_and_descriptions_refuse_control_characters_and_blanks(self):
        pid = self.unique("typed")
        for name in ("Sneaker\nSize 9", "Nul\u0000", "   "):
            self.assertRefused(self.admin.request("POST", "/v1/admin/products",
                                                  {"id": pid, "name": name, "price": 100}), "name")
        self.assertRefused(self.admin.request("POST", "/v1/admin/products", {
            "id": pid, "name": "n", "price": 100, "description": "bad \u0007 bell"}), "description")
        self.assertEqual(self.admin.request("GET", "/v1/admin/products/" + pid)[0], 404)
        status, _, p, _ = self.admin.request("POST", "/v1/admin/products", {
            "id": pid, "name": "Runner", "price": 100, "description": "Line one\nLine two\twith a tab"})
        self.assertEqual(status, 201, p)
        self.assertRefused(self.admin.request("PATCH", "/v1/admin/products/" + pid, {"name": "a\rb"}), "name")
        self.assertEqual(self.admin.request("GET", "/v1/admin/products/" + pid)[2]["name"], "Runner")

    def test_address_fields_refuse_control_characters_and_blank_required_ones(self):
        c = self.customer()
        self.assertRefused(c.request("POST", "/v1/addresses", self.address(name="   ")), "name", "required")
        self.assertRefused(c.request("POST", "/v1/addresses", self.address(line1="1 Main\r\nBcc: x")), "line1",
                           "control characters")
        self.assertRefused(c.request("POST", "/v1/addresses", self.address(line2="\u0000")), "line2")
        self.assertEqual(c.request("GET", "/v1/addresses")[2]["items"], [])
        self.assertEqual(c.request("POST", "/v1/addresses", self.address(line2=""))[0], 201)

    def test_a_tracking_number_refuses_line_ends(self):
        pid = self.unique("tracked")
        self.assertEqual(self.admin.request("POST", "/v1/admin/products",
                                            {"id": pid, "name": "n", "price": 100, "on_hand": 1})[0], 201)
        c = self.customer()
        self.assertEqual(c.request("POST", "/v1/cart/items", {"product_id": pid, "quantity": 1})[0], 200)
        a = c.request("POST", "/v1/addresses", self.address())[2]
        o = c.request("POST", "/v1/orders", {"shipping_address_id": a["id"], "shipping_method": "standard"})[2]
        self.assertEqual(c.request("POST", "/v1/orders/%s/payments" % o["id"], {
            "method": "card", "amount": o["total"],
            "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}})[0], 201)
        self.assertRefused(self.admin.request("POST", "/v1/admin/orders/%s/status" % o["id"], {
            "status": "shipped", "tracking_number": "1Z\r\nX-Injected: 1"}), "tracking_number")
        self.assertEqual(c.request("GET", "/v1/orders/" + o["id"])[2]["status"], "paid")

    def test_a_cvc_is_three_or_four_digits(self):
        c = self.customer()
        for cvc in ("abc", "12a", "12"):
            self.assertRefused(c.request("POST", "/v1/orders/ord_0000000000000000000001/payments", {
                "method": "card", "amount": 100,
                "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": cvc}}),
                "card.cvc")

    def test_a_preview_refuses_the_email_the_order_would(self):
        c = self.customer()
        for email in ("a@b..com", "", "x" * 250 + "@example.com"):
            self.assertRefused(c.request("POST", "/v1/checkout/preview", {"email": email}), "email",
                               "at most 254 bytes")
            self.assertRefused(c.request("POST", "/v1/orders", {"email": email}), "email")

    def test_a_preview_problem_tells_the_units_there_are(self):
        pid = self.unique("limited")
        self.assertEqual(self.admin.request("POST", "/v1/admin/products",
                                            {"id": pid, "name": "n", "price": 100, "on_hand": 5})[0], 201)
        c = self.customer()
        self.assertEqual(c.request("POST", "/v1/cart/items", {"product_id": pid, "quantity": 2})[0], 200)
        self.assertEqual(self.admin.request("PATCH", "/v1/admin/products/" + pid, {"max_per_user": 1})[0], 200)
        status, _, summary, _ = c.request("POST", "/v1/checkout/preview", {})
        self.assertEqual(status, 200, summary)
        self.assertEqual(summary["problems"], [{"product_id": pid, "code": "limit_exceeded", "available": 3}])

    def test_the_admin_view_sent_back_whole_is_a_patch_and_only_another_id_is_refused(self):
        pid = self.unique("roundtrip")
        self.assertEqual(self.admin.request("POST", "/v1/admin/products",
                                            {"id": pid, "name": "Old", "price": 100, "on_hand": 4})[0], 201)
        view = self.admin.request("GET", "/v1/admin/products/" + pid)[2]
        view["name"] = "New"
        status, _, after, _ = self.admin.request("PATCH", "/v1/admin/products/" + pid, view)
        self.assertEqual((status, after["name"], after["on_hand"]), (200, "New", 4), after)
        self.assertRefused(self.admin.request("PATCH", "/v1/admin/products/" + pid, {"id": pid + "x"}), "id",
                           "cannot change")
        self.assertRefused(self.admin.request("PATCH", "/v1/admin/products/" + pid, {"name": "n" * 300}), "name",
                           "1..200 bytes")

    def test_a_string_too_long_is_refused_with_its_bound(self):
        self.assertRefused(self.admin.request("POST", "/v1/admin/webhooks", {
            "url": "http://127.0.0.1:9/x", "secret": "s" * 300}), "secret", "at most 256 bytes")
        self.assertRefused(self.admin.request("POST", "/v1/admin/webhooks", {
            "url": "http://127.0.0.1:9/x", "secret": 12345678}), "secret", "must be a string")
        # Fields read whole and checked later say their rule, not the reader's bound.
        self.assertRefused(self.admin.request("POST", "/v1/admin/products", {"id": 5, "name": "n", "price": 1}),
                           "id", "[A-Za-z0-9._-]{1,64}")
        self.assertRefused(self.admin.request("POST", "/v1/admin/products",
                                              {"id": self.unique("long"), "name": "n" * 5000, "price": 1}),
                           "name", "1..200 bytes")
        c = self.customer()
        self.assertRefused(c.request("POST", "/v1/checkout/preview", {"email": "e" * 5000}), "email",
                           "at most 254 bytes")
        self.assertRefused(c.request("POST", "/v1/orders/ord_0000000000000000000001/payments", {
            "method": "card", "amount": 100,
            "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "12345"}}),
            "card.cvc", "3 or 4 digits")


class DataDir(unittest.TestCase):
    def start(self, data_dir, preexec=None):
        return subprocess.run([BINARY, "serve", "--listen", "127.0.0.1:0", "--jwt-secret", JWT_SECRET,
                               "--data-dir", data_dir], capture_output=True, text=True, timeout=30,
                              preexec_fn=preexec)

    def test_a_data_dir_that_is_a_file_is_reported_as_such(self):
        with tempfile.NamedTemporaryFile() as f:
            run = self.start(f.name)
        self.assertEqual(run.returncode, 1)
        self.assertIn("not a directory", run.stderr)
        self.assertNotIn("in use", run.stderr)

    def test_a_data_dir_that_cannot_be_written_is_reported_as_such(self):
        d = tempfile.mkdtemp(prefix="stampede-ro-")
        os.chmod(d, 0o555)
        # Root writes anywhere: run as nobody, for whom the directory is read-only.
        drop = (lambda: os.setuid(65534)) if os.geteuid() == 0 else None
        try:
            run = self.start(d, drop)
        finally:
            os.chmod(d, 0o755)
            os.rmdir(d)
        self.assertEqual(run.returncode, 1)
        self.assertIn("not writable", run.stderr)
        self.assertNotIn("in use", run.stderr)

    def test_a_data_dir_in_use_is_still_reported_as_in_use(self):
        from harness import Server
        first = Server(BINARY)
        try:
            run = self.start(first.data_dir)
        finally:
            first.stop()
        self.assertEqual(run.returncode, 1)
        self.assertIn("in use by another stampede", run.stderr)


if __name__ == "__main__":
    BINARY = ServerTest.binary = sys.argv.pop(1)
    unittest.main(verbosity=1)
