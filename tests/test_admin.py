"""The operators' admin pages: learners, sessions and storage, as staff and as anyone else."""

from __future__ import annotations

import contextlib
import re
import secrets
import sqlite3
from urllib.parse import unquote

import pytest
from django.conf import settings
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.test import Client
from django.urls import reverse

from javumbo import aws, learners
from sessions_cache import engine, sessions, store
from tests.conftest import LEARNER_PASSWORD

pytestmark = pytest.mark.django_db

OPERATOR_PASSWORD = "operator password for the tests"


@pytest.fixture
def operator(django_user_model):
    return django_user_model.objects.create_user(
        username=f"op-{secrets.token_hex(3)}", password=OPERATOR_PASSWORD, is_staff=True
    )


@pytest.fixture
def staff(operator) -> Client:
    client = Client()
    client.force_login(operator)
    return client


@pytest.fixture
def learner_only(django_user_model) -> Client:
    """Signed in to the admin site, but not staff."""
    user = django_user_model.objects.create_user(username="not-staff", password=OPERATOR_PASSWORD)
    client = Client()
    client.force_login(user)
    return client


def collection_change(username: str, times: int = 1) -> None:
    """Change the learner's collection through the engine's request protocol, one journal
    entry each time (the test's ``default`` database forbids the ``userdb`` alias here)."""
    for _ in range(times):
        with (
            engine.collection_locked(username, None) as opened,
            contextlib.closing(sqlite3.connect(opened.path, isolation_level=None)) as conn,
        ):
            capture = engine.Capture.install(conn)
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("UPDATE col SET mod = mod + 1")
            assert engine.changes_commit(opened, conn, capture)


def records(username: str) -> list[LogEntry]:
    return list(LogEntry.objects.filter(object_repr=f"learner {username}").order_by("pk"))


def api_login(username: str):
    return Client().post(
        "/api/auth/login",
        {"username": username, "password": LEARNER_PASSWORD},
        content_type="application/json",
    )


def password_hash(username: str) -> str:
    item = aws.dynamodb().get_item(
        TableName=settings.JAVUMBO_TABLES["users"], Key={"username": {"S": username}}
    )["Item"]
    return item["password_hash"]["S"]


def object_versions(username: str) -> list[str]:
    listed = aws.s3().list_object_versions(
        Bucket=settings.JAVUMBO_BUCKET, Prefix=store.user_prefix(username)
    )
    kept = [v["Key"] for v in listed.get("Versions", [])]
    return kept + [m["Key"] for m in listed.get("DeleteMarkers", [])]


def snapshot_seq(username: str) -> int:
    head = store.snapshot_head(username)
    assert head is not None
    return head.seq


def learner_now(username: str) -> learners.Learner:
    learner = learners.learner_get(username)
    assert learner is not None
    return learner


def found(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    assert match is not None
    return match.group(1)


def snapshot_bytes(username: str) -> int:
    head = aws.s3().head_object(Bucket=settings.JAVUMBO_BUCKET, Key=store.snapshot_key(username))
    return head["ContentLength"]


# --- The index and the learners ---------------------------------------------------------------


def test_it_links_the_operators_pages_from_the_admin_index(staff):
    page = staff.get("/admin/").content.decode()
    for name in ("operators:learners", "operators:sessions", "operators:storage"):
        assert f'href="{reverse(name)}"' in page


def test_it_finds_learners_by_prefix_a_page_at_a_time(staff, learner_make, monkeypatch):
    monkeypatch.setattr("javumbo.admin.views.PAGE_SIZE", 2)
    prefix = f"pat{secrets.token_hex(3)}"
    made = {learner_make(prefix).username for _ in range(3)}
    learner_make("other")
    first = staff.get(reverse("operators:learners"), {"q": prefix.upper()})
    cursor = unquote(found(r"cursor=([^\"&]+)", first.content.decode()))
    second = staff.get(reverse("operators:learners"), {"q": prefix, "cursor": cursor})
    shown = [learner.username for learner in first.context["page"].learners]
    shown += [learner.username for learner in second.context["page"].learners]
    assert len(first.context["page"].learners) == 2
    assert sorted(shown) == sorted(made)
    assert second.context["page"].cursor is None
    for username in made:
        assert reverse("operators:learner", args=[username]) in (
            first.content.decode() + second.content.decode()
        )


def test_it_shows_a_learner_with_their_collection_and_sessions(staff, alice):
    session = sessions.session_start(alice.username)
    collection_change(alice.username, times=2)
    response = staff.get(reverse("operators:learner", args=[alice.username]))
    page = response.content.decode()
    status = response.context["status"]
    assert response.status_code == 200
    assert alice.name in page and alice.created_at in page
    assert status.snapshot.size == snapshot_bytes(alice.username)
    assert f'data-bytes="{status.snapshot.size}"' in page
    assert (status.journal.snapshot_seq, status.journal.head_seq, status.journal.pending) == (
        0,
        2,
        2,
    )
    assert re.search(r'id="head-seq">2<', page) and re.search(r'id="snapshot-seq">0<', page)
    assert session.session_id in page and settings.JAVUMBO_INSTANCE_ID in page
    assert response.context["last_activity"] is not None


def test_it_answers_404_for_a_learner_who_does_not_exist(staff):
    response = staff.get(reverse("operators:learner", args=["nobody-here"]))
    assert response.status_code == 404


def test_it_never_shows_a_password_hash(staff, alice):
    hashed = password_hash(alice.username)
    pages = [
        staff.get(reverse("operators:learners"), {"q": alice.username}),
        staff.get(reverse("operators:learner", args=[alice.username])),
        staff.get(reverse("operators:learner-delete", args=[alice.username])),
    ]
    for response in pages:
        assert response.status_code == 200
        assert hashed not in response.content.decode()
        assert "$2b$" not in response.content.decode()


def test_it_deactivates_and_reactivates_a_learner_and_records_both(staff, operator, alice):
    detail = reverse("operators:learner", args=[alice.username])
    response = staff.post(reverse("operators:learner-deactivate", args=[alice.username]))
    assert response.status_code == 302 and response["Location"] == detail
    assert learner_now(alice.username).active is False
    assert api_login(alice.username).json()["code"] == "account_inactive"
    staff.post(reverse("operators:learner-reactivate", args=[alice.username]))
    assert learner_now(alice.username).active is True
    assert api_login(alice.username).status_code == 200
    logged = records(alice.username)
    assert [(e.user, e.action_flag, e.content_type) for e in logged] == [
        (operator, CHANGE, None),
        (operator, CHANGE, None),
    ]
    assert logged[0].change_message.startswith("Deactivated")
    assert logged[1].change_message.startswith("Reactivated")


def test_it_forces_a_logout(staff, operator, alice):
    refresh_token = api_login(alice.username).json()["refreshToken"]
    staff.post(reverse("operators:learner-logout", args=[alice.username]))
    refreshed = Client().post(
        "/api/auth/refresh", {"refreshToken": refresh_token}, content_type="application/json"
    )
    assert refreshed.json()["code"] == "token_revoked"
    assert learner_now(alice.username).token_version == alice.token_version + 1
    [entry] = records(alice.username)
    assert entry.user == operator and "Forced logout" in entry.change_message


def test_it_asks_for_confirmation_before_deleting(staff, alice):
    response = staff.get(reverse("operators:learner-delete", args=[alice.username]))
    assert response.status_code == 200
    assert f"Yes, delete {alice.username}" in response.content.decode()
    assert learners.learner_get(alice.username) is not None
    assert records(alice.username) == []


def test_it_deletes_everything_the_account_deletion_removes(staff, operator, alice):
    sessions.session_start(alice.username)
    collection_change(alice.username)
    assert store.journal_read(alice.username, -1)[0] and object_versions(alice.username)
    response = staff.post(reverse("operators:learner-delete", args=[alice.username]))
    assert response.status_code == 302 and response["Location"] == reverse("operators:learners")
    assert learners.learner_get(alice.username) is None
    assert object_versions(alice.username) == []
    assert store.journal_read(alice.username, -1) == ([], None)
    assert sessions.session_live_for(alice.username) is None
    assert api_login(alice.username).status_code == 401
    [entry] = records(alice.username)
    assert (entry.user, entry.action_flag) == (operator, DELETION)


def test_it_records_a_second_delete_without_deleting_anything(staff, alice, bob):
    url = reverse("operators:learner-delete", args=[alice.username])
    staff.post(url)
    assert staff.post(url).status_code == 302
    assert [e.action_flag for e in records(alice.username)] == [DELETION, DELETION]
    assert learners.learner_get(bob.username) is not None


def test_it_reports_an_action_that_cannot_be_done_and_records_nothing(staff):
    url = reverse("operators:learner-deactivate", args=["nobody-here"])
    response = staff.post(url, follow=True)
    assert "No learner is called" in response.content.decode()
    assert records("nobody-here") == []


# --- Sessions ---------------------------------------------------------------------------------


def test_it_lists_active_sessions_with_owner_expiry_and_pending_changes(staff, alice, bob):
    mine = sessions.session_start(alice.username)
    theirs = sessions.session_start(bob.username)
    collection_change(alice.username, times=2)
    response = staff.get(reverse("operators:sessions"))
    rows = {row.session.session_id: row for row in response.context["rows"]}
    assert rows[mine.session_id].pending == 2 and rows[theirs.session_id].pending == 0
    assert rows[mine.session_id].session.owner == settings.JAVUMBO_INSTANCE_ID
    assert int(rows[mine.session_id].expires.timestamp()) == mine.expires_at
    page = response.content.decode()
    assert mine.session_id in page and alice.username in page


def test_it_flushes_a_session(staff, operator, alice):
    session = sessions.session_start(alice.username)
    collection_change(alice.username, times=2)
    url = reverse("operators:session-flush", args=[alice.username, session.session_id])
    response = staff.post(url)
    assert response.status_code == 302 and response["Location"] == reverse("operators:sessions")
    assert snapshot_seq(alice.username) == 2
    assert sessions.session_get(session.session_id) is None
    [entry] = records(alice.username)
    assert entry.user == operator and session.session_id in entry.change_message


def test_it_ends_a_session_without_compacting(staff, operator, alice):
    session = sessions.session_start(alice.username)
    collection_change(alice.username)
    staff.post(reverse("operators:session-end", args=[alice.username, session.session_id]))
    assert sessions.session_get(session.session_id) is None
    assert snapshot_seq(alice.username) == 0
    [entry] = records(alice.username)
    assert entry.user == operator and entry.change_message.startswith("Ended session")


# --- Storage ----------------------------------------------------------------------------------


def all_snapshots(staff) -> dict[str, int]:
    sizes: dict[str, int] = {}
    query: dict[str, str] = {}
    while True:
        page = staff.get(reverse("operators:storage"), query).context["page"]
        sizes.update((s.username, s.size) for s in page.snapshots)
        if page.next_after is None:
            return sizes
        query = {"after": page.next_after}


def test_it_lists_learners_with_pending_entries_and_snapshot_sizes(staff, alice, bob):
    collection_change(alice.username, times=3)
    response = staff.get(reverse("operators:storage"))
    pending = {status.username: status for status in response.context["pending"]}
    assert pending[alice.username].journal.pending == 3
    assert bob.username not in pending
    sizes = all_snapshots(staff)
    assert sizes[alice.username] == snapshot_bytes(alice.username)
    assert sizes[bob.username] == snapshot_bytes(bob.username)


def test_it_compacts_one_collection_now(staff, operator, alice):
    collection_change(alice.username, times=2)
    response = staff.post(reverse("operators:compact", args=[alice.username]))
    assert response.status_code == 302 and response["Location"] == reverse("operators:storage")
    assert snapshot_seq(alice.username) == 2
    storage = staff.get(reverse("operators:storage")).context["pending"]
    assert alice.username not in {status.username for status in storage}
    [entry] = records(alice.username)
    assert entry.user == operator and entry.change_message.startswith("Compacted")


# --- Who may ----------------------------------------------------------------------------------

PAGES = [
    ("operators:learners", ()),
    ("operators:learner", ("learner",)),
    ("operators:learner-delete", ("learner",)),
    ("operators:sessions", ()),
    ("operators:storage", ()),
]
ACTIONS = [
    ("operators:learner-deactivate", ("learner",)),
    ("operators:learner-reactivate", ("learner",)),
    ("operators:learner-logout", ("learner",)),
    ("operators:learner-delete", ("learner",)),
    ("operators:session-end", ("learner", "session")),
    ("operators:session-flush", ("learner", "session")),
    ("operators:compact", ("learner",)),
]


@pytest.fixture
def target(alice):
    """A learner with a live session and a pending change, to see that nothing moved."""
    session = sessions.session_start(alice.username)
    collection_change(alice.username)
    return {"learner": alice.username, "session": session.session_id}


def untouched(target) -> bool:
    learner = learners.learner_get(target["learner"])
    return (
        learner is not None
        and learner.active
        and learner.token_version == 0
        and sessions.session_get(target["session"]) is not None
        and snapshot_seq(target["learner"]) == 0
        and records(target["learner"]) == []
    )


def url_for(name: str, parts: tuple[str, ...], target) -> str:
    return reverse(name, args=[target[part] for part in parts])


@pytest.mark.parametrize(("name", "parts"), PAGES)
@pytest.mark.parametrize("who", ["anonymous", "not staff"])
def test_it_sends_anyone_but_staff_to_the_login_page(who, name, parts, target, learner_only):
    client = Client() if who == "anonymous" else learner_only
    response = client.get(url_for(name, parts, target))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.parametrize(("name", "parts"), ACTIONS)
@pytest.mark.parametrize("who", ["anonymous", "not staff"])
def test_it_refuses_actions_from_anyone_but_staff(who, name, parts, target, learner_only):
    client = Client() if who == "anonymous" else learner_only
    response = client.post(url_for(name, parts, target))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert untouched(target)


@pytest.mark.parametrize(("name", "parts"), ACTIONS)
def test_it_refuses_an_action_without_a_csrf_token(name, parts, target, operator):
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    assert client.post(url_for(name, parts, target)).status_code == 403
    assert untouched(target)


def test_it_accepts_an_action_with_the_forms_csrf_token(target, operator):
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    detail = client.get(reverse("operators:learner", args=[target["learner"]])).content.decode()
    token = found(r'name="csrfmiddlewaretoken" value="([^"]+)"', detail)
    url = reverse("operators:learner-logout", args=[target["learner"]])
    assert client.post(url, {"csrfmiddlewaretoken": token}).status_code == 302
    assert learner_now(target["learner"]).token_version == 1


def test_it_refuses_a_get_on_an_action(staff, target):
    url = reverse("operators:learner-deactivate", args=[target["learner"]])
    assert staff.get(url).status_code == 405
    assert untouched(target)
