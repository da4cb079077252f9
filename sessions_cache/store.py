"""Where collections are kept for good: the S3 snapshot and the DynamoDB journal.

Snapshot: ``users/<username>/collection.anki2`` with metadata ``seq`` (the last
journal entry folded into it) and ``cid`` (the collection id). Written only
with conditional writes: create with ``IfNoneMatch='*'``, replace with
``IfMatch=<etag it was based on>``, through ``put_object`` (multipart uploads
are not compare-and-swap everywhere).

Journal: items keyed (``username``, ``seq``). Entry N is appended with a
conditional put, so two containers can never both write it. One item per
learner sits at ``META_SEQ`` (after every entry, so the catch-up query returns
it with the new entries at no extra cost): the collection id, the active flag
and where the snapshot is.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from javumbo import aws
from javumbo.errors import Unavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

META_SEQ = 2**53 - 1
PENDING_SHARDS = 8
# S3 answers 409 ConditionalRequestConflict when conditional writes overlap: a lost race too.
CONDITION_FAILED = (
    "ConditionalCheckFailedException",
    "PreconditionFailed",
    "412",
    "ConditionalRequestConflict",
)


class JournalConflict(Exception):
    """Another container appended this sequence number first."""


class SnapshotConflict(Exception):
    """The snapshot changed since the version this write was based on."""


class SnapshotMissing(Exception):
    """The learner has no snapshot (the account was deleted, or never finished creating)."""


class SpillMissing(Exception):
    """A spilled entry's object is gone: the entry was folded and its object deleted."""


class IdempotencyReplay(Exception):
    """A request with the same Idempotency-Key was already acknowledged."""


def is_condition_failure(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return error.get("Code") in CONDITION_FAILED or status == 412


def unavailable(exc: Exception) -> Unavailable:
    return Unavailable(f"Storage is unreachable ({type(exc).__name__}); nothing was changed.")


def snapshot_key(username: str) -> str:
    return f"users/{username}/collection.anki2"


def spill_key(username: str, seq: int) -> str:
    return f"users/{username}/journal/{seq:012d}-{secrets.token_hex(4)}.entry"


def user_prefix(username: str) -> str:
    return f"users/{username}/"


@dataclass(frozen=True)
class Meta:
    collection_id: str
    active: bool
    snapshot_seq: int
    snapshot_etag: str | None


@dataclass(frozen=True)
class Entry:
    seq: int
    collection_id: str
    data: bytes | None
    spill: str | None
    appended_at: int
    expires_at: int | None

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= time.time()


@dataclass(frozen=True)
class Snapshot:
    seq: int
    collection_id: str
    etag: str


# --- S3 snapshot ------------------------------------------------------------------


def snapshot_download(username: str, target: Path) -> Snapshot:
    """GET the snapshot into ``target`` (one S3 request)."""
    try:
        response = aws.s3().get_object(Bucket=settings.JAVUMBO_BUCKET, Key=snapshot_key(username))
        body = response["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            raise SnapshotMissing(username) from exc
        raise unavailable(exc) from exc
    except BotoCoreError as exc:
        raise unavailable(exc) from exc
    target.write_bytes(body)
    metadata = response.get("Metadata", {})
    return Snapshot(int(metadata.get("seq", 0)), metadata.get("cid", ""), response["ETag"])


def snapshot_head(username: str) -> Snapshot | None:
    try:
        response = aws.s3().head_object(Bucket=settings.JAVUMBO_BUCKET, Key=snapshot_key(username))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise unavailable(exc) from exc
    except BotoCoreError as exc:
        raise unavailable(exc) from exc
    metadata = response.get("Metadata", {})
    return Snapshot(int(metadata.get("seq", 0)), metadata.get("cid", ""), response["ETag"])


def snapshot_upload(
    username: str, body: bytes, *, seq: int, collection_id: str, based_on: str | None
) -> str:
    """Create (``based_on=None``) or replace the snapshot; returns its new ETag."""
    condition = {"IfMatch": based_on} if based_on else {"IfNoneMatch": "*"}
    try:
        response = aws.s3().put_object(
            Bucket=settings.JAVUMBO_BUCKET,
            Key=snapshot_key(username),
            Body=body,
            Metadata={"seq": str(seq), "cid": collection_id},
            ContentType="application/vnd.sqlite3",
            **condition,  # type: ignore[arg-type]
        )
    except ClientError as exc:
        if is_condition_failure(exc):
            raise SnapshotConflict(username) from exc
        raise unavailable(exc) from exc
    except BotoCoreError as exc:
        raise unavailable(exc) from exc
    return response["ETag"]


def user_objects_delete(username: str) -> int:
    """Delete every version of every object under the learner's prefix."""
    s3, bucket, deleted = aws.s3(), settings.JAVUMBO_BUCKET, 0
    paginator = s3.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket, Prefix=user_prefix(username)):
        versions = page.get("Versions", []) + page.get("DeleteMarkers", [])
        objects = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in versions]
        for start in range(0, len(objects), 1000):
            s3.delete_objects(Bucket=bucket, Delete={"Objects": objects[start : start + 1000]})  # type: ignore[typeddict-item]
        deleted += len(objects)
    return deleted


# --- DynamoDB journal ---------------------------------------------------------------


def _table() -> str:
    return settings.JAVUMBO_TABLES["journal"]


def _shard(username: str) -> str:
    digest = hashlib.sha256(username.encode()).digest()
    return f"pending-{digest[0] % PENDING_SHARDS}"


def journal_read(username: str, after: int) -> tuple[list[Entry], Meta | None]:
    """Entries with seq > ``after`` and the learner's meta item: one consistent query."""
    entries: list[Entry] = []
    meta: Meta | None = None
    for item in _query_all(username, after):
        seq = int(item["seq"]["N"])
        if seq == META_SEQ:
            meta = _meta_from_item(item)
        else:
            entries.append(_entry_from_item(item))
    return entries, meta


def _query_all(username: str, after: int) -> Iterator[dict[str, Any]]:
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "KeyConditionExpression": "username = :u AND seq > :s",
        "ExpressionAttributeValues": {":u": {"S": username}, ":s": {"N": str(after)}},
        "ConsistentRead": True,
    }
    try:
        while True:
            page = aws.dynamodb().query(**kwargs)
            yield from page["Items"]
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    except (BotoCoreError, ClientError) as exc:
        raise unavailable(exc) from exc


def _meta_from_item(item: dict[str, Any]) -> Meta:
    etag = item.get("snapshot_etag", {}).get("S")
    return Meta(
        collection_id=item["cid"]["S"],
        active=item.get("active", {"BOOL": True})["BOOL"],
        snapshot_seq=int(item.get("snapshot_seq", {"N": "0"})["N"]),
        snapshot_etag=etag,
    )


def _entry_from_item(item: dict[str, Any]) -> Entry:
    expires = item.get("expires_at", {}).get("N")
    return Entry(
        seq=int(item["seq"]["N"]),
        collection_id=item.get("cid", {}).get("S", ""),
        data=item["data"]["B"] if "data" in item else None,
        spill=item.get("spill", {}).get("S"),
        appended_at=int(item.get("appended_at", {"N": "0"})["N"]),
        expires_at=int(expires) if expires else None,
    )


def entry_payload(username: str, entry: Entry) -> bytes:
    """The entry's compressed operations, fetched from S3 if it spilled there."""
    if entry.data is not None:
        return bytes(entry.data)
    assert entry.spill is not None
    try:
        response = aws.s3().get_object(Bucket=settings.JAVUMBO_BUCKET, Key=entry.spill)
        return response["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            raise SpillMissing(entry.spill) from exc
        raise unavailable(exc) from exc
    except BotoCoreError as exc:
        raise unavailable(exc) from exc


def spills_delete(keys: list[str]) -> None:
    """Delete folded entries' spill objects (every version: they are never needed again)."""
    s3, bucket = aws.s3(), settings.JAVUMBO_BUCKET
    for key in keys:
        try:
            listing = s3.list_object_versions(Bucket=bucket, Prefix=key)
            versions = listing.get("Versions", []) + listing.get("DeleteMarkers", [])
            objects = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in versions]
            if objects:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": objects})  # type: ignore[typeddict-item]
        except (BotoCoreError, ClientError) as exc:
            raise unavailable(exc) from exc


def journal_append(
    username: str,
    seq: int,
    payload: bytes,
    *,
    collection_id: str,
    idempotency: dict[str, AttributeValueTypeDef] | None = None,
) -> None:
    """Write entry ``seq`` if nobody has; raises JournalConflict if somebody has."""
    item: dict[str, Any] = {
        "username": {"S": username},
        "seq": {"N": str(seq)},
        "cid": {"S": collection_id},
        "appended_at": {"N": str(int(time.time() * 1000))},
        "pending_shard": {"S": _shard(username)},
        "instance": {"S": settings.JAVUMBO_INSTANCE_ID},
        "checksum": {"N": str(zlib.crc32(payload))},
    }
    if len(payload) > settings.JAVUMBO_JOURNAL_SPILL_BYTES:
        key = spill_key(username, seq)
        _spill_upload(key, payload)
        item["spill"] = {"S": key}
    else:
        item["data"] = {"B": payload}
    try:
        _put_entry(item, idempotency)
    except JournalConflict:
        if "spill" in item:
            _spill_forget(item["spill"]["S"])
        raise


def _spill_upload(key: str, payload: bytes) -> None:
    try:
        aws.s3().put_object(Bucket=settings.JAVUMBO_BUCKET, Key=key, Body=payload)
    except (BotoCoreError, ClientError) as exc:
        raise unavailable(exc) from exc


def _spill_forget(key: str) -> None:
    # An orphan object costs storage, never correctness.
    with contextlib.suppress(BotoCoreError, ClientError):
        aws.s3().delete_object(Bucket=settings.JAVUMBO_BUCKET, Key=key)


def _put_entry(item: dict[str, Any], idempotency: dict[str, Any] | None) -> None:
    ddb = aws.dynamodb()
    try:
        if idempotency is None:
            ddb.put_item(
                TableName=_table(), Item=item, ConditionExpression="attribute_not_exists(seq)"
            )
            return
        ddb.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": _table(),
                        "Item": item,
                        "ConditionExpression": "attribute_not_exists(seq)",
                    }
                },
                {
                    "Put": {
                        "TableName": settings.JAVUMBO_TABLES["idempotency"],
                        "Item": idempotency,
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
    except ClientError as exc:
        _raise_append_failure(exc)
    except BotoCoreError as exc:
        raise unavailable(exc) from exc


def _raise_append_failure(exc: ClientError) -> None:
    if is_condition_failure(exc):
        raise JournalConflict() from exc
    if exc.response.get("Error", {}).get("Code") == "TransactionCanceledException":
        reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
        if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
            raise IdempotencyReplay() from exc
        if reasons and reasons[0] == "ConditionalCheckFailed":
            raise JournalConflict() from exc
    raise unavailable(exc) from exc


def meta_create(username: str, collection_id: str, *, snapshot_etag: str) -> None:
    try:
        aws.dynamodb().put_item(
            TableName=_table(),
            Item={
                "username": {"S": username},
                "seq": {"N": str(META_SEQ)},
                "cid": {"S": collection_id},
                "active": {"BOOL": True},
                "snapshot_seq": {"N": "0"},
                "snapshot_etag": {"S": snapshot_etag},
                "created_at": {"N": str(int(time.time()))},
            },
            ConditionExpression="attribute_not_exists(seq)",
        )
    except ClientError as exc:
        if is_condition_failure(exc):
            raise JournalConflict() from exc
        raise unavailable(exc) from exc
    except BotoCoreError as exc:
        raise unavailable(exc) from exc


def meta_record_snapshot(username: str, seq: int, etag: str) -> bool:
    """Point the meta item at a newer snapshot; False if it already points at one as new."""
    try:
        aws.dynamodb().update_item(
            TableName=_table(),
            Key={"username": {"S": username}, "seq": {"N": str(META_SEQ)}},
            UpdateExpression="SET snapshot_seq = :s, snapshot_etag = :e, compacted_at = :t",
            ConditionExpression="attribute_exists(seq) AND snapshot_seq < :s",
            ExpressionAttributeValues={
                ":s": {"N": str(seq)},
                ":e": {"S": etag},
                ":t": {"N": str(int(time.time()))},
            },
        )
    except ClientError as exc:
        if is_condition_failure(exc):
            return False
        raise unavailable(exc) from exc
    except BotoCoreError as exc:
        raise unavailable(exc) from exc
    return True


def meta_set_active(username: str, active: bool) -> None:
    try:
        aws.dynamodb().update_item(
            TableName=_table(),
            Key={"username": {"S": username}, "seq": {"N": str(META_SEQ)}},
            UpdateExpression="SET active = :a",
            ConditionExpression="attribute_exists(seq)",
            ExpressionAttributeValues={":a": {"BOOL": active}},
        )
    except (BotoCoreError, ClientError) as exc:
        raise unavailable(exc) from exc


def entries_fold(username: str, seqs: list[int]) -> None:
    """Mark entries as folded into a snapshot: out of the pending index, expiring by TTL."""
    expires = str(int(time.time()) + settings.JAVUMBO_FOLDED_ENTRY_TTL_SECONDS)
    ddb = aws.dynamodb()
    for seq in seqs:
        try:
            ddb.update_item(
                TableName=_table(),
                Key={"username": {"S": username}, "seq": {"N": str(seq)}},
                UpdateExpression="SET expires_at = :x REMOVE pending_shard",
                ConditionExpression="attribute_exists(seq)",
                ExpressionAttributeValues={":x": {"N": expires}},
            )
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise unavailable(exc) from exc
        except BotoCoreError as exc:
            raise unavailable(exc) from exc


def journal_delete(username: str) -> int:
    """Delete every journal item of the learner (entries and meta)."""
    ddb, deleted = aws.dynamodb(), 0
    keys = [{"username": {"S": username}, "seq": item["seq"]} for item in _query_all(username, -1)]
    for start in range(0, len(keys), 25):
        batch = [{"DeleteRequest": {"Key": key}} for key in keys[start : start + 25]]
        pending: Any = {_table(): batch}
        while pending:
            pending = ddb.batch_write_item(RequestItems=pending).get("UnprocessedItems")
        deleted += len(batch)
    return deleted


def pending_learners(idle_before_ms: int) -> set[str]:
    """Learners with journal entries not yet folded, appended before the given time."""
    learners: set[str] = set()
    for shard in range(PENDING_SHARDS):
        kwargs: dict[str, Any] = {
            "TableName": _table(),
            "IndexName": "pending-index",
            "KeyConditionExpression": "pending_shard = :p AND appended_at < :t",
            "ExpressionAttributeValues": {
                ":p": {"S": f"pending-{shard}"},
                ":t": {"N": str(idle_before_ms)},
            },
        }
        while True:
            page = aws.dynamodb().query(**kwargs)
            learners.update(item["username"]["S"] for item in page["Items"])
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return learners
