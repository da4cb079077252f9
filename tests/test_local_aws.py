"""The local endpoint keeps AWS's promise: one conditional writer wins, never two."""

from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor

from botocore.exceptions import ClientError
from django.conf import settings

from javumbo import aws

WRITERS = 16


def race(attempt):
    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        outcomes = list(pool.map(attempt, range(WRITERS)))
    return outcomes.count(True)


def test_sixteen_concurrent_conditional_puts_on_one_item_give_exactly_one_winner():
    key = {"username": {"S": f"race-{secrets.token_hex(4)}"}, "seq": {"N": "1"}}

    def attempt(writer):
        try:
            aws.dynamodb().put_item(
                TableName=settings.JAVUMBO_TABLES["journal"],
                Item={**key, "writer": {"N": str(writer)}},
                ConditionExpression="attribute_not_exists(seq)",
            )
            return True
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "ConditionalCheckFailedException"
            return False

    assert race(attempt) == 1


def test_sixteen_concurrent_create_only_s3_puts_give_exactly_one_winner():
    key = f"race/{secrets.token_hex(4)}"

    def attempt(writer):
        try:
            aws.s3().put_object(
                Bucket=settings.JAVUMBO_BUCKET, Key=key, Body=b"x" * writer, IfNoneMatch="*"
            )
            return True
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            assert code in ("PreconditionFailed", "ConditionalRequestConflict")
            return False

    assert race(attempt) == 1
