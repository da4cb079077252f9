"""``Idempotency-Key``: a retried mutating request gets the first result and changes nothing.

The record of the first result is written in the same DynamoDB transaction as
the request's journal entry, so a change and its record are durable together
or not at all. Records are scoped to the learner and expire after a day.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import zstandard
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from rest_framework_simplejwt.authentication import JWTStatelessUserAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from javumbo import aws
from javumbo.errors import error_response
from sessions_cache.store import unavailable

RECORD_TTL_SECONDS = 86_400
MAX_KEY_LENGTH = 200
MAX_STORED_BODY = 300_000


def _username(request: HttpRequest) -> str | None:
    try:
        found = JWTStatelessUserAuthentication().authenticate(request)  # type: ignore[arg-type]
    except (InvalidToken, TokenError):
        return None
    return getattr(found[0], "username", None) if found else None


def _fingerprint(request: HttpRequest) -> str:
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    digest.update(request.body)
    return digest.hexdigest()


def _pk(username: str, key: str) -> str:
    return f"{username}#{key}"


def replay_lookup(request: HttpRequest, key: str | None) -> HttpResponse | None:
    """The stored first result for this key, or None if there is none (yet)."""
    if not key:
        return None
    if len(key) > MAX_KEY_LENGTH:
        return error_response(
            400, "Idempotency-Key is too long (200 characters at most).", "invalid_input"
        )
    username = _username(request)
    if username is None:
        return None
    try:
        item = (
            aws.dynamodb()
            .get_item(
                TableName=settings.JAVUMBO_TABLES["idempotency"],
                Key={"pk": {"S": _pk(username, key)}},
                ConsistentRead=True,
            )
            .get("Item")
        )
    except (BotoCoreError, ClientError) as exc:
        raise unavailable(exc) from exc
    if item is None or int(item["expires_at"]["N"]) <= time.time():
        return None
    if item["fingerprint"]["S"] != _fingerprint(request):
        return error_response(
            409, "This Idempotency-Key was used for a different request.", "idempotency_key_reused"
        )
    body = zstandard.ZstdDecompressor().decompress(item["body"]["B"])
    response = HttpResponse(
        body, status=int(item["status"]["N"]), content_type=item["content_type"]["S"]
    )
    response["Idempotent-Replay"] = "true"
    return response


def record_for(
    request: HttpRequest, key: str | None, response: HttpResponse
) -> dict[str, Any] | None:
    """The item to write with the journal entry, when the request carries a key."""
    if not key or response.status_code >= 400 or len(key) > MAX_KEY_LENGTH:
        return None
    user = request.__dict__.get("user")
    username = getattr(user, "username", None)
    content = getattr(response, "content", b"")
    if not username or len(content) > MAX_STORED_BODY:
        return None
    now = int(time.time())
    return {
        "pk": {"S": _pk(username, key)},
        "fingerprint": {"S": _fingerprint(request)},
        "status": {"N": str(response.status_code)},
        "content_type": {"S": response.get("Content-Type", "application/json")},
        "body": {"B": zstandard.ZstdCompressor().compress(content)},
        "created_at": {"N": str(now)},
        "expires_at": {"N": str(now + RECORD_TTL_SECONDS)},
    }
