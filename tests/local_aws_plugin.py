"""pytest plugin (loaded with ``-p`` before Django reads its settings): the suite's
own local AWS endpoints on free ports, and a unique resource prefix per run so
two runs on one machine never share a bucket or a table.

``JAVUMBO_TEST_AWS`` chooses the endpoints:

- ``moto`` (the default): moto's server, serialized, for S3 and DynamoDB.
- ``peers``: SeaweedFS for S3 and Amazon's DynamoDB Local for DynamoDB
  (devtools.peers), stopped when the run ends.
"""

from __future__ import annotations

import atexit
import os
import secrets
import tempfile

import pytest

BACKENDS = ("moto", "peers")
BACKEND = os.environ.get("JAVUMBO_TEST_AWS", "moto")
RUN_ID = secrets.token_hex(4)
CACHE_ROOT = tempfile.mkdtemp(prefix=f"javumbo-test-{RUN_ID}-")


def moto_endpoint() -> dict[str, str]:
    from devtools.local_aws import LocalAWS

    endpoint = LocalAWS().start()
    return {
        "AWS_ENDPOINT_URL": endpoint.url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }


def peer_endpoints() -> dict[str, str]:
    from devtools.peers import LocalPeers

    peers = LocalPeers().start()
    atexit.register(peers.stop)
    # Each service has its own endpoint; nothing may fall back to a caller's AWS_ENDPOINT_URL.
    os.environ.pop("AWS_ENDPOINT_URL", None)
    return peers.environment


if BACKEND not in BACKENDS:
    raise pytest.UsageError(f"JAVUMBO_TEST_AWS={BACKEND!r}: choose one of {', '.join(BACKENDS)}")
ENDPOINTS = moto_endpoint() if BACKEND == "moto" else peer_endpoints()

os.environ.update(
    {
        **ENDPOINTS,
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "SECRET_KEY": f"test-secret-key-for-this-run-only-{RUN_ID}",
        "DEBUG": "0",
        "ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
        "JAVUMBO_RESOURCE_PREFIX": f"jvt-{RUN_ID}",
        "JAVUMBO_CACHE_DIR": os.path.join(CACHE_ROOT, "cache"),
        "JAVUMBO_INSTANCE_ID": f"test-{RUN_ID}",
        "JAVUMBO_BCRYPT_ROUNDS": "4",
        "JAVUMBO_DEFAULT_DB": os.path.join(CACHE_ROOT, "default.sqlite3"),
    }
)
for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_LAMBDA_FUNCTION_NAME"):
    os.environ.pop(name, None)
if BACKEND == "moto":
    for name in ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_DYNAMODB"):
        os.environ.pop(name, None)


def pytest_report_header() -> str:
    where = ", ".join(f"{k}={v}" for k, v in ENDPOINTS.items() if k.startswith("AWS_ENDPOINT"))
    return f"local AWS ({BACKEND}): {where}"
