"""The HTTP client of the app tier: appends (with retries that cannot duplicate) and reads."""

import http.client
import json
import socket
import ssl
import threading
import time
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Tuple, Union
from urllib.parse import urlencode, urlsplit

from ._core import Event, Record, as_record, u64, CauseLike
from .errors import (BadRequestError, ChariotsError, NotFoundError, RejectedError, ServerError, TimeoutError,
                     UnavailableError)

DEFAULT_URL = "http://localhost:8080"


class Page:
    """One page of records and the LId to read the next page from."""

    __slots__ = ("records", "next")

    def __init__(self, records: List[Event], next: int):
        self.records = records
        self.next = next

    def __iter__(self):
        return iter(self.records)

    def __len__(self):
        return len(self.records)

    def __repr__(self):
        return "Page(%d records, next=%d)" % (len(self.records), self.next)


class Status:
    """Where a record is: ``status`` is "appended" (with ``lid``), "pending" (``waiting_for`` a list
    of ``{"prehash","seed"}``, ``since`` epoch ms), "rejected" (``reason``) or "unknown"."""

    __slots__ = ("id", "status", "lid", "waiting_for", "since", "reason")

    def __init__(self, id: str, status: str, lid: Optional[int] = None, waiting_for: Optional[List[Dict[str, int]]] = None,
                 since: Optional[int] = None, reason: Optional[str] = None):
        self.id, self.status, self.lid, self.waiting_for, self.since, self.reason = id, status, lid, waiting_for, since, reason

    def to_json(self) -> Dict[str, Any]:
        d = {"id": self.id, "status": self.status}
        for k, v in (("lid", self.lid), ("waitingFor", self.waiting_for), ("since", self.since), ("reason", self.reason)):
            if v is not None:
                d[k] = v
        return d

    def __repr__(self):
        return "Status(%r)" % self.to_json()


class Client:
    """A client of the app's HTTP API.

    >>> log = Client("http://localhost:8080")
    >>> a = log.append({"func": "A"})
    >>> b = log.append({"func": "B"}, caused_by=caused_by(a, "func"))

    Appends carry a client-generated id, so retries (after a 503, honouring ``Retry-After``, or a
    network error; at most ``retries`` of them) never append a record twice. One keep-alive
    connection per thread; the client may be shared between threads."""

    def __init__(self, url: str = DEFAULT_URL, timeout: float = 10.0, retries: int = 5, max_backoff: float = 5.0,
                 wait_timeout: float = 30.0, token: Optional[str] = None, ca_file: Optional[str] = None):
        """``token``: the client token of a cluster that requires one (sent as ``Authorization: Bearer``).
        ``ca_file``: for an https URL, the certificate authority to trust (PEM; e.g. ``run/tls/ca.pem`` of
        ``./chariots up --tls``) instead of the system's."""
        if "://" not in url:
            url = "http://" + url
        u = urlsplit(url)
        if u.scheme not in ("http", "https"):
            raise ValueError("url must be http:// or https://, got %r" % url)
        self.url = url.rstrip("/")
        self._https = u.scheme == "https"
        self._host = u.hostname or "localhost"
        self._port = u.port or (443 if self._https else 80)
        self._base = u.path.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.max_backoff = max_backoff
        self.wait_timeout = wait_timeout
        self._auth = {"Authorization": "Bearer " + token.strip()} if token else {}
        self._ssl = ssl.create_default_context(cafile=ca_file) if self._https else None
        self._local = threading.local()

    # ------------------------------------------------------------------ plumbing

    def _connection(self, timeout: Optional[float]) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(self._host, self._port, timeout=timeout, context=self._ssl)
        return http.client.HTTPConnection(self._host, self._port, timeout=timeout)

    def _conn(self) -> http.client.HTTPConnection:
        c = getattr(self._local, "conn", None)
        if c is None:
            c = self._local.conn = self._connection(self.timeout)
        return c

    def _drop(self) -> None:
        c = getattr(self._local, "conn", None)
        if c is not None:
            c.close()
            self._local.conn = None

    def close(self) -> None:
        """Closes this thread's connection (a later call opens a new one)."""
        self._drop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _request(self, method: str, path: str, body: Any = None, id: Optional[str] = None) -> Tuple[int, Any]:
        """Sends with retries on 503 and network errors; returns (status, JSON body) of any other answer."""
        data = None if body is None else json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = {"Accept": "application/json", **self._auth}
        if data is not None:
            headers["Content-Type"] = "application/json"
        what = "%s %s%s" % (method, self.url, path)
        attempt = 0
        while True:
            try:
                conn = self._conn()
                conn.request(method, self._base + path, body=data, headers=headers)
                resp = conn.getresponse()
                raw = resp.read()
                status = resp.status
                retry_after = resp.getheader("Retry-After")
                if resp.will_close:
                    self._drop()
            except socket.timeout as e:
                self._drop()
                if attempt < self.retries:
                    attempt += 1
                    continue
                raise TimeoutError("%s: no answer within %ss (%d attempts)" % (what, self.timeout, attempt + 1), id=id) from e
            except (OSError, http.client.HTTPException) as e:
                self._drop()
                if attempt < self.retries:
                    time.sleep(min(0.05 * (2 ** attempt), self.max_backoff))
                    attempt += 1
                    continue
                raise UnavailableError("%s: cannot reach the server after %d attempts: %s" % (what, attempt + 1, e)) from e
            parsed = _parse(raw)
            if status == 503:
                hint = _seconds(retry_after)
                if attempt < self.retries:
                    time.sleep(min(hint if hint is not None else 0.05 * (2 ** attempt), self.max_backoff))
                    attempt += 1
                    continue
                raise UnavailableError("%s: unavailable (503) after %d attempts: %s" % (what, attempt + 1, _message(parsed, raw)),
                                       503, parsed, hint)
            return status, parsed

    def _expect(self, what: str, status: int, body: Any, ok: Iterable[int] = (200,), id: Optional[str] = None) -> Any:
        if status in ok:
            return body
        msg = "%s: %d %s" % (what, status, _message(body, b""))
        if status == 400:
            raise BadRequestError(msg, status, body)
        if status == 404:
            raise NotFoundError(msg, status, body)
        if status == 409:
            raise RejectedError(msg, status, body, id=id)
        if status == 504:
            raise TimeoutError(msg, status, body, id=id)
        raise ServerError(msg, status, body)

    # ------------------------------------------------------------------ appends

    def append(self, tags: Mapping[str, str], caused_by: Union[CauseLike, Iterable[CauseLike], None] = None, *,
               seed: Optional[int] = None, id: Optional[str] = None, wait: bool = False) -> Event:
        """Appends one record and returns its Event (with ``lid`` and ``host`` when ``wait``).

        ``caused_by``: a Cause (``caused_by(event, key)``) or several (they must share one seed,
        which becomes this record's); with no cause and no ``seed`` a new chain gets a random seed.
        ``wait=True`` returns once the record is persisted and indexed (``POST /record?wait=true``:
        TimeoutError on 504 — retry with the same id; RejectedError on 409). A server that answers
        202 instead (no ``wait`` support) is polled with ``status(id)`` for ``wait_timeout`` seconds."""
        rec = Record(tags, caused_by, seed=seed, id=id)
        return self._append_one(rec, wait)

    def append_record(self, record: Record, wait: bool = False) -> Event:
        return self._append_one(as_record(record), wait)

    def _append_one(self, rec: Record, wait: bool) -> Event:
        path = "/record?wait=true" if wait else "/record"
        status, body = self._request("POST", path, rec.to_http(), id=rec.id)
        body = self._expect("append " + rec.id, status, body, (200, 202) if wait else (202, 200), id=rec.id)
        if not isinstance(body, dict) or body.get("id") not in (None, rec.id):
            raise ServerError("append %s: unexpected answer %r" % (rec.id, body), status, body)
        lid = body.get("lid")
        if wait and status == 202:
            # A server without ?wait=true acknowledged on receipt: wait by asking where the record is.
            return self._await_appended(rec)
        return rec.event(lid=int(lid) if lid is not None else None, host=body.get("host"))

    def _await_appended(self, rec: Record) -> Event:
        deadline = time.monotonic() + self.wait_timeout
        pause = 0.02
        while True:
            st = self.status(rec.id)
            if st.status == "appended":
                return rec.event(lid=st.lid)
            if st.status == "rejected":
                raise RejectedError("append %s: rejected: %s" % (rec.id, st.reason), 409, st.to_json(), id=rec.id)
            if time.monotonic() + pause > deadline:
                raise TimeoutError("append %s: not appended within %ss (status %s); retrying with the same id is safe"
                                   % (rec.id, self.wait_timeout, st.status), None, st.to_json(), id=rec.id)
            time.sleep(pause)
            pause = min(pause * 2, 0.5)

    def append_many(self, records: Iterable[Union[Record, Mapping[str, str]]], wait: bool = False) -> List[Event]:
        """Appends several records in one request (a JSON array): all or none are taken.

        Each item is a Record (``Record(tags, caused_by, seed=, id=)``) or a mapping of tags."""
        recs = [as_record(r) for r in records]
        if not recs:
            raise ValueError("append_many needs at least one record")
        path = "/record?wait=true" if wait else "/record"
        status, body = self._request("POST", path, [r.to_http() for r in recs])
        body = self._expect("append %d records" % len(recs), status, body, (200, 202))
        # wait=true answers {"records": [{"id", "lid", "host"}, ...]}; a 202 carries no LIds.
        durable = {}
        if isinstance(body, dict) and isinstance(body.get("records"), list):
            for x in body["records"]:
                if isinstance(x, dict) and "id" in x:
                    durable[x["id"]] = x
        out = []
        for r in recs:
            x = durable.get(r.id)
            lid = x.get("lid") if x else None
            out.append(r.event(lid=int(lid) if lid is not None else None, host=x.get("host") if x else None))
        return out

    # ------------------------------------------------------------------ reads

    def get(self, lid: int) -> Event:
        """The record at ``lid`` (NotFoundError if there is none)."""
        lid = u64("lid", lid)
        status, body = self._request("GET", "/record/%d" % lid)
        return Event.from_json(self._expect("get LId %d" % lid, status, body))

    def status(self, id: str) -> Status:
        """Where the record with this id is: appended, pending, rejected or unknown."""
        status, body = self._request("GET", "/record?" + urlencode({"id": id}))
        if status == 404 and isinstance(body, dict) and body.get("status") == "unknown":
            return Status(id, "unknown")
        b = self._expect("status of %s" % id, status, body)
        return Status(b.get("id", id), b.get("status"), b.get("lid"), b.get("waitingFor"), b.get("since"), b.get("reason"))

    def records(self, from_lid: int = 1, limit: int = 100) -> Page:
        """One page: records ``from_lid``, ``from_lid + 1``, … (at most ``limit``, ≤ 1000), stopping
        before the first LId not in the log yet; ``page.next`` is where the next page starts."""
        return self._page("/records?" + urlencode({"from": u64("from_lid", from_lid), "limit": limit}), "records")

    def iter_records(self, from_lid: int = 1, page_size: int = 1000) -> Iterator[Event]:
        """Every record from ``from_lid`` to the current end of the log, page by page."""
        lid = u64("from_lid", from_lid)
        while True:
            page = self.records(lid, page_size)
            if not page.records:
                return
            yield from page.records
            lid = page.next

    def by_tag(self, tag: str, value: Optional[str] = None, *, seed: Optional[int] = None, from_lid: int = 1,
               page_size: int = 1000) -> Iterator[Event]:
        """Every record carrying tag ``"key:value"`` (or ``by_tag(key, value)``), in LId order;
        only chain ``seed``'s if given."""
        if value is not None:
            tag = "%s:%s" % (tag, value)
        if not isinstance(tag, str) or ":" not in tag:
            raise ValueError("tag must be \"key:value\" (or by_tag(key, value)), got %r" % (tag,))
        lid = u64("from_lid", from_lid)
        while True:
            q = {"tag": tag, "from": lid, "limit": page_size}
            if seed is not None:
                q["seed"] = u64("seed", seed)
            page = self._page("/records?" + urlencode(q), "tag " + tag)
            yield from page.records
            if not page.records or page.next <= lid:
                return
            lid = page.next

    def trace(self, seed: int, from_lid: int = 1, page_size: int = 1000) -> List[Event]:
        """The chain ``seed``: its records in log order, each with ``causes``, the LIds of its causes."""
        seed = u64("seed", seed)
        lid = u64("from_lid", from_lid)
        out: List[Event] = []
        while True:
            page = self._page("/trace/%d?%s" % (seed, urlencode({"from": lid, "limit": page_size})), "trace %d" % seed)
            out.extend(page.records)
            if not page.records or page.next <= lid:
                return out
            lid = page.next

    def _page(self, path: str, what: str) -> Page:
        status, body = self._request("GET", path)
        b = self._expect(what, status, body)
        return Page([Event.from_json(r) for r in b.get("records", [])], int(b.get("next")))

    def tail(self, from_lid: int = 1, *, reconnect: bool = True, timeout: Optional[float] = None) -> Iterator[Event]:
        """Follows the log from ``from_lid`` as it grows: every record in LId order, no gap, no
        duplicate. Blocks while the log is quiet (``timeout``: at most that many seconds of
        silence, then TimeoutError). On a dropped connection it resumes from the last LId + 1
        (``reconnect``; at most ``retries`` failures in a row). Close the generator (or break out
        of the loop) to stop."""
        nxt = u64("from_lid", from_lid)
        failures = 0
        while True:
            conn = self._connection(timeout)
            try:
                try:
                    conn.request("GET", self._base + "/records/stream?" + urlencode({"from": nxt}),
                                 headers={"Accept": "application/x-ndjson", **self._auth})
                    resp = conn.getresponse()
                    if resp.status != 200:
                        raw = resp.read()
                        if resp.status == 503 and failures < self.retries:
                            failures += 1
                            time.sleep(min(_seconds(resp.getheader("Retry-After")) or 0.5, self.max_backoff))
                            continue
                        self._expect("tail from %d" % nxt, resp.status, _parse(raw))
                    while True:
                        line = resp.readline()
                        if not line:
                            raise http.client.IncompleteRead(b"")  # the server ended the stream
                        line = line.strip()
                        if not line:
                            continue
                        ev = Event.from_json(json.loads(line))
                        yield ev
                        failures = 0
                        if ev.lid is not None:
                            nxt = ev.lid + 1
                except socket.timeout as e:
                    raise TimeoutError("tail from %d: nothing for %ss" % (nxt, timeout)) from e
                except (OSError, http.client.HTTPException) as e:
                    if not reconnect or failures >= self.retries:
                        raise UnavailableError("tail from %d: connection lost: %s" % (nxt, e)) from e
                    failures += 1
                    time.sleep(min(0.1 * (2 ** failures), self.max_backoff))
            finally:
                conn.close()


def _parse(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return raw.decode("utf-8", "replace")


def _message(body: Any, raw: bytes) -> str:
    if isinstance(body, dict) and body.get("error"):
        return str(body["error"])
    if body is not None:
        return str(body)
    return raw.decode("utf-8", "replace")


def _seconds(header: Optional[str]) -> Optional[float]:
    if header is None:
        return None
    try:
        return max(0.0, float(header.strip()))
    except ValueError:
        return None  # an HTTP date: fall back to backoff
