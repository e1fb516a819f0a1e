"""Order email's cost and delay, measured against its peer in the same run.

Starts `stampede serve` twice on free loopback ports, in turn: without email, then with
--smtp-url to a local aiosmtpd sink (tests/server/email/smtp_sink.py). Each run places and
pays the same number of orders from a few client threads, then reports:
- orders placed and paid a second, and the ratio with email to without (email must not
  slow the shards: the mailer is its own thread, fed from the outbox);
- with email, the delay from the payment's answer to its confirmation in the sink
  (p50, p99) and mails delivered a second.
Every process is stopped by PID, also on failure.

usage: /usr/bin/python3 bench/email/email_bench.py <stampede binary> [orders] [threads]
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.join(HERE, "..", "..", "tests", "server")
sys.path.insert(0, TESTS)
from harness import Client, Server, make_token  # noqa: E402

SINK = os.path.join(TESTS, "email", "smtp_sink.py")
ADMIN = make_token("root", role="admin")
MAIL_WAIT_S = 120


def start_sink(maildir):
    proc = subprocess.Popen(["/usr/bin/python3", SINK, "--maildir", maildir, "--port", "0"],
                            stdout=subprocess.PIPE, text=True)
    m = re.match(r"ready (\d+)", proc.stdout.readline())
    if not m:
        proc.kill()
        raise RuntimeError("the SMTP sink did not start")
    return proc, int(m.group(1))


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


def shop(server, tag, orders, threads):
    """Places and pays `orders` orders; returns (seconds, {order id: time paid})."""
    admin = Client(server.port, ADMIN)
    pid = "bench-%s" % tag
    status, _, p, _ = admin.request("POST", "/v1/admin/products",
                                    {"id": pid, "name": "Bench sneaker", "price": 9900, "on_hand": orders})
    assert status == 201, p
    admin.close()
    paid = {}
    lock = threading.Lock()

    def buyer(t):
        for i in range(t, orders, threads):
            c = Client(server.port, make_token("%s-u%d" % (tag, i)))
            c.request("POST", "/v1/cart/items", {"product_id": pid, "quantity": 1})
            _, _, a, _ = c.request("POST", "/v1/addresses", {"name": "N", "line1": "1 Main St", "city": "C",
                                                             "postal_code": "1", "country": "US"})
            _, _, o, _ = c.request("POST", "/v1/orders", {"shipping_address_id": a["id"],
                                                          "shipping_method": "standard",
                                                          "email": "u%d@example.com" % i})
            status, _, r, _ = c.request("POST", "/v1/orders/%s/payments" % o["id"], {
                "method": "card", "amount": o["total"],
                "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}})
            assert status == 201, r
            with lock:
                paid[o["id"]] = time.time()
            c.close()

    start = time.monotonic()
    workers = [threading.Thread(target=buyer, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return time.monotonic() - start, paid


def confirmations(maildir):
    """{order id: time the sink wrote its confirmation}."""
    out = {}
    for name in os.listdir(maildir):
        if not name.endswith(".eml"):
            continue
        path = os.path.join(maildir, name)
        with open(path, "rb") as f:
            head = f.read(4096).decode("latin-1")
        m = re.search(r"(?m)^Subject: .*?(ord_[A-Za-z0-9_]+)", head)
        if m and "confirmed" in head:
            out[m.group(1)] = os.path.getmtime(path)
    return out


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main():
    binary = sys.argv[1]
    orders = int(sys.argv[2]) if len(sys.argv) > 2 else 400
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    work = tempfile.mkdtemp(prefix="stampede-email-bench-")
    procs = []
    try:
        base = Server(binary, "--shards", "2", "--rate-limit", "0", data_dir=os.path.join(work, "d0"))
        procs.append(base)
        plain_s, _ = shop(base, "plain", orders, threads)
        base.stop()
        maildir = os.path.join(work, "mail")
        sink, port = start_sink(maildir)
        try:
            mailing = Server(binary, "--shards", "2", "--rate-limit", "0", "--smtp-url",
                             "smtp://127.0.0.1:%d" % port, "--smtp-from", "Shop <orders@shop.example>",
                             data_dir=os.path.join(work, "d1"))
            procs.append(mailing)
            mail_s, paid = shop(mailing, "mail", orders, threads)
            deadline = time.time() + MAIL_WAIT_S
            got = {}
            while time.time() < deadline:
                got = confirmations(maildir)
                if len(got) >= len(paid):
                    break
                time.sleep(0.1)
            last = max(got.values()) if got else time.time()
            first_paid = min(paid.values())
            mails = len([n for n in os.listdir(maildir) if n.endswith(".eml")])
            mailing.stop()
        finally:
            stop(sink)
        delays = [(got[o] - t) * 1000 for o, t in paid.items() if o in got]
        print("orders placed and paid: %d from %d threads, 2 shards" % (orders, threads))
        print("without email: %.0f orders/s" % (orders / plain_s))
        print("with email:    %.0f orders/s  (ratio %.2f to without)" % (orders / mail_s, plain_s / mail_s))
        print("confirmations: %d of %d; mails in the sink: %d (created + paid)" % (len(got), orders, mails))
        if delays:
            print("payment answered -> confirmation in the sink: p50 %.0f ms, p99 %.0f ms" % (
                percentile(delays, 0.5), percentile(delays, 0.99)))
            print("mails delivered a second: %.0f" % (mails / max(1e-3, last - first_paid)))
    finally:
        for p in procs:
            if p.proc.poll() is None:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
