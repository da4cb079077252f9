from __future__ import annotations

import secrets

from django.conf import settings
from django.core.management import call_command

from javumbo import aws
from sessions_cache.provisioning import LIFECYCLE_RULES, provision


def fresh_names():
    prefix = f"jvt-prov-{secrets.token_hex(3)}"
    tables = {name: f"{prefix}-{name}" for name in settings.JAVUMBO_TABLES}
    return f"{prefix}-bucket", tables


def test_it_creates_everything_and_a_second_run_changes_nothing():
    bucket, tables = fresh_names()
    args = dict(bucket=bucket, tables=tables, region="us-east-1")
    first = provision(aws.s3(), aws.dynamodb(), **args)
    assert f"created bucket {bucket}" in first
    assert all(f"created table {t}" in first for t in tables.values())
    assert provision(aws.s3(), aws.dynamodb(), **args) == []


def test_it_configures_the_bucket_safely():
    bucket, tables = fresh_names()
    provision(aws.s3(), aws.dynamodb(), bucket=bucket, tables=tables, region="us-east-1")
    s3 = aws.s3()
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    lifecycle = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    noncurrent = next(r for r in lifecycle if r["ID"] == "expire-noncurrent-versions")
    assert noncurrent["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
    assert len(lifecycle) == len(LIFECYCLE_RULES)


def test_it_creates_tables_with_their_keys_indexes_and_ttl():
    bucket, tables = fresh_names()
    provision(aws.s3(), aws.dynamodb(), bucket=bucket, tables=tables, region="us-east-1")
    ddb = aws.dynamodb()
    journal = ddb.describe_table(TableName=tables["journal"])["Table"]
    assert [k["AttributeName"] for k in journal["KeySchema"]] == ["username", "seq"]
    assert journal["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    sessions = ddb.describe_table(TableName=tables["sessions"])["Table"]
    assert sessions["GlobalSecondaryIndexes"][0]["IndexName"] == "username-index"
    for name in ("sessions", "journal", "idempotency", "throttle"):
        ttl = ddb.describe_time_to_live(TableName=tables[name])["TimeToLiveDescription"]
        assert ttl["TimeToLiveStatus"] == "ENABLED"
        assert ttl["AttributeName"] == "expires_at"


def test_the_command_says_when_nothing_changed(capsys):
    call_command("provision")
    assert "nothing changed" in capsys.readouterr().out


def test_it_lets_the_clients_origins_post_uploads_to_the_bucket():
    bucket, tables = fresh_names()
    origins = ["https://app.example", "http://127.0.0.1:8000"]
    args = dict(bucket=bucket, tables=tables, region="us-east-1", upload_origins=origins)
    assert any("allowed browser uploads" in c for c in provision(aws.s3(), aws.dynamodb(), **args))
    rules = aws.s3().get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert rules[0]["AllowedOrigins"] == sorted(origins)
    assert rules[0]["AllowedMethods"] == ["POST"]
    assert provision(aws.s3(), aws.dynamodb(), **args) == []
