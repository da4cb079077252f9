"""Suite-wide fixtures: the provisioned local AWS endpoint and API clients."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings as hypothesis_settings
from rest_framework.test import APIClient

from sessions_cache.provisioning import provision_configured


@pytest.fixture(scope="session", autouse=True)
def provisioned() -> Iterator[None]:
    provision_configured()
    yield


@pytest.fixture
def client() -> APIClient:
    return APIClient()


@pytest.fixture
def container(settings, tmp_path_factory):
    """A fresh container: its own, empty cache directory; call it again for another."""

    def fresh():
        settings.JAVUMBO_CACHE_DIR = tmp_path_factory.mktemp("container")
        return settings.JAVUMBO_CACHE_DIR

    fresh()
    return fresh


# --- Learners (javumbo.accounts) ------------------------------------------------------
# Accounts are imported inside the fixtures: they need the collection model, and a
# suite whose conftest fails to import runs nothing at all.

LEARNER_PASSWORD = "correct horse battery staple"
ACCOUNT_THROTTLES = (
    "JAVUMBO_LOGIN_PER_ADDRESS",
    "JAVUMBO_LOGIN_PER_USERNAME",
    "JAVUMBO_REGISTER_PER_ADDRESS",
    "JAVUMBO_REGISTER_PER_USERNAME",
)


@pytest.fixture(autouse=True)
def account_throttles_generous() -> Iterator[None]:
    """Every test client calls from 127.0.0.1 and the throttle table lives for the whole
    run, so login/register limits are out of reach unless a test lowers them."""
    from django.test import override_settings

    with override_settings(**dict.fromkeys(ACCOUNT_THROTTLES, 1_000_000)):
        yield


@pytest.fixture
def learner_make():
    """Register a learner (empty collection unless starter_deck=True) with a unique name;
    their password is LEARNER_PASSWORD."""
    import secrets

    from javumbo.accounts import learner_register

    def make(name: str = "learner", *, starter_deck: bool = False, timezone: str = "UTC"):
        return learner_register(
            username=f"{name}-{secrets.token_hex(4)}",
            name=name.title(),
            password=LEARNER_PASSWORD,
            timezone=timezone,
            starter_deck=starter_deck,
        )

    return make


@pytest.fixture
def alice(learner_make):
    return learner_make("alice")


@pytest.fixture
def bob(learner_make):
    return learner_make("bob")


@pytest.fixture
def charlie(learner_make):
    return learner_make("charlie")


@pytest.fixture
def api_as():
    """api_as(learner) -> an APIClient carrying a fresh access token of that learner."""
    from javumbo.tokens import tokens_issue

    def client_for(learner) -> APIClient:
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_issue(learner).access}")
        return api

    return client_for


# Property tests explore the same examples on every run in CI, so a landing never
# depends on luck; locally they keep searching new ones.
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")
