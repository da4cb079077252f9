"""The storage engine's request protocol, through real HTTP requests on real local S3 + DynamoDB."""

from __future__ import annotations

import itertools
from unittest import mock

import pytest
from botocore.exceptions import EndpointConnectionError
from django.conf import settings as django_settings

from javumbo import aws
from sessions_cache import store
from tests.engine_support import cache_state, learner_create, requests_made

pytestmark = pytest.mark.urls("tests.collection_views")
ids = itertools.count(1_800_000_000_000)


@pytest.fixture
def alice(container):
    return learner_create("alice")


def journal_seqs(username):
    entries, _ = store.journal_read(username, 0)
    return [e.seq for e in entries]


def revlog_ids(client):
    return client.get("/api/test/revlog").json()["ids"]


def test_a_change_is_journaled_as_exactly_one_entry(alice):
    client = alice.client()
    response = client.post("/api/test/revlog", {"ids": [next(ids), next(ids)]}, format="json")
    assert response.status_code == 201
    assert journal_seqs(alice.username) == [1]


def test_a_read_only_request_writes_no_entry_and_costs_one_query(alice):
    client = alice.client()
    client.get("/api/test/revlog")
    response = client.get("/api/test/revlog")
    assert journal_seqs(alice.username) == []
    assert requests_made(response) == {"s3": 0, "ddb": 1}
    assert cache_state(response) == "hit"


def test_twenty_answers_in_a_warm_container_make_no_s3_request(alice):
    client = alice.client()
    client.get("/api/test/revlog")
    s3_requests = 0
    for _ in range(20):
        response = client.post("/api/test/revlog", {"ids": [next(ids)]}, format="json")
        assert response.status_code == 201
        s3_requests += requests_made(response)["s3"]
    assert s3_requests == 0
    assert journal_seqs(alice.username) == list(range(1, 21))


def test_a_cold_container_makes_exactly_one_s3_get(alice, container):
    alice.client().post("/api/test/revlog", {"ids": [next(ids)]}, format="json")
    container()
    with mock.patch.object(aws.s3(), "get_object", wraps=aws.s3().get_object) as get_object:
        response = alice.client().get("/api/test/revlog")
    assert requests_made(response)["s3"] == 1
    assert get_object.call_count == 1
    assert cache_state(response) == "miss"
    assert len(response.json()["ids"]) == 1 + 43  # the fixture's 43 reviews plus ours


def test_a_second_container_sees_every_acknowledged_change(alice, container):
    first = alice.client()
    written = [next(ids) for _ in range(5)]
    for rid in written:
        first.post("/api/test/revlog", {"ids": [rid]}, format="json")
    container()
    assert set(written) <= set(revlog_ids(alice.client()))


def test_containers_taking_turns_catch_up_from_the_journal(alice, container):
    caches = [container(), container()]
    written = []
    for turn in range(6):
        django_settings.JAVUMBO_CACHE_DIR = caches[turn % 2]
        rid = next(ids)
        written.append(rid)
        response = alice.client().post("/api/test/revlog", {"ids": [rid]}, format="json")
        assert response.status_code == 201
        assert requests_made(response)["s3"] == (1 if turn < 2 else 0)  # each cold once
    for cache in caches:
        django_settings.JAVUMBO_CACHE_DIR = cache
        assert set(written) <= set(revlog_ids(alice.client()))
    assert journal_seqs(alice.username) == list(range(1, 7))


def test_an_error_answer_rolls_back_and_writes_nothing(alice):
    client = alice.client()
    before = revlog_ids(client)
    response = client.post("/api/test/revlog", {"ids": [next(ids)], "status": 400}, format="json")
    assert response.status_code == 400
    assert revlog_ids(client) == before
    assert journal_seqs(alice.username) == []


def test_an_exception_in_the_view_rolls_back_and_writes_nothing(alice):
    client = alice.client()
    client.raise_request_exception = False
    before = revlog_ids(client)
    response = client.post("/api/test/revlog", {"ids": [next(ids)], "crash": True}, format="json")
    assert response.status_code == 500
    assert response.json()["code"] == "server_error"
    assert revlog_ids(client) == before
    assert journal_seqs(alice.username) == []


def test_dynamodb_unreachable_answers_503_and_changes_nothing(alice, container):
    client = alice.client()
    before = revlog_ids(client)
    error = EndpointConnectionError(endpoint_url="http://dynamodb")
    with mock.patch.object(aws.dynamodb(), "put_item", side_effect=error):
        response = client.post("/api/test/revlog", {"ids": [next(ids)]}, format="json")
    assert response.status_code == 503
    assert response.json()["code"] == "unavailable"
    assert revlog_ids(client) == before
    container()
    assert revlog_ids(alice.client()) == before


def test_s3_unreachable_on_a_cold_start_answers_503(alice, container):
    container()
    error = EndpointConnectionError(endpoint_url="http://s3")
    with mock.patch.object(aws.s3(), "get_object", side_effect=error):
        response = alice.client().get("/api/test/revlog")
    assert response.status_code == 503
    assert len(revlog_ids(alice.client())) == 43


def test_a_lost_append_race_is_retried_after_catching_up(alice):
    client = alice.client()
    mine, rival = next(ids), next(ids)
    response = client.post(
        "/api/test/competitor",
        {"ids": [mine], "rival": rival, "rivals": 2, "key": f"{alice.username}-a"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["attempt"] == 3
    stored = revlog_ids(client)
    assert {mine, rival, rival + 1} <= set(stored)
    assert stored.count(mine) == 1
    assert journal_seqs(alice.username) == [1, 2, 3]


def test_a_race_lost_every_time_answers_409_and_changes_nothing_of_ours(alice):
    client = alice.client()
    mine, rival = next(ids), next(ids) + 1000
    response = client.post(
        "/api/test/competitor",
        {"ids": [mine], "rival": rival, "rivals": 99, "key": f"{alice.username}-b"},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    stored = revlog_ids(client)
    assert mine not in stored
    assert journal_seqs(alice.username) == [1, 2, 3]  # only the rival's entries


def test_a_large_entry_spills_to_s3_and_replays_elsewhere(alice, container, settings):
    response = alice.client().post("/api/test/note", {"size": 500_000, "id": 77}, format="json")
    assert response.status_code == 201
    entries, _ = store.journal_read(alice.username, 0)
    assert entries[0].spill is not None and entries[0].data is None
    container()
    client = alice.client()
    response = client.get("/api/test/revlog")
    assert requests_made(response)["s3"] == 2  # the snapshot and the spilled entry


def test_an_idempotent_retry_gets_the_first_result_and_changes_nothing(alice):
    client = alice.client()
    rid = next(ids)
    first = client.post(
        "/api/test/revlog", {"ids": [rid]}, format="json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    again = client.post(
        "/api/test/revlog", {"ids": [rid]}, format="json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replay"] == "true"
    assert journal_seqs(alice.username) == [1]


def test_an_idempotency_key_reused_for_another_request_is_refused(alice):
    client = alice.client()
    client.post("/api/test/revlog", {"ids": [next(ids)]}, format="json", HTTP_IDEMPOTENCY_KEY="k2")
    response = client.post(
        "/api/test/revlog", {"ids": [next(ids)]}, format="json", HTTP_IDEMPOTENCY_KEY="k2"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_reused"


def test_every_authenticated_answer_carries_a_session_id(alice):
    client = alice.client()
    first = client.get("/api/test/whoami")
    session_id = first["X-Session-ID"]
    again = client.get("/api/test/whoami", HTTP_X_SESSION_ID=session_id)
    assert again["X-Session-ID"] == session_id


def test_a_deleted_and_recreated_account_refuses_the_old_token(alice, container):
    from sessions_cache import engine

    old = alice.client()
    old.post("/api/test/revlog", {"ids": [next(ids)]}, format="json")
    engine.collection_delete(username=alice.username)
    assert old.get("/api/test/revlog").status_code == 401
    engine.collection_create(
        username=alice.username,
        collection_id="another-account",
        build=lambda path: path.write_bytes(
            (django_settings.BASE_DIR / "tests/fixtures/anki/collection.anki2").read_bytes()
        ),
    )
    response = old.get("/api/test/revlog")
    assert response.status_code == 401
    assert response.json()["code"] == "account_gone"


def test_a_deactivated_account_is_refused_on_its_next_request(alice):
    from sessions_cache import engine

    engine.collection_set_active(username=alice.username, active=False)
    response = alice.client().get("/api/test/revlog")
    assert response.status_code == 403
    assert response.json()["code"] == "account_inactive"
    engine.collection_set_active(username=alice.username, active=True)
    assert alice.client().get("/api/test/revlog").status_code == 200


def test_requests_without_a_token_cannot_open_any_collection(alice):
    from rest_framework.test import APIClient

    response = APIClient().get("/api/test/revlog")
    assert response.status_code == 401


def test_dying_between_the_append_and_the_local_commit_loses_nothing(alice, container):
    client = alice.client()
    client.raise_request_exception = False
    rid = next(ids)
    real_append = store.journal_append

    def append_then_die(*args, **kwargs):
        real_append(*args, **kwargs)
        raise SystemExit("the container is gone")

    with mock.patch.object(store, "journal_append", append_then_die), pytest.raises(SystemExit):
        client.post("/api/test/revlog", {"ids": [rid]}, format="json")
    assert journal_seqs(alice.username) == [1]
    assert revlog_ids(client).count(rid) == 1  # this container catches up from the journal
    container()
    assert revlog_ids(alice.client()).count(rid) == 1
