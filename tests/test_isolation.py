"""Learner A's token reaches nobody's account but A's, by any account route, whatever it names."""

from __future__ import annotations

import re

import pytest
from django.urls import URLResolver
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from javumbo import account_urls, accounts, learners
from javumbo.tokens import tokens_issue
from tests.conftest import LEARNER_PASSWORD

# Every route under /api/auth/ that acts on the caller's account, with a body that
# names another learner in every way a client could try.
OWN_ACCOUNT_CALLS = [
    ("get", "me"),
    ("patch", "me"),
    ("post", "password"),
    ("post", "logout-all"),
    ("delete", "me"),
]
PUBLIC_ROUTES = {"register", "login", "refresh"}
VALID_BODY = {
    "password": LEARNER_PASSWORD,
    "currentPassword": LEARNER_PASSWORD,
    "newPassword": "a perfectly good new password",
    "name": "Renamed",
}


def smuggling(victim) -> dict[str, str]:
    return {
        "username": victim.username,
        "user": victim.username,
        "collectionId": victim.collection_id,
        "name": "Mallory was here",
        "timezone": "Asia/Pyongyang",
        "password": "wrong wrong",
        "currentPassword": "wrong wrong",
        "newPassword": "mallory's password",
    }


def untouched(victim) -> bool:
    now = learners.learner_get(victim.username)
    return now == victim and learners.learner_password_matches(victim, LEARNER_PASSWORD)


def bearer(access: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return api


def test_the_isolation_checks_cover_every_account_route():
    covered = {route for _, route in OWN_ACCOUNT_CALLS} | PUBLIC_ROUTES
    assert {str(pattern.pattern) for pattern in account_urls.urlpatterns} == covered


@pytest.mark.parametrize(("method", "route"), OWN_ACCOUNT_CALLS)
def test_a_learner_cannot_reach_another_account_by_naming_it(method, route, alice, bob, api_as):
    response = getattr(api_as(alice), method)(
        f"/api/auth/{route}?username={bob.username}", smuggling(bob), format="json"
    )
    assert response.status_code in (200, 204, 400, 403)
    assert untouched(bob)
    if response.status_code == 200 and method == "get":
        assert response.json()["username"] == alice.username


def test_changes_land_on_the_callers_own_account_only(alice, bob, api_as):
    response = api_as(alice).patch("/api/auth/me", smuggling(bob), format="json")
    assert response.status_code == 200
    assert response.json()["username"] == alice.username
    assert learners.learner_get(alice.username).name == "Mallory was here"  # type: ignore[union-attr]
    assert untouched(bob)


def test_a_token_naming_someone_else_with_the_wrong_collection_is_refused(alice, bob):
    token = AccessToken()
    token["username"], token["cid"] = bob.username, alice.collection_id
    for method, route in OWN_ACCOUNT_CALLS:
        response = getattr(bearer(str(token)), method)(
            f"/api/auth/{route}", VALID_BODY, format="json"
        )
        assert response.status_code == 401, route
        assert response.json()["code"] == "account_gone"
    assert untouched(bob)


def test_a_deleted_accounts_tokens_never_reach_a_later_account_of_the_same_name(
    client, learner_make, api_as
):
    earlier = learner_make("nina")
    old_access, old_refresh = api_as(earlier), tokens_issue(earlier).refresh
    accounts.learner_purge(username=earlier.username)
    later = accounts.learner_register(
        username=earlier.username, name="Another Nina", password=LEARNER_PASSWORD
    )
    assert later.collection_id != earlier.collection_id
    assert old_access.get("/api/auth/me").json()["code"] == "account_gone"
    assert old_access.get("/api/session/status").json()["code"] == "account_gone"
    stale = client.post("/api/auth/refresh", {"refreshToken": old_refresh}, format="json")
    assert stale.json()["code"] == "token_revoked"
    for method, route in OWN_ACCOUNT_CALLS:
        response = getattr(old_access, method)(f"/api/auth/{route}", VALID_BODY, format="json")
        assert response.status_code == 401, route
    assert untouched(later)


def test_one_learners_refresh_token_only_ever_signs_in_that_learner(client, alice, bob):
    response = client.post(
        "/api/auth/refresh",
        {"refreshToken": tokens_issue(alice).refresh, "username": bob.username},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["user"]["username"] == alice.username
    access = AccessToken(response.json()["accessToken"])
    assert (access["username"], access["cid"]) == (alice.username, alice.collection_id)


def test_every_api_route_but_the_public_ones_asks_for_a_token(client):
    public = {"", "health", "schema/", "docs/", "auth/register", "auth/login", "auth/refresh"}
    for route in _api_routes():
        if route in public:
            continue
        path = re.sub(r"<[^>]+>", "1", route)  # any id at all
        for method in ("get", "post", "put", "patch", "delete"):
            response = getattr(client, method)(f"/api/{path}", {}, format="json")
            assert response.status_code == 401, f"{method} {route}"


def _api_routes() -> list[str]:
    from javumbo.urls import api_patterns

    def walk(patterns, prefix):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                yield prefix + str(pattern.pattern)

    return list(walk(api_patterns, ""))
