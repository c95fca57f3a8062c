"""Chariots client: append events to the shared log and read them back.

    from chariots import Client, caused_by
    log = Client("http://localhost:8080")
    a = log.append({"func": "A"})                           # a new chain: random seed, random id
    b = log.append({"func": "B"}, caused_by(a, "func"))     # after A, in every datacenter
    print([e.tags for e in log.trace(a.seed)])
"""

from ._core import U64_MAX, Cause, Event, Record, caused_by, fnv1a64, new_id, random_seed, tag_hash
from .errors import (BadRequestError, ChariotsError, NotFoundError, RejectedError, ServerError, TimeoutError,
                     UnavailableError)
from .http import DEFAULT_URL, Client, Page, Status
from .tcp import DEFAULT_BATCHER, Batcher, frame

__version__ = "0.1.0"

__all__ = [
    "Client", "Batcher", "Event", "Record", "Cause", "Page", "Status", "caused_by", "fnv1a64", "tag_hash",
    "new_id", "random_seed", "frame", "U64_MAX", "DEFAULT_URL", "DEFAULT_BATCHER",
    "ChariotsError", "BadRequestError", "NotFoundError", "UnavailableError", "TimeoutError", "RejectedError",
    "ServerError",
]
