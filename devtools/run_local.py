"""``make run``: Javumbo on http://127.0.0.1:8000 with its own local AWS endpoint.

Starts moto's server (serialized, see devtools.local_aws), provisions the
bucket and tables, migrates the operators' database, creates a demo learner
and an operator and prints their credentials, then serves the app. Ctrl-C
stops everything it started; every run starts from a clean local state.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from devtools.local_aws import wait_until_answering

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"


def local_environment(aws_port: int, web_port: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DEBUG": env.get("DEBUG", "1"),
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{aws_port}",
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_REGION": "us-east-1",
            "JAVUMBO_RESOURCE_PREFIX": "javumbo-local",
            "JAVUMBO_CACHE_DIR": str(VAR / "cache"),
            "JAVUMBO_DEFAULT_DB": str(VAR / "default.sqlite3"),
            "JAVUMBO_INSTANCE_ID": "local-runserver",
            # The client's pages may upload large imports straight to the local bucket.
            "JAVUMBO_UPLOAD_ORIGINS": f"http://127.0.0.1:{web_port},http://localhost:{web_port}",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, check=True)


def main() -> None:
    aws_port = int(os.environ.get("JAVUMBO_LOCAL_AWS_PORT", "4566"))
    web_port = os.environ.get("JAVUMBO_PORT", "8000")
    shutil.rmtree(VAR, ignore_errors=True)
    VAR.mkdir()
    env = local_environment(aws_port, web_port)
    aws = subprocess.Popen(
        [sys.executable, "-m", "devtools.local_aws", "--port", str(aws_port)], env=env, cwd=ROOT
    )
    try:
        wait_until_answering(env["AWS_ENDPOINT_URL"])
        manage(env, "provision")
        manage(env, "migrate", "--no-input", "-v", "0")
        manage(env, "collectstatic", "--no-input", "-v", "0")
        manage(env, "seed_demo")
        site = f"http://127.0.0.1:{web_port}"
        print(f"\nJavumbo: {site}/ (web client), {site}/api/ (docs /api/docs/), {site}/admin/\n")
        manage(env, "runserver", f"127.0.0.1:{web_port}")
    except KeyboardInterrupt:
        pass
    finally:
        aws.terminate()
        aws.wait(timeout=10)


if __name__ == "__main__":
    main()
