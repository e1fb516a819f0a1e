"""An SMTP sink for the email tests (Debian's python3-aiosmtpd).

Listens on 127.0.0.1 (--port, or a free one), prints "ready <port>" once it accepts, and
writes each message it accepts, byte for byte as the client sent it after DATA, to
<maildir>/<n>.eml, preceded by two lines "X-Envelope-From: ..." and "X-Envelope-To: ...".
Recipients whose local part starts with "reject" get 550, "tempfail" 451 (a permanent and a
passing refusal). Stops on SIGTERM or SIGINT.
Run with /usr/bin/python3 (the first python3 on PATH may not see Debian's packages).
"""
import argparse
import asyncio
import os
import signal

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, maildir):
        self.maildir = maildir
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0]
        if local.startswith("reject"):
            return "550 5.1.1 No such user here"
        if local.startswith("tempfail"):
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        head = "X-Envelope-From: %s\r\nX-Envelope-To: %s\r\n" % (
            envelope.mail_from, ",".join(envelope.rcpt_tos))
        path = os.path.join(self.maildir, "%06d.eml" % self.count)
        with open(path + ".tmp", "wb") as f:
            f.write(head.encode() + envelope.original_content)
        os.rename(path + ".tmp", path)  # readers never see half a message
        return "250 Message accepted for delivery"


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--maildir", required=True)
    args = parser.parse_args()
    os.makedirs(args.maildir, exist_ok=True)
    # Start numbering after what an earlier run left, so a restarted sink adds files.
    handler = Sink(args.maildir)
    handler.count = len([n for n in os.listdir(args.maildir) if n.endswith(".eml")])
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, hostname="sink.test"),
                                      "127.0.0.1", args.port, reuse_address=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print("ready %d" % server.sockets[0].getsockname()[1], flush=True)
    await stop.wait()
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
