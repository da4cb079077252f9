"""The container cache: each learner's collection file on local disk and the seq it is at.

Layout: ``<JAVUMBO_CACHE_DIR>/<username>/collection.anki2`` plus ``state.json``
(collection id, seq) and ``.lock``. Threads and processes sharing the
directory serialize on the learner's lock file (``flock``), so one container
never runs two requests of one learner against the file at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.conf import settings

COLLECTION = "collection.anki2"
STATE = "state.json"
LOCK = ".lock"


@dataclass(frozen=True)
class CacheState:
    collection_id: str
    seq: int


class CachedCollection:
    """One learner's files in this container's cache."""

    def __init__(self, username: str, root: Path | None = None) -> None:
        self.directory = (root or settings.JAVUMBO_CACHE_DIR) / username
        self.path = self.directory / COLLECTION

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        handle = self._lock_acquire()
        with handle:
            try:
                yield
            finally:
                os.utime(self.directory / LOCK)  # the idle clock for clean-up
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _lock_acquire(self) -> BinaryIO:
        # Clean-up may remove the directory while we wait for its lock: a lock on a
        # file that is no longer at its path protects nothing, so take the new one.
        while True:
            self.directory.mkdir(parents=True, exist_ok=True)
            handle = open(self.directory / LOCK, "a+b")  # noqa: SIM115 - returned locked
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                if os.fstat(handle.fileno()).st_ino == os.stat(self.directory / LOCK).st_ino:
                    return handle
            except FileNotFoundError:
                pass
            handle.close()

    def state(self) -> CacheState | None:
        if not self.path.exists():
            return None
        try:
            raw = json.loads((self.directory / STATE).read_text())
            return CacheState(str(raw["collection_id"]), int(raw["seq"]))
        except (OSError, ValueError, KeyError):
            return None

    def state_write(self, state: CacheState) -> None:
        temporary = self.directory / f".{STATE}.tmp"
        temporary.write_text(json.dumps({"collection_id": state.collection_id, "seq": state.seq}))
        temporary.replace(self.directory / STATE)

    def install(self, downloaded: Path, state: CacheState) -> None:
        """Put a freshly downloaded snapshot in place of whatever was cached."""
        self.discard()
        downloaded.replace(self.path)
        self.state_write(state)

    def discard(self) -> None:
        for name in (COLLECTION, f"{COLLECTION}-journal", f"{COLLECTION}-wal", STATE):
            with contextlib.suppress(FileNotFoundError):
                (self.directory / name).unlink()

    def scratch(self, suffix: str) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        return self.directory / f".{suffix}.{os.getpid()}.tmp"


@dataclass(frozen=True)
class CleanReport:
    removed: list[str]
    kept_bytes: int


def _size(directory: Path) -> int:
    return sum(f.stat().st_size for f in directory.iterdir() if f.is_file())


def _last_used(directory: Path) -> float:
    lock = directory / LOCK
    return lock.stat().st_mtime if lock.exists() else directory.stat().st_mtime


def cache_clean(
    *, max_idle_seconds: int, max_bytes: int, root: Path | None = None, now: float | None = None
) -> CleanReport:
    """Drop collections idle too long, then the least recently used until under the size cap.

    A collection in use (its lock held) is never removed. Dropping is always safe:
    the snapshot and the journal hold everything acknowledged.
    """
    root = root or settings.JAVUMBO_CACHE_DIR
    now = now or time.time()
    if not root.exists():
        return CleanReport([], 0)
    entries = sorted(
        ((d, _last_used(d), _size(d)) for d in root.iterdir() if d.is_dir()), key=lambda e: e[1]
    )
    removed: list[str] = []
    total = sum(size for _, _, size in entries)
    for directory, last_used, size in entries:
        if now - last_used <= max_idle_seconds and total <= max_bytes:
            continue
        if _remove_unless_busy(directory):
            removed.append(directory.name)
            total -= size
    return CleanReport(removed, total)


def _remove_unless_busy(directory: Path) -> bool:
    try:
        handle = open(directory / LOCK, "a+b")  # noqa: SIM115 - held across the removal
    except OSError:
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        shutil.rmtree(directory, ignore_errors=True)
        return True
