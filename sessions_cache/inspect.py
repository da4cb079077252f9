"""Read-only views of the storage engine for operators: how big a learner's snapshot is,
where their journal stands, when they were last active, who has changes not yet folded.

Nothing here locks, downloads or changes anything, and nothing reads a journal
entry's payload: each answer costs a few S3 HEAD/LIST or DynamoDB Query calls,
so the admin pages can call them freely without disturbing a learner's study.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from javumbo import aws
from sessions_cache import sessions, store
from sessions_cache.sessions import Session

# The journal attributes an operator needs; leaving out ``data`` keeps a query small.
_POSITION_ATTRIBUTES = ("seq", "appended_at", "cid", "active", "snapshot_seq")


@dataclass(frozen=True)
class JournalPosition:
    """Where a learner's journal stands: read from the meta item and the newest entry."""

    exists: bool  # False: no meta item (no collection, or deleted)
    active: bool
    collection_id: str | None
    snapshot_seq: int
    head_seq: int
    last_appended_at: datetime | None

    @property
    def pending(self) -> int:
        return max(0, self.head_seq - self.snapshot_seq)


@dataclass(frozen=True)
class SnapshotFile:
    username: str
    size: int
    modified: datetime


@dataclass(frozen=True)
class CollectionStatus:
    username: str
    journal: JournalPosition
    snapshot: SnapshotFile | None

    @property
    def last_change_at(self) -> datetime | None:
        """The newest journal entry, or the snapshot's last write when every entry is folded."""
        snapshot_at = self.snapshot.modified if self.snapshot else None
        moments = [self.journal.last_appended_at, snapshot_at]
        known = [moment for moment in moments if moment is not None]
        return max(known) if known else None


@dataclass(frozen=True)
class SnapshotPage:
    snapshots: list[SnapshotFile]
    next_after: str | None  # pass back as ``after`` for the next page; None on the last


def _from_millis(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _from_seconds(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


# --- The journal -------------------------------------------------------------------------


def journal_position(username: str) -> JournalPosition:
    """One consistent query, newest first: the meta item (it sorts last) and the newest entry."""
    names = {f"#a{i}": name for i, name in enumerate(_POSITION_ATTRIBUTES)}
    try:
        response = aws.dynamodb().query(
            TableName=settings.JAVUMBO_TABLES["journal"],
            KeyConditionExpression="username = :u",
            ExpressionAttributeValues={":u": {"S": username}},
            ProjectionExpression=", ".join(names),
            ExpressionAttributeNames=names,
            ScanIndexForward=False,
            Limit=2,
            ConsistentRead=True,
        )
    except (BotoCoreError, ClientError) as exc:
        raise store.unavailable(exc) from exc
    items = response.get("Items", [])
    meta = next((i for i in items if int(i["seq"]["N"]) == store.META_SEQ), None)
    newest = next((i for i in items if int(i["seq"]["N"]) != store.META_SEQ), None)
    return _position(meta, newest)


def _position(meta: dict[str, Any] | None, newest: dict[str, Any] | None) -> JournalPosition:
    snapshot_seq = int(meta.get("snapshot_seq", {"N": "0"})["N"]) if meta else 0
    newest_seq = int(newest["seq"]["N"]) if newest else 0
    appended = int(newest.get("appended_at", {"N": "0"})["N"]) if newest else 0
    return JournalPosition(
        exists=meta is not None,
        active=bool(meta.get("active", {"BOOL": True})["BOOL"]) if meta else False,
        collection_id=meta["cid"]["S"] if meta else None,
        snapshot_seq=snapshot_seq,
        # A folded entry may outlive its fold until TTL removes it: never below the snapshot.
        head_seq=max(snapshot_seq, newest_seq),
        last_appended_at=_from_millis(appended) if appended else None,
    )


def pending_usernames() -> list[str]:
    """Learners with journal entries not yet folded into a snapshot, in name order."""
    now_ms = int(time.time() * 1000)
    try:
        return sorted(store.pending_learners(now_ms + 1))
    except (BotoCoreError, ClientError) as exc:
        raise store.unavailable(exc) from exc


# --- Snapshots ---------------------------------------------------------------------------


def snapshot_file(username: str) -> SnapshotFile | None:
    try:
        response = aws.s3().head_object(
            Bucket=settings.JAVUMBO_BUCKET, Key=store.snapshot_key(username)
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise store.unavailable(exc) from exc
    except BotoCoreError as exc:
        raise store.unavailable(exc) from exc
    return SnapshotFile(username, response["ContentLength"], response["LastModified"])


def snapshots_page(*, after: str | None = None, limit: int = 50) -> SnapshotPage:
    """Learners' snapshots in username order, ``limit`` at a time (S3 listing, no HEADs)."""
    found: list[SnapshotFile] = []
    kwargs: dict[str, Any] = {"Bucket": settings.JAVUMBO_BUCKET, "Prefix": "users/"}
    if after:
        kwargs["StartAfter"] = store.snapshot_key(after)
    try:
        # One more than a page tells whether there is a next page.
        while len(found) <= limit:
            page = aws.s3().list_objects_v2(**kwargs)
            found += _snapshots_in(page.get("Contents", []))
            if not page.get("IsTruncated"):
                break
            kwargs["ContinuationToken"] = page["NextContinuationToken"]
    except (BotoCoreError, ClientError) as exc:
        raise store.unavailable(exc) from exc
    if len(found) <= limit:
        return SnapshotPage(found, None)
    return SnapshotPage(found[:limit], found[limit - 1].username)


def _snapshots_in(objects: list[Any]) -> list[SnapshotFile]:
    snapshots = []
    for listed in objects:
        parts = listed["Key"].split("/")
        if len(parts) == 3 and listed["Key"] == store.snapshot_key(parts[1]):
            snapshots.append(SnapshotFile(parts[1], listed["Size"], listed["LastModified"]))
    return snapshots


# --- Putting it together -------------------------------------------------------------------


def collection_status(username: str) -> CollectionStatus:
    return CollectionStatus(username, journal_position(username), snapshot_file(username))


def learner_sessions(username: str) -> list[Session]:
    """The learner's live sessions, newest expiry first (one GSI query)."""
    try:
        items = aws.dynamodb().query(
            TableName=settings.JAVUMBO_TABLES["sessions"],
            IndexName="username-index",
            KeyConditionExpression="username = :u",
            ExpressionAttributeValues={":u": {"S": username}},
        )["Items"]
    except (BotoCoreError, ClientError) as exc:
        raise store.unavailable(exc) from exc
    # The sessions module's own item mapping, so the two never disagree on the layout.
    live = [s for s in map(sessions._from_item, items) if s.active]
    return sorted(live, key=lambda s: -s.expires_at)


def session_last_seen(session: Session) -> datetime:
    """When the session was last slid forward: its expiry minus the sliding lifetime."""
    return _from_seconds(session.expires_at - settings.JAVUMBO_SESSION_TTL_SECONDS)


def last_activity(status: CollectionStatus, live: list[Session]) -> datetime | None:
    """The latest of the learner's last change and the last time a session of theirs moved."""
    moments = [status.last_change_at, *(session_last_seen(s) for s in live)]
    known = [moment for moment in moments if moment is not None]
    return max(known) if known else None
