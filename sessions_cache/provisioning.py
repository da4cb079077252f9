"""Create the bucket and the tables Javumbo needs, idempotently, on AWS or the local endpoint.

Each step compares what exists with what is wanted and changes only the
difference, so a second run changes nothing and says so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

log = logging.getLogger("javumbo")
PUBLIC_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
ENCRYPTION = {
    "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}],
}
LIFECYCLE_RULES: list[dict[str, Any]] = [
    {
        "ID": "expire-noncurrent-versions",
        "Filter": {"Prefix": ""},
        "Status": "Enabled",
        "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
    },
    {
        "ID": "expire-exports",
        "Filter": {"Prefix": "exports/"},
        "Status": "Enabled",
        "Expiration": {"Days": 1},
    },
]


@dataclass(frozen=True)
class TableSpec:
    keys: tuple[tuple[str, str, str], ...]  # (attribute, type S/N, HASH/RANGE)
    ttl: str | None = "expires_at"
    indexes: tuple[tuple[str, tuple[tuple[str, str, str], ...], str], ...] = field(default=())


TABLE_SPECS: dict[str, TableSpec] = {
    "users": TableSpec(keys=(("username", "S", "HASH"),), ttl=None),
    "sessions": TableSpec(
        keys=(("session_id", "S", "HASH"),),
        indexes=(("username-index", (("username", "S", "HASH"),), "ALL"),),
    ),
    "journal": TableSpec(
        keys=(("username", "S", "HASH"), ("seq", "N", "RANGE")),
        indexes=(
            (
                "pending-index",
                (("pending_shard", "S", "HASH"), ("appended_at", "N", "RANGE")),
                "KEYS_ONLY",
            ),
        ),
    ),
    "idempotency": TableSpec(keys=(("pk", "S", "HASH"),)),
    "throttle": TableSpec(keys=(("pk", "S", "HASH"),)),
}


def upload_cors(origins: list[str]) -> list[dict[str, Any]]:
    """Browsers at these origins may POST large imports straight to the bucket
    (a presigned form from POST /api/import/uploads); nothing else is allowed."""
    if not origins:
        return []
    return [
        {
            "AllowedOrigins": sorted(set(origins)),
            "AllowedMethods": ["POST"],
            "AllowedHeaders": ["*"],
            "MaxAgeSeconds": 3000,
        }
    ]


def bucket_provision(
    s3: S3Client, bucket: str, region: str, upload_origins: list[str] | None = None
) -> list[str]:
    """Create the collections bucket and bring its settings to what we want."""
    done: list[str] = []
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        kwargs: dict[str, Any] = {"Bucket": bucket}
        if region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        s3.create_bucket(**kwargs)
        done.append(f"created bucket {bucket}")
    if s3.get_bucket_versioning(Bucket=bucket).get("Status") != "Enabled":
        done += _setting_apply(
            f"enabled versioning on {bucket}",
            lambda: s3.put_bucket_versioning(
                Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
            ),
        )
    if _bucket_setting(s3.get_bucket_encryption, bucket, "ServerSideEncryptionConfiguration") != (
        ENCRYPTION
    ):
        done += _setting_apply(
            f"set default encryption on {bucket}",
            lambda: s3.put_bucket_encryption(
                Bucket=bucket,
                ServerSideEncryptionConfiguration=ENCRYPTION,  # type: ignore[arg-type]
            ),
        )
    if _bucket_setting(s3.get_public_access_block, bucket, "PublicAccessBlockConfiguration") != (
        PUBLIC_ACCESS_BLOCK
    ):
        done += _setting_apply(
            f"blocked public access to {bucket}",
            lambda: s3.put_public_access_block(
                Bucket=bucket,
                PublicAccessBlockConfiguration=PUBLIC_ACCESS_BLOCK,  # type: ignore[arg-type]
            ),
        )
    if _lifecycle_ids(s3, bucket) != {rule["ID"] for rule in LIFECYCLE_RULES}:
        done += _setting_apply(
            f"set lifecycle rules on {bucket}",
            lambda: s3.put_bucket_lifecycle_configuration(
                Bucket=bucket,
                LifecycleConfiguration={"Rules": LIFECYCLE_RULES},  # type: ignore[typeddict-item]
            ),
        )
    cors = upload_cors(upload_origins or [])
    if cors and _bucket_setting(s3.get_bucket_cors, bucket, "CORSRules") != cors:
        done += _setting_apply(
            f"allowed browser uploads to {bucket} from {', '.join(cors[0]['AllowedOrigins'])}",
            lambda: s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": cors}),  # type: ignore[typeddict-item]
        )
    return done


def _setting_apply(change: str, apply: Callable[[], object]) -> list[str]:
    """Apply one bucket setting: ``[change]``, or ``[]`` and a warning if the endpoint lacks it.

    Only S3-compatible stores answer NotImplemented (SeaweedFS has no public access
    block); AWS implements every one of these settings, so there any failure raises.
    """
    try:
        apply()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NotImplemented":
            raise
        log.warning("provisioning: this S3 endpoint cannot do this, skipped: %s", change)
        return []
    return [change]


def _bucket_setting(getter: Any, bucket: str, key: str) -> Any:
    try:
        value = getter(Bucket=bucket)[key]
    except ClientError:
        return None
    if key == "ServerSideEncryptionConfiguration":
        # AWS adds BucketKeyEnabled to what it echoes back; compare what we set.
        rules = [
            {"ApplyServerSideEncryptionByDefault": r["ApplyServerSideEncryptionByDefault"]}
            for r in value.get("Rules", [])
        ]
        return {"Rules": rules}
    return value


def _lifecycle_ids(s3: S3Client, bucket: str) -> set[str]:
    try:
        rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    except ClientError:
        return set()
    return {rule.get("ID", "") for rule in rules}


def table_provision(ddb: DynamoDBClient, name: str, spec: TableSpec) -> list[str]:
    """Create one table (keys, indexes, pay-per-request) and switch on its TTL."""
    done: list[str] = []
    try:
        ddb.describe_table(TableName=name)
    except ddb.exceptions.ResourceNotFoundException:
        ddb.create_table(**_create_table_args(name, spec))
        ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1})
        done.append(f"created table {name}")
    if spec.ttl:
        ttl = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
            ddb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl},
            )
            done.append(f"enabled TTL on {name}.{spec.ttl}")
    return done


def _create_table_args(name: str, spec: TableSpec) -> dict[str, Any]:
    attributes = {attr: kind for attr, kind, _ in spec.keys}
    for _, keys, _ in spec.indexes:
        attributes.update({attr: kind for attr, kind, _ in keys})
    args: dict[str, Any] = {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": a, "KeyType": role} for a, _, role in spec.keys],
        "AttributeDefinitions": [
            {"AttributeName": a, "AttributeType": t} for a, t in sorted(attributes.items())
        ],
    }
    if spec.indexes:
        args["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index,
                "KeySchema": [{"AttributeName": a, "KeyType": role} for a, _, role in keys],
                "Projection": {"ProjectionType": projection},
            }
            for index, keys, projection in spec.indexes
        ]
    return args


def provision_configured() -> list[str]:
    """Provision the bucket and tables the settings name, with the process's clients."""
    from django.conf import settings

    from javumbo import aws

    return provision(
        aws.s3(),
        aws.dynamodb(),
        bucket=settings.JAVUMBO_BUCKET,
        tables=settings.JAVUMBO_TABLES,
        region=settings.AWS_REGION,
        upload_origins=settings.JAVUMBO_UPLOAD_ORIGINS,
    )


def provision(
    s3: S3Client,
    ddb: DynamoDBClient,
    *,
    bucket: str,
    tables: dict[str, str],
    region: str,
    upload_origins: list[str] | None = None,
) -> list[str]:
    """Everything Javumbo needs; returns what was changed (empty when all was in place)."""
    done = bucket_provision(s3, bucket, region, upload_origins)
    for logical, physical in tables.items():
        done += table_provision(ddb, physical, TABLE_SPECS[logical])
    return done
