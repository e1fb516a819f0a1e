"""Order email under --replicate, against real nodes on three local nats-servers and a local
SMTP sink (tests/server/email/smtp_sink.py): the primary sends each mail once and a standby
sends none, though both are pointed at the sink and hold the same outbox; a mail queued
while the sink was down, on a primary then killed with kill -9, is sent by the new primary.

    replicated_email_test.py build/stampede
"""
import collections
import os
import shutil
import tempfile
import time

from failover_harness import ClusterTest, create_product, main, make_token, FAILOVER_BOUND_S, STEADY_TAKEOVER_MS
from email_test import Sink, messages, free_port

MAIL_WAIT_S = 30
# How long a standby is given to send what it must not, after the primary's mail arrived.
QUIET_S = 2.0


class ReplicatedEmail(ClusterTest):
    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="stampede-repl-email-")
        self.maildir = os.path.join(self.dir, "mail")
        self.smtp_port = free_port()
        self.sink = None

    def tearDown(self):
        super().tearDown()
        if self.sink:
            self.sink.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def mail_pair(self, **kw):
        return self.pair(**kw, extra=("--smtp-url", "smtp://127.0.0.1:%d" % self.smtp_port,
                                "--smtp-from", "Drop Shop <orders@shop.example>",
                                "--email-retry-ms", "100"))

    def order(self, node, user, product):
        token = make_token(user)
        status, _, cart = node.request("POST", "/v1/cart/items", {"product_id": product, "quantity": 1},
                                       token=token)
        self.assertEqual(status, 200, cart)
        status, _, adr = node.request("POST", "/v1/addresses", {
            "name": "Ada", "line1": "1 Main St", "city": "Springfield", "postal_code": "1",
            "country": "US"}, token=token)
        self.assertEqual(status, 201, adr)
        status, _, o = node.request("POST", "/v1/orders", {
            "shipping_address_id": adr["id"], "shipping_method": "standard",
            "email": user + "@example.com"}, token=token)
        self.assertEqual(status, 201, o)
        return o

    def mails_about(self, order_id):
        if not os.path.isdir(self.maildir):
            return []
        return [m for m in messages(self.maildir) if order_id in m[1]["Subject"]]

    def wait_mail(self, order_id):
        deadline = time.monotonic() + MAIL_WAIT_S
        while time.monotonic() < deadline:
            found = self.mails_about(order_id)
            if found:
                return found
            time.sleep(0.05)
        self.fail("no mail about %s within %d s" % (order_id, MAIL_WAIT_S))

    def assert_each_sent_once(self):
        ids = collections.Counter(m[1]["Message-ID"] for m in messages(self.maildir))
        self.assertEqual([i for i, n in ids.items() if n > 1], [], "a mail was sent twice")

    def test_the_primary_sends_each_mail_once_and_a_standby_none(self):
        self.sink = Sink(self.maildir, self.smtp_port)
        a, b = self.mail_pair(takeover_ms=STEADY_TAKEOVER_MS)
        create_product(a, "sku-m", 10)
        o = self.order(a, "buyer-1", "sku-m")
        [(rcpt, msg, _)] = self.wait_mail(o["id"])
        self.assertEqual(rcpt, ["buyer-1@example.com"])
        b.wait_caught_up(a)
        time.sleep(QUIET_S)
        self.assertEqual(len(self.mails_about(o["id"])), 1, "the standby sent the mail too")
        self.assert_each_sent_once()

    def test_mail_queued_on_a_killed_primary_is_sent_by_the_new_one(self):
        a, b = self.mail_pair()  # the sink is down: the mail stays in the outbox
        create_product(a, "sku-k", 10)
        o = self.order(a, "buyer-2", "sku-k")
        b.wait_caught_up(a)
        a.kill()
        b.wait_role("primary", timeout=FAILOVER_BOUND_S + 5)
        self.sink = Sink(self.maildir, self.smtp_port)
        [(rcpt, _, _)] = self.wait_mail(o["id"])
        self.assertEqual(rcpt, ["buyer-2@example.com"])
        # The new primary's own orders are mailed too.
        o2 = self.order(b, "buyer-3", "sku-k")
        self.wait_mail(o2["id"])
        self.assert_each_sent_once()


if __name__ == "__main__":
    main()
