"""Separate Javumbo server processes ("containers") against the suite's local AWS endpoint."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from devtools.local_aws import free_port

ROOT = Path(__file__).resolve().parent.parent


class Container:
    """One server process with its own cache directory and instance id."""

    def __init__(self, name: str, cache_dir: Path, urlconf: str = "tests.collection_views"):
        self.name = name
        self.cache_dir = cache_dir
        self.urlconf = urlconf
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Container:
        env = {
            **os.environ,
            "JAVUMBO_CACHE_DIR": str(self.cache_dir),
            "JAVUMBO_INSTANCE_ID": self.name,
            "JAVUMBO_ROOT_URLCONF": self.urlconf,
            "PYTHONPATH": str(ROOT),
        }
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{self.port}", "--noreload"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait()
        return self

    def _wait(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/api/health", timeout=2):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"container {self.name} did not start")

    def kill(self) -> None:
        """kill -9: no clean-up of any kind."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
