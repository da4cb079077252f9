"""``UserDatabaseMiddleware``: the authenticated learner's collection as the ``userdb`` alias,
with the request protocol of DESIGN.md around the view.

Per attempt: a fresh CollectionAccess -> the view (opening the collection
lazily) -> a 2xx/3xx answer commits through the journal, anything else rolls
back. A journal append that lost the race for seq+1 rolls back, catches up and
runs the view again (bounded), then answers 409. The answer carries
``X-Session-ID``.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse

from javumbo.errors import JavumboError, error_response
from sessions_cache import idempotency, sessions
from sessions_cache.access import CollectionAccess, Learner, access_begin, access_end
from sessions_cache.store import IdempotencyReplay, JournalConflict

log = logging.getLogger("javumbo")
Handler = Callable[[HttpRequest], HttpResponse]


def request_learner(request: HttpRequest) -> Learner | None:
    """The learner DRF authenticated for this request (it sets ``request.user``)."""
    user = request.__dict__.get("user")
    if user is None or not getattr(user, "is_learner", False):
        return None
    return user.username, user.collection_id


class UserDatabaseMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/api/"):
            return self.get_response(request)
        key = request.headers.get("Idempotency-Key")
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            request.body  # noqa: B018 - read once so that a retried attempt can read it again
        response = self._attempts(request, key)
        learner = request_learner(request)
        deleted = getattr(request, "javumbo_account_deleted", False)
        if learner is not None and response.status_code != 401 and not deleted:
            response = self._with_session(request, learner[0], response)
        return response

    def _attempts(self, request: HttpRequest, key: str | None) -> HttpResponse:
        for attempt in range(settings.JAVUMBO_JOURNAL_RETRIES):
            if attempt:
                _rewind(request)
            try:
                return self._attempt(request, key)
            except JournalConflict:
                log.info("journal conflict on %s, attempt %d", request.path, attempt + 1)
            except IdempotencyReplay:
                stored = idempotency.replay_lookup(request, key)
                if stored is not None:
                    return stored
            except JavumboError as exc:
                return error_response(exc.status_code, exc.message, exc.default_code)
        return error_response(
            409,
            "Another device changed this collection at the same moment; try again.",
            "conflict",
        )

    def _attempt(self, request: HttpRequest, key: str | None) -> HttpResponse:
        access = CollectionAccess(lambda: request_learner(request))
        token = access_begin(access)
        try:
            if key:
                stored = idempotency.replay_lookup(request, key)
                if stored is not None:
                    return stored
            response = self.get_response(request)
            request.javumbo_account_deleted = access.account_deleted  # type: ignore[attr-defined]
            record = idempotency.record_for(request, key, response)
            conn = connections["userdb"].connection
            access.finish(conn, commit=response.status_code < 400, idempotency=record)
            return response
        finally:
            connections["userdb"].close()
            access.close()
            access_end(token)

    def _with_session(
        self, request: HttpRequest, username: str, response: HttpResponse
    ) -> HttpResponse:
        try:
            session = sessions.session_touch(username, request.headers.get("X-Session-ID"))
        except JavumboError:
            log.warning("could not record the session of %s", username)
            return response
        response["X-Session-ID"] = session.session_id
        return response


def _rewind(request: HttpRequest) -> None:
    """Let a retried view read the same body again."""
    request._stream = io.BytesIO(request.body)
    for cached in ("_post", "_files", "_data", "_full_data"):
        if hasattr(request, cached):
            delattr(request, cached)
