"""File descriptors from outside: the server raises its soft limit to the hard one and says
so, keeps a reserve for its logs and snapshots, and neither spins nor locks clients out
when connections use up what it allows.

The server runs under a low limit set for its process alone (soft 256, hard 384).

Usage: descriptors_test.py PATH_TO_STAMPEDE
"""
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Client, JWT_SECRET, server_env, make_token  # noqa: E402

BINARY = None
SOFT, HARD = 256, 384
FLOOD = 500  # more connections than the server may have descriptors for


def low_limit():
    resource.setrlimit(resource.RLIMIT_NOFILE, (SOFT, HARD))


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


class Descriptors(unittest.TestCase):
    def setUp(self):
        self.data_dir = tempfile.mkdtemp(prefix="stampede-fd-")
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [BINARY, "serve", "--listen", "127.0.0.1:0", "--jwt-secret", JWT_SECRET, "--shards", "2",
             "--data-dir", self.data_dir, "--segment-mb", "1", "--snapshot-interval", "1",
             "--request-timeout", "60"],
            stdout=subprocess.PIPE, stderr=self.log, text=True, preexec_fn=low_limit, env=server_env())
        line = self.proc.stdout.readline()
        m = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        if not m:
            self.proc.kill()
            self.fail("server did not start: " + line)
        self.port = int(m.group(1))
        self.flood = []

    def tearDown(self):
        for s in self.flood:
            s.close()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()
        self.log.close()
        import shutil
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def stderr_text(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def open_flood(self):
        for _ in range(FLOOD):
            try:
                self.flood.append(socket.create_connection(("127.0.0.1", self.port), timeout=2))
            except OSError:
                pass  # a full backlog may refuse some; the point is the server's descriptors

    def test_the_soft_limit_is_raised_to_the_hard_one_and_said_so(self):
        with open("/proc/%d/limits" % self.proc.pid) as f:
            limits = f.read()
        self.assertRegex(limits, r"Max open files\s+%d\s+%d" % (HARD, HARD))
        self.assertIn("raised from %d to %d" % (SOFT, HARD), self.stderr_text())

    def test_past_the_limit_the_server_neither_spins_nor_loses_its_logs_and_recovers(self):
        admin = Client(self.port, make_token("root", role="admin"))
        self.assertEqual(admin.request("GET", "/healthz")[0], 200)  # a connection made before
        self.open_flood()
        time.sleep(0.5)
        before = cpu_seconds(self.proc.pid)
        time.sleep(2.0)
        spent = cpu_seconds(self.proc.pid) - before
        self.assertLess(spent, 0.5, "the server burned %.2f s of CPU in 2 s while at its limit" % spent)
        # The log still rotates and snapshots are still taken: 2.7 MB of records over two
        # shards with 1 MB segments, and a snapshot a second.
        description = "d" * 9000
        for i in range(300):
            status = admin.request("POST", "/v1/admin/products",
                                   {"id": "fd-%d" % i, "name": "n", "price": 1, "description": description})[0]
            self.assertEqual(status, 201)
        time.sleep(2.5)
        self.assertIsNone(self.proc.poll(), "the server exited: " + self.stderr_text()[-500:])
        metrics = admin.request("GET", "/metrics")[2]
        self.assertRegex(metrics, r"stampede_snapshots_total [1-9]")
        sequences = [int(m.group(1)) for name in os.listdir(self.data_dir)
                     for m in [re.match(r"wal-\d+-(\d+)\.log$", name)] if m]
        self.assertTrue(any(seq > 1 for seq in sequences), sorted(os.listdir(self.data_dir)))
        # Once the flood goes, new clients are served.
        for s in self.flood:
            s.close()
        self.flood = []
        time.sleep(0.5)
        fresh = Client(self.port)
        self.assertEqual(fresh.request("GET", "/healthz")[0], 200)
        fresh.close()
        admin.close()
        self.proc.terminate()
        self.assertEqual(self.proc.wait(10), 0)


if __name__ == "__main__":
    BINARY = sys.argv.pop(1)
    unittest.main(verbosity=1)
