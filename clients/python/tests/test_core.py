import json
import unittest

from fake import fnv_vectors
import chariots
from chariots import Cause, Event, Record, caused_by, fnv1a64, tag_hash


class Fnv(unittest.TestCase):
    def test_vectors_of_the_repository(self):
        rows = fnv_vectors()
        self.assertGreaterEqual(len(rows), 10)
        for key, value, dec, hx in rows:
            with self.subTest(key=key, value=value[:20]):
                self.assertEqual(tag_hash(key, value), dec)
                self.assertEqual(fnv1a64(key + ":" + value), dec)
                self.assertEqual("%016x" % dec, hx)

    def test_utf8_bytes_not_code_units(self):
        self.assertEqual(tag_hash("émoji", "✓"), 17926487917834929401)
        self.assertEqual(fnv1a64("émoji:✓".encode("utf-8")), 17926487917834929401)
        # an astral character: 4 UTF-8 bytes, 2 UTF-16 code units
        self.assertEqual(fnv1a64("😀"), fnv1a64(b"\xf0\x9f\x98\x80"))

    def test_unsigned(self):
        self.assertGreater(tag_hash("k1", "v1"), 2 ** 63)


class Values(unittest.TestCase):
    def test_seed_range(self):
        for bad in (-1, 2 ** 64, -(2 ** 63)):
            with self.assertRaisesRegex(ValueError, "seed must be in 0..18446744073709551615"):
                Record({"k": "v"}, seed=bad)
        for bad in (1.0, "5", True, None.__class__):
            with self.assertRaises(TypeError):
                Record({"k": "v"}, seed=bad)
        self.assertEqual(Record({"k": "v"}, seed=2 ** 64 - 1).seed, 2 ** 64 - 1)
        self.assertEqual(Record({"k": "v"}, seed=0).seed, 0)

    def test_cause_range(self):
        with self.assertRaisesRegex(ValueError, "prehash"):
            Cause(-5, 1)
        with self.assertRaisesRegex(ValueError, "seed"):
            Cause(5, 2 ** 64)

    def test_tags_are_strings(self):
        with self.assertRaisesRegex(TypeError, "value of tag 'n' must be a str"):
            Record({"n": 5})
        with self.assertRaises(TypeError):
            Record(["k", "v"])

    def test_new_chain_gets_random_seed_and_id(self):
        a, b = Record({"k": "v"}), Record({"k": "v"})
        self.assertNotEqual(a.seed, b.seed)
        self.assertRegex(a.id, "^[0-9a-f]{32}$")
        self.assertNotEqual(a.id, b.id)
        self.assertEqual(a.prehash, ())


class Causes(unittest.TestCase):
    a = Event("A", 2 ** 64 - 2, {"func": "A", "user": "zoé"})

    def test_caused_by_names_a_tag_and_takes_the_seed(self):
        c = caused_by(self.a, "user")
        self.assertEqual(c.prehash, tag_hash("user", "zoé"))
        self.assertEqual(c.seed, 2 ** 64 - 2)
        r = Record({"func": "B"}, c)
        self.assertEqual(r.seed, self.a.seed)
        self.assertEqual(r.prehash, (c.prehash,))
        self.assertEqual(r.to_http()["prehash"], c.prehash)

    def test_missing_tag(self):
        with self.assertRaisesRegex(KeyError, "has no tag 'nope'.*func, user"):
            caused_by(self.a, "nope")

    def test_event_with_one_tag_is_its_own_cause(self):
        one = Event("X", 7, {"k": "v"})
        self.assertEqual(Record({"k2": "v2"}, one).prehash, (tag_hash("k", "v"),))
        with self.assertRaisesRegex(ValueError, "say which one"):
            Record({"k2": "v2"}, self.a)

    def test_several_causes(self):
        r = Record({"f": "C"}, [caused_by(self.a, "func"), caused_by(self.a, "user")])
        self.assertEqual(r.to_http()["prehash"], [tag_hash("func", "A"), tag_hash("user", "zoé")])
        self.assertEqual(r.to_tcp()["Prehash"], [tag_hash("func", "A"), tag_hash("user", "zoé")])

    def test_mixed_seeds_rejected(self):
        other = Event("O", 3, {"k": "v"})
        with self.assertRaisesRegex(ValueError, "all causes of one record must share its seed"):
            Record({"f": "C"}, [caused_by(self.a, "func"), caused_by(other, "k")])

    def test_seed_must_match_causes(self):
        with self.assertRaisesRegex(ValueError, "differs from the seed of its causes"):
            Record({"f": "C"}, caused_by(self.a, "func"), seed=1)
        self.assertEqual(Record({"f": "C"}, caused_by(self.a, "func"), seed=self.a.seed).seed, self.a.seed)

    def test_wire_shapes_print_unsigned_decimal(self):
        r = Record({"k": "v"}, Cause(2 ** 64 - 1, 2 ** 63 + 1), id="x")
        text = json.dumps(r.to_http())
        self.assertIn('"seed": 9223372036854775809', text)
        self.assertIn('"prehash": 18446744073709551615', text)
        self.assertEqual(r.to_tcp(), {"Id": "x", "Tags": {"k": "v"}, "Seed": 2 ** 63 + 1, "Pre": {"Hash": 2 ** 64 - 1}})

    def test_event_from_server_json(self):
        e = Event.from_json(json.loads('{"lid":3,"host":0,"id":"B","tags":{"k":"v"},"seed":18446744073709551615,'
                                       '"prehash":[9489172654252433228,1],"timestamp":5,"causes":[1,2]}'))
        self.assertEqual((e.lid, e.seed, e.prehash, e.causes), (3, 2 ** 64 - 1, (9489172654252433228, 1), [1, 2]))
        g = Event.from_json({"LId": 4, "Tags": {"a": "b"}, "Seed": 1, "Pre": {"Hash": 0}})
        self.assertEqual((g.lid, g.prehash, g.tags), (4, (), {"a": "b"}))

    def test_event_toid_from_server_json(self):
        e = Event.from_json(json.loads('{"lid":2,"host":1,"toid":18446744073709551615,"id":"A","tags":{},"seed":1,'
                                       '"prehash":0,"timestamp":5}'))
        self.assertEqual((e.lid, e.host, e.toid), (2, 1, 2 ** 64 - 1))
        self.assertEqual(list(e.to_json())[:3], ["lid", "host", "toid"])
        self.assertIn('"toid": 18446744073709551615', json.dumps(e.to_json()))
        self.assertEqual(Event.from_json(e.to_json()), e)
        self.assertIn("toid=18446744073709551615", repr(e))
        old = Event.from_json({"lid": 2, "host": 1, "id": "A", "tags": {}, "seed": 1, "prehash": 0, "timestamp": 5})
        self.assertIsNone(old.toid)
        self.assertNotIn("toid", old.to_json())
        self.assertNotEqual(old, e)
        self.assertEqual(Event.from_json({"LId": 4, "Host": 0, "TOId": "7", "Tags": {}, "Seed": 1}).toid, 7)

    def test_public_names(self):
        for n in chariots.__all__:
            self.assertTrue(hasattr(chariots, n), n)


if __name__ == "__main__":
    unittest.main()
