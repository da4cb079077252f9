"""Our JWTs: what they carry, how long they live, and which ones are refused."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from javumbo.tokens import TokenInvalid, refresh_claims, tokens_issue
from tests.conftest import LEARNER_PASSWORD


def bearer(access: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return api


def refresh(token: str):
    return APIClient().post("/api/auth/refresh", {"refreshToken": token}, format="json")


def test_it_puts_username_collection_and_token_version_in_both_tokens(alice):
    pair = tokens_issue(alice)
    for token in (AccessToken(pair.access), RefreshToken(pair.refresh)):  # type: ignore[arg-type]
        assert token["username"] == alice.username
        assert token["cid"] == alice.collection_id
        assert token["tv"] == alice.token_version == 0


def test_it_says_how_long_the_access_token_lives(alice):
    pair = tokens_issue(alice)
    access = AccessToken(pair.access)  # type: ignore[arg-type]
    assert pair.expires_in == settings.JWT_ACCESS_MINUTES * 60
    assert access["exp"] - access["iat"] == pair.expires_in
    refresh_token = RefreshToken(pair.refresh)  # type: ignore[arg-type]
    lifetime = timedelta(days=settings.JWT_REFRESH_DAYS).total_seconds()
    assert refresh_token["exp"] - refresh_token["iat"] == lifetime


def test_it_reads_the_claims_of_a_genuine_refresh_token(alice):
    claims = refresh_claims(tokens_issue(alice).refresh)
    assert (claims.username, claims.collection_id, claims.token_version) == (
        alice.username,
        alice.collection_id,
        0,
    )


def test_it_refuses_an_access_token_offered_as_a_refresh_token(alice):
    with pytest.raises(TokenInvalid):
        refresh_claims(tokens_issue(alice).access)
    response = refresh(tokens_issue(alice).access)
    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"


def test_it_refuses_a_refresh_token_offered_as_an_access_token(alice):
    response = bearer(tokens_issue(alice).refresh).get("/api/auth/me")
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_it_refuses_a_refresh_token_signed_with_another_key(alice):
    genuine = RefreshToken(tokens_issue(alice).refresh)  # type: ignore[arg-type]
    forged = jwt.encode(
        dict(genuine.payload), "a key that is not ours, long enough for HS256", algorithm="HS256"
    )
    response = refresh(forged)
    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"


def test_it_refuses_an_expired_refresh_token(alice):
    token = RefreshToken(tokens_issue(alice).refresh)  # type: ignore[arg-type]
    token.set_exp(from_time=token.current_time - timedelta(days=30))
    response = refresh(str(token))
    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"


def test_it_refuses_a_refresh_token_without_our_claims(alice):
    token = RefreshToken()
    token["username"] = alice.username  # no cid, no tv: not one of ours
    response = refresh(str(token))
    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"


def test_it_refuses_garbage(client):
    response = refresh("not.a.token")
    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"
    missing = client.post("/api/auth/refresh", {}, format="json")
    assert missing.status_code == 400
    assert set(missing.json()["details"]) == {"refreshToken"}


def test_it_refuses_an_expired_access_token(alice):
    token = AccessToken(tokens_issue(alice).access)  # type: ignore[arg-type]
    token.set_exp(from_time=token.current_time - timedelta(hours=1))
    response = bearer(str(token)).get("/api/auth/me")
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_it_ignores_a_stale_bearer_header_when_signing_in(alice):
    response = bearer("expired.or.garbage").post(
        "/api/auth/login",
        {"username": alice.username, "password": LEARNER_PASSWORD},
        format="json",
    )
    assert response.status_code == 200
