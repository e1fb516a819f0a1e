"""Stand-ins for the load tools' tests (standard library only): a tiny HTTP server whose
every answer a test decides, on a free loopback port, in threads of this process, and
helpers to run a tool as a child process that is always stopped, also when a test fails.
"""
import http.server
import json
import os
import socketserver
import subprocess
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server"))
import harness  # noqa: E402,F401  (Server, make_token, WebSocket: re-exported for the tests)

NEVER = object()  # a handler's answer: keep the connection and never answer


class StandIn:
    """An HTTP/1.1 keep-alive server on 127.0.0.1:<free port>. `handler(method, path,
    headers, body)` returns (status, body as dict or bytes[, headers]) or NEVER."""

    def __init__(self, handler):
        outer = self
        self.handler = handler
        self.requests = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _serve(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                with outer.lock:
                    outer.requests.append((self.command, self.path))
                answer = outer.handler(self.command, self.path, self.headers, body)
                if answer is NEVER:
                    outer.stopping.wait()
                    self.close_connection = True
                    return
                status, payload = answer[0], answer[1]
                extra = answer[2] if len(answer) > 2 else {}
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in extra.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True
            request_queue_size = 1024

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def count(self, method, prefix):
        with self.lock:
            return sum(1 for m, p in self.requests if m == method and p.startswith(prefix))

    def stop(self):
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()


def run_tool(argv, timeout=120):
    """Runs a tool to its end (killed by PID if it outlives `timeout`); (code, stdout, stderr)."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError("%s ran over %d s:\n%s\n%s" % (argv[0], timeout, out[-3000:], err[-3000:]))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, out, err


def free_port():
    """A loopback port nothing listens on (bound, then released)."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
