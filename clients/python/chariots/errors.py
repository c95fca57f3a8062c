"""What can go wrong, as exception types a caller can tell apart."""

import builtins
from typing import Any, Dict, List, Optional


class ChariotsError(Exception):
    """Base of every error this client raises about the server or the network.

    ``status`` is the HTTP status (None for network errors), ``body`` the server's JSON answer."""

    def __init__(self, message: str, status: Optional[int] = None, body: Any = None):
        super().__init__(message)
        self.status = status
        self.body = body


class BadRequestError(ChariotsError, ValueError):
    """400: the server names what is wrong: ``field`` (a record field) or ``parameter`` (a query
    parameter) and ``problem``; for arrays ``errors`` lists ``{"field","problem"}`` per record."""

    def __init__(self, message: str, status: int = 400, body: Any = None):
        super().__init__(message, status, body)
        b = body if isinstance(body, dict) else {}
        self.field: Optional[str] = b.get("field")
        self.parameter: Optional[str] = b.get("parameter")
        self.problem: Optional[str] = b.get("problem")
        self.errors: List[Dict[str, str]] = b.get("errors") or []


class NotFoundError(ChariotsError, LookupError):
    """404: no such record."""


class UnavailableError(ChariotsError, ConnectionError):
    """503 (after the retries), or the server could not be reached: nothing is known to be appended,
    and retrying with the same id is safe. ``retry_after`` is the server's hint in seconds."""

    def __init__(self, message: str, status: Optional[int] = None, body: Any = None,
                 retry_after: Optional[float] = None):
        super().__init__(message, status, body)
        self.retry_after = retry_after


class TimeoutError(ChariotsError, builtins.TimeoutError):
    """504 on a durable append (not yet persisted and indexed in time), or no answer in time.
    The record may still be appended; retrying with the same ``id`` is safe."""

    def __init__(self, message: str, status: Optional[int] = None, body: Any = None, id: Optional[str] = None):
        super().__init__(message, status, body)
        self.id = id


class RejectedError(ChariotsError):
    """409: the log rejected the record (e.g. its cause never arrived); ``reason`` says why."""

    def __init__(self, message: str, status: int = 409, body: Any = None, id: Optional[str] = None):
        super().__init__(message, status, body)
        b = body if isinstance(body, dict) else {}
        self.id = id or b.get("id")
        self.reason: Optional[str] = b.get("reason") or b.get("error")


class ServerError(ChariotsError):
    """Any other unexpected answer (a 5xx other than 503/504, or a body that is not what the API says)."""
