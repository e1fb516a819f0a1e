"""A JetStream cluster for Python tests: N nats-servers (Debian's) on free loopback ports,
their files in a fresh temporary directory, waited for until every server's /healthz says
JetStream answers, stopped by PID (stop(), or the `with` block's end, also when a test
fails; and killed with the test process if it dies, through PR_SET_PDEATHSIG). The C++
tests' twin is nats_cluster.h. Standard library only.

    with NatsCluster(3) as nats:
        serve(..., "--replicate", nats.url_list())
        nats.kill(nats.index_of(nats.stream_leader("STAMPEDE_shop_0")))
"""
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

READY_TIMEOUT_S = 90  # generous: on a machine at load 20, 30 s was not enough
POLL_S = 0.1
_PR_SET_PDEATHSIG = 1


def free_ports(count):
    """Free TCP ports on 127.0.0.1 (bound together, then released, so they differ)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _die_with_parent():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _get_json(port, path, timeout=2):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=timeout) as r:
        return r.status, json.loads(r.read() or b"null")


class NatsCluster:
    def __init__(self, servers=3, ready_timeout=READY_TIMEOUT_S):
        self.dir = tempfile.mkdtemp(prefix="stampede-nats-")
        ports = free_ports(3 * servers)
        self.servers = []
        for i in range(servers):
            self.servers.append({
                "name": "n%d" % i, "client": ports[3 * i], "route": ports[3 * i + 1],
                "monitor": ports[3 * i + 2], "config": os.path.join(self.dir, "n%d.conf" % i),
                "proc": None})
        for s in self.servers:
            self._write_config(s)
        for i in range(servers):
            self.start(i)
        # A new cluster: every server must also see the whole meta group with a leader
        # (/healthz turns 200 before that on a busy machine: a server saw cluster_size 2 of 3).
        if not self.wait_ready(ready_timeout, whole_group=True):
            self.stop()
            raise RuntimeError("nats-servers did not come up")

    def _write_config(self, s):
        lines = ["server_name: %s" % s["name"], "listen: 127.0.0.1:%d" % s["client"],
                 "http: 127.0.0.1:%d" % s["monitor"],
                 'jetstream {\n  store_dir: "%s"\n  max_memory_store: 64MB\n  max_file_store: 4GB\n}'
                 % os.path.join(self.dir, s["name"])]
        if len(self.servers) > 1:
            routes = "\n".join("    nats-route://127.0.0.1:%d" % p["route"] for p in self.servers)
            lines.append("cluster {\n  name: stampede-test\n  listen: 127.0.0.1:%d\n  routes: [\n%s\n  ]\n}"
                         % (s["route"], routes))
        with open(s["config"], "w") as f:
            f.write("\n".join(lines) + "\n")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def urls(self):
        return ["nats://127.0.0.1:%d" % s["client"] for s in self.servers]

    def url_list(self):
        """The servers as --replicate takes them."""
        return ",".join(self.urls())

    def name(self, i):
        return self.servers[i]["name"]

    def index_of(self, name):
        return next(i for i, s in enumerate(self.servers) if s["name"] == name)

    def pid(self, i):
        proc = self.servers[i]["proc"]
        return proc.pid if proc else None

    def running(self, i):
        return self.servers[i]["proc"] is not None

    def start(self, i):
        s = self.servers[i]
        if s["proc"] is not None:
            return
        log = open(os.path.join(self.dir, s["name"] + ".log"), "ab")
        s["proc"] = subprocess.Popen(["nats-server", "-c", s["config"]], stdout=log, stderr=log,
                                     preexec_fn=_die_with_parent)
        log.close()

    def kill(self, i, sig=signal.SIGKILL):
        """Sends `sig` to server i by PID; for SIGKILL and SIGTERM waits for it to end."""
        proc = self.servers[i]["proc"]
        if proc is None:
            return
        os.kill(proc.pid, sig)
        if sig in (signal.SIGKILL, signal.SIGTERM):
            proc.wait()
            self.servers[i]["proc"] = None

    def wait_ready(self, timeout=READY_TIMEOUT_S, whole_group=False):
        """Waits until every running server's /healthz is 200 (JetStream current); with
        whole_group, also until each sees the whole meta group with a leader."""
        deadline = time.monotonic() + timeout
        while True:
            ok = True
            for s in self.servers:
                if s["proc"] is None:
                    continue
                try:
                    status, _ = _get_json(s["monitor"], "/healthz")
                    ok = ok and status == 200 and (not whole_group or self._meta_group_formed(s))
                except (OSError, ValueError):
                    ok = False
            if ok:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(POLL_S)

    def _meta_group_formed(self, s):
        """Whether server s knows every peer of the JetStream meta group and its leader."""
        if len(self.servers) == 1:
            return True
        _, jsz = _get_json(s["monitor"], "/jsz")
        meta = jsz.get("meta_cluster") or {}
        return meta.get("cluster_size") == len(self.servers) and bool(meta.get("leader"))

    def _stream_details(self, stream):
        """`stream`'s detail as each running server that answers sees it, in server order."""
        for s in self.servers:
            if s["proc"] is None:
                continue
            try:
                _, jsz = _get_json(s["monitor"], "/jsz?accounts=true&streams=true")
            except (OSError, ValueError):
                continue
            for account in jsz.get("account_details") or []:
                for st in account.get("stream_detail") or []:
                    if st.get("name") == stream:
                        yield st

    def stream_leader(self, stream):
        """The server name leading `stream`, as a running server sees it (None: no leader)."""
        for st in self._stream_details(stream):
            leader = (st.get("cluster") or {}).get("leader")
            if leader:
                return leader
        return None

    def stream_first_seq(self, stream):
        """The first message `stream` still holds (past a purge), as a running server sees
        it; None when none answers."""
        for st in self._stream_details(stream):
            if st.get("state"):
                return st["state"].get("first_seq")
        return None

    def stop(self):
        for i in range(len(self.servers)):
            if self.running(i):
                self.kill(i, signal.SIGKILL)
        if not os.environ.get("STAMPEDE_KEEP_NATS"):
            shutil.rmtree(self.dir, ignore_errors=True)
