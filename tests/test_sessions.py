"""Session endpoints: start, status, flush; X-Session-ID; sliding expiry."""

from __future__ import annotations

import itertools
import time
from unittest import mock

import pytest

from sessions_cache import sessions, store
from tests.engine_support import learner_create

pytestmark = pytest.mark.urls("tests.collection_views")
ids = itertools.count(1_820_000_000_000)


@pytest.fixture
def alice(settings, tmp_path):
    settings.JAVUMBO_CACHE_DIR = tmp_path
    return learner_create("alice")


def test_start_returns_the_live_session_or_a_new_one(alice):
    client = alice.client()
    first = client.post("/api/session/start").json()
    again = client.post("/api/session/start").json()
    assert first["active"] is True
    assert again["sessionId"] == first["sessionId"]
    assert first["expiresAt"] > time.time() * 1000


def test_status_reports_pending_changes_and_sequence_numbers(alice):
    client = alice.client()
    session_id = client.post("/api/session/start").json()["sessionId"]
    for _ in range(3):
        client.post("/api/test/revlog", {"ids": [next(ids)]}, format="json")
    status = client.get("/api/session/status", HTTP_X_SESSION_ID=session_id).json()
    assert status == {
        "active": True,
        "sessionId": session_id,
        "expiresAt": status["expiresAt"],
        "pendingChanges": 3,
        "snapshotSeq": 0,
        "headSeq": 3,
    }


def test_flush_compacts_and_ends_the_session(alice):
    client = alice.client()
    session_id = client.post("/api/session/start").json()["sessionId"]
    client.post("/api/test/revlog", {"ids": [next(ids)]}, format="json")
    flushed = client.post("/api/session/flush", HTTP_X_SESSION_ID=session_id).json()
    assert flushed == {"flushed": True, "snapshotSeq": 1, "foldedChanges": 1}
    head = store.snapshot_head(alice.username)
    assert head is not None and head.seq == 1
    assert sessions.session_get(session_id) is None
    status = client.get("/api/session/status").json()
    assert status["pendingChanges"] == 0


def test_a_session_past_its_expiry_counts_as_absent(alice):
    session = sessions.session_start(alice.username)
    later = time.time() + 3600
    with mock.patch("sessions_cache.sessions.time.time", return_value=later):
        assert sessions.session_get(session.session_id) is None
        assert sessions.session_live_for(alice.username) is None


def test_another_learners_session_id_is_never_adopted(alice):
    bob = learner_create("bob")
    bobs = bob.client().post("/api/session/start").json()["sessionId"]
    response = alice.client().get("/api/test/whoami", HTTP_X_SESSION_ID=bobs)
    assert response["X-Session-ID"] != bobs
    still = sessions.session_get(bobs)
    assert still is not None and still.username == bob.username


def test_the_session_expiry_slides_forward(alice, settings):
    settings.JAVUMBO_SESSION_TTL_SECONDS = 300
    session = sessions.session_start(alice.username)
    later = time.time() + 200
    with mock.patch("sessions_cache.sessions.time.time", return_value=later):
        extended = sessions.session_touch(alice.username, session.session_id)
    assert extended.session_id == session.session_id
    assert extended.expires_at >= session.expires_at + 199


def test_session_endpoints_need_a_token():
    from rest_framework.test import APIClient

    assert APIClient().post("/api/session/start").status_code == 401
    assert APIClient().get("/api/session/status").status_code == 401


def test_status_describes_the_session_the_answer_belongs_to(alice):
    response = alice.client().get("/api/session/status")
    body = response.json()
    assert body["active"] is True
    assert body["sessionId"] == response["X-Session-ID"]
