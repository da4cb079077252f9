"""One request's access to the authenticated learner's collection.

The middleware creates a ``CollectionAccess`` per request attempt; the
``userdb`` database backend asks it for the file to open when the view first
touches the collection (opening is lazy: a request that never touches the
collection costs nothing), and the middleware finishes it after the view:
commit through the journal, or roll back.
"""

from __future__ import annotations

import contextlib
import contextvars
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from sessions_cache import engine

Learner = tuple[str, str | None]  # (username, collection id; None: whatever account exists)


class CollectionAccess:
    def __init__(self, resolve: Callable[[], Learner | None]) -> None:
        self._resolve = resolve
        self._stack = contextlib.ExitStack()
        self.opened: engine.OpenCollection | None = None
        self.capture: engine.Capture | None = None
        self.changed = False
        self.account_deleted = False

    def open(self) -> Path:
        """Lock and catch up the learner's file (first touch of ``userdb`` in this request)."""
        learner = self._resolve()
        if learner is None:
            raise ImproperlyConfigured("The collection was used by a request with no learner.")
        username, collection_id = learner
        self.opened = self._stack.enter_context(engine.collection_locked(username, collection_id))
        return self.opened.path

    def attach(self, conn: sqlite3.Connection) -> None:
        self.capture = engine.Capture.install(conn)

    def finish(
        self, conn: sqlite3.Connection | None, *, commit: bool, idempotency: dict[str, Any] | None
    ) -> None:
        if conn is None or self.opened is None or self.capture is None:
            return
        if not commit:
            engine.changes_rollback(conn, self.capture)
            return
        self.changed = engine.changes_commit(
            self.opened, conn, self.capture, idempotency=idempotency
        )
        if self.changed:
            engine.compact_if_due(self.opened)

    def close(self) -> None:
        self._stack.close()


_current: contextvars.ContextVar[CollectionAccess | None] = contextvars.ContextVar(
    "collection_access", default=None
)


def access_account_deleted() -> None:
    """Tell the request in progress (if any) that its learner no longer exists."""
    access = _current.get()
    if access is not None:
        access.account_deleted = True


def current_access() -> CollectionAccess:
    access = _current.get()
    if access is None:
        raise ImproperlyConfigured(
            "The learner's collection (database 'userdb') is only available inside an "
            "authenticated API request or a collection_session() block."
        )
    return access


def access_begin(access: CollectionAccess) -> contextvars.Token[CollectionAccess | None]:
    return _current.set(access)


def access_end(token: contextvars.Token[CollectionAccess | None]) -> None:
    _current.reset(token)


@contextlib.contextmanager
def collection_session(username: str, collection_id: str | None = None) -> Iterator[None]:
    """Use ``userdb`` outside a request (commands, jobs, the benchmark) under the same
    protocol: changes made in the block are journaled and committed when it ends
    without an exception, and rolled back when it raises."""
    from django.db import connections

    access = CollectionAccess(lambda: (username, collection_id))
    token = access_begin(access)
    try:
        yield
        access.finish(connections["userdb"].connection, commit=True, idempotency=None)
    finally:
        connections["userdb"].close()
        access.close()
        access_end(token)
