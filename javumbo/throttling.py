"""Throttles for login and registration, counted in DynamoDB so they hold across containers.

On Lambda every container has its own memory, so a per-process cache would let
an attacker multiply the limit by the number of warm containers. Instead each
attempt adds one to a fixed-window counter item in the throttle table
(``pk`` = scope, what is counted, a digest of the key and the window's start;
TTL ``expires_at`` = the window's end). A window's items are never read after
it ends, so it does not matter when, or whether, DynamoDB sweeps them.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from javumbo import aws
from javumbo.errors import Unavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@dataclass(frozen=True)
class Rate:
    limit: int
    window_seconds: int


class WindowCounter:
    """Counts attempts per key in fixed windows; the counts live in DynamoDB, not here."""

    def __init__(self, client: DynamoDBClient | None = None) -> None:
        self._client = client

    def hit(self, counter: str, key: str, rate: Rate, *, now: float | None = None) -> float:
        """Count one attempt; the seconds to wait if that went over the limit, else 0."""
        now = time.time() if now is None else now
        window_start = int(now // rate.window_seconds) * rate.window_seconds
        window_end = window_start + rate.window_seconds
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]  # no addresses or names stored
        hits = self._add_one(f"{counter}#{digest}#{window_start}", expires_at=window_end)
        return max(0.0, window_end - now) if hits > rate.limit else 0.0

    def _add_one(self, pk: str, *, expires_at: int) -> int:
        try:
            response = (self._client or aws.dynamodb()).update_item(
                TableName=settings.JAVUMBO_TABLES["throttle"],
                Key={"pk": {"S": pk}},
                UpdateExpression="ADD hits :one SET expires_at = :expires",
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":expires": {"N": str(expires_at)},
                },
                ReturnValues="UPDATED_NEW",
            )
        except (BotoCoreError, ClientError) as exc:
            raise Unavailable("The throttle table is unreachable; nothing was changed.") from exc
        return int(response["Attributes"]["hits"]["N"])


def client_address(request: Request) -> str:
    """The caller's address.

    On Lambda, Zappa already sets REMOTE_ADDR from the entry API Gateway appended to
    X-Forwarded-For (earlier entries are the client's own words). Behind a proxy of
    your own, JAVUMBO_TRUST_X_FORWARDED_FOR takes the last entry: the one it added.
    """
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if settings.JAVUMBO_TRUST_X_FORWARDED_FOR and forwarded.strip():
        return forwarded.split(",")[-1].strip()
    return str(request.META.get("REMOTE_ADDR") or "unknown")


def _requested_username(request: Request) -> str:
    data: Any = request.data
    username = data.get("username") if isinstance(data, dict) else None
    return username.strip().lower() if isinstance(username, str) else ""


class AccountThrottle(BaseThrottle):
    """Throttles one account action per client address and per requested username.

    Rates come from settings ``JAVUMBO_<ACTION>_PER_ADDRESS``, ``..._PER_USERNAME``
    and ``..._WINDOW_SECONDS``, read on every request so tests can change them.
    """

    action = ""

    def __init__(self, counter: WindowCounter | None = None) -> None:
        self.counter = counter or WindowCounter()
        self._wait = 0.0

    def rate(self, per: str) -> Rate:
        prefix = f"JAVUMBO_{self.action.upper()}"
        return Rate(
            limit=getattr(settings, f"{prefix}_PER_{per.upper()}"),
            window_seconds=getattr(settings, f"{prefix}_WINDOW_SECONDS"),
        )

    def allow_request(self, request: Request, view: Any) -> bool:
        if request.method != "POST":
            return True  # only attempts count: a stray GET is answered 405, uncounted
        keys = {"address": client_address(request), "username": _requested_username(request)}
        waits = [
            self.counter.hit(f"{self.action}-{per}", key, self.rate(per))
            for per, key in keys.items()
            if key
        ]
        self._wait = max(waits, default=0.0)
        return self._wait == 0.0

    def wait(self) -> float | None:
        return self._wait or None


class LoginThrottle(AccountThrottle):
    action = "login"


class RegisterThrottle(AccountThrottle):
    action = "register"
