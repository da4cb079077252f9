"""Account services: registration, sign-in, token refresh and revocation, the account's life.

Views call one of these and serialize what comes back; operators' tools call
the ones at the end. A learner's own services take the ``username`` and
``collection_id`` their access token carries and refuse if the account they
name is gone (deleted, or the name now belongs to a later account) or
deactivated, so an old token never reaches anyone else's account.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from decks import anki
from javumbo import learners
from javumbo.errors import (
    AccountGone,
    AccountInactive,
    Forbidden,
    JavumboError,
    NotFound,
    Unavailable,
)
from javumbo.learners import Learner, LearnerPage
from javumbo.starter_deck import starter_deck_add
from javumbo.tokens import TokenPair, refresh_claims, tokens_issue
from sessions_cache import engine

log = logging.getLogger("javumbo")

DEMO_LEARNER = ("demo", "demo-password")


class InvalidCredentials(JavumboError):
    status_code = 401
    default_code = "invalid_credentials"
    default_detail = "Wrong username or password."


class TokenRevoked(JavumboError):
    status_code = 401
    default_code = "token_revoked"
    default_detail = "This refresh token has been revoked; sign in again."


class WrongPassword(Forbidden):
    default_code = "wrong_password"
    default_detail = "That password is not correct."


@dataclass(frozen=True)
class SignedIn:
    learner: Learner
    tokens: TokenPair


# --- Registration ------------------------------------------------------------------------


def learner_register(
    *, username: str, name: str, password: str, timezone: str = "UTC", starter_deck: bool = True
) -> Learner:
    """Create the learner and their collection; if the collection fails, the learner goes too."""
    learner = learners.learner_insert(
        username=username.strip().lower(), name=name, password=password, timezone=timezone
    )
    try:
        engine.collection_create(
            username=learner.username,
            collection_id=learner.collection_id,
            build=lambda path: _collection_build(
                path, timezone=timezone, starter_deck=starter_deck
            ),
        )
    except Exception:
        _forget_half_made(learner)
        raise
    return learner


def _collection_build(path: Path, *, timezone: str, starter_deck: bool) -> None:
    anki.collection_create(path, timezone=timezone)
    if starter_deck:
        starter_deck_add(path)


def _forget_half_made(learner: Learner) -> None:
    try:
        learners.learner_remove(learner)
    except Unavailable:
        # The error that stopped the registration is the one to report; this is for operators.
        log.exception("could not remove half-registered learner %s", learner.username)


# --- Signing in and tokens ---------------------------------------------------------------


def learner_login(*, username: str, password: str) -> SignedIn:
    """Tokens for the learner; one answer for an unknown name and a wrong password."""
    learner = learners.learner_authenticate(username.strip().lower(), password)
    if learner is None:
        raise InvalidCredentials()
    if not learner.active:
        raise AccountInactive()
    return SignedIn(learner, tokens_issue(learner))


def token_refresh(*, refresh_token: str) -> SignedIn:
    """New tokens for a refresh token whose account still exists, is active and not revoked."""
    claims = refresh_claims(refresh_token)
    learner = learners.learner_get(claims.username)
    if (
        learner is None
        or learner.collection_id != claims.collection_id
        or learner.token_version != claims.token_version
        or not learner.active
    ):
        raise TokenRevoked()
    return SignedIn(learner, tokens_issue(learner))


# --- The learner's own account -------------------------------------------------------------


def learner_current(*, username: str, collection_id: str) -> Learner:
    """The account the caller's token names, if it still exists and is active."""
    learner = learners.learner_get(username)
    if learner is None or learner.collection_id != collection_id:
        raise AccountGone()
    if not learner.active:
        raise AccountInactive()
    return learner


def learner_update(
    *, username: str, collection_id: str, name: str | None = None, timezone: str | None = None
) -> Learner:
    learner = learner_current(username=username, collection_id=collection_id)
    if timezone is not None and timezone != learner.timezone:
        # The collection keeps its own copy for scheduling ("today"); it is written in
        # this request's transaction, so an error below leaves both unchanged.
        from decks.services import collection_timezone_set

        collection_timezone_set(timezone=timezone)
    return learners.learner_details_set(
        learner,
        name=learner.name if name is None else name,
        timezone=learner.timezone if timezone is None else timezone,
    )


def password_change(
    *, username: str, collection_id: str, current_password: str, new_password: str
) -> SignedIn:
    """Replace the password, revoke every refresh token, and sign the caller in afresh."""
    learner = learner_current(username=username, collection_id=collection_id)
    _password_require(learner, current_password, field="current_password")
    learner = learners.learner_password_set(learner, new_password)
    return SignedIn(learner, tokens_issue(learner))


def logout_everywhere(*, username: str, collection_id: str) -> None:
    """Revoke every refresh token; access tokens already out live until they expire."""
    learner = learner_current(username=username, collection_id=collection_id)
    learners.learner_token_version_bump(learner)


def learner_delete(*, username: str, collection_id: str, password: str) -> None:
    """The learner deletes their account: collection (all versions), journal, sessions, item."""
    learner = learner_current(username=username, collection_id=collection_id)
    _password_require(learner, password, field="password")
    _learner_erase(learner)


def _password_require(learner: Learner, password: str, *, field: str) -> None:
    if not learners.learner_password_matches(learner, password):
        raise WrongPassword(details={field: [WrongPassword.default_detail]})


def _learner_erase(learner: Learner) -> None:
    # The collection first: if that fails the users item is still there, so the
    # learner (or an operator) can simply try again.
    engine.collection_delete(username=learner.username)
    learners.learner_remove(learner)


# --- Operators ------------------------------------------------------------------------------


def learners_list(*, cursor: str | None = None, limit: int = 50, prefix: str = "") -> LearnerPage:
    return learners.learners_page(cursor=cursor, limit=limit, prefix=prefix)


def learner_find(*, username: str) -> Learner:
    learner = learners.learner_get(username.strip().lower())
    if learner is None:
        raise NotFound(f"No learner is called {username!r}.")
    return learner


def learner_deactivate(*, username: str) -> Learner:
    """Refuse sign-in and refresh at once, and the collection on the learner's next request."""
    learner = learners.learner_active_set(learner_find(username=username), False)
    engine.collection_set_active(username=learner.username, active=False)
    return learner


def learner_reactivate(*, username: str) -> Learner:
    learner = learner_find(username=username)
    engine.collection_set_active(username=learner.username, active=True)
    return learners.learner_active_set(learner, True)


def learner_force_logout(*, username: str) -> Learner:
    return learners.learner_token_version_bump(learner_find(username=username))


def learner_purge(*, username: str) -> None:
    """An operator deletes an account: everything the learner's own delete removes."""
    _learner_erase(learner_find(username=username))


def demo_learner_seed() -> tuple[str, str]:
    """Create the local run's demo learner afresh (deleting any earlier one); its credentials."""
    username, password = DEMO_LEARNER
    existing = learners.learner_get(username)
    if existing is not None:
        _learner_erase(existing)
    else:
        engine.collection_delete(username=username)  # a collection left without its learner
    learner_register(username=username, name="Demo Learner", password=password)
    return username, password
