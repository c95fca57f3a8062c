"""The Python client against a real cluster: CHARIOTS_URL (app) and CHARIOTS_BATCHER (host:port).

    CHARIOTS_URL=http://127.0.0.1:8080 CHARIOTS_BATCHER=127.0.0.1:9000 \\
        python3 -m unittest discover -s clients/python/integration -v

Run by system-tests' ClientLibrariesTest (mvn -B verify). The log may hold other records: everything
here is found by this run's own tags and ids."""

import os
import secrets
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from chariots import (BadRequestError, Batcher, Client, NotFoundError, Record, caused_by,  # noqa: E402
                      tag_hash)

URL = os.environ.get("CHARIOTS_URL")
BATCHER = os.environ.get("CHARIOTS_BATCHER")
TOKEN = os.environ.get("CHARIOTS_TOKEN")  # the client token, when the cluster requires one
if not URL or not BATCHER:
    raise RuntimeError("set CHARIOTS_URL (the app, http://host:port) and CHARIOTS_BATCHER (host:port) to a running cluster")


def big_seed():
    """A seed above 2**63: negative as a signed 64-bit number."""
    return (1 << 63) + secrets.randbits(63)


class Cluster(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.log = Client(URL, timeout=15, token=TOKEN)
        cls.run_id = secrets.token_hex(4)

    @classmethod
    def tearDownClass(cls):
        cls.log.close()

    def await_appended(self, events, timeout=60.0):
        """Waits until every event has an LId (status 'appended'); fills event.lid."""
        deadline = time.monotonic() + timeout
        for ev in events:
            while True:
                st = self.log.status(ev.id)
                if st.status == "appended":
                    ev.lid = st.lid
                    break
                self.assertNotEqual(st.status, "rejected", "%s rejected: %s" % (ev.id, st.reason))
                if time.monotonic() > deadline:
                    self.fail("%s not appended within %ss: %s" % (ev.id, timeout, st))
                time.sleep(0.1)
        return events

    def test_chains_over_http_and_tcp_read_back_every_way(self):
        run = self.run_id
        s1, s2 = big_seed(), big_seed()
        # Over HTTP: A; B caused by A's non-ASCII tag; C caused by both A and B.
        a = self.log.append({"step": "a", "run": run, "émoji": "✓ " + run}, seed=s1)
        b = self.log.append({"step": "b", "run": run}, caused_by(a, "émoji"))
        c = self.log.append({"step": "c", "run": run}, [caused_by(a, "step"), caused_by(b, "step")])
        self.assertEqual((a.seed, b.seed, c.seed), (s1, s1, s1))
        # One POST with two records, the second caused by the first.
        m1 = Record({"step": "m1", "run": run}, caused_by(c, "step"))
        m2 = Record({"step": "m2", "run": run}, caused_by(m1.event(), "step"))
        many = self.log.append_many([m1, m2])
        # Over raw TCP: D, E caused by D, then an 's' frame of two records caused by E.
        with Batcher(BATCHER, token=TOKEN) as bt:
            d = bt.append({"tcp": "d", "run": run, "ключ": "значение"}, seed=s2)
            e = bt.append({"tcp": "e", "run": run}, caused_by(d, "ключ"))
            fg = bt.append_many([Record({"tcp": "f", "run": run}, caused_by(e, "tcp")),
                                 Record({"tcp": "g", "run": run}, caused_by(e, "tcp"))])
        mine = [a, b, c] + many + [d, e] + fg
        self.await_appended(mine)

        # Causality, in log order.
        self.assertLess(a.lid, b.lid)
        self.assertLess(b.lid, c.lid)
        self.assertLess(c.lid, many[0].lid)
        self.assertLess(many[0].lid, many[1].lid)
        self.assertLess(d.lid, e.lid)
        self.assertLess(e.lid, min(fg[0].lid, fg[1].lid))

        # get: exactly what was appended, seeds above 2**63 and hashes intact.
        for ev in mine:
            got = self.log.get(ev.lid)
            self.assertEqual((got.id, got.tags, got.seed, got.prehash, got.lid), (ev.id, ev.tags, ev.seed, ev.prehash, ev.lid))
        self.assertEqual(self.log.get(b.lid).prehash, (tag_hash("émoji", "✓ " + run),))
        self.assertEqual(set(self.log.get(c.lid).prehash), {tag_hash("step", "a"), tag_hash("step", "b")})
        self.assertEqual(self.log.get(e.lid).prehash, (tag_hash("ключ", "значение"),))

        # Range pages, following next: dense LIds, ours at their places.
        lo, hi = min(ev.lid for ev in mine), max(ev.lid for ev in mine)
        page = self.log.records(lo, 3)
        self.assertEqual([r.lid for r in page], list(range(lo, lo + len(page))))
        self.assertEqual(page.next, lo + len(page))
        seen = {}
        expect = lo
        for r in self.log.iter_records(lo, page_size=3):
            self.assertEqual(r.lid, expect, "range pages skip or repeat")
            expect += 1
            seen[r.id] = r.lid
            if r.lid >= hi:
                break
        for ev in mine:
            self.assertEqual(seen.get(ev.id), ev.lid)

        # By tag: this run's records; the non-ASCII tag; one chain only.
        by_run = [r.id for r in self.log.by_tag("run:" + run, page_size=2)]
        self.assertEqual(by_run, [ev.id for ev in sorted(mine, key=lambda x: x.lid)])
        self.assertEqual([r.id for r in self.log.by_tag("émoji", "✓ " + run)], [a.id])
        self.assertEqual([r.id for r in self.log.by_tag("run:" + run, seed=s2)], [ev.id for ev in sorted([d, e] + fg, key=lambda x: x.lid)])

        # Trace: the chain in causal order, each record with its causes' LIds.
        t = self.log.trace(s1)
        self.assertEqual([r.id for r in t], [a.id, b.id, c.id, many[0].id, many[1].id])
        causes = {r.id: sorted(r.causes) for r in t}
        self.assertEqual(causes[a.id], [])
        self.assertEqual(causes[b.id], [a.lid])
        self.assertEqual(causes[c.id], sorted([a.lid, b.lid]))
        self.assertEqual(causes[many[1].id], [many[0].lid])
        self.assertEqual([r.id for r in self.log.trace(s2)][:2], [d.id, e.id])

        # Tail from our first record: every LId in order up to our last.
        got = []
        tail = self.log.tail(lo, timeout=30)
        try:
            for r in tail:
                got.append(r)
                if r.lid >= hi:
                    break
        finally:
            tail.close()
        self.assertEqual([r.lid for r in got], list(range(lo, hi + 1)))
        self.assertTrue({ev.id for ev in mine} <= {r.id for r in got})

        # Resume a tail from the middle.
        mid = next(iter(self.log.tail(b.lid, timeout=30)))
        self.assertEqual((mid.lid, mid.id), (b.lid, b.id))

    def test_durable_appends_are_readable_when_they_return(self):
        a = self.log.append({"durable": "a-" + self.run_id}, wait=True)
        self.assertIsInstance(a.lid, int)
        self.assertEqual(self.log.get(a.lid).id, a.id)
        b = self.log.append({"durable": "b-" + self.run_id}, caused_by=caused_by(a, "durable"), wait=True)
        self.assertGreater(b.lid, a.lid)
        many = self.log.append_many([{"durable": "m%d-%s" % (i, self.run_id)} for i in range(5)], wait=True)
        self.assertEqual(len({ev.lid for ev in many}), 5)
        for ev in many:
            self.assertEqual(self.log.get(ev.lid).id, ev.id)

    def test_errors_a_user_sees(self):
        with self.assertRaises(NotFoundError):
            self.log.get((1 << 63) + 5)
        with self.assertRaises(BadRequestError) as e:
            self.log.records(1, 5000)
        self.assertEqual(e.exception.parameter, "limit")
        with self.assertRaises(BadRequestError) as e:
            list(self.log.by_tag(":v"))
        self.assertEqual(e.exception.parameter, "tag")
        self.assertEqual(self.log.status("never-" + self.run_id).status, "unknown")
        with self.assertRaises(ValueError):
            self.log.append({"k": "v"}, seed=-1)


if __name__ == "__main__":
    unittest.main()
