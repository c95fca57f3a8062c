"""The raw TCP client of a batcher: GoChariots frames, written and never read."""

import json
import socket
import ssl
import struct
import threading
from typing import Iterable, List, Mapping, Optional, Union

from ._core import CauseLike, Event, Record, as_record

DEFAULT_BATCHER = "localhost:9000"


def frame(kind: bytes, payload: bytes) -> bytes:
    """A frame: 4-byte big-endian length (type byte + payload), the type byte, the payload."""
    if len(kind) != 1:
        raise ValueError("frame type must be one byte")
    return struct.pack(">I", len(payload) + 1) + kind + payload


def _json(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def parse_address(address: str, default_port: int = 9000):
    host, sep, port = address.rpartition(":")
    if not sep:
        return address, default_port
    return host.strip("[]") or "localhost", int(port)


class Batcher:
    """Appends records over raw TCP to a batcher (``'r'`` frame per record, ``'s'`` frame per
    list). Fire and forget, as GoChariots: the batcher does not answer, so the returned Events
    have no LId; read them back over HTTP (``Client.status(event.id)``) to know they landed.

    >>> with Batcher("localhost:9000") as b:
    ...     a = b.append({"func": "A"})
    ...     b.append({"func": "B"}, caused_by=caused_by(a, "func"))
    """

    def __init__(self, address: str = DEFAULT_BATCHER, timeout: Optional[float] = 10.0, token: Optional[str] = None,
                 ca_file: Optional[str] = None):
        """``token``: the client token of a cluster that requires one, shown first on each connection.
        ``address`` ``tls://host:port``: a batcher that serves TLS, its certificate checked against ``ca_file``
        (PEM; default: the system's authorities)."""
        self.tls = address.startswith("tls://")
        self.host, self.port = parse_address(address[len("tls://"):] if self.tls else address)
        self._ssl = ssl.create_default_context(cafile=ca_file) if self.tls else None
        self.timeout = timeout
        self.token = token
        self._sock: Optional[socket.socket] = None
        self._lock = threading.Lock()

    def connect(self) -> "Batcher":
        if self._sock is None:
            s = socket.create_connection((self.host, self.port), timeout=self.timeout)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._ssl is not None:
                s = self._ssl.wrap_socket(s, server_hostname=self.host)
            if self.token:
                s.sendall(frame(b"A", _json({"acks": 0, "token": self.token.strip()})))
            self._sock = s
        return self

    def _send(self, data: bytes) -> None:
        with self._lock:
            self.connect()
            try:
                self._sock.sendall(data)
            except OSError:
                self._close()
                raise

    def append(self, tags: Mapping[str, str], caused_by: Union[CauseLike, Iterable[CauseLike], None] = None, *,
               seed: Optional[int] = None, id: Optional[str] = None) -> Event:
        """Sends one record in an ``'r'`` frame; returns its Event (no LId: the batcher does not answer)."""
        rec = Record(tags, caused_by, seed=seed, id=id)
        self._send(frame(b"r", _json(rec.to_tcp())))
        return rec.event()

    def append_many(self, records: Iterable[Union[Record, Mapping[str, str]]]) -> List[Event]:
        """Sends several records in one ``'s'`` frame."""
        recs = [as_record(r) for r in records]
        if not recs:
            raise ValueError("append_many needs at least one record")
        self._send(frame(b"s", _json([r.to_tcp() for r in recs])))
        return [r.event() for r in recs]

    def _close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None

    def close(self) -> None:
        """Half-closes, then closes: every frame written is on its way."""
        with self._lock:
            if self._sock is not None:
                try:
                    self._sock.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                self._close()

    def __enter__(self):
        return self.connect()

    def __exit__(self, *exc):
        self.close()
