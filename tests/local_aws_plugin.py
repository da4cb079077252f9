"""pytest plugin (loaded with ``-p`` before Django reads its settings): the suite's
own local AWS endpoint on a free port, and a unique resource prefix per run so
two runs on one machine never share a bucket or a table."""

from __future__ import annotations

import os
import secrets
import tempfile

from devtools.local_aws import LocalAWS

RUN_ID = secrets.token_hex(4)
ENDPOINT = LocalAWS().start()
CACHE_ROOT = tempfile.mkdtemp(prefix=f"javumbo-test-{RUN_ID}-")

os.environ.update(
    {
        "AWS_ENDPOINT_URL": ENDPOINT.url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
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
