"""The zip Lambda would run works: built by `make package`, run outside our virtualenv."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import boto3
import pytest
from django.conf import settings

pytestmark = pytest.mark.slow
BOTO3_RUNTIME = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six.py", "urllib3")
ROOT = Path(__file__).resolve().parent.parent

# Runs in a fresh interpreter whose path holds only the unzipped package and boto3.
INVOKE = """
import json, sys
import handler
event = json.loads(sys.stdin.read())
print("RESULT " + json.dumps(handler.lambda_handler(event, None)))
"""


def api_gateway_event(method: str, path: str) -> dict:
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": {"Host": "abc123.execute-api.us-east-1.amazonaws.com", "Accept": "*/*"},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "path": f"/dev{path}",
            "stage": "dev",
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "pytest"},
            "requestId": "test-request",
        },
        "body": None,
        "isBase64Encoded": False,
    }


@pytest.fixture(scope="module")
def unzipped(tmp_path_factory) -> Path:
    subprocess.run(["make", "package"], cwd=ROOT, check=True, capture_output=True)
    target = tmp_path_factory.mktemp("lambda")
    with zipfile.ZipFile(ROOT / "dist" / "javumbo-dev.zip") as archive:
        archive.extractall(target / "task")
    # What the Lambda runtime provides: boto3 and its own dependencies, nothing else.
    site = Path(boto3.__file__).resolve().parent.parent
    (target / "boto").mkdir()
    for name in BOTO3_RUNTIME:
        (target / "boto" / name).symlink_to(site / name)
    return target


def invoke(unzipped: Path, event: dict) -> tuple[dict, str]:
    boto_path = unzipped / "boto"
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONNOUSERSITE": "1",
        "AWS_LAMBDA_FUNCTION_NAME": "javumbo-dev",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/11/23/[$LATEST]package-test",
        **{name: os.environ[name] for name in os.environ if name.startswith(("AWS_", "JAVUMBO_"))},
        "SECRET_KEY": "package-test",
        "JAVUMBO_CACHE_DIR": str(unzipped / "cache"),
        "JAVUMBO_DEFAULT_DB": str(unzipped / "default.sqlite3"),
    }
    paths = [str(unzipped / "task"), str(boto_path)]
    prelude = f"import sys; sys.path[:0] = {paths!r}\n"
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", prelude + INVOKE],
        input=json.dumps(event),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=unzipped / "task",
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, result.stdout + result.stderr
    return json.loads(lines[-1][len("RESULT ") :]), result.stdout


def test_the_packaged_handler_serves_health(unzipped):
    response, _ = invoke(unzipped, api_gateway_event("GET", "/api/health"))
    assert response["statusCode"] == 200, response
    body = json.loads(response["body"])
    assert body["status"] == "ok"
    assert body["checks"]["bucket"]["up"] is True


def test_the_packaged_handler_runs_management_commands(unzipped):
    _, output = invoke(unzipped, {"manage": "provision"})
    assert "nothing changed" in output


def test_the_package_holds_no_test_or_development_tools(unzipped):
    names = {p.name for p in (unzipped / "task").iterdir()}
    assert {"handler.py", "javumbo", "django", "rest_framework"} <= names
    assert not names & {"tests", "devtools", "moto", "pytest", "boto3", "botocore", "mypy"}
    assert settings.VERSION
