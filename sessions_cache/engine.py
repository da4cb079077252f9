"""The storage engine: a learner's collection, durable in S3 + DynamoDB, served from a local cache.

One request's life with a collection (see DESIGN.md, "Durability"):
open (lock the cached file, catch up from the journal, downloading the
snapshot first only when there is no usable local file) -> the view runs in
one SQLite transaction with TEMP capture triggers -> commit: no change rolls
back; a change is appended to the journal as entry seq+1 (conditional put),
then committed locally, then acknowledged. Compaction folds the journal into a
new snapshot with a conditional replace.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from javumbo.accounting import current_cost, sqlite_timer
from javumbo.errors import AccountGone, AccountInactive, Conflict, JavumboError
from sessions_cache import journal, store
from sessions_cache.cache import CachedCollection, CacheState

log = logging.getLogger("javumbo")


class JournalGap(JavumboError):
    status_code = 500
    default_code = "journal_gap"
    default_detail = "The collection's history is incomplete; an operator has been alerted."


@dataclass
class OpenCollection:
    """A learner's collection opened for one request: the file, its seq and its meta."""

    username: str
    cache: CachedCollection
    state: CacheState
    meta: store.Meta
    head_appended_at: int = 0

    @property
    def path(self) -> Path:
        return self.cache.path

    @property
    def seq(self) -> int:
        return self.state.seq

    @property
    def pending(self) -> int:
        return max(0, self.state.seq - self.meta.snapshot_seq)


def _note_cost(cache: str | None = None, seq: int | None = None) -> None:
    cost = current_cost()
    if cost is None:
        return
    if cache and cost.cache != "miss":
        cost.cache = cache
    if seq is not None:
        cost.seq = seq


# --- Opening: catch up from the journal -------------------------------------------------


@contextlib.contextmanager
def collection_locked(
    username: str, collection_id: str | None, *, require_active: bool = True
) -> Iterator[OpenCollection]:
    """Lock the learner's cached file and bring it up to the journal's head.

    ``collection_id`` is the id the caller's token names; None for operators and
    scheduled jobs, which act on whatever account exists now (and, with
    ``require_active=False``, also on a deactivated one).
    """
    cache = CachedCollection(username)
    with cache.locked():
        try:
            opened = _catch_up(username, collection_id, cache, require_active)
        except store.SpillMissing:
            # Folded and deleted while we read the journal: the meta now points past it.
            opened = _catch_up(username, collection_id, cache, require_active)
        yield opened


def _catch_up(
    username: str, expected_id: str | None, cache: CachedCollection, require_active: bool
) -> OpenCollection:
    state = cache.state()
    downloaded = False
    if state is None:
        state, downloaded = _download(username, cache), True
    entries, meta = store.journal_read(username, state.seq)
    if meta is None:
        cache.discard()
        raise AccountGone()
    if expected_id is not None and meta.collection_id != expected_id:
        raise AccountGone()
    if require_active and not meta.active:
        raise AccountInactive()
    if meta.collection_id != state.collection_id:
        # The cache holds an earlier account of the same name: start again from S3.
        state, downloaded = _download(username, cache), True
        entries, meta = store.journal_read(username, state.seq)
        assert meta is not None
    entries = [e for e in entries if not e.expired]
    if _needs_snapshot(state, entries, meta):
        if not downloaded:
            state = _download(username, cache)
        entries = [e for e in entries if e.seq > state.seq]
        if _needs_snapshot(state, entries, meta):
            raise JournalGap()
    if entries:
        state = _apply(username, cache, state, entries, meta.collection_id)
    _note_cost("miss" if downloaded else "hit", state.seq)
    head_at = entries[-1].appended_at if entries else 0
    return OpenCollection(username, cache, state, meta, head_at)


def _needs_snapshot(state: CacheState, entries: list[store.Entry], meta: store.Meta) -> bool:
    if any(e.spill and e.seq <= meta.snapshot_seq for e in entries):
        return True  # folded spills may already be deleted: the snapshot holds them
    if entries:
        contiguous = all(e.seq == state.seq + i + 1 for i, e in enumerate(entries))
        return not contiguous
    return state.seq < meta.snapshot_seq


def _download(username: str, cache: CachedCollection) -> CacheState:
    scratch = cache.scratch("download")
    try:
        snapshot = store.snapshot_download(username, scratch)
    except store.SnapshotMissing:
        raise AccountGone() from None
    state = CacheState(snapshot.collection_id, snapshot.seq)
    cache.install(scratch, state)
    return state


def _apply(
    username: str,
    cache: CachedCollection,
    state: CacheState,
    entries: list[store.Entry],
    collection_id: str,
) -> CacheState:
    with sqlite_timer(), contextlib.closing(sqlite3.connect(cache.path)) as conn:
        conn.execute("BEGIN IMMEDIATE")
        for entry in entries:
            if entry.collection_id == collection_id:  # an earlier account's stray entry is a no-op
                journal.changes_apply(
                    conn, journal.entry_decode(store.entry_payload(username, entry))
                )
        conn.commit()
    state = CacheState(state.collection_id, entries[-1].seq)
    cache.state_write(state)
    return state


# --- Committing: journal first, then the local file ------------------------------------


@dataclass
class Capture:
    """The capture triggers installed on one SQLite connection."""

    shapes: dict[str, journal.TableShape]

    @classmethod
    def install(cls, conn: sqlite3.Connection) -> Capture:
        return cls(journal.capture_install(conn))


def changes_commit(
    opened: OpenCollection,
    conn: sqlite3.Connection,
    capture: Capture,
    *,
    idempotency: dict[str, Any] | None = None,
) -> bool:
    """Make the request's changes durable, then commit them locally.

    Returns False (and rolls back) when the request changed nothing. Raises
    ``store.JournalConflict`` when another container took seq+1 first (the
    caller rolls back, catches up and runs the request again), ``Unavailable``
    when DynamoDB cannot be reached (rolled back: nothing acknowledged).
    """
    with sqlite_timer():
        ops = journal.changes_collect(conn, capture.shapes)
    if not ops:
        changes_rollback(conn, capture)
        return False
    seq = opened.seq + 1
    try:
        store.journal_append(
            opened.username,
            seq,
            journal.entry_encode(ops),
            collection_id=opened.state.collection_id,
            idempotency=idempotency,
        )
    except BaseException:
        changes_rollback(conn, capture)
        raise
    with sqlite_timer():
        conn.commit()
        journal.capture_reset(conn, capture.shapes)
    opened.state = CacheState(opened.state.collection_id, seq)
    opened.cache.state_write(opened.state)
    _note_cost(seq=seq)
    return True


def changes_rollback(conn: sqlite3.Connection, capture: Capture) -> None:
    with sqlite_timer():
        conn.rollback()
        journal.capture_reset(conn, capture.shapes)


# --- Compaction -------------------------------------------------------------------------


@dataclass(frozen=True)
class CompactResult:
    username: str
    snapshot_seq: int
    folded: int


def compact(opened: OpenCollection) -> CompactResult:
    """Fold the journal up to the local head into a new snapshot (conditional replace).

    Called with the learner's lock held and no transaction open. Never drops an
    entry that no snapshot holds: entries are folded only after the meta item
    points at a snapshot that contains them.
    """
    head, meta = opened.seq, opened.meta
    if head <= meta.snapshot_seq:
        return CompactResult(opened.username, meta.snapshot_seq, 0)
    with sqlite_timer():
        body = _file_bytes(opened.path)
    etag = _snapshot_replace(opened, body)
    if etag is not None:
        store.meta_record_snapshot(opened.username, head, etag)
    folded = list(range(meta.snapshot_seq + 1, head + 1))
    spilled, _ = store.journal_read(opened.username, meta.snapshot_seq)
    store.entries_fold(opened.username, folded)
    store.spills_delete([e.spill for e in spilled if e.spill and e.seq <= head])
    opened.meta = store.Meta(meta.collection_id, meta.active, head, etag or meta.snapshot_etag)
    return CompactResult(opened.username, head, len(folded))


def _file_bytes(path: Path) -> bytes:
    # A consistent copy even if another reader has the file open: SQLite's backup API.
    with (
        contextlib.closing(sqlite3.connect(path)) as source,
        contextlib.closing(sqlite3.connect(":memory:")) as memory,
    ):
        source.backup(memory)
        return memory.serialize()


def _snapshot_replace(opened: OpenCollection, body: bytes) -> str | None:
    """Upload over the snapshot the meta names; None when a newer one is already there."""
    based_on = opened.meta.snapshot_etag
    for _ in range(3):
        try:
            return store.snapshot_upload(
                opened.username,
                body,
                seq=opened.seq,
                collection_id=opened.state.collection_id,
                based_on=based_on,
            )
        except store.SnapshotConflict:
            current = store.snapshot_head(opened.username)
            if current is None:
                raise AccountGone() from None
            if current.seq >= opened.seq:
                store.meta_record_snapshot(opened.username, current.seq, current.etag)
                return None
            based_on = current.etag
    raise Conflict("The snapshot kept changing during compaction; try again.")


def compact_if_due(opened: OpenCollection) -> CompactResult | None:
    if opened.pending < settings.JAVUMBO_COMPACT_THRESHOLD:
        return None
    try:
        return compact(opened)
    except JavumboError:
        log.exception(
            "compaction failed for %s; the journal still holds everything", opened.username
        )
        return None


def collection_compact(*, username: str) -> CompactResult:
    with collection_locked(username, None, require_active=False) as opened:
        return compact(opened)


def compact_idle(*, idle_seconds: int | None = None) -> list[CompactResult]:
    """The scheduled job: compact learners whose newest entry is older than the idle time."""
    idle = settings.JAVUMBO_COMPACT_IDLE_SECONDS if idle_seconds is None else idle_seconds
    cutoff_ms = int((time.time() - idle) * 1000)
    results = []
    for username in sorted(store.pending_learners(cutoff_ms + 1)):
        try:
            with collection_locked(username, None, require_active=False) as opened:
                if opened.head_appended_at and opened.head_appended_at > cutoff_ms:
                    continue  # still studying; compacts later
                results.append(compact(opened))
        except JavumboError:
            log.exception("idle compaction failed for %s", username)
    return results


# --- Lifecycle ----------------------------------------------------------------------------


def collection_create(
    *, username: str, collection_id: str, build: Callable[[Path], object]
) -> None:
    """Create a learner's first snapshot (create-only) and their journal's meta item."""
    cache = CachedCollection(username)
    with cache.locked():
        scratch = cache.scratch("create")
        scratch.unlink(missing_ok=True)
        build(scratch)
        body = _file_bytes(scratch)
        try:
            etag = store.snapshot_upload(
                username, body, seq=0, collection_id=collection_id, based_on=None
            )
        except store.SnapshotConflict:
            scratch.unlink(missing_ok=True)
            raise Conflict("A collection already exists for this username.") from None
        try:
            store.meta_create(username, collection_id, snapshot_etag=etag)
        except store.JournalConflict:
            raise Conflict("A collection already exists for this username.") from None
        cache.install(scratch, CacheState(collection_id, 0))


def collection_set_active(*, username: str, active: bool) -> None:
    store.meta_set_active(username, active)


def collection_delete(*, username: str) -> None:
    """Delete every trace: S3 objects (all versions), journal, sessions, local cache."""
    from sessions_cache import sessions  # sessions import the engine's errors
    from sessions_cache.access import access_account_deleted

    access_account_deleted()  # the answer must not start a new session for them
    cache = CachedCollection(username)
    with cache.locked():
        store.journal_delete(username)
        store.user_objects_delete(username)
        sessions.sessions_delete_for(username)
        cache.discard()
