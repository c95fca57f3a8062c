import io
import json
import time
import unittest
from contextlib import redirect_stderr, redirect_stdout
from urllib.parse import parse_qs, urlsplit

from fake import DROP, FakeApp, FakeBatcher
import chariots
from chariots import (BadRequestError, Batcher, Client, NotFoundError, Record, RejectedError, TimeoutError,
                      UnavailableError, caused_by, tag_hash)
from chariots.cli import main as cli

BIG = 2 ** 64 - 7  # above 2**63: negative as a signed long


def query(req):
    return {k: v[0] for k, v in parse_qs(urlsplit(req.path).query).items()}


class HttpAppends(unittest.TestCase):
    def setUp(self):
        self.app = FakeApp()
        self.log = Client(self.app.url, retries=3, max_backoff=0.05)

    def tearDown(self):
        self.log.close()
        self.app.close()

    def test_append_sends_unsigned_numbers_and_utf8(self):
        self.app.handler = lambda r: (202, {"id": r.json["id"]})
        a = self.log.append({"émoji": "✓"}, seed=BIG)
        raw = self.app.requests[0].raw
        self.assertIn(b'"seed":18446744073709551609', raw)
        self.assertIn("émoji".encode("utf-8"), raw)
        self.assertEqual(self.app.requests[0].path, "/record")
        self.assertEqual(self.app.requests[0].headers["Content-Type"], "application/json")
        self.assertEqual((a.seed, a.tags, a.lid, a.prehash), (BIG, {"émoji": "✓"}, None, ()))
        b = self.log.append({"k": "v"}, caused_by(a, "émoji"))
        body = self.app.requests[1].json
        self.assertEqual(body["seed"], BIG)
        self.assertEqual(body["prehash"], tag_hash("émoji", "✓"))
        self.assertEqual(b.seed, BIG)

    def test_503_is_retried_with_the_same_id_honouring_retry_after(self):
        answers = [(503, {"error": "full", "ids": ["x"]}, {"Retry-After": "1"}),
                   (503, {"error": "full"}, {"Retry-After": "0"})]
        self.app.handler = lambda r: answers.pop(0) if answers else (202, {"id": r.json["id"]})
        self.log.max_backoff = 5
        t0 = time.monotonic()
        ev = self.log.append({"k": "v"})
        self.assertGreaterEqual(time.monotonic() - t0, 0.9)
        ids = [r.json["id"] for r in self.app.requests]
        self.assertEqual(ids, [ev.id] * 3)

    def test_503_forever_is_unavailable_after_bounded_retries(self):
        self.app.handler = lambda r: (503, {"error": "no batcher is registered"}, {"Retry-After": "0"})
        with self.assertRaises(UnavailableError) as e:
            self.log.append({"k": "v"})
        self.assertEqual(len(self.app.requests), 4)
        self.assertEqual(e.exception.status, 503)
        self.assertIn("no batcher is registered", str(e.exception))

    def test_network_error_is_retried_with_the_same_id(self):
        answers = [DROP]
        self.app.handler = lambda r: answers.pop(0) if answers else (202, {"id": r.json["id"]})
        ev = self.log.append({"k": "v"}, id="my-id")
        self.assertEqual([r.json["id"] for r in self.app.requests], ["my-id", "my-id"])
        self.assertEqual(ev.id, "my-id")

    def test_unreachable(self):
        log = Client("http://127.0.0.1:1", retries=1, max_backoff=0.01)
        with self.assertRaisesRegex(UnavailableError, "cannot reach"):
            log.append({"k": "v"})

    def test_bad_request_names_field_and_problem(self):
        self.app.handler = lambda r: (400, {"error": "tags: must be an object", "field": "tags", "problem": "must be an object"})
        with self.assertRaises(BadRequestError) as e:
            self.log.append({"k": "v"})
        self.assertEqual((e.exception.field, e.exception.problem, e.exception.status), ("tags", "must be an object", 400))
        self.assertIn("tags: must be an object", str(e.exception))
        self.assertEqual(len(self.app.requests), 1)  # not retried

    def test_values_are_checked_before_sending(self):
        for kw in ({"seed": -1}, {"seed": 2 ** 64}):
            with self.assertRaises(ValueError):
                self.log.append({"k": "v"}, **kw)
        self.assertEqual(self.app.requests, [])

    def test_durable_append(self):
        self.app.handler = lambda r: (200, {"id": r.json["id"], "lid": 42, "host": 0})
        ev = self.log.append({"k": "v"}, wait=True)
        self.assertEqual(query(self.app.requests[0]), {"wait": "true"})
        self.assertEqual((ev.lid, ev.host), (42, 0))

    def test_durable_append_timeout_keeps_the_id(self):
        self.app.handler = lambda r: (504, {"id": r.json["id"], "error": "not persisted within 5000 ms"})
        with self.assertRaises(TimeoutError) as e:
            self.log.append({"k": "v"}, id="T1", wait=True)
        self.assertEqual(e.exception.id, "T1")
        self.assertIsInstance(e.exception, chariots.ChariotsError)
        self.assertIn("not persisted", str(e.exception))
        # retry-safe: the same id again
        self.app.handler = lambda r: (200, {"id": r.json["id"], "lid": 9, "host": 0})
        self.assertEqual(self.log.append({"k": "v"}, id=e.exception.id, wait=True).lid, 9)

    def test_durable_append_rejected(self):
        self.app.handler = lambda r: (409, {"id": r.json["id"], "status": "rejected", "reason": "cause timeout"})
        with self.assertRaises(RejectedError) as e:
            self.log.append({"k": "v"}, id="R", wait=True)
        self.assertEqual((e.exception.id, e.exception.reason), ("R", "cause timeout"))

    def test_durable_append_on_a_server_without_wait_polls_the_status(self):
        polls = []

        def h(r):
            if r.method == "POST":
                return 202, {"id": r.json["id"]}
            polls.append(r)
            if len(polls) < 3:
                return 200, {"id": query(r)["id"], "status": "pending", "waitingFor": [], "since": 1}
            return 200, {"id": query(r)["id"], "status": "appended", "lid": 77}
        self.app.handler = h
        ev = self.log.append({"k": "v"}, wait=True)
        self.assertEqual((ev.lid, len(polls)), (77, 3))
        self.assertEqual(query(polls[0])["id"], ev.id)
        self.app.handler = lambda r: (202, {"id": r.json["id"]}) if r.method == "POST" else (200, {"id": "x", "status": "rejected", "reason": "cause timeout"})
        with self.assertRaisesRegex(RejectedError, "cause timeout"):
            self.log.append({"k": "v"}, wait=True)
        self.app.handler = lambda r: (202, {"id": r.json["id"]}) if r.method == "POST" else (404, {"status": "unknown"})
        self.log.wait_timeout = 0.2
        with self.assertRaises(TimeoutError) as e:
            self.log.append({"k": "v"}, id="W", wait=True)
        self.assertEqual(e.exception.id, "W")

    def test_append_many_is_one_array(self):
        self.app.handler = lambda r: (202, {"ids": [x["id"] for x in r.json]})
        a = Record({"f": "A"}, seed=BIG)
        evs = self.log.append_many([a, Record({"f": "B"}, caused_by(a.event(), "f")), {"x": "y"}])
        body = self.app.requests[0].json
        self.assertEqual(len(self.app.requests), 1)
        self.assertEqual([b["id"] for b in body], [e.id for e in evs])
        self.assertEqual(body[1]["prehash"], tag_hash("f", "A"))
        self.assertEqual(body[1]["seed"], BIG)

    def test_append_many_bad_request_lists_errors(self):
        self.app.handler = lambda r: (400, {"error": "1 of 2 records are invalid", "errors": [{"field": "[1].seed", "problem": "x"}]})
        with self.assertRaises(BadRequestError) as e:
            self.log.append_many([{"a": "b"}, {"c": "d"}])
        self.assertEqual(e.exception.errors[0]["field"], "[1].seed")


REC = lambda lid, **kw: dict({"lid": lid, "host": 0, "id": "r%d" % lid, "tags": {"n": str(lid)}, "seed": BIG,
                              "prehash": 0, "timestamp": 1}, **kw)


class HttpReads(unittest.TestCase):
    def setUp(self):
        self.app = FakeApp()
        self.log = Client(self.app.url, retries=2, max_backoff=0.05)

    def tearDown(self):
        self.log.close()
        self.app.close()

    def test_get_and_not_found(self):
        self.app.handler = lambda r: (200, REC(3)) if r.path == "/record/3" else (404, {"error": "no record at LId 4"})
        e = self.log.get(3)
        self.assertEqual((e.lid, e.seed, e.tags), (3, BIG, {"n": "3"}))
        with self.assertRaisesRegex(NotFoundError, "no record at LId 4"):
            self.log.get(4)
        with self.assertRaises(ValueError):
            self.log.get(-1)

    def test_reads_carry_toid_or_none(self):
        def answer(r):
            if r.path.startswith("/record/"):
                return 200, REC(3, host=1, toid=2 ** 64 - 2)
            return 200, {"records": [REC(1, toid=1), REC(2)], "next": 3}
        self.app.handler = answer
        e = self.log.get(3)
        self.assertEqual((e.lid, e.host, e.toid), (3, 1, 2 ** 64 - 2))
        self.assertEqual([(e.lid, e.toid) for e in self.log.records(1, 2)], [(1, 1), (2, None)])

    def test_records_pages_follow_next(self):
        def pages(r):
            q = query(r)
            f = int(q["from"])
            recs = [REC(i) for i in range(f, min(f + 2, 6))]
            return 200, {"records": recs, "next": f + len(recs)}
        self.app.handler = pages
        page = self.log.records(1, 2)
        self.assertEqual(([e.lid for e in page], page.next), ([1, 2], 3))
        self.assertEqual([e.lid for e in self.log.iter_records(1, page_size=2)], [1, 2, 3, 4, 5])

    def test_bad_parameter(self):
        self.app.handler = lambda r: (400, {"error": "limit: must be at most 1000", "parameter": "limit"})
        with self.assertRaises(BadRequestError) as e:
            self.log.records(1, 5000)
        self.assertEqual(e.exception.parameter, "limit")

    def test_by_tag_encodes_the_tag_and_pages(self):
        def tagged(r):
            q = query(r)
            f = int(q["from"])
            if f == 1:
                return 200, {"tag": q["tag"], "hash": 1, "records": [REC(2), REC(7)], "next": 8}
            return 200, {"tag": q["tag"], "hash": 1, "records": [], "next": f}
        self.app.handler = tagged
        self.assertEqual([e.lid for e in self.log.by_tag("émoji:✓ x", seed=BIG)], [2, 7])
        self.assertEqual(query(self.app.requests[0])["tag"], "émoji:✓ x")
        self.assertEqual(query(self.app.requests[0])["seed"], str(BIG))
        self.assertEqual(query(self.app.requests[1])["from"], "8")
        list(self.log.by_tag("k", "v"))
        self.assertEqual(query(self.app.requests[-1])["tag"], "k:v")

    def test_trace(self):
        self.app.handler = lambda r: (200, {"seed": BIG, "records": [REC(1, causes=[]), REC(2, prehash=5, causes=[1])], "next": 3}) \
            if query(r)["from"] == "1" else (200, {"seed": BIG, "records": [], "next": 3})
        t = self.log.trace(BIG)
        self.assertEqual([(e.lid, e.causes, e.prehash) for e in t], [(1, [], ()), (2, [1], (5,))])
        self.assertTrue(self.app.requests[0].path.startswith("/trace/%d?" % BIG))

    def test_status(self):
        self.app.handler = lambda r: (200, {"id": "p", "status": "pending", "waitingFor": [{"prehash": BIG, "seed": 1}], "since": 5}) \
            if query(r)["id"] == "p" else (404, {"id": "u", "status": "unknown", "error": "no record"})
        s = self.log.status("p")
        self.assertEqual((s.status, s.waiting_for[0]["prehash"]), ("pending", BIG))
        self.assertEqual(self.log.status("u").status, "unknown")

    def test_reads_retry_503(self):
        answers = [(503, {"error": "a maintainer did not answer"}, {"Retry-After": "0"})]
        self.app.handler = lambda r: answers.pop(0) if answers else (200, REC(1))
        self.assertEqual(self.log.get(1).lid, 1)

    def test_tail_resumes_after_a_dropped_stream(self):
        def stream(r):
            f = int(query(r)["from"])
            def write(h):
                h.send_response(200)
                h.send_header("Content-Type", "application/x-ndjson")
                h.end_headers()  # no length, no chunking: the body ends when the connection does
                for lid in range(f, f + 3):
                    h.wfile.write((json.dumps(REC(lid)) + "\n").encode())
                h.wfile.flush()
            return write
        self.app.handler = stream
        got = []
        for e in self.log.tail(5):
            got.append(e.lid)
            if len(got) == 7:
                break
        self.assertEqual(got, list(range(5, 12)))
        self.assertEqual([query(r)["from"] for r in self.app.requests], ["5", "8", "11"])


class Tcp(unittest.TestCase):
    def test_frames(self):
        fake = FakeBatcher()
        try:
            with Batcher(fake.address) as b:
                a = b.append({"émoji": "✓"}, seed=BIG)
                c = b.append({"f": "B"}, caused_by(a, "émoji"))
                evs = b.append_many([Record({"f": "C"}, caused_by(c, "f")), {"x": "y"}])
            self.assertTrue(fake.done.wait(5))
            self.assertEqual([t for t, _ in fake.frames], [b"r", b"r", b"s"])
            first = json.loads(fake.frames[0][1].decode("utf-8"))
            self.assertEqual(first, {"Id": a.id, "Tags": {"émoji": "✓"}, "Seed": BIG, "Pre": {"Hash": 0}})
            self.assertIn(b'"Seed":18446744073709551609', fake.frames[1][1])
            self.assertEqual(json.loads(fake.frames[1][1])["Pre"]["Hash"], tag_hash("émoji", "✓"))
            arr = json.loads(fake.frames[2][1])
            self.assertEqual([x["Id"] for x in arr], [e.id for e in evs])
            self.assertEqual(arr[0]["Seed"], BIG)
            self.assertIsNone(a.lid)
        finally:
            fake.close()

    def test_frame_layout(self):
        self.assertEqual(chariots.frame(b"r", b"{}"), b"\x00\x00\x00\x03r{}")


class Cli(unittest.TestCase):
    def run_cli(self, *argv):
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            rc = cli(list(argv))
        return rc, out.getvalue(), err.getvalue()

    def test_append_caused_by_lid(self):
        app = FakeApp(lambda r: (200, REC(4, tags={"func": "A"})) if r.method == "GET" else (202, {"id": r.json["id"]}))
        try:
            rc, out, err = self.run_cli("append", "--url", app.url, "--tags", '{"func":"B"}', "--caused-by", "4:func")
            self.assertEqual(rc, 0, err)
            ev = json.loads(out)
            self.assertEqual((ev["seed"], ev["prehash"], ev["tags"]), (BIG, tag_hash("func", "A"), {"func": "B"}))
            self.assertEqual(app.requests[1].json["prehash"], tag_hash("func", "A"))
        finally:
            app.close()

    def test_get_prints_lid_host_and_toid(self):
        app = FakeApp(lambda r: (200, REC(4, host=2, toid=2 ** 64 - 1)) if r.path == "/record/4" else (200, REC(5)))
        try:
            rc, out, err = self.run_cli("get", "--url", app.url, "4")
            self.assertEqual(rc, 0, err)
            self.assertIn('"toid":18446744073709551615,', out)
            self.assertEqual({k: v for k, v in json.loads(out).items() if k in ("lid", "host", "toid")},
                             {"lid": 4, "host": 2, "toid": 2 ** 64 - 1})
            rc, out, err = self.run_cli("get", "--url", app.url, "5")
            self.assertEqual(rc, 0, err)
            self.assertNotIn("toid", json.loads(out))
        finally:
            app.close()

    def test_errors_exit_1_with_a_message(self):
        app = FakeApp(lambda r: (404, {"error": "no record at LId 9"}))
        try:
            rc, out, err = self.run_cli("append", "--url", app.url, "--tags", '{"a":"b"}', "--caused-by", "9:a")
            self.assertEqual((rc, out), (1, ""))
            self.assertIn("no record at LId 9", err)
            rc, out, err = self.run_cli("append", "--url", app.url, "--tags", '{"a":"b"}', "--caused-by", "9:nope")
            self.assertEqual(rc, 1)
        finally:
            app.close()
        with redirect_stderr(io.StringIO()) as err:
            with self.assertRaises(SystemExit) as e:
                cli(["append", "--tags", "[1]"])
        self.assertEqual(e.exception.code, 2)
        self.assertIn("JSON object", err.getvalue())

    def test_hash(self):
        rc, out, _ = self.run_cli("hash", "k1", "v1")
        self.assertEqual(out.strip(), "9489172654252433228")


if __name__ == "__main__":
    unittest.main()
