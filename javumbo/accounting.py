"""What one request (or one measured block) costs: S3 and DynamoDB calls, bytes, time.

The AWS clients report every call here; the request middleware turns the
totals into a ``Server-Timing`` header and one JSON log line, and the
benchmark and the tests read them directly.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Cost:
    s3_ops: Counter[str] = field(default_factory=Counter)
    ddb_ops: Counter[str] = field(default_factory=Counter)
    s3_ms: float = 0.0
    ddb_ms: float = 0.0
    sqlite_ms: float = 0.0
    s3_bytes_out: int = 0
    s3_bytes_in: int = 0
    ddb_bytes_out: int = 0
    cache: str = ""  # "hit", "miss" or "" when the collection was not opened
    seq: int | None = None

    @property
    def s3_requests(self) -> int:
        return sum(self.s3_ops.values())

    @property
    def ddb_requests(self) -> int:
        return sum(self.ddb_ops.values())

    def record(self, service: str, operation: str, ms: float, sent: int, received: int) -> None:
        if service == "s3":
            self.s3_ops[operation] += 1
            self.s3_ms += ms
            self.s3_bytes_out += sent
            self.s3_bytes_in += received
        else:
            self.ddb_ops[operation] += 1
            self.ddb_ms += ms
            self.ddb_bytes_out += sent

    def as_log(self) -> dict[str, Any]:
        return {
            "cache": self.cache or None,
            "seq": self.seq,
            "s3": self.s3_requests,
            "s3_ops": dict(self.s3_ops),
            "s3_ms": round(self.s3_ms, 2),
            "s3_bytes_out": self.s3_bytes_out,
            "s3_bytes_in": self.s3_bytes_in,
            "ddb": self.ddb_requests,
            "ddb_ops": dict(self.ddb_ops),
            "ddb_ms": round(self.ddb_ms, 2),
            "sqlite_ms": round(self.sqlite_ms, 2),
        }


_current: contextvars.ContextVar[Cost | None] = contextvars.ContextVar("cost", default=None)


def current_cost() -> Cost | None:
    return _current.get()


@contextlib.contextmanager
def measuring() -> Iterator[Cost]:
    """Count every AWS call made in this block (nested blocks count for themselves only)."""
    cost = Cost()
    token = _current.set(cost)
    try:
        yield cost
    finally:
        _current.reset(token)


@contextlib.contextmanager
def sqlite_timer() -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        cost = _current.get()
        if cost is not None:
            cost.sqlite_ms += (time.perf_counter() - started) * 1000
