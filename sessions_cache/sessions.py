"""Session records: a learner's study session as the client sees it (DynamoDB sessions table).

A session is a cache-affinity and lifecycle hint, never what keeps data safe:
an expired or stolen session loses nothing. Records carry a sliding expiry
(``expires_at``, epoch seconds, also the table's TTL attribute); a record past
it counts as absent even before DynamoDB deletes it. To keep a warm request's
cost down, a container refreshes a record at most once a minute.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from javumbo import aws
from sessions_cache.store import unavailable

REFRESH_AFTER_SECONDS = 60


@dataclass(frozen=True)
class Session:
    session_id: str
    username: str
    owner: str
    created_at: int
    expires_at: int

    @property
    def active(self) -> bool:
        return self.expires_at > time.time()


# What this container last wrote per session: (session, when written). Saves a
# DynamoDB round trip on most requests of a warm study session.
_recent: dict[str, tuple[Session, float]] = {}
_latest_for_user: dict[str, str] = {}
_recent_lock = threading.Lock()


def _table() -> str:
    return settings.JAVUMBO_TABLES["sessions"]


def _from_item(item: dict[str, Any]) -> Session:
    return Session(
        session_id=item["session_id"]["S"],
        username=item["username"]["S"],
        owner=item.get("owner", {}).get("S", ""),
        created_at=int(item.get("created_at", {"N": "0"})["N"]),
        expires_at=int(item["expires_at"]["N"]),
    )


def _remember(session: Session) -> Session:
    with _recent_lock:
        _recent[session.session_id] = (session, time.time())
        _latest_for_user[session.username] = session.session_id
    return session


def _forget(session_id: str) -> None:
    with _recent_lock:
        forgotten = _recent.pop(session_id, None)
        if forgotten and _latest_for_user.get(forgotten[0].username) == session_id:
            del _latest_for_user[forgotten[0].username]


def session_get(session_id: str) -> Session | None:
    try:
        item = (
            aws.dynamodb()
            .get_item(
                TableName=_table(), Key={"session_id": {"S": session_id}}, ConsistentRead=True
            )
            .get("Item")
        )
    except (BotoCoreError, ClientError) as exc:
        raise unavailable(exc) from exc
    if item is None:
        return None
    session = _from_item(item)
    return session if session.active else None


def _sessions_of(username: str) -> list[Session]:
    """Every session record of the learner, expired ones included (GSI query)."""
    try:
        items = aws.dynamodb().query(
            TableName=_table(),
            IndexName="username-index",
            KeyConditionExpression="username = :u",
            ExpressionAttributeValues={":u": {"S": username}},
        )["Items"]
    except (BotoCoreError, ClientError) as exc:
        raise unavailable(exc) from exc
    return [_from_item(item) for item in items]


def session_live_for(username: str) -> Session | None:
    """The learner's newest live session, if any."""
    live = [s for s in _sessions_of(username) if s.active]
    return max(live, key=lambda s: s.expires_at) if live else None


def session_create(username: str) -> Session:
    now = int(time.time())
    session = Session(
        session_id=secrets.token_urlsafe(18),
        username=username,
        owner=settings.JAVUMBO_INSTANCE_ID,
        created_at=now,
        expires_at=now + settings.JAVUMBO_SESSION_TTL_SECONDS,
    )
    try:
        aws.dynamodb().put_item(
            TableName=_table(),
            Item={
                "session_id": {"S": session.session_id},
                "username": {"S": username},
                "owner": {"S": session.owner},
                "created_at": {"N": str(now)},
                "expires_at": {"N": str(session.expires_at)},
            },
            ConditionExpression="attribute_not_exists(session_id)",
        )
    except (BotoCoreError, ClientError) as exc:
        raise unavailable(exc) from exc
    return _remember(session)


def session_extend(session: Session) -> Session:
    """Slide the expiry forward and take ownership for this container."""
    extended = Session(
        session.session_id,
        session.username,
        settings.JAVUMBO_INSTANCE_ID,
        session.created_at,
        int(time.time()) + settings.JAVUMBO_SESSION_TTL_SECONDS,
    )
    try:
        aws.dynamodb().update_item(
            TableName=_table(),
            Key={"session_id": {"S": session.session_id}},
            UpdateExpression="SET expires_at = :x, #o = :o",
            ConditionExpression="attribute_exists(session_id) AND username = :u",
            ExpressionAttributeNames={"#o": "owner"},
            ExpressionAttributeValues={
                ":x": {"N": str(extended.expires_at)},
                ":o": {"S": extended.owner},
                ":u": {"S": session.username},
            },
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            _forget(session.session_id)
            return session_create(session.username)
        raise unavailable(exc) from exc
    except BotoCoreError as exc:
        raise unavailable(exc) from exc
    return _remember(extended)


def session_touch(username: str, session_id: str | None) -> Session:
    """The session this request belongs to: the one the client named if it is the
    learner's and live, else their live one, else a new one; slid forward."""
    if not session_id:
        with _recent_lock:
            session_id = _latest_for_user.get(username)
    if session_id:
        with _recent_lock:
            cached = _recent.get(session_id)
        if cached and cached[0].username == username and cached[0].active:
            session, written = cached
            if time.time() - written < REFRESH_AFTER_SECONDS:
                return session
            return session_extend(session)
        found = session_get(session_id)
        if found is not None and found.username == username:
            return session_extend(found)
    live = session_live_for(username)
    return session_extend(live) if live else session_create(username)


def session_start(username: str) -> Session:
    live = session_live_for(username)
    return session_extend(live) if live else session_create(username)


def session_end(session: Session) -> None:
    _forget(session.session_id)
    try:
        aws.dynamodb().delete_item(
            TableName=_table(), Key={"session_id": {"S": session.session_id}}
        )
    except (BotoCoreError, ClientError) as exc:
        raise unavailable(exc) from exc


def sessions_delete_for(username: str) -> None:
    for session in _sessions_of(username):
        _forget(session.session_id)
        try:
            aws.dynamodb().delete_item(
                TableName=_table(), Key={"session_id": {"S": session.session_id}}
            )
        except (BotoCoreError, ClientError) as exc:
            raise unavailable(exc) from exc


def sessions_active(*, limit: int = 200) -> list[Session]:
    """Live sessions (for operators): a paginated scan filtered on expiry."""
    sessions: list[Session] = []
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "FilterExpression": "expires_at > :now",
        "ExpressionAttributeValues": {":now": {"N": str(int(time.time()))}},
    }
    try:
        while len(sessions) < limit:
            page = aws.dynamodb().scan(**kwargs)
            sessions += map(_from_item, page["Items"])
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    except (BotoCoreError, ClientError) as exc:
        raise unavailable(exc) from exc
    return sorted(sessions[:limit], key=lambda s: -s.expires_at)
