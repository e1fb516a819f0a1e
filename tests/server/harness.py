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

JWT_SECRET = "test-jwt-secret"
GATEWAY_SECRET = "test-gateway-secret"


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
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
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
        if hdrs.get("content-type", "").startswith("application/json") and payload:
            return resp.status, hdrs, json.loads(payload), payload
        return resp.status, hdrs, payload.decode(errors="replace"), payload

    def close(self):
        self.conn.close()


def sign_webhook(body: bytes, secret=GATEWAY_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
