"""The review app's clock: real time, or a fixed instant that tests move by hand.

Everything that decides "now" for studying (today's day number, learning due
times, revlog ids, card `mod`) reads `now_ms()`, so tests simulate days and
weeks of study without sleeping and without touching the process clock (which
access tokens and the storage engine keep using).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

_fixed_ms: int | None = None


def now_ms() -> int:
    """Epoch milliseconds: the fixed instant if one is set, else the real time."""
    return _fixed_ms if _fixed_ms is not None else time.time_ns() // 1_000_000


def set_ms(epoch_ms: int | None) -> None:
    """Fix the clock at `epoch_ms` (None: back to real time)."""
    global _fixed_ms
    _fixed_ms = epoch_ms


def advance(*, seconds: float = 0, minutes: float = 0, hours: float = 0, days: float = 0) -> int:
    """Move the fixed clock forward (fixing it at the real time first); returns the new now."""
    step = seconds + 60 * minutes + 3600 * hours + 86_400 * days
    set_ms(now_ms() + round(step * 1000))
    return now_ms()


@contextmanager
def fixed_at(epoch_ms: int) -> Iterator[None]:
    """Within the block, now is `epoch_ms` (and `advance` moves it)."""
    previous = _fixed_ms
    set_ms(epoch_ms)
    try:
        yield
    finally:
        set_ms(previous)
