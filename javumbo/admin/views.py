"""The operators' pages: learners, sessions and storage, in the admin site's look.

Pages read through the account services and ``sessions_cache.inspect``. Each
action is a POST that calls one service, records a ``LogEntry`` with the
operator as its user ("learner <username>", no content type) and redirects.
Every action is safe to run twice, because the operators' database middleware
runs a request again when another container changed that database first:
deactivate, reactivate, compact and end do nothing new the second time, a
forced logout revokes once more, and deleting a learner who is already gone
deletes nothing and is still recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.decorators.http import require_GET, require_POST

from javumbo import accounts
from javumbo.errors import JavumboError, NotFound
from javumbo.learners import Learner, LearnerPage
from sessions_cache import engine, inspect, sessions
from sessions_cache.inspect import CollectionStatus, SnapshotPage
from sessions_cache.sessions import Session

PAGE_SIZE = 50
PENDING_SHOWN = 100
SESSIONS_SHOWN = 200


def _page(request: HttpRequest, template: str, title: str, **context: Any) -> HttpResponse:
    context = {**admin.site.each_context(request), "title": title, **context}
    return render(request, f"admin/javumbo/{template}", context)


def _record(request: HttpRequest, username: str, message: str, *, flag: int = CHANGE) -> None:
    LogEntry.objects.create(
        user=request.user,  # type: ignore[misc]  # staff only: never AnonymousUser
        content_type=None,
        object_id=username,
        object_repr=f"learner {username}",
        action_flag=flag,
        change_message=message,
    )
    messages.success(request, f"{username}: {message}")


def _back(request: HttpRequest, default: str) -> HttpResponseRedirect:
    """To the page the form came from (its ``next`` field), if that is on this site."""
    target = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return redirect(target if safe else default)


def _act(request: HttpRequest, username: str, act: Callable[[], str], default: str) -> HttpResponse:
    """Run one action: record what it did, or tell the operator why it could not be done."""
    try:
        done = act()
    except NotFound as exc:
        messages.error(request, f"{username}: {exc.message}")
        return redirect("operators:learners")  # the page the form came from is gone too
    except JavumboError as exc:
        messages.error(request, f"{username}: {exc.message}")
    else:
        _record(request, username, done)
    return _back(request, default)


def _learner_or_404(username: str) -> Learner:
    try:
        return accounts.learner_find(username=username)
    except NotFound:
        raise Http404(f"No learner is called {username!r}.") from None


def _learner_url(username: str) -> str:
    return reverse("operators:learner", args=[username])


@dataclass(frozen=True)
class SessionRow:
    session: Session
    pending: int
    last_seen: datetime
    expires: datetime


def _session_row(session: Session, pending: int) -> SessionRow:
    expires = datetime.fromtimestamp(session.expires_at, UTC)
    return SessionRow(session, pending, inspect.session_last_seen(session), expires)


# --- Learners ---------------------------------------------------------------------------------


@require_GET
def learner_list(request: HttpRequest) -> HttpResponse:
    prefix = request.GET.get("q", "").strip().lower()
    cursor = request.GET.get("cursor") or None
    try:
        page = accounts.learners_list(cursor=cursor, limit=PAGE_SIZE, prefix=prefix)
    except JavumboError as exc:
        messages.error(request, exc.message)
        page = LearnerPage([], None)
    return _page(
        request, "learner_list.html", "Learners", page=page, prefix=prefix, paged=bool(cursor)
    )


@require_GET
def learner_detail(request: HttpRequest, username: str) -> HttpResponse:
    learner = _learner_or_404(username)
    status: CollectionStatus | None = None
    live: list[Session] = []
    try:
        status = inspect.collection_status(learner.username)
        live = inspect.learner_sessions(learner.username)
    except JavumboError as exc:
        messages.error(request, exc.message)
    return _page(
        request,
        "learner_detail.html",
        f"Learner {learner.username}",
        learner=learner,
        status=status,
        sessions=[_session_row(s, status.journal.pending if status else 0) for s in live],
        last_activity=inspect.last_activity(status, live) if status else None,
    )


@require_POST
def learner_deactivate(request: HttpRequest, username: str) -> HttpResponse:
    def act() -> str:
        accounts.learner_deactivate(username=username)
        return "Deactivated: sign-in, token refresh and the collection are refused."

    return _act(request, username, act, _learner_url(username))


@require_POST
def learner_reactivate(request: HttpRequest, username: str) -> HttpResponse:
    def act() -> str:
        accounts.learner_reactivate(username=username)
        return "Reactivated."

    return _act(request, username, act, _learner_url(username))


@require_POST
def learner_logout(request: HttpRequest, username: str) -> HttpResponse:
    def act() -> str:
        learner = accounts.learner_force_logout(username=username)
        return (
            f"Forced logout: token version is now {learner.token_version}, so every refresh "
            "token issued before is refused."
        )

    return _act(request, username, act, _learner_url(username))


class LearnerDeleteView(View):
    """GET asks for confirmation; POST deletes what the learner's own account deletion does."""

    http_method_names = ["get", "post"]

    def get(self, request: HttpRequest, username: str) -> HttpResponse:
        learner = _learner_or_404(username)
        title = f"Delete learner {learner.username}?"
        return _page(request, "learner_delete.html", title, learner=learner)

    def post(self, request: HttpRequest, username: str) -> HttpResponse:
        username = username.strip().lower()
        try:
            accounts.learner_purge(username=username)
            done = "Deleted: collection (every version), journal, sessions and account."
        except NotFound:
            done = "Deleted: nothing was left of this learner."
        except JavumboError as exc:
            messages.error(request, f"{username}: {exc.message}")
            return redirect(_learner_url(username))
        _record(request, username, done, flag=DELETION)
        return redirect("operators:learners")


# --- Sessions ---------------------------------------------------------------------------------


@require_GET
def session_list(request: HttpRequest) -> HttpResponse:
    rows: list[SessionRow] = []
    try:
        live = sessions.sessions_active(limit=SESSIONS_SHOWN)
        positions = {name: inspect.journal_position(name) for name in {s.username for s in live}}
        rows = [_session_row(s, positions[s.username].pending) for s in live]
    except JavumboError as exc:
        messages.error(request, exc.message)
    return _page(request, "session_list.html", "Active sessions", rows=rows)


def _session_end_if_live(username: str, session_id: str) -> bool:
    found = sessions.session_get(session_id)
    if found is None or found.username != username:
        return False
    sessions.session_end(found)
    return True


@require_POST
def session_end(request: HttpRequest, username: str, session_id: str) -> HttpResponse:
    def act() -> str:
        if _session_end_if_live(username, session_id):
            return f"Ended session {session_id}."
        return f"Session {session_id} had already ended."

    return _act(request, username, act, reverse("operators:sessions"))


@require_POST
def session_flush(request: HttpRequest, username: str, session_id: str) -> HttpResponse:
    def act() -> str:
        result = engine.collection_compact(username=username)
        ended = "ended" if _session_end_if_live(username, session_id) else "had already ended"
        return (
            f"Flushed session {session_id}: snapshot at seq {result.snapshot_seq}, "
            f"{result.folded} changes folded; the session {ended}."
        )

    return _act(request, username, act, reverse("operators:sessions"))


# --- Storage ----------------------------------------------------------------------------------


@require_GET
def storage(request: HttpRequest) -> HttpResponse:
    names: list[str] = []
    pending: list[CollectionStatus] = []
    page = SnapshotPage([], None)
    try:
        names = inspect.pending_usernames()
        pending = [inspect.collection_status(name) for name in names[:PENDING_SHOWN]]
        page = inspect.snapshots_page(after=request.GET.get("after") or None, limit=PAGE_SIZE)
    except JavumboError as exc:
        messages.error(request, exc.message)
    return _page(
        request,
        "storage.html",
        "Storage",
        pending=pending,
        pending_total=len(names),
        page=page,
        paged=bool(request.GET.get("after")),
    )


@require_POST
def collection_compact(request: HttpRequest, username: str) -> HttpResponse:
    def act() -> str:
        result = engine.collection_compact(username=username)
        return f"Compacted: snapshot at seq {result.snapshot_seq}, {result.folded} changes folded."

    return _act(request, username, act, reverse("operators:storage"))
