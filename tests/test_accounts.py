"""Accounts: registration, sign-in, refresh and revocation, the account's life, operators' tools."""

from __future__ import annotations

import json
import secrets
import shutil
import sqlite3
import threading
from unittest import mock

import bcrypt
import pytest
from django.conf import settings
from rest_framework.test import APIClient

from javumbo import accounts, aws, learners
from javumbo.errors import InvalidInput
from javumbo.starter_deck import DECK_NAME, NOTES, PARENT_DECK
from sessions_cache import engine
from tests.conftest import LEARNER_PASSWORD


def unique(name: str) -> str:
    return f"{name}-{secrets.token_hex(4)}"


def register(client, username, password=LEARNER_PASSWORD, **extra):
    body = {"username": username, "name": "Someone", "password": password, **extra}
    return client.post("/api/auth/register", body, format="json")


def login(client, username, password=LEARNER_PASSWORD):
    return client.post(
        "/api/auth/login", {"username": username, "password": password}, format="json"
    )


def refresh(client, token):
    return client.post("/api/auth/refresh", {"refreshToken": token}, format="json")


def bearer(access: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return api


def snapshot_file(username, tmp_path):
    body = (
        aws.s3()
        .get_object(Bucket=settings.JAVUMBO_BUCKET, Key=f"users/{username}/collection.anki2")[
            "Body"
        ]
        .read()
    )
    path = tmp_path / f"{username}.anki2"
    path.write_bytes(body)
    return path


def object_versions(username):
    listing = aws.s3().list_object_versions(
        Bucket=settings.JAVUMBO_BUCKET, Prefix=f"users/{username}/"
    )
    return listing.get("Versions", []) + listing.get("DeleteMarkers", [])


def journal_items(username):
    return aws.dynamodb().query(
        TableName=settings.JAVUMBO_TABLES["journal"],
        KeyConditionExpression="username = :u",
        ExpressionAttributeValues={":u": {"S": username}},
        ConsistentRead=True,
    )["Items"]


def session_items(username):
    return aws.dynamodb().query(
        TableName=settings.JAVUMBO_TABLES["sessions"],
        IndexName="username-index",
        KeyConditionExpression="username = :u",
        ExpressionAttributeValues={":u": {"S": username}},
    )["Items"]


# --- Registration ------------------------------------------------------------------------


def test_it_registers_a_learner_with_the_starter_deck(client, tmp_path):
    username = unique("alice")
    response = register(client, username, name="Alice Liddell", timezone="Europe/Lisbon")
    assert response.status_code == 201
    user = response.json()["user"]
    assert user["username"] == username
    assert user["name"] == "Alice Liddell"
    assert user["timezone"] == "Europe/Lisbon"
    assert user["active"] is True
    assert "passwordHash" not in user and "password" not in json.dumps(user)
    with sqlite3.connect(snapshot_file(username, tmp_path)) as conn:
        decks = json.loads(conn.execute("SELECT decks FROM col").fetchone()[0])
        assert {deck["name"] for deck in decks.values()} >= {"Default", DECK_NAME}
        assert conn.execute("SELECT count() FROM notes").fetchone()[0] == len(NOTES)


def test_it_registers_an_empty_collection_when_the_starter_deck_is_declined(client, tmp_path):
    username = unique("bob")
    assert register(client, username, starterDeck=False).status_code == 201
    with sqlite3.connect(snapshot_file(username, tmp_path)) as conn:
        assert conn.execute("SELECT count() FROM notes").fetchone()[0] == 0
        decks = json.loads(conn.execute("SELECT decks FROM col").fetchone()[0])
        assert [deck["name"] for deck in decks.values()] == ["Default"]


def test_it_gives_exactly_one_of_ten_concurrent_registrations_of_a_name():
    username = unique("charlie")
    statuses: list[int] = []
    codes: list[str] = []
    start = threading.Barrier(10)

    def attempt() -> None:
        start.wait()
        response = register(APIClient(), username)
        statuses.append(response.status_code)
        if response.status_code != 201:
            codes.append(response.json()["code"])

    threads = [threading.Thread(target=attempt) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] + [409] * 9
    assert codes == ["username_taken"] * 9
    assert login(APIClient(), username).status_code == 200


def test_it_treats_usernames_case_insensitively(client):
    username = unique("Dora")
    response = register(client, username)
    assert response.json()["user"]["username"] == username.lower()
    again = register(client, username.upper())
    assert again.status_code == 409
    assert again.json()["code"] == "username_taken"
    assert login(client, username.upper()).status_code == 200


@pytest.mark.parametrize(
    "username",
    ["ab", "a" * 33, "has space", "émile", "../etc", "a/b", "dots.in.name", "", "x" * 3 + "!"],
)
def test_it_refuses_usernames_outside_the_rules(client, username):
    response = register(client, username)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_input"
    assert set(response.json()["details"]) == {"username"}


def test_it_refuses_a_password_under_eight_characters(client):
    response = register(client, unique("erin"), password="seven77")
    assert response.status_code == 400
    assert set(response.json()["details"]) == {"password"}


def test_it_refuses_a_password_over_72_bytes_and_says_why(client):
    password = "é" * 37  # 37 characters, 74 bytes
    response = register(client, unique("frank"), password=password)
    assert response.status_code == 400
    message = response.json()["details"]["password"][0]
    assert "72 bytes" in message


def test_it_accepts_a_password_of_exactly_72_bytes(client):
    username, password = unique("grace"), "é" * 36
    assert register(client, username, password=password).status_code == 201
    assert login(client, username, password).status_code == 200
    assert login(client, username, password[:-1]).status_code == 401


def test_it_refuses_an_unknown_timezone_and_a_long_name(client):
    response = register(client, unique("heidi"), timezone="Mars/Olympus", name="n" * 101)
    assert response.status_code == 400
    assert set(response.json()["details"]) == {"timezone", "name"}


def test_it_leaves_no_learner_behind_when_the_collection_cannot_be_made(client):
    username = unique("ivan")
    # A collection already stored under the name (left over, say): creating one must fail.
    engine.collection_create(username=username, collection_id="left-over", build=_tiny_file)
    response = register(client, username)
    assert response.status_code == 409
    assert learners.learner_get(username) is None
    assert login(client, username).status_code == 401


def _tiny_file(path):
    sqlite3.connect(path).close()


def test_it_answers_the_old_clients_paths(client):
    username = unique("judy")
    response = client.post(
        "/register", {"username": username, "password": LEARNER_PASSWORD}, format="json"
    )
    assert response.status_code == 201
    signed_in = client.post(
        "/login", {"username": username, "password": LEARNER_PASSWORD}, format="json"
    )
    assert signed_in.status_code == 200
    assert signed_in.json()["user"]["username"] == username


# --- Signing in --------------------------------------------------------------------------


def test_it_signs_in_with_the_right_password(client, alice):
    response = login(client, alice.username)
    assert response.status_code == 200
    body = response.json()
    assert body["tokenType"] == "Bearer"
    assert body["expiresIn"] == settings.JWT_ACCESS_MINUTES * 60
    assert body["user"]["username"] == alice.username
    me = bearer(body["accessToken"]).get("/api/auth/me")
    assert me.status_code == 200
    assert me.json()["username"] == alice.username


def test_it_answers_a_wrong_password_and_an_unknown_user_alike(client, alice):
    wrong = login(client, alice.username, "not the password")
    unknown = login(client, unique("nobody"))
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["code"] == "invalid_credentials"


def test_it_spends_a_full_bcrypt_check_on_an_unknown_user(client):
    with mock.patch("bcrypt.checkpw", wraps=bcrypt.checkpw) as checkpw:
        assert login(client, unique("nobody")).status_code == 401
    assert checkpw.call_count == 1
    hashed = checkpw.call_args.args[1].decode()
    assert hashed.startswith(f"$2b${settings.JAVUMBO_BCRYPT_ROUNDS:02d}$")


def test_it_refuses_an_expired_access_token(alice):
    from rest_framework_simplejwt.tokens import AccessToken

    token = AccessToken()
    token["username"], token["cid"] = alice.username, alice.collection_id
    token["exp"] = int(token.current_time.timestamp()) - 1
    response = bearer(str(token)).get("/api/auth/me")
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


# --- Refresh and revocation ----------------------------------------------------------------


def test_it_rotates_both_tokens_on_refresh(client, alice):
    first = login(client, alice.username).json()
    response = refresh(client, first["refreshToken"])
    assert response.status_code == 200
    second = response.json()
    assert second["refreshToken"] != first["refreshToken"]
    assert second["accessToken"] != first["accessToken"]
    assert refresh(client, second["refreshToken"]).status_code == 200
    assert bearer(second["accessToken"]).get("/api/auth/me").status_code == 200


def test_it_refuses_refresh_tokens_issued_before_a_password_change(client, alice):
    before = login(client, alice.username).json()
    changed = bearer(before["accessToken"]).post(
        "/api/auth/password",
        {"currentPassword": LEARNER_PASSWORD, "newPassword": "a brand new secret"},
        format="json",
    )
    assert changed.status_code == 200
    stale = refresh(client, before["refreshToken"])
    assert stale.status_code == 401
    assert stale.json()["code"] == "token_revoked"
    assert refresh(client, changed.json()["refreshToken"]).status_code == 200
    assert login(client, alice.username).status_code == 401
    assert login(client, alice.username, "a brand new secret").status_code == 200


def test_it_keeps_the_password_when_the_current_one_is_wrong(client, alice, api_as):
    response = api_as(alice).post(
        "/api/auth/password",
        {"currentPassword": "wrong wrong", "newPassword": "a brand new secret"},
        format="json",
    )
    assert response.status_code == 403
    assert response.json()["code"] == "wrong_password"
    assert set(response.json()["details"]) == {"currentPassword"}
    assert login(client, alice.username).status_code == 200


def test_it_holds_a_new_password_to_the_rules(alice, api_as):
    response = api_as(alice).post(
        "/api/auth/password",
        {"currentPassword": LEARNER_PASSWORD, "newPassword": "short"},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()["details"]) == {"newPassword"}


def test_it_revokes_every_refresh_token_on_logout_all(client, alice):
    phone = login(client, alice.username).json()
    laptop = login(client, alice.username).json()
    response = bearer(phone["accessToken"]).post("/api/auth/logout-all")
    assert response.status_code == 204
    for device in (phone, laptop):
        assert refresh(client, device["refreshToken"]).json()["code"] == "token_revoked"
    # Access tokens are stateless: they run out on their own (documented).
    assert bearer(laptop["accessToken"]).get("/api/auth/me").status_code == 200
    assert login(client, alice.username).status_code == 200


# --- Deactivation --------------------------------------------------------------------------


def test_it_refuses_a_deactivated_learner_login_and_refresh(client, alice):
    tokens = login(client, alice.username).json()
    accounts.learner_deactivate(username=alice.username)
    refused = login(client, alice.username)
    assert refused.status_code == 403
    assert refused.json()["code"] == "account_inactive"
    assert refresh(client, tokens["refreshToken"]).json()["code"] == "token_revoked"
    assert login(client, alice.username, "not the password").status_code == 401

    accounts.learner_reactivate(username=alice.username)
    assert login(client, alice.username).status_code == 200
    assert refresh(client, tokens["refreshToken"]).status_code == 200


def test_it_refuses_a_deactivated_learners_collection_on_the_next_request(alice, api_as):
    api = api_as(alice)
    assert api.get("/api/session/status").status_code == 200
    accounts.learner_deactivate(username=alice.username)
    response = api.get("/api/session/status")
    assert response.status_code == 403
    assert response.json()["code"] == "account_inactive"
    assert api.get("/api/auth/me").json()["code"] == "account_inactive"
    accounts.learner_reactivate(username=alice.username)
    assert api.get("/api/session/status").status_code == 200


# --- The learner's own account ---------------------------------------------------------------


def test_it_changes_name_and_timezone(alice, api_as):
    api = api_as(alice)
    response = api.patch("/api/auth/me", {"name": "Alice L.", "timezone": "Asia/Tokyo"})
    assert response.status_code == 200
    me = api.get("/api/auth/me").json()
    assert (me["name"], me["timezone"]) == ("Alice L.", "Asia/Tokyo")
    assert me["updatedAt"] >= me["createdAt"]
    only_name = api.patch("/api/auth/me", {"name": "Alice"}, format="json").json()
    assert (only_name["name"], only_name["timezone"]) == ("Alice", "Asia/Tokyo")


def test_it_refuses_a_bad_timezone_on_update(alice, api_as):
    response = api_as(alice).patch("/api/auth/me", {"timezone": "Nowhere"}, format="json")
    assert response.status_code == 400
    assert set(response.json()["details"]) == {"timezone"}


def test_it_asks_for_a_token_on_every_account_route(client):
    for method, path in [
        ("get", "/api/auth/me"),
        ("patch", "/api/auth/me"),
        ("delete", "/api/auth/me"),
        ("post", "/api/auth/password"),
        ("post", "/api/auth/logout-all"),
    ]:
        response = getattr(client, method)(path, {}, format="json")
        assert response.status_code == 401, path
        assert response.json()["code"] == "not_authenticated"


@pytest.mark.urls("tests.collection_views")
def test_it_deletes_every_trace_of_the_learner(client, learner_make, api_as):
    dora = learner_make("dora", starter_deck=True)
    api = api_as(dora)
    session_id = api.post("/api/session/start").json()["sessionId"]
    revlog_id = 1_830_000_000_000 + secrets.randbelow(10**9)
    assert api.post("/api/test/revlog", {"ids": [revlog_id]}, format="json").status_code == 201
    assert api.post("/api/session/flush", HTTP_X_SESSION_ID=session_id).status_code == 200
    api.post("/api/test/revlog", {"ids": [revlog_id + 1]}, format="json")
    api.post("/api/session/start")
    assert len(object_versions(dora.username)) >= 2
    assert journal_items(dora.username) and session_items(dora.username)

    response = api.delete("/api/auth/me", {"password": LEARNER_PASSWORD}, format="json")
    assert response.status_code == 204
    assert object_versions(dora.username) == []
    assert journal_items(dora.username) == []
    assert learners.learner_get(dora.username) is None
    assert login(client, dora.username).status_code == 401
    assert api.get("/api/auth/me").json()["code"] == "account_gone"
    assert api.get("/api/test/revlog").json()["code"] == "account_gone"
    assert session_items(dora.username) == []


def test_it_deletes_nothing_when_the_password_is_wrong(client, alice, api_as):
    response = api_as(alice).delete("/api/auth/me", {"password": "wrong wrong"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "wrong_password"
    assert learners.learner_get(alice.username) is not None
    assert len(object_versions(alice.username)) == 1
    assert login(client, alice.username).status_code == 200


# --- Operators ------------------------------------------------------------------------------


def test_it_lists_learners_a_page_at_a_time_by_prefix(learner_make):
    prefix = f"kim{secrets.token_hex(3)}"
    made = {learner_make(prefix).username for _ in range(3)}
    first = accounts.learners_list(limit=2, prefix=prefix.upper())
    assert len(first.learners) == 2 and first.cursor
    second = accounts.learners_list(limit=2, prefix=prefix, cursor=first.cursor)
    assert second.cursor is None
    assert {learner.username for learner in first.learners + second.learners} == made


def test_it_refuses_a_cursor_it_did_not_give_out():
    with pytest.raises(InvalidInput):
        accounts.learners_list(cursor="not-a-cursor!")


def test_it_lets_an_operator_force_a_logout_and_delete(client, alice):
    tokens = login(client, alice.username).json()
    accounts.learner_force_logout(username=alice.username)
    assert refresh(client, tokens["refreshToken"]).json()["code"] == "token_revoked"
    accounts.learner_purge(username=alice.username)
    assert object_versions(alice.username) == []
    assert accounts.learners_list(prefix=alice.username).learners == []


def test_it_seeds_the_demo_learner_afresh_each_time(client):
    username, password = accounts.demo_learner_seed()
    first = login(client, username, password).json()
    username, password = accounts.demo_learner_seed()
    assert login(client, username, password).status_code == 200
    assert refresh(client, first["refreshToken"]).json()["code"] == "token_revoked"


def test_it_documents_the_account_routes_in_the_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    for route in ("register", "login", "refresh", "me", "password", "logout-all"):
        assert f"/api/auth/{route}" in schema["paths"]
    login_op = schema["paths"]["/api/auth/login"]["post"]
    assert "requestBody" in login_op and "200" in login_op["responses"]


# --- The starter deck, checked by Anki itself ---------------------------------------------------


def test_it_builds_a_starter_deck_anki_accepts_as_it_is(tmp_path):
    from anki.collection import Collection

    from decks import anki
    from javumbo.starter_deck import starter_deck_add

    ours = tmp_path / "ours.anki2"
    anki.collection_create(ours)
    deck_id = starter_deck_add(ours)
    with sqlite3.connect(ours) as conn:
        stored = conn.execute("SELECT id, sfld, csum FROM notes ORDER BY id").fetchall()
    checked = tmp_path / "checked.anki2"
    shutil.copy(ours, checked)
    col = Collection(str(checked))
    try:
        problems, ok = col.fix_integrity()
        assert ok, problems
        assert col.decks.id_for_name(DECK_NAME) == deck_id
        assert col.decks.id_for_name(PARENT_DECK) is not None
        cards = [col.get_card(cid) for cid in col.find_cards(f'"deck:{DECK_NAME}" is:new')]
        assert len(cards) == len(NOTES)
        fronts_in_order = [card.note().fields[0] for card in sorted(cards, key=lambda c: c.due)]
        assert fronts_in_order == [front for front, _ in NOTES]
        assert [card.note().fields for card in sorted(cards, key=lambda c: c.due)] == [
            list(note) for note in NOTES
        ]
        assert col.db is not None
        assert col.db.all("SELECT id, sfld, csum FROM notes ORDER BY id") == [
            list(row) for row in stored
        ]
        assert col.decks.current()["id"] == deck_id
    finally:
        col.close()


def test_a_timezone_change_reaches_the_collections_day_boundary(alice, api_as):
    import json

    from decks.services import TIMEZONE_KEY
    from sessions_cache.access import collection_session

    api = api_as(alice)
    assert api.patch("/api/auth/me", {"timezone": "Asia/Tokyo"}, format="json").status_code == 200
    from decks.models import Collection

    with collection_session(alice.username):
        conf = json.loads(Collection.objects.get().conf)
    assert conf[TIMEZONE_KEY] == "Asia/Tokyo"
