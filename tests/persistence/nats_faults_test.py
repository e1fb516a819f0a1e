"""NATS faults under a replicated Stampede: kill -9 the nats-server leading the streams
(writes stall for the election, then resume) and kill all three and restart them; in both,
every order acknowledged is still there.

    nats_faults_test.py build/stampede [TestName]
"""
import time

from failover_harness import ClusterTest, Shoppers, check_store, create_product, main, primary_of

# A stream whose NATS leader dies elects a new one in 4-9 s; a cold restart of every
# server takes up to ~20 s before streams have leaders. The bound leaves room for a loaded
# machine; it checks that orders resume, not how fast.
RESUME_BOUND_S = 120


class NatsFaults(ClusterTest):
    def orders_resume_after(self, fault):
        a, b = self.pair()
        create_product(a, "sku-n", 500)
        shoppers = Shoppers([a, b], "sku-n", threads=3).start()
        deadline = time.monotonic() + 60
        while len(shoppers.orders) < 15 and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertGreaterEqual(len(shoppers.orders), 15, shoppers.errors)
        before = len(shoppers.orders)
        fault()
        faulted_at = time.monotonic()
        deadline = faulted_at + RESUME_BOUND_S
        while len(shoppers.orders) < before + 15 and time.monotonic() < deadline:
            time.sleep(0.05)
        shoppers.stop()
        self.assertGreaterEqual(len(shoppers.orders), before + 15, "orders did not resume")
        resumed = min(t for t, _ in shoppers.acks_at if t > faulted_at)
        print("first change acknowledged %.2f s after the fault" % (resumed - faulted_at))
        self.assertEqual(shoppers.errors, [])
        check_store(self, primary_of([a, b]), "sku-n", shoppers.orders)

    def test_the_nats_server_leading_the_streams_killed_writes_stall_then_resume(self):
        def kill_leader():
            leader = self.nats.stream_leader("STAMPEDE_shop_0")
            self.assertIsNotNone(leader)
            self.nats.kill(self.nats.index_of(leader))
        self.orders_resume_after(kill_leader)

    def test_every_nats_server_killed_and_restarted_loses_nothing_acknowledged(self):
        def kill_all():
            for i in range(3):
                self.nats.kill(i)
            for i in range(3):
                self.nats.start(i)
        self.orders_resume_after(kill_all)


if __name__ == "__main__":
    main()
