"""FNV-1a-64, unsigned 64-bit values, events and causes: no I/O here."""

import secrets
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

U64_MAX = (1 << 64) - 1
FNV_OFFSET = 14695981039346656037
FNV_PRIME = 1099511628211


def fnv1a64(text: Union[str, bytes]) -> int:
    """FNV-1a 64-bit of the UTF-8 bytes of ``text`` (or of ``bytes``), as an unsigned int."""
    data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    h = FNV_OFFSET
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & U64_MAX
    return h


def tag_hash(key: str, value: str) -> int:
    """The hash a cause names: FNV-1a-64 of ``key + ":" + value`` (UTF-8), unsigned."""
    return fnv1a64(_text("tag key", key) + ":" + _text("tag value", value))


def u64(name: str, value: Any) -> int:
    """``value`` checked to be an int in 0 .. 2**64-1; TypeError/ValueError naming ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("%s must be an int in 0..2**64-1, got %s %r" % (name, type(value).__name__, value))
    if value < 0 or value > U64_MAX:
        raise ValueError("%s must be in 0..18446744073709551615 (unsigned 64-bit), got %d" % (name, value))
    return value


def random_seed() -> int:
    """A random non-zero 64-bit seed for a new chain."""
    return secrets.randbits(64) or 1


def new_id() -> str:
    """A random 128-bit id, in hex: the record's idempotency key."""
    return secrets.token_hex(16)


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("%s must be a str, got %s %r" % (name, type(value).__name__, value))
    return value


def check_tags(tags: Any) -> Dict[str, str]:
    if not isinstance(tags, Mapping):
        raise TypeError("tags must be a mapping of str to str, got %s" % type(tags).__name__)
    out = {}
    for k, v in tags.items():
        out[_text("tag key", k)] = _text("value of tag %r" % k, v)
    return out


class Cause:
    """What a record names as its cause: ``prehash`` = FNV-1a-64("key:value") of a tag of an
    earlier event, and that event's ``seed`` (all causes of one record share its seed)."""

    __slots__ = ("prehash", "seed", "label")

    def __init__(self, prehash: int, seed: int, label: Optional[str] = None):
        self.prehash = u64("prehash", prehash)
        self.seed = u64("seed", seed)
        self.label = label

    def __eq__(self, other):
        return isinstance(other, Cause) and (self.prehash, self.seed) == (other.prehash, other.seed)

    def __hash__(self):
        return hash((self.prehash, self.seed))

    def __repr__(self):
        return "Cause(%s, seed=%d, prehash=%d)" % (self.label or "?", self.seed, self.prehash)


class Event:
    """A record of the log, as appended or as read back.

    ``lid`` is its position in the log (None until known), ``host`` its datacenter of origin,
    ``toid`` its number among the records of that datacenter (1, 2, 3…; unsigned 64-bit; None when
    the server did not say, e.g. records written before it numbered them), ``prehash`` the tuple of
    hashes it names as causes, ``causes`` (from traces) the LIds of those causes."""

    __slots__ = ("id", "seed", "tags", "prehash", "lid", "host", "toid", "timestamp", "causes")

    def __init__(self, id: Optional[str], seed: int, tags: Mapping[str, str], prehash: Sequence[int] = (),
                 lid: Optional[int] = None, host: Optional[int] = None, timestamp: Optional[int] = None,
                 causes: Optional[List[int]] = None, toid: Optional[int] = None):
        self.id = id
        self.seed = seed
        self.tags = dict(tags)
        self.prehash = tuple(prehash)
        self.lid = lid
        self.host = host
        self.toid = toid
        self.timestamp = timestamp
        self.causes = causes

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Event":
        """An event from a record as the server prints it (either field-name shape)."""
        f = {k.lower(): v for k, v in d.items()}
        pre = f.get("prehash")
        if pre is None and isinstance(f.get("pre"), Mapping):
            pre = {k.lower(): v for k, v in f["pre"].items()}.get("hash")
        if pre is None:
            pres: Tuple[int, ...] = ()
        elif isinstance(pre, list):
            pres = tuple(int(x) for x in pre if int(x) != 0)
        else:
            pres = () if int(pre) == 0 else (int(pre),)
        lid = f.get("lid")
        toid = f.get("toid")
        return cls(id=f.get("id"), seed=int(f.get("seed", 0)), tags=f.get("tags") or {}, prehash=pres,
                   lid=int(lid) if lid is not None else None, host=f.get("host"), timestamp=f.get("timestamp"),
                   causes=[int(c) for c in f["causes"]] if "causes" in f else None,
                   toid=int(toid) if toid is not None else None)

    def to_json(self) -> Dict[str, Any]:
        """The event as a JSON-ready dict (unset fields left out); ints stay exact in ``json.dumps``."""
        d: Dict[str, Any] = {}
        if self.lid is not None:
            d["lid"] = self.lid
        if self.host is not None:
            d["host"] = self.host
        if self.toid is not None:
            d["toid"] = self.toid
        d["id"] = self.id
        d["tags"] = self.tags
        d["seed"] = self.seed
        d["prehash"] = list(self.prehash) if len(self.prehash) > 1 else (self.prehash[0] if self.prehash else 0)
        if self.timestamp is not None:
            d["timestamp"] = self.timestamp
        if self.causes is not None:
            d["causes"] = self.causes
        return d

    def tag_hash(self, key: str) -> int:
        """FNV-1a-64 of this event's tag ``key`` (KeyError naming the tags it has)."""
        if key not in self.tags:
            raise KeyError("event %s has no tag %r (its tags: %s)" % (self.id, key, ", ".join(sorted(self.tags)) or "none"))
        return tag_hash(key, self.tags[key])

    def __eq__(self, other):
        return isinstance(other, Event) and self.to_json() == other.to_json()

    def __repr__(self):
        return "Event(%s)" % ", ".join("%s=%r" % kv for kv in self.to_json().items())


def caused_by(event: Event, key: Optional[str] = None) -> Cause:
    """The cause naming ``event``'s tag ``key`` (the only tag if ``key`` is left out)."""
    if not isinstance(event, Event):
        raise TypeError("caused_by takes an Event, got %s" % type(event).__name__)
    if key is None:
        if len(event.tags) != 1:
            raise ValueError("event %s has %d tags (%s): say which one names it, caused_by(event, key)"
                             % (event.id, len(event.tags), ", ".join(sorted(event.tags))))
        key = next(iter(event.tags))
    return Cause(event.tag_hash(key), event.seed, "%s:%s" % (key, event.tags[key]))


CauseLike = Union[Cause, Event]


class Record:
    """A record to append: its tags, causes, seed and id, checked and completed.

    With causes and no seed, the seed is theirs; with neither, a new chain gets a random seed;
    the id is generated unless given, so a retry cannot append it twice."""

    __slots__ = ("tags", "causes", "seed", "id")

    def __init__(self, tags: Mapping[str, str], caused_by: Union[CauseLike, Iterable[CauseLike], None] = None,
                 seed: Optional[int] = None, id: Optional[str] = None):
        self.tags = check_tags(tags)
        causes = _causes(caused_by)
        seeds = sorted({c.seed for c in causes})
        if len(seeds) > 1:
            raise ValueError("all causes of one record must share its seed; got causes from chains %s: %s"
                             % (", ".join(map(str, seeds)), causes))
        if seed is not None:
            seed = u64("seed", seed)
            if seeds and seeds[0] != seed:
                raise ValueError("seed %d differs from the seed of its causes (%d): a cause is found only within its chain"
                                 % (seed, seeds[0]))
        elif seeds:
            seed = seeds[0]
        else:
            seed = random_seed()
        self.seed = seed
        self.causes = causes
        if id is None:
            id = new_id()
        self.id = _text("id", id)
        if not self.id:
            raise ValueError("id must not be empty")

    @property
    def prehash(self) -> Tuple[int, ...]:
        return tuple(c.prehash for c in self.causes)

    def to_http(self) -> Dict[str, Any]:
        pre = self.prehash
        return {"id": self.id, "tags": self.tags, "seed": self.seed,
                "prehash": list(pre) if len(pre) > 1 else (pre[0] if pre else 0)}

    def to_tcp(self) -> Dict[str, Any]:
        """GoChariots' field names; several causes as a ``prehash`` array."""
        pre = self.prehash
        d: Dict[str, Any] = {"Id": self.id, "Tags": self.tags, "Seed": self.seed}
        if len(pre) > 1:
            d["Prehash"] = list(pre)
        else:
            d["Pre"] = {"Hash": pre[0] if pre else 0}
        return d

    def event(self, lid: Optional[int] = None, host: Optional[int] = None) -> Event:
        return Event(self.id, self.seed, self.tags, self.prehash, lid=lid, host=host)

    def __repr__(self):
        return "Record(%r)" % self.to_http()


def _causes(given) -> List[Cause]:
    if given is None:
        return []
    if isinstance(given, (Cause, Event)):
        given = [given]
    out = []
    for c in given:
        if isinstance(c, Event):
            c = caused_by(c)
        elif not isinstance(c, Cause):
            raise TypeError("a cause must be a Cause (caused_by(event, key)) or an Event, got %s %r" % (type(c).__name__, c))
        if c not in out:
            out.append(c)
    return out


def as_record(item: Any) -> Record:
    """A Record, or a mapping of tags (a new chain)."""
    if isinstance(item, Record):
        return item
    if isinstance(item, Mapping):
        return Record(item)
    raise TypeError("expected a Record or a mapping of tags, got %s" % type(item).__name__)
