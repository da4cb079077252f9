"""Our JWTs, minted and read with simplejwt.

Both tokens carry ``username``, ``cid`` (the account's collection id) and ``tv``
(the account's token version when they were issued). Access tokens are checked
by simplejwt's stateless authentication alone (signature, expiry, type), so
they stay valid until they expire. Refresh tokens are only read here; whether
one is still honoured (same account, same token version, active) is the
accounts service's decision, because it needs the users table.
"""

from __future__ import annotations

from dataclasses import dataclass

from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import RefreshToken

from javumbo.errors import JavumboError
from javumbo.learners import Learner


class TokenInvalid(JavumboError):
    status_code = 401
    default_code = "token_invalid"
    default_detail = "That token is not valid or has expired; sign in again."


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str
    expires_in: int  # seconds the access token lives


@dataclass(frozen=True)
class RefreshClaims:
    username: str
    collection_id: str
    token_version: int


def tokens_issue(learner: Learner) -> TokenPair:
    """A new access token and refresh token for the learner's current token version."""
    refresh = RefreshToken()
    refresh[api_settings.USER_ID_CLAIM] = learner.username
    refresh["cid"] = learner.collection_id
    refresh["tv"] = learner.token_version
    lifetime = api_settings.ACCESS_TOKEN_LIFETIME
    return TokenPair(
        access=str(refresh.access_token),  # copies the claims above
        refresh=str(refresh),
        expires_in=int(lifetime.total_seconds()),
    )


def refresh_claims(raw: str) -> RefreshClaims:
    """The claims of a genuine, unexpired refresh token, or TokenInvalid."""
    try:
        token = RefreshToken(raw)  # type: ignore[arg-type]
    except TokenError as exc:
        raise TokenInvalid() from exc
    username, cid, tv = (token.get(api_settings.USER_ID_CLAIM), token.get("cid"), token.get("tv"))
    if not isinstance(username, str) or not isinstance(cid, str) or type(tv) is not int:
        raise TokenInvalid()
    return RefreshClaims(username=username, collection_id=cid, token_version=tv)
