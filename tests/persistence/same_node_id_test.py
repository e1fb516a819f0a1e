"""Two processes started with the same --node-id (each with its own data directory and
port) as standbys of a primary that dies while both are paused: when they resume together,
both compute the same epoch and append their TAKEOVERs at the same sequence. Exactly one
must become primary and stay so; the other stays standby (or exits); every change either
acknowledged is on a `--role replica` node once it has caught up. Before MsgIds carried each
process's instance id, the second TAKEOVER came back from JetStream as a "duplicate" of the
first at the sequence it expected, both nodes served as primary, and the replica skipped
the survivor's records.

    same_node_id_test.py build/stampede
"""
import signal
import threading
import time

from failover_harness import (ClusterTest, create_product, main, primary_of,
                              FAILOVER_BOUND_S, STEP_DOWN_BOUND_S)

# How long the standbys stay paused after the primary is killed: well past their takeover
# delay, so both try to take over as soon as they resume.
PAUSED_S = 3
# How long changes go on after one of the two has become primary.
WRITING_AFTER_S = 3


class SameNodeId(ClusterTest):
    def test_two_processes_of_one_node_id_make_one_primary_and_lose_nothing(self):
        b = self.node("b")
        b.wait_role("primary")
        first = self.node("a")
        first.wait_role("standby")
        second = self.node("a")
        second.wait_role("standby")
        create_product(b, "before", 10)
        first.wait_caught_up(b)
        second.wait_caught_up(b)
        first.signal(signal.SIGSTOP)
        second.signal(signal.SIGSTOP)
        b.kill()
        time.sleep(PAUSED_S)
        # Changes go to both from the moment they resume; each thread records what its
        # node acknowledged.
        acked = {"first": [], "second": []}
        stop = threading.Event()

        def write(node, name):
            i = 0
            while not stop.is_set():
                product = "%s-%d" % (name, i)
                status, _, _ = node.request("POST", "/v1/admin/products", {
                    "id": product, "name": "n", "price": 1, "on_hand": 5}, timeout=30)
                if 200 <= status < 300:
                    acked[name].append(product)
                    i += 1
                else:
                    time.sleep(0.02)

        writers = [threading.Thread(target=write, args=(first, "first"), daemon=True),
                   threading.Thread(target=write, args=(second, "second"), daemon=True)]
        first.signal(signal.SIGCONT)
        second.signal(signal.SIGCONT)
        for t in writers:
            t.start()
        try:
            primary = primary_of([first, second], timeout=FAILOVER_BOUND_S + 5)
            other = second if primary is first else first
            deadline = time.monotonic() + STEP_DOWN_BOUND_S
            while other.proc.poll() is None and other.role() != "standby" and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(WRITING_AFTER_S)
        finally:
            stop.set()
            for t in writers:
                t.join(60)
        self.assertEqual(primary.role(), "primary", "the primary did not stay primary")
        if other.proc.poll() is None:
            self.assertEqual(other.role(), "standby", "the other process of node a")
        mine = "first" if primary is first else "second"
        self.assertGreater(len(acked[mine]), 0, "the primary acknowledged nothing")
        replica = self.node("c", role="replica")
        replica.wait_role("replica")
        replica.wait_caught_up(primary)
        for name, products in acked.items():
            for product in products + ["before"]:
                status, _, body = replica.request("GET", "/v1/products/" + product)
                self.assertEqual(status, 200, "%s acknowledged %s, the replica has not: %r"
                                 % (name, product, body))


if __name__ == "__main__":
    main()
