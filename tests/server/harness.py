"""Starts a real `stampede serve` on a free port and speaks HTTP to it (standard library only).

Used by the integration tests: tokens are signed here with the same secret the server is
given, so the tests also check that tokens made by any HS256 library are accepted.
"""
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import socket
import subprocess
import time

import openapi_check

JWT_SECRET = "test-jwt-secret"
GATEWAY_SECRET = "test-gateway-secret"

# Every JSON answer a Client gets is held to the server's OpenAPI document (openapi_check.py).
# STAMPEDE_CHECK_OPENAPI=0 turns that off, to see what a test does past a mismatch.
CHECK_OPENAPI = os.environ.get("STAMPEDE_CHECK_OPENAPI", "1") != "0"

# The environment every test server runs in. Writes are not shed by queueing time: these
# tests check answers and counts, and on a loaded machine a shard thread kept off its core
# past the write deadline (100 ms by default) refuses a write `overloaded`. The tests of
# shedding pass their own --write-wait-* flags, which win over these variables.
def server_env():
    """This process's environment as it is now (a test may set variables, LD_PRELOAD say, just
    before it starts a server), with the write deadlines above."""
    return dict(os.environ, STAMPEDE_WRITE_WAIT_TARGET_MS="10000", STAMPEDE_WRITE_WAIT_INTERVAL_MS="60000")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_token(sub, role=None, exp_in=3600, alg="HS256", secret=JWT_SECRET, header=None, claims=None):
    head = header if header is not None else {"alg": alg, "typ": "JWT"}
    body = {"sub": sub, "exp": int(time.time()) + exp_in}
    if role is not None:
        body["role"] = role
    if claims is not None:
        body = claims
    signing_input = b64url(json.dumps(head).encode()) + "." + b64url(json.dumps(body).encode())
    sig = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(sig)


class Server:
    """A `stampede serve` process; stop() sends SIGTERM and returns its exit code."""

    def __init__(self, binary, *extra, data_dir=None):
        import tempfile
        self.own_dir = data_dir is None  # removed when the server stops
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="stampede-test-")
        self.proc = subprocess.Popen(
            [binary, "serve", "--listen", "127.0.0.1:0", "--jwt-secret", JWT_SECRET,
             "--gateway-secret", GATEWAY_SECRET, "--data-dir", self.data_dir, *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=server_env())
        line = self.proc.stdout.readline()
        m = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        if not m:
            self.proc.kill()
            raise RuntimeError("server did not start: " + line + self.proc.stderr.read())
        self.port = int(m.group(1))

    def kill(self):
        """kill -9: no chance to flush or say goodbye."""
        self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            stream.close()

    def stop(self, timeout=10):
        self.proc.terminate()
        try:
            return self.proc.wait(timeout)
        finally:
            for stream in (self.proc.stdout, self.proc.stderr):
                stream.close()
            if self.own_dir:
                import shutil
                shutil.rmtree(self.data_dir, ignore_errors=True)

    def raw(self, data: bytes, read_timeout=5.0) -> bytes:
        """Sends raw bytes on a fresh connection and returns everything the server answers."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=read_timeout) as s:
            s.sendall(data)
            chunks = []
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    chunks.append(chunk)
                    if b"\r\n\r\n" in b"".join(chunks) and self._complete(b"".join(chunks)):
                        break
            except (socket.timeout, ConnectionResetError):
                pass
            return b"".join(chunks)

    @staticmethod
    def _complete(data: bytes) -> bool:
        head, _, body = data.partition(b"\r\n\r\n")
        m = re.search(rb"content-length:\s*(\d+)", head, re.I)
        return m is not None and len(body) >= int(m.group(1))


class Client:
    """One keep-alive connection; request() returns (status, headers, parsed JSON or text)."""

    def __init__(self, port, token=None):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        self.token = token

    def request(self, method, path, body=None, token="default", headers=None, raw_body=None):
        h = {}
        tok = self.token if token == "default" else token
        if tok:
            h["Authorization"] = "Bearer " + tok
        data = None
        if raw_body is not None:
            data = raw_body
        elif body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        if headers:
            h.update(headers)
        self.conn.request(method, path, body=data, headers=h)
        resp = self.conn.getresponse()
        payload = resp.read()
        hdrs = {k.lower(): v for k, v in resp.getheaders()}
        content_type = hdrs.get("content-type", "")
        parsed = json.loads(payload) if content_type.startswith("application/json") and payload else None
        if CHECK_OPENAPI:
            openapi_check.check(self.conn.port, method, path, resp.status, content_type, parsed)
        if parsed is not None:
            return resp.status, hdrs, parsed, payload
        return resp.status, hdrs, payload.decode(errors="replace"), payload

    def close(self):
        self.conn.close()


def sign_webhook(body: bytes, secret=GATEWAY_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebSocket:
    """A minimal RFC 6455 client (text frames, masked, no extensions) for the tests."""

    def __init__(self, port, token=None, query_token=None, rcvbuf=None, timeout=5.0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        path = "/v1/ws" + ("?access_token=" + query_token if query_token else "")
        head = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n" % (path, key))
        if token:
            head += "Authorization: Bearer %s\r\n" % token
        self.sock.sendall((head + "\r\n").encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            self.buf += chunk
        head_end = self.buf.find(b"\r\n\r\n")
        self.response_head = self.buf[:head_end].decode(errors="replace")
        self.buf = self.buf[head_end + 4:]
        self.status = int(self.response_head.split(" ")[1]) if self.response_head else 0
        expected = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        if self.status == 101:
            assert expected in self.response_head, self.response_head

    def send_frame(self, opcode, payload: bytes, fin=True, mask=True):
        b0 = (0x80 if fin else 0) | opcode
        n = len(payload)
        if n < 126:
            head = bytes([b0, (0x80 if mask else 0) | n])
        elif n < 65536:
            head = bytes([b0, (0x80 if mask else 0) | 126]) + n.to_bytes(2, "big")
        else:
            head = bytes([b0, (0x80 if mask else 0) | 127]) + n.to_bytes(8, "big")
        if mask:
            m = os.urandom(4)
            payload = bytes(c ^ m[i % 4] for i, c in enumerate(payload))
            head += m
        self.sock.sendall(head + payload)

    def send(self, obj):
        self.send_frame(0x1, json.dumps(obj).encode() if not isinstance(obj, (bytes, str)) else
                        (obj.encode() if isinstance(obj, str) else obj))

    def _read_exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv_frame(self):
        """(opcode, payload); answers pings itself."""
        while True:
            b0, b1 = self._read_exact(2)
            n = b1 & 0x7F
            if n == 126:
                n = int.from_bytes(self._read_exact(2), "big")
            elif n == 127:
                n = int.from_bytes(self._read_exact(8), "big")
            payload = self._read_exact(n)
            opcode = b0 & 0x0F
            if opcode == 0x9:  # ping
                self.send_frame(0xA, payload)
                continue
            return opcode, payload

    def recv(self, timeout=5.0):
        """The next text message as JSON."""
        self.sock.settimeout(timeout)
        opcode, payload = self.recv_frame()
        if opcode == 0x8:
            raise ConnectionError("closed by the server: %r" % payload[:2])
        return json.loads(payload)

    def recv_until(self, pred, timeout=5.0):
        """Messages until one satisfies pred; returns (that message, the ones before)."""
        deadline = time.time() + timeout
        seen = []
        while True:
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError("no matching message; saw %r" % seen[-5:])
            m = self.recv(left)
            if pred(m):
                return m, seen
            seen.append(m)

    def close(self):
        try:
            self.send_frame(0x8, (1000).to_bytes(2, "big"))
        except OSError:
            pass
        self.sock.close()


class ServerTest(__import__("unittest").TestCase):
    """One `stampede serve` for a whole test class: `binary` and `server_args` set by the
    subclass (or its main); an admin client and an anonymous one; unique names."""

    binary = None
    server_args = ("--shards", "2")
    admin_token = make_token("root", role="admin")
    counter = 0

    @classmethod
    def setUpClass(cls):
        cls.server = Server(cls.binary, *cls.server_args)
        cls.admin = Client(cls.server.port, cls.admin_token)
        cls.anon = Client(cls.server.port, None)

    @classmethod
    def tearDownClass(cls):
        cls.admin.close()
        cls.anon.close()
        code = cls.server.stop()
        assert code == 0, "stampede serve did not exit 0 on SIGTERM: %r" % code

    def unique(self, prefix):
        ServerTest.counter += 1
        return "%s-%d-%d" % (prefix, os.getpid(), ServerTest.counter)
