"""File descriptors of a replicated node (--replicate), from outside: its connections count
against the same budget as a single node's (server/descriptor_budget.h), so a flood of
connections leaves it the descriptors its log segments, snapshots and NATS reconnects need,
and it goes on acknowledging changes. The node runs under a low limit set for its process
alone (soft 256, hard 384), on three local nats-servers.

    replicated_descriptors_test.py build/stampede
"""
import os
import resource
import re
import socket
import time

from failover_harness import ClusterTest, Node, create_product, main
from nats_cluster import _die_with_parent

SOFT, HARD = 256, 384
FLOOD = 500  # more connections than the node may have descriptors for
# What must stay free under the flood: the budget keeps descriptors_reserved (128) for
# files and NATS; some of those are in use already (logs, LMDB, epoll, the NATS socket).
FREE_MIN = 64


def low_limit():
    _die_with_parent()
    resource.setrlimit(resource.RLIMIT_NOFILE, (SOFT, HARD))


class LowLimitNode(Node):
    preexec = staticmethod(low_limit)


class ReplicatedDescriptors(ClusterTest):
    def test_a_flood_of_connections_leaves_a_primary_its_reserve(self):
        a = LowLimitNode(self.binary, self.nats, "a", extra=("--segment-mb", "1"))
        self.nodes.append(a)
        a.wait_role("primary")
        self.assertIn("up to %d connections" % (HARD - 128), a.log())
        create_product(a, "sku-fd", 10)
        admin = a.client()  # a connection made before the flood
        self.assertEqual(admin.request("GET", "/healthz")[0], 200)
        flood = []
        try:
            for _ in range(FLOOD):
                try:
                    flood.append(socket.create_connection(("127.0.0.1", a.port), timeout=2))
                except OSError:
                    pass  # a full backlog may refuse some; the point is the node's descriptors
            time.sleep(1.0)
            used = len(os.listdir("/proc/%d/fd" % a.proc.pid))
            self.assertGreaterEqual(HARD - used, FREE_MIN,
                                    "the flood took the node's reserve: %d of %d descriptors in use"
                                    % (used, HARD))
            # Changes go on: each needs the log (a new 1 MB segment every ~110 of these on
            # each shard) and the stream.
            description = "d" * 9000
            for i in range(300):
                status = admin.request("POST", "/v1/admin/products",
                                       {"id": "fd-%d" % i, "name": "n", "price": 1,
                                        "description": description})[0]
                self.assertEqual(status, 201)
        finally:
            for s in flood:
                s.close()
            admin.close()
        sequences = [int(m.group(1)) for name in os.listdir(a.data_dir)
                     for m in [re.match(r"wal-\d+-(\d+)\.log$", name)] if m]
        self.assertTrue(any(seq > 1 for seq in sequences), sorted(os.listdir(a.data_dir)))
        time.sleep(0.5)
        self.assertEqual(a.role(), "primary")

if __name__ == "__main__":
    main()
