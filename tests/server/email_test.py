"""Order email against a real `stampede serve` and a local SMTP sink (Debian's
python3-aiosmtpd, tests/server/email/smtp_sink.py): the confirmation, the shipping mail with
its tracking number, retries while the sink is down (then one delivery, the same
Message-ID), mail queued before kill -9 delivered after the restart, and hostile names and
addresses that break neither the headers nor the HTML.

usage: email_test.py <stampede binary>
"""
import email
import email.policy
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

from harness import Client, Server, make_token

SINK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "email", "smtp_sink.py")
ADMIN = make_token("root", role="admin")
SUPPORT = "help@shop.example"
MAIL_WAIT_S = 30  # retries start at 100 ms and double: a sink back within seconds is reached well inside


class Sink:
    """smtp_sink.py as a child process, on a free port or the one it had; stopped by PID."""

    def __init__(self, maildir, port=0):
        self.maildir = maildir
        self.proc = subprocess.Popen(["/usr/bin/python3", SINK, "--maildir", maildir, "--port", str(port)],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        m = re.match(r"ready (\d+)", line)
        if not m:
            self.proc.kill()
            raise RuntimeError("the SMTP sink did not start: %r" % line)
        self.port = int(m.group(1))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)
        self.proc.stdout.close()


def messages(maildir):
    """Every message the sink accepted: (envelope recipients, parsed message, raw bytes)."""
    out = []
    for name in sorted(os.listdir(maildir)):
        if not name.endswith(".eml"):
            continue
        with open(os.path.join(maildir, name), "rb") as f:
            raw = f.read()
        head, _, rest = raw.partition(b"\r\n")
        to_line, _, body = rest.partition(b"\r\n")
        rcpt = to_line.decode().split(":", 1)[1].strip().split(",")
        out.append((rcpt, email.message_from_bytes(body, policy=email.policy.default), body))
    return out


def parts(msg):
    return msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Email(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="stampede-email-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.maildir = os.path.join(self.dir, "mail")
        self.data_dir = os.path.join(self.dir, "data")
        self.smtp_port = free_port()
        self.sink = None
        self.server = None
        self.clients = []
        self.counter = 0
        self.addCleanup(self.stop_all)

    def stop_all(self):
        for c in self.clients:
            c.close()
        if self.server:
            self.assertEqual(self.server.stop(), 0)
        if self.sink:
            self.sink.stop()

    def start_sink(self):
        self.sink = Sink(self.maildir, self.smtp_port)

    def start_server(self):
        self.server = Server(BINARY, "--shards", "2", "--rate-limit", "0",
                             "--smtp-url", "smtp://127.0.0.1:%d" % self.smtp_port,
                             "--smtp-from", "Drop Shop <orders@shop.example>",
                             "--support-email", SUPPORT, "--email-retry-ms", "100",
                             data_dir=self.data_dir)
        self.admin = self.client(ADMIN)

    def client(self, token):
        c = Client(self.server.port, token)
        self.clients.append(c)
        return c

    def order(self, name="Limited sneaker", address=None, body_email="buyer@example.com", claims=None):
        """A product, a cart of two, an address and an order; returns (client, order)."""
        self.counter += 1
        pid = "mail-%d-%d" % (os.getpid(), self.counter)
        status, _, p, _ = self.admin.request("POST", "/v1/admin/products",
                                             {"id": pid, "name": name, "price": 12595, "on_hand": 10})
        self.assertEqual(status, 201, p)
        user = "buyer-%d" % self.counter
        token = make_token(user, claims=dict({"sub": user, "exp": int(time.time()) + 3600}, **(claims or {})))
        c = self.client(token)
        self.assertEqual(c.request("POST", "/v1/cart/items", {"product_id": pid, "quantity": 2})[0], 200)
        a = address or {"name": "Ada Buyer", "line1": "1 Main St", "city": "Springfield",
                        "postal_code": "12345", "country": "US"}
        status, _, adr, _ = c.request("POST", "/v1/addresses", a)
        self.assertEqual(status, 201, adr)
        body = {"shipping_address_id": adr["id"], "shipping_method": "standard"}
        if body_email is not None:
            body["email"] = body_email
        status, _, o, _ = c.request("POST", "/v1/orders", body)
        self.assertEqual(status, 201, o)
        return c, o

    def pay(self, c, o):
        status, _, r, _ = c.request("POST", "/v1/orders/%s/payments" % o["id"], {
            "method": "card", "amount": o["total"],
            "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}})
        self.assertEqual(status, 201, r)

    def wait_for_mail(self, pred, what):
        deadline = time.time() + MAIL_WAIT_S
        while time.time() < deadline:
            found = [m for m in messages(self.maildir) if pred(m)] if os.path.isdir(self.maildir) else []
            if found:
                return found
            time.sleep(0.05)
        self.fail("no %s within %d s; got subjects %r" % (
            what, MAIL_WAIT_S, [m[1]["Subject"] for m in messages(self.maildir)]))

    def confirmation_of(self, order_id):
        return lambda m: order_id in m[1]["Subject"] and "confirmed" in m[1]["Subject"]

    def test_a_paid_order_is_confirmed_with_its_lines_total_and_support_address(self):
        self.start_sink()
        self.start_server()
        c, o = self.order()
        self.assertEqual(o["email"], "buyer@example.com")
        self.pay(c, o)
        [(rcpt, msg, raw)] = self.wait_for_mail(self.confirmation_of(o["id"]), "confirmation")
        self.assertEqual(rcpt, ["buyer@example.com"])
        self.assertEqual(msg["To"], "buyer@example.com")
        self.assertEqual(msg["From"], "Drop Shop <orders@shop.example>")
        self.assertRegex(msg["Message-ID"], r"^<evt_[A-Za-z0-9_]+@shop\.example>$")
        text, html = parts(msg)
        for part in (text, html):
            self.assertIn(o["id"], part)
            self.assertIn("Limited sneaker", part)
            self.assertIn("USD 125.95", part)                            # the unit price
            self.assertIn("USD 251.90", part)                            # the line: 2 of them
            self.assertIn("USD %d.%02d" % divmod(o["total"], 100), part)  # the total
            self.assertIn(SUPPORT, part)
            self.assertIn("1 Main St", part)
        self.assertIn("2 x Limited sneaker", text)
        # The order's creation was mailed too (every notification of an order with an address).
        self.wait_for_mail(lambda m: o["id"] in m[1]["Subject"] and "waiting for payment" in m[1]["Subject"],
                           "order.created mail")

    def test_shipping_sends_the_tracking_number(self):
        self.start_sink()
        self.start_server()
        c, o = self.order()
        self.pay(c, o)
        status, _, shipped, _ = self.admin.request("POST", "/v1/admin/orders/%s/status" % o["id"],
                                                   {"status": "shipped", "tracking_number": "1Z999AA10123456784"})
        self.assertEqual(status, 200, shipped)
        [(_, msg, _)] = self.wait_for_mail(lambda m: o["id"] in m[1]["Subject"] and "shipped" in m[1]["Subject"],
                                           "shipping mail")
        text, html = parts(msg)
        self.assertIn("Tracking number: 1Z999AA10123456784", text)
        self.assertIn("1Z999AA10123456784", html)

    def test_a_sink_that_is_down_gets_the_mail_once_it_is_back_with_the_same_message_id(self):
        self.start_server()  # no sink yet: every attempt fails
        c, o = self.order()
        self.pay(c, o)
        time.sleep(1.5)  # several attempts, all refused
        self.assertFalse(os.path.isdir(self.maildir) and messages(self.maildir))
        self.start_sink()
        [(_, msg, _)] = self.wait_for_mail(self.confirmation_of(o["id"]), "confirmation after the outage")
        first_id = msg["Message-ID"]
        # Each mail keeps its own backoff (full jitter, doubling from 100 ms), so the order.created
        # mail may come seconds after the confirmation: wait for it by name, not by a fixed sleep.
        self.wait_for_mail(lambda m: o["id"] in m[1]["Subject"] and "waiting for payment" in m[1]["Subject"],
                           "order.created mail after the outage")
        time.sleep(1.0)  # time for a second delivery, were there one
        mails = [m for m in messages(self.maildir) if o["id"] in m[1]["Subject"]]
        ids = [m[1]["Message-ID"] for m in mails]
        self.assertEqual(len(ids), len(set(ids)), "a message delivered twice: %r" % ids)
        self.assertEqual([i for i in ids if i == first_id], [first_id])
        self.assertEqual(len(mails), 2)  # order.created and order.paid, once each

    def test_mail_queued_before_kill_9_is_delivered_after_the_restart(self):
        self.start_server()  # the sink is down: the mail waits in the outbox
        c, o = self.order()
        self.pay(c, o)
        time.sleep(0.3)
        self.server.kill()
        for cl in self.clients:
            cl.close()
        self.clients = []
        self.start_sink()
        self.start_server()
        self.wait_for_mail(self.confirmation_of(o["id"]), "confirmation after kill -9")

    def test_hostile_names_and_addresses_break_neither_headers_nor_html(self):
        self.start_sink()
        self.start_server()
        # An address with CR, LF or anything else that is not an address is refused at checkout.
        for bad in ("buyer@example.com\r\nBcc: evil@example.net", "buyer@example.com\nBcc: x@y.z",
                    "not an address", "<buyer@example.com>", "a@b@example.com", ""):
            with self.subTest(email=bad):
                self.counter += 1
                pid = "bad-%d-%d" % (os.getpid(), self.counter)
                self.admin.request("POST", "/v1/admin/products", {"id": pid, "name": "x", "price": 1, "on_hand": 5})
                c = self.client(make_token("hostile-%d" % self.counter))
                c.request("POST", "/v1/cart/items", {"product_id": pid, "quantity": 1})
                _, _, adr, _ = c.request("POST", "/v1/addresses", {"name": "N", "line1": "L", "city": "C",
                                                                   "postal_code": "1", "country": "GB"})
                status, _, err, _ = c.request("POST", "/v1/orders", {"shipping_address_id": adr["id"],
                                                                     "shipping_method": "standard", "email": bad})
                self.assertEqual((status, err["error"]["code"]), (400, "invalid_request"), err)
                status, _, cart, _ = c.request("GET", "/v1/cart")
                self.assertEqual(cart["item_count"], 1, "a refused checkout changed nothing")
        # A line end in an address never gets as far as a mail: the address is refused.
        c = self.client(make_token("hostile-address"))
        status, _, err, _ = c.request("POST", "/v1/addresses", {
            "name": "Eve\r\nBcc: evil@example.net", "line1": "1 Main St", "city": "C", "postal_code": "1",
            "country": "US"})
        self.assertEqual((status, err["error"]["details"].get("field")), (400, "name"), err)
        c, o = self.order(name="<script>alert('x')</script> sneaker",
                          address={"name": "Eve <b>Bcc: evil@example.net</b>", "line1": "1 Main St X-Evil: 1",
                                   "city": "Springfield", "postal_code": "12345", "country": "US"})
        self.pay(c, o)
        [(rcpt, msg, raw)] = self.wait_for_mail(self.confirmation_of(o["id"]), "confirmation")
        self.assertEqual(rcpt, ["buyer@example.com"])
        head = raw.split(b"\r\n\r\n", 1)[0].decode()
        self.assertNotRegex(head, r"(?im)^(bcc|x-evil):")
        self.assertEqual(msg.get_all("To"), ["buyer@example.com"])
        text, html = parts(msg)
        self.assertNotIn("<script>", html)
        self.assertIn("&lt;script&gt;", html)
        self.assertIn("<script>alert('x')</script> sneaker", text)  # plain text shows it as typed

    def test_the_tokens_email_claim_is_used_when_the_checkout_names_none(self):
        self.start_sink()
        self.start_server()
        c, o = self.order(body_email=None, claims={"email": "claimed@example.com"})
        self.assertEqual(o["email"], "claimed@example.com")
        self.pay(c, o)
        [(rcpt, _, _)] = self.wait_for_mail(self.confirmation_of(o["id"]), "confirmation")
        self.assertEqual(rcpt, ["claimed@example.com"])
        _, o2 = self.order(body_email=None)
        self.assertIsNone(o2["email"])


if __name__ == "__main__":
    BINARY = sys.argv.pop(1)
    unittest.main(verbosity=2)
