"""A misbehaving stand-in between `stampede rehearse` and a real server (standard library
only): it forwards HTTP/1.1 and WebSocket traffic on a free loopback port, and tells one lie
at a time in what the server answers, or stalls everything once. The rehearsal's audit must
catch each lie with the right violation kind; the stall must show in its latencies.

Lies (the `lie` argument):
  missing_order  the admin order listing leaves out one order of the product
  stock          the admin view of the product says it has one unit more on hand
  oversold       the admin view says on hand is one less than committed
  payments       one paid order in the admin listing has its succeeded payment twice
  limit          one order in the admin listing is moved to the user of another order
  frozen         WebSocket availability messages all carry the first value seen
  stall          after the 200th product read, nothing is forwarded for one second
Not lies, but what a restart or a failover does to WebSockets:
  cut_ws          when the first add passes, every WebSocket open then is cut (a server
                  restarted, a failover); new ones are forwarded again
  cut_ws_for_good the same, and every WebSocket upgrade after it is refused with 503
"""
import asyncio
import json
import threading

STALL_AFTER_READS = 200
STALL_SECONDS = 1.0


class LyingProxy:
    def __init__(self, upstream_port, lie, product):
        self.upstream_port = upstream_port
        self.lie = lie
        self.product = product
        self.told = 0  # how many times the lie was told
        self.reads = 0
        self.flowing = None  # asyncio.Event, made on the proxy's loop
        self.frozen_value = None
        self.websockets = set()  # (client writer, upstream writer) of each open WebSocket
        self.cut = False
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self.thread.start()
        ready.wait(10)

    def _run(self, ready):
        asyncio.set_event_loop(self.loop)
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self._client, "127.0.0.1", 0, limit=1 << 24, backlog=4096))
        self.port = self.server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    def stop(self):
        def shut():
            self.server.close()
            for task in asyncio.all_tasks(self.loop):
                task.cancel()
            self.loop.stop()
        self.loop.call_soon_threadsafe(shut)
        self.thread.join(10)

    # --- HTTP -------------------------------------------------------------------------

    async def _client(self, reader, writer):
        up_reader = up_writer = None
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                method, path, headers = parse_head(head)
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                if headers.get("upgrade", "").lower() == "websocket":
                    if self.cut and self.lie == "cut_ws_for_good":
                        writer.write(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                                     b"Connection: close\r\n\r\n")
                        await writer.drain()
                        return
                    await self._websocket(head + body, reader, writer)
                    return
                self._maybe_cut(method, path)
                await self._maybe_stall(method, path)
                if up_writer is None:
                    up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port,
                                                                         limit=1 << 24)
                up_writer.write(head + body)
                resp_head = await up_reader.readuntil(b"\r\n\r\n")
                _, status, resp_headers = parse_head(resp_head)
                resp_body = await up_reader.readexactly(int(resp_headers.get("content-length", "0")))
                if status == "200":
                    resp_body = self._rewrite(method, path, resp_body)
                writer.write(with_length(resp_head, len(resp_body)) + resp_body)
                await writer.drain()
                if resp_headers.get("connection", "").lower() == "close":
                    return
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            for w in (writer, up_writer):
                if w is not None:
                    w.close()

    async def _maybe_stall(self, method, path):
        if self.lie == "stall" and method == "GET" and path.startswith("/v1/products/"):
            self.reads += 1
            if self.reads == STALL_AFTER_READS:
                self.told += 1
                self.flowing.clear()
                self.loop.call_later(STALL_SECONDS, self.flowing.set)
        await self.flowing.wait()

    def _maybe_cut(self, method, path):
        if self.lie in ("cut_ws", "cut_ws_for_good") and not self.cut and method == "POST" \
                and path.startswith("/v1/cart/items"):
            self.cut = True
            for client, upstream in list(self.websockets):
                self.told += 1
                client.transport.abort()
                upstream.close()

    def _rewrite(self, method, path, body):
        if method != "GET" or not body:
            return body
        base = path.split("?")[0]
        lie = self.lie
        if base == "/v1/admin/products/" + self.product and lie in ("stock", "oversold"):
            p = json.loads(body)
            p["on_hand"] = p["on_hand"] + 1 if lie == "stock" else p["committed"] - 1
            return self._told(p)
        if base == "/v1/admin/orders" and lie in ("missing_order", "payments", "limit"):
            page = json.loads(body)
            mine = [o for o in page["items"] if any(i["product_id"] == self.product for i in o["items"])]
            if lie == "missing_order" and mine:
                page["items"].remove(mine[0])
                return self._told(page)
            if lie == "payments":
                for o in mine:
                    paid = [p for p in o["payments"] if p["status"] == "succeeded"]
                    if paid:
                        o["payments"].append(dict(paid[0], id=paid[0]["id"] + "x"))
                        return self._told(page)
            if lie == "limit" and len(mine) >= 2:
                mine[1]["user_id"] = mine[0]["user_id"]
                return self._told(page)
        return body

    def _told(self, obj):
        self.told += 1
        return json.dumps(obj).encode()

    # --- WebSocket --------------------------------------------------------------------

    async def _websocket(self, request, reader, writer):
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port, limit=1 << 24)
        up_writer.write(request)

        async def upward():
            try:
                while True:
                    chunk = await reader.read(65536)
                    if not chunk:
                        break
                    up_writer.write(chunk)
                    await up_writer.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                up_writer.close()

        task = asyncio.ensure_future(upward())
        pair = (writer, up_writer)
        self.websockets.add(pair)
        try:
            writer.write(await up_reader.readuntil(b"\r\n\r\n"))
            while True:
                b0, b1 = await up_reader.readexactly(2)
                n = b1 & 0x7F
                if n == 126:
                    n = int.from_bytes(await up_reader.readexactly(2), "big")
                elif n == 127:
                    n = int.from_bytes(await up_reader.readexactly(8), "big")
                payload = await up_reader.readexactly(n)
                if self.lie == "frozen" and b0 == 0x81:
                    payload = self._freeze(payload)
                writer.write(frame(b0, payload))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            self.websockets.discard(pair)
            task.cancel()
            writer.close()
            up_writer.close()

    def _freeze(self, payload):
        try:
            m = json.loads(payload)
        except ValueError:
            return payload
        if m.get("type") == "subscribed" and isinstance(m.get("snapshot"), dict) and self.frozen_value is None:
            self.frozen_value = m["snapshot"].get("available")
        if m.get("type") == "product.availability":
            if self.frozen_value is None:
                self.frozen_value = m["available"]
            if m["available"] != self.frozen_value:
                self.told += 1
            m["available"] = self.frozen_value
            return json.dumps(m).encode()
        return payload


def parse_head(head):
    lines = head.decode("latin-1").split("\r\n")
    first = lines[0].split(" ")
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    # A request: (method, target, headers); a response: (version, status, headers).
    return first[0], first[1] if len(first) > 1 else "", headers


def with_length(head, n):
    lines = head.decode("latin-1").split("\r\n")
    out = [l for l in lines if l and not l.lower().startswith("content-length:")]
    if not lines[0].split(" ")[1] in ("204", "304"):
        out.append("Content-Length: %d" % n)
    return ("\r\n".join(out) + "\r\n\r\n").encode("latin-1")


def frame(b0, payload):
    n = len(payload)
    if n < 126:
        head = bytes([b0, n])
    elif n < 65536:
        head = bytes([b0, 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([b0, 127]) + n.to_bytes(8, "big")
    return head + payload
