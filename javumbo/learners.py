"""The learner repository: the DynamoDB users table, and the rules a learner's details obey.

A learner is one item keyed by ``username`` (lowercase; it is also part of S3
keys and DynamoDB keys elsewhere, so nothing outside ``a-z 0-9 _ -`` may pass).
The bcrypt hash is written and checked here and never leaves this module:
callers get a ``Learner`` without it. Every change after creation is a
conditional update on the learner's ``collection_id``, so a change meant for
one account can never land on a later account that reuses the name.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import json
import re
import uuid
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import bcrypt
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from javumbo import aws
from javumbo.errors import Conflict, InvalidInput, NotFound, Unavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

USERNAME_PATTERN = re.compile(r"[a-z0-9_-]{3,32}")
BCRYPT_HASH_PATTERN = re.compile(r"\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}")
NAME_MAX_CHARS = 100
PASSWORD_MIN_CHARS = 8
PASSWORD_MAX_BYTES = 72  # bcrypt ignores everything after the 72nd byte
CONDITION_FAILED = "ConditionalCheckFailedException"


class UsernameTaken(Conflict):
    default_code = "username_taken"
    default_detail = "That username is taken."


class LearnerGone(NotFound):
    default_code = "learner_not_found"
    default_detail = "No such learner."


@dataclass(frozen=True)
class Learner:
    """A learner as the rest of the code sees one: everything but the password hash."""

    username: str
    name: str
    timezone: str
    collection_id: str
    token_version: int
    active: bool
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class LearnerPage:
    learners: list[Learner]
    cursor: str | None  # opaque; None when this was the last page


# --- Rules -----------------------------------------------------------------------------


def username_problems(username: str) -> list[str]:
    """Why ``username`` (already lowercased) cannot be a username; empty when it can."""
    if USERNAME_PATTERN.fullmatch(username):
        return []
    return ["Use 3 to 32 characters: letters a-z, digits, '_' or '-'."]


def password_problems(password: str) -> list[str]:
    problems = []
    if len(password) < PASSWORD_MIN_CHARS:
        problems.append(f"Use at least {PASSWORD_MIN_CHARS} characters.")
    if len(password.encode()) > PASSWORD_MAX_BYTES:
        problems.append(
            f"Use at most {PASSWORD_MAX_BYTES} bytes (UTF-8): longer passwords would be "
            "silently cut short, so they are refused."
        )
    return problems


def timezone_problems(timezone: str) -> list[str]:
    if timezone in _timezone_names():
        return []
    return [f"{timezone!r} is not an IANA time zone name (for example Europe/Lisbon)."]


@functools.cache
def _timezone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def password_hash_problems(password_hash: str) -> list[str]:
    """Why a hash made elsewhere cannot be kept as it is; empty when it is a bcrypt hash."""
    if BCRYPT_HASH_PATTERN.fullmatch(password_hash):
        return []
    return ["Not a bcrypt hash ($2a$, $2b$ or $2y$, 60 characters)."]


def name_problems(name: str) -> list[str]:
    if len(name) > NAME_MAX_CHARS:
        return [f"Use at most {NAME_MAX_CHARS} characters."]
    return []


def _require(field: str, problems: list[str]) -> None:
    if problems:
        raise InvalidInput("The request is not valid.", details={field: problems})


# --- Passwords -------------------------------------------------------------------------


def _password_hash(password: str) -> str:
    _require("password", password_problems(password))
    salt = bcrypt.gensalt(rounds=settings.JAVUMBO_BCRYPT_ROUNDS)
    return bcrypt.hashpw(password.encode(), salt).decode()


def _password_matches(password: str, hashed: str) -> bool:
    if len(password.encode()) > PASSWORD_MAX_BYTES:
        _password_matches("", _dummy_hash(settings.JAVUMBO_BCRYPT_ROUNDS))  # same time spent
        return False
    return bcrypt.checkpw(password.encode(), hashed.encode())


@functools.cache
def _dummy_hash(rounds: int) -> str:
    salt = bcrypt.gensalt(rounds=rounds)
    return bcrypt.hashpw(b"no learner has this password", salt).decode()


# --- DynamoDB --------------------------------------------------------------------------


def _table() -> str:
    return settings.JAVUMBO_TABLES["users"]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@contextlib.contextmanager
def _dynamodb_errors() -> Iterator[None]:
    """Anything but a failed condition means DynamoDB could not be reached or refused us."""
    try:
        yield
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == CONDITION_FAILED:
            raise
        raise Unavailable("The users table is unreachable; nothing was changed.") from exc
    except BotoCoreError as exc:
        raise Unavailable("The users table is unreachable; nothing was changed.") from exc


def _from_item(item: dict[str, Any]) -> Learner:
    return Learner(
        username=item["username"]["S"],
        name=item.get("name", {}).get("S", ""),
        timezone=item.get("timezone", {}).get("S", "UTC"),
        collection_id=item["collection_id"]["S"],
        token_version=int(item.get("token_version", {}).get("N", "0")),
        active=bool(item.get("active", {}).get("BOOL", True)),
        created_at=item.get("created_at", {}).get("S", ""),
        updated_at=item.get("updated_at", {}).get("S", ""),
    )


def _item_get(username: str) -> dict[str, Any] | None:
    with _dynamodb_errors():
        response = aws.dynamodb().get_item(
            TableName=_table(), Key={"username": {"S": username}}, ConsistentRead=True
        )
    return response.get("Item")


# --- The repository ----------------------------------------------------------------------


def _new_item(
    username: str, name: str, password_hash: str, timezone: str
) -> dict[str, AttributeValueTypeDef]:
    """A new account's item: a new collection id, token version 0, active."""
    now = _now()
    return {
        "username": {"S": username},
        "name": {"S": name},
        "password_hash": {"S": password_hash},
        "timezone": {"S": timezone},
        "collection_id": {"S": uuid.uuid4().hex},
        "token_version": {"N": "0"},
        "active": {"BOOL": True},
        "created_at": {"S": now},
        "updated_at": {"S": now},
    }


def learner_insert(*, username: str, name: str, password: str, timezone: str) -> Learner:
    """Create a learner (a new collection id, token version 0, active), or UsernameTaken."""
    _require("username", username_problems(username))
    _require("name", name_problems(name))
    _require("timezone", timezone_problems(timezone))
    item = _new_item(username, name, _password_hash(password), timezone)
    try:
        with _dynamodb_errors():
            aws.dynamodb().put_item(
                TableName=_table(), Item=item, ConditionExpression="attribute_not_exists(username)"
            )
    except ClientError as exc:
        raise UsernameTaken() from exc
    return _from_item(item)


def learner_import(
    *, username: str, name: str, password_hash: str, origin: str, timezone: str = "UTC"
) -> tuple[Learner, bool]:
    """Create a learner who keeps a bcrypt hash made elsewhere (a server Javumbo replaces),
    so they sign in with their old password. The item records ``origin``.

    Returns ``(learner, True)`` when created now, ``(learner, False)`` when an earlier
    import from the same origin made this learner already; raises UsernameTaken when
    the name belongs to an account made any other way.
    """
    _require("username", username_problems(username))
    _require("name", name_problems(name))
    _require("password_hash", password_hash_problems(password_hash))
    item = _new_item(username, name, password_hash, timezone)
    item["imported_from"] = {"S": origin}
    try:
        with _dynamodb_errors():
            aws.dynamodb().put_item(
                TableName=_table(), Item=item, ConditionExpression="attribute_not_exists(username)"
            )
    except ClientError as exc:
        existing = _item_get(username)
        if existing is not None and existing.get("imported_from", {}).get("S") == origin:
            return _from_item(existing), False
        raise UsernameTaken() from exc
    return _from_item(item), True


def learner_get(username: str) -> Learner | None:
    item = _item_get(username)
    return _from_item(item) if item else None


def learner_authenticate(username: str, password: str) -> Learner | None:
    """The learner if the password is theirs; None otherwise, after the same bcrypt work."""
    item = _item_get(username) if not username_problems(username) else None
    hashed = item["password_hash"]["S"] if item else _dummy_hash(settings.JAVUMBO_BCRYPT_ROUNDS)
    matches = _password_matches(password, hashed)
    return _from_item(item) if item and matches else None


def learner_password_matches(learner: Learner, password: str) -> bool:
    item = _item_get(learner.username)
    if item is None or item["collection_id"]["S"] != learner.collection_id:
        return False
    return _password_matches(password, item["password_hash"]["S"])


def _update(learner: Learner, changes: dict[str, Any], *, revoke: bool = False) -> Learner:
    """One conditional update of this very account (same collection id); the item after it.

    ``revoke`` bumps the token version, which refuses every refresh token issued before.
    """
    changes = {**changes, "updated_at": {"S": _now()}}
    names = {f"#a{i}": attribute for i, attribute in enumerate(changes)}
    values = {f":a{i}": value for i, value in enumerate(changes.values())}
    expression = "SET " + ", ".join(f"{name} = :{name[1:]}" for name in names)
    if revoke:
        expression += " ADD token_version :one"
        values[":one"] = {"N": "1"}
    try:
        with _dynamodb_errors():
            response = aws.dynamodb().update_item(
                TableName=_table(),
                Key={"username": {"S": learner.username}},
                UpdateExpression=expression,
                ConditionExpression="collection_id = :cid",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={**values, ":cid": {"S": learner.collection_id}},
                ReturnValues="ALL_NEW",
            )
    except ClientError as exc:
        raise LearnerGone() from exc
    return _from_item(response["Attributes"])


def learner_details_set(learner: Learner, *, name: str, timezone: str) -> Learner:
    _require("name", name_problems(name))
    _require("timezone", timezone_problems(timezone))
    return _update(learner, {"name": {"S": name}, "timezone": {"S": timezone}})


def learner_password_set(learner: Learner, password: str) -> Learner:
    """Replace the password and revoke every refresh token issued before."""
    return _update(learner, {"password_hash": {"S": _password_hash(password)}}, revoke=True)


def learner_token_version_bump(learner: Learner) -> Learner:
    return _update(learner, {}, revoke=True)


def learner_active_set(learner: Learner, active: bool) -> Learner:
    return _update(learner, {"active": {"BOOL": active}})


def learner_remove(learner: Learner) -> None:
    """Delete the users item of this very account; nothing if it is already gone."""
    try:
        with _dynamodb_errors():
            aws.dynamodb().delete_item(
                TableName=_table(),
                Key={"username": {"S": learner.username}},
                ConditionExpression="collection_id = :cid",
                ExpressionAttributeValues={":cid": {"S": learner.collection_id}},
            )
    except ClientError:
        pass  # gone already, or the name now belongs to a later account: leave that alone


# --- Listing, for operators ---------------------------------------------------------------


def learners_page(*, cursor: str | None = None, limit: int = 50, prefix: str = "") -> LearnerPage:
    """A page of learners in the table's own order, optionally those whose username starts
    with ``prefix`` (case-insensitive). Pages may be short when a prefix filters items out."""
    scan: dict[str, Any] = {"TableName": _table()}
    if prefix:
        scan["FilterExpression"] = "begins_with(username, :prefix)"
        scan["ExpressionAttributeValues"] = {":prefix": {"S": prefix.lower()}}
    start = _cursor_decode(cursor)
    learners: list[Learner] = []
    while len(learners) < limit:
        if start:
            scan["ExclusiveStartKey"] = start
        # Limit caps the items read, so a page never overshoots and the key stays exact.
        with _dynamodb_errors():
            response = aws.dynamodb().scan(**scan, Limit=limit - len(learners))
        learners += [_from_item(item) for item in response.get("Items", [])]
        start = response.get("LastEvaluatedKey")
        if not start:
            break
    return LearnerPage(learners=learners, cursor=_cursor_encode(start))


def _cursor_encode(key: dict[str, Any] | None) -> str | None:
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key["username"]["S"]).encode()).decode()


def _cursor_decode(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        username = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        username = None
    if not isinstance(username, str):
        raise InvalidInput("That cursor is not one this service gave out.")
    return {"username": {"S": username}}
