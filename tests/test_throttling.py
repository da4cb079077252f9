"""Login and registration throttles: counted in DynamoDB, so every container sees one count."""

from __future__ import annotations

import secrets

import boto3
import pytest
from django.conf import settings
from rest_framework.test import APIClient

from javumbo.throttling import LoginThrottle, Rate, WindowCounter
from tests.conftest import LEARNER_PASSWORD


def own_client():
    """A DynamoDB client of its own, as another container would have."""
    return boto3.session.Session().client(
        "dynamodb", region_name=settings.AWS_REGION, endpoint_url=settings.AWS_ENDPOINT_URL
    )


def address() -> str:
    return f"198.51.100.{secrets.randbelow(250) + 1}-{secrets.token_hex(4)}"


def login(client, username, password="not the password", **headers):
    body = {"username": username, "password": password}
    return client.post("/api/auth/login", body, format="json", **headers)


def register(client, username, **headers):
    body = {"username": username, "password": LEARNER_PASSWORD}
    return client.post("/api/auth/register", body, format="json", **headers)


def test_it_shares_one_count_between_two_counters_with_their_own_connections():
    key, rate = secrets.token_hex(8), Rate(limit=3, window_seconds=60)
    here, there = WindowCounter(own_client()), WindowCounter(own_client())
    now = 1_800_000_010.0
    assert [here.hit("test", key, rate, now=now) for _ in range(2)] == [0.0, 0.0]
    assert there.hit("test", key, rate, now=now) == 0.0
    assert here.hit("test", key, rate, now=now) == 50.0  # the window ends at ...060
    assert there.hit("test", key, rate, now=now + 5) == 45.0


def test_it_starts_afresh_in_the_next_window():
    counter, key, rate = WindowCounter(own_client()), secrets.token_hex(8), Rate(1, 60)
    assert counter.hit("test", key, rate, now=1_800_000_000.0) == 0.0
    assert counter.hit("test", key, rate, now=1_800_000_059.0) == 1.0
    assert counter.hit("test", key, rate, now=1_800_000_060.0) == 0.0


def test_it_counts_each_key_on_its_own():
    counter, rate = WindowCounter(own_client()), Rate(1, 60)
    assert counter.hit("test", secrets.token_hex(8), rate, now=1_800_000_000.0) == 0.0
    assert counter.hit("test", secrets.token_hex(8), rate, now=1_800_000_000.0) == 0.0


def test_it_refuses_across_two_throttle_instances_as_two_containers_would(rf_login, settings):
    settings.JAVUMBO_LOGIN_PER_ADDRESS = 2
    first, second = (LoginThrottle(WindowCounter(own_client())) for _ in range(2))
    request = rf_login(address(), secrets.token_hex(6))
    assert first.allow_request(request, None)
    assert second.allow_request(request, None)
    assert not first.allow_request(request, None)
    assert not second.allow_request(request, None)
    assert 0 < (second.wait() or 0) <= settings.JAVUMBO_LOGIN_WINDOW_SECONDS


@pytest.fixture
def rf_login():
    """A DRF request for POST /api/auth/login from an address, for a username."""
    from rest_framework.parsers import JSONParser
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    def make(remote_addr: str, username: str) -> Request:
        django_request = APIRequestFactory().post(
            "/api/auth/login",
            {"username": username, "password": "whatever"},
            format="json",
            REMOTE_ADDR=remote_addr,
        )
        return Request(django_request, parsers=[JSONParser()])

    return make


def test_it_answers_429_with_retry_after_when_one_address_signs_in_too_often(settings):
    settings.JAVUMBO_LOGIN_PER_ADDRESS = 3
    client, where = APIClient(), {"REMOTE_ADDR": address()}
    statuses = [login(client, secrets.token_hex(5), **where).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    refused = login(client, secrets.token_hex(5), **where)
    assert refused.json()["code"] == "throttled"
    retry_after = int(refused["Retry-After"])
    assert 1 <= retry_after <= settings.JAVUMBO_LOGIN_WINDOW_SECONDS
    assert login(client, secrets.token_hex(5), REMOTE_ADDR=address()).status_code == 401


def test_it_throttles_one_username_from_any_address(settings, alice):
    settings.JAVUMBO_LOGIN_PER_USERNAME = 2
    client = APIClient()
    for _ in range(2):
        assert login(client, alice.username, REMOTE_ADDR=address()).status_code == 401
    refused = login(client, alice.username.upper(), LEARNER_PASSWORD, REMOTE_ADDR=address())
    assert refused.status_code == 429
    assert "Retry-After" in refused


def test_it_throttles_registrations_per_address(settings):
    settings.JAVUMBO_REGISTER_PER_ADDRESS = 1
    client, where = APIClient(), {"REMOTE_ADDR": address()}
    assert register(client, f"lee-{secrets.token_hex(4)}", **where).status_code == 201
    refused = register(client, f"lee-{secrets.token_hex(4)}", **where)
    assert refused.status_code == 429
    assert refused.json()["code"] == "throttled"
    assert "Retry-After" in refused


def test_it_counts_the_address_a_trusted_proxy_appended_not_what_the_client_wrote(settings):
    settings.JAVUMBO_TRUST_X_FORWARDED_FOR = True
    settings.JAVUMBO_LOGIN_PER_ADDRESS = 1
    caller = address()
    for spoofed, expected in [(address(), 401), (address(), 429)]:
        response = login(
            APIClient(),
            secrets.token_hex(5),
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR=f"{spoofed}, {caller}",
        )
        assert response.status_code == expected


def test_it_ignores_x_forwarded_for_unless_told_to_trust_it(settings):
    settings.JAVUMBO_TRUST_X_FORWARDED_FOR = False
    settings.JAVUMBO_LOGIN_PER_ADDRESS = 1
    where = {"REMOTE_ADDR": address()}
    first = login(APIClient(), secrets.token_hex(5), HTTP_X_FORWARDED_FOR=address(), **where)
    second = login(APIClient(), secrets.token_hex(5), HTTP_X_FORWARDED_FOR=address(), **where)
    assert (first.status_code, second.status_code) == (401, 429)


def test_only_attempts_count_against_the_limit(settings):
    settings.JAVUMBO_LOGIN_PER_ADDRESS = 1
    caller = address()
    for _ in range(3):
        assert APIClient().get("/login", REMOTE_ADDR=caller).status_code == 405
    assert login(APIClient(), secrets.token_hex(5), REMOTE_ADDR=caller).status_code == 401
