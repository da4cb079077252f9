"""A local AWS endpoint (S3 + DynamoDB) for development and tests: moto's server.

moto checks a write's condition and then writes with no lock in between, so two
concurrent conditional writes can both win, which AWS never allows. We serve
moto's WSGI app behind one lock, so every request is atomic and conditional
writes keep their meaning under concurrency.

Run it in the foreground with ``python -m devtools.local_aws --port 4566``; it
stops when its parent process exits.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import signal
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class SerializedApp:
    """Runs one request at a time, from its first byte read to its last byte written."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self.lock:
            result = self.app(environ, start_response)
            try:
                return [b"".join(result)]
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalAWS:
    """moto's S3 and DynamoDB on 127.0.0.1, serialized, in a background thread."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port or free_port()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> LocalAWS:
        app = SerializedApp(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(
            self.host, self.port, app, threaded=True, request_handler=QuietHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        wait_until_answering(self.url)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()


def wait_until_answering(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url + "/moto-api/", timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the local AWS endpoint at {url} did not answer") from None
            time.sleep(0.05)


@contextlib.contextmanager
def running(port: int = 0) -> Iterator[LocalAWS]:
    endpoint = LocalAWS(port).start()
    try:
        yield endpoint
    finally:
        endpoint.stop()


def die_with_parent() -> None:
    """Ask Linux to send SIGTERM when the process that started us exits."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("JAVUMBO_LOCAL_AWS_PORT", "4566"))
    )
    args = parser.parse_args()
    die_with_parent()
    with running(args.port) as endpoint:
        print(f"local AWS endpoint (moto, serialized) at {endpoint.url}", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)


if __name__ == "__main__":
    main()
