"""The Python cluster harness itself: three servers form one JetStream cluster, a killed one
comes back on its ports and store, and stop() leaves no process behind."""
import os
import signal
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nats_cluster import NatsCluster, _get_json  # noqa: E402


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is not running: it has only not been reaped.
    with open("/proc/%d/stat" % pid) as f:
        return f.read().split(") ")[1][0] != "Z"


class NatsClusterTest(unittest.TestCase):
    def test_three_servers_form_one_jetstream_cluster_and_stop_by_pid(self):
        nats = NatsCluster(3)
        pids = [nats.pid(i) for i in range(3)]
        try:
            self.assertEqual(len(nats.urls()), 3)
            self.assertEqual(nats.url_list().count(","), 2)
            for s in nats.servers:
                _, jsz = _get_json(s["monitor"], "/jsz")
                self.assertEqual(jsz["meta_cluster"]["cluster_size"], 3)
                self.assertTrue(jsz["meta_cluster"]["leader"])
            nats.kill(1)
            self.assertFalse(nats.running(1))
            self.assertFalse(alive(pids[1]))
            nats.start(1)
            self.assertTrue(nats.wait_ready())
            pids[1] = nats.pid(1)
            _, varz = _get_json(nats.servers[1]["monitor"], "/varz")
            self.assertEqual(varz["server_name"], "n1")
            nats.kill(2, signal.SIGSTOP)
            self.assertTrue(alive(pids[2]))
            nats.kill(2, signal.SIGCONT)
        finally:
            nats.stop()
        for pid in pids:
            self.assertFalse(alive(pid), pid)
        self.assertFalse(os.path.exists(nats.dir))


if __name__ == "__main__":
    unittest.main()
