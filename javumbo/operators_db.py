"""The operators' database (``default``: staff users, their sessions, the admin log), kept
durable on Lambda as one S3 object that is only ever written with conditional writes.

Each container's SQLite file is a cache of ``s3://<JAVUMBO_BUCKET>/<JAVUMBO_OPERATORS_DB_KEY>``:

- **Fetch** when Django opens a connection to it: GET with ``If-None-Match`` = the
  ETag this process last synced (304: nothing to download). A cold process, or a
  file that changed since it was synced, does a plain GET: the local file is
  trusted only while it is exactly what S3 held; no copy in S3 means an empty one.
- **Publish** after a unit of work that changed it: an admin request, before its
  response is sent (``OperatorsDatabaseMiddleware``); outside requests (``manage.py``
  commands, also through ``zappa manage``), every ORM write at once and each
  ``migrate`` at its end. The PUT carries ``If-Match`` = the ETag the change was
  based on (``If-None-Match: *`` for the very first copy), so a container that
  missed another one's change gets 412 and never overwrites it: its own change
  is thrown away, its file refetched, and the caller told
  (``OperatorsDatabaseConflict``): the middleware runs the request again on the
  fresh copy (bounded, then 409); a command fails and says to run it again.

The bucket's versioning keeps every earlier copy for 30 days. Switched by
``JAVUMBO_OPERATORS_DB_SYNC`` (on by default on Lambda, off for local runs).
One process per local file: processes sharing a file would each take the
other's changes for their own.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import hashlib
import io
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from javumbo import aws
from javumbo.errors import Conflict, Unavailable

log = logging.getLogger("javumbo")
Handler = Callable[[HttpRequest], HttpResponse]

CONDITION_FAILED = {"PreconditionFailed", "412", "ConditionalRequestConflict"}
NOT_MODIFIED = {"304", "NotModified"}
MISSING = {"NoSuchKey", "404", "NotFound"}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}


class OperatorsDatabaseConflict(Conflict):
    """Another container changed the operators' database first; this change was dropped."""

    default_code = "operators_db_conflict"
    default_detail = (
        "Another container changed the operators' database at the same moment; "
        "nothing of this change was kept. Try again."
    )

    def __init__(self, *, restored: bool) -> None:
        super().__init__()
        self.restored = restored  # False: the local copy could not be refetched


@dataclass(frozen=True)
class Synced:
    """What the local file was when it last matched S3: the object's ETag and the file's digest."""

    etag: str | None  # None: S3 holds no copy yet
    digest: str


def _digest(path: Path) -> str:
    # The whole file, not its mtime: two writes within one clock tick share an mtime.
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return ""


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _unavailable(exc: Exception) -> Unavailable:
    return Unavailable(
        f"The operators' database in S3 is unreachable ({type(exc).__name__}); nothing was saved."
    )


class OperatorsDatabase:
    """One container's copy of the operators' database and what it last synced with S3."""

    def __init__(self, path: Path, *, bucket: str, key: str) -> None:
        self.path = path
        self.bucket = bucket
        self.key = key
        self._synced: Synced | None = None
        self._lock = threading.RLock()

    @property
    def etag(self) -> str | None:
        return self._synced.etag if self._synced else None

    def changed(self) -> bool:
        """Whether the local file differs from what was last synced (unknown counts as changed)."""
        synced = self._synced
        return synced is None or _digest(self.path) != synced.digest

    def refresh(self) -> bool:
        """Bring the local file up to S3's copy; True when a new version was downloaded."""
        with self._lock:
            known = None if self.changed() else self.etag
            try:
                response = self._get(known)
            except ClientError as exc:
                if _error_code(exc) in NOT_MODIFIED:
                    return False
                if _error_code(exc) in MISSING:
                    # S3 is the truth: no copy there means an empty database here.
                    self._install(None)
                    self._remember(None)
                    return False
                raise _unavailable(exc) from exc
            except BotoCoreError as exc:
                raise _unavailable(exc) from exc
            self._install(response["Body"].read())
            self._remember(response["ETag"])
            return True

    def publish(self) -> bool:
        """Upload the local file if it changed since it was synced; True when it did.

        Raises OperatorsDatabaseConflict (after refetching S3's copy) when another
        container published first, Unavailable when S3 cannot be reached.
        """
        with self._lock:
            synced, digest = self._synced, _digest(self.path)
            if synced is None or digest == synced.digest:
                return False  # never synced: nothing here is known to be newer than S3
            condition = {"IfMatch": synced.etag} if synced.etag else {"IfNoneMatch": "*"}
            try:
                response = aws.s3().put_object(
                    Bucket=self.bucket,
                    Key=self.key,
                    Body=_file_bytes(self.path),
                    ContentType="application/vnd.sqlite3",
                    **condition,  # type: ignore[arg-type]
                )
            except ClientError as exc:
                if _error_code(exc) in CONDITION_FAILED:
                    raise OperatorsDatabaseConflict(restored=self._discard_local()) from exc
                raise _unavailable(exc) from exc
            except BotoCoreError as exc:
                raise _unavailable(exc) from exc
            # The digest from before the upload: a write that slipped in meanwhile
            # still counts as a change and goes out next time.
            self._synced = Synced(response["ETag"], digest)
            return True

    def _get(self, known_etag: str | None) -> Any:
        condition = {"IfNoneMatch": known_etag} if known_etag else {}
        return aws.s3().get_object(Bucket=self.bucket, Key=self.key, **condition)  # type: ignore[arg-type]

    def _install(self, body: bytes | None) -> None:
        """Copy a downloaded database (None: an empty one) into the local file through
        SQLite, so that a connection already open on it sees the change on its next query."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        scratch = self.path.with_name(f".{self.path.name}.{os.getpid()}.download")
        if body is not None:
            scratch.write_bytes(body)
        try:
            with (
                contextlib.closing(sqlite3.connect(scratch if body else ":memory:")) as source,
                contextlib.closing(sqlite3.connect(self.path)) as target,
            ):
                source.backup(target)
        finally:
            scratch.unlink(missing_ok=True)

    def _remember(self, etag: str | None) -> None:
        self._synced = Synced(etag, _digest(self.path))

    def _discard_local(self) -> bool:
        """Throw the local change away by refetching S3's copy; False if that failed too."""
        self._synced = None  # until the refetch succeeds, the next refresh does a plain GET
        try:
            self.refresh()
        except Unavailable:
            log.exception("could not refetch the operators' database after a conflict")
            return False
        return True


def _file_bytes(path: Path) -> bytes:
    # A consistent image even while another connection is writing: SQLite's backup API.
    with (
        contextlib.closing(sqlite3.connect(path)) as source,
        contextlib.closing(sqlite3.connect(":memory:")) as memory,
    ):
        source.backup(memory)
        return memory.serialize()


@functools.cache
def _database_at(path: Path, bucket: str, key: str) -> OperatorsDatabase:
    return OperatorsDatabase(path, bucket=bucket, key=key)


def operators_database() -> OperatorsDatabase | None:
    """This process's copy of the configured ``default`` database; None when it is not a
    file (a test run's in-memory database), as there is nothing to keep then."""
    name = str(connections["default"].settings_dict["NAME"])
    if name == ":memory:" or name.startswith("file:"):
        return None
    return _database_at(Path(name), settings.JAVUMBO_BUCKET, settings.JAVUMBO_OPERATORS_DB_KEY)


# --- Wiring into Django ---------------------------------------------------------------------

_in_request: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "operators_db_in_request", default=False
)


@contextlib.contextmanager
def request_in_progress() -> Iterator[None]:
    """Writes made inside are published by the middleware, once, before the response."""
    token = _in_request.set(True)
    try:
        yield
    finally:
        _in_request.reset(token)


def sync_connect() -> None:
    """Fetch on every new ``default`` connection; publish writes made outside requests."""
    connection_created.connect(_on_connection_created, dispatch_uid="operators_db.fetch")
    for signal in (post_save, post_delete, m2m_changed):
        signal.connect(_on_write, dispatch_uid="operators_db.write")
    post_migrate.connect(_on_migrated, dispatch_uid="operators_db.migrated")


def _on_connection_created(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    database = operators_database() if connection.alias == "default" else None
    if database is not None:
        database.refresh()


def _on_write(sender: Any, using: str = "", **kwargs: Any) -> None:
    if using == "default" and not _in_request.get():
        transaction.on_commit(_publish, using="default")


def _on_migrated(sender: Any, using: str = "", **kwargs: Any) -> None:
    # Tables and bulk-created rows (content types, permissions) send no save signal.
    if using == "default":
        _publish()


def _publish() -> None:
    database = operators_database()
    if database is not None:
        database.publish()


class OperatorsDatabaseMiddleware:
    """Publishes a request's changes to the operators' database before its response.

    A publish that lost to another container runs the request again on the fresh
    copy (``JAVUMBO_OPERATORS_DB_RETRIES`` tries), then answers 409. Every admin
    action is safe to run again. Only the admin site writes ``default``; every other
    request passes straight through (running an API request twice could apply a
    learner's change twice). Were one to write it anyway, its change would never be
    published, and the next fetch would throw it away.
    """

    def __init__(self, get_response: Handler, database: OperatorsDatabase | None = None) -> None:
        if not settings.JAVUMBO_OPERATORS_DB_SYNC:
            raise MiddlewareNotUsed()
        self.get_response = get_response
        self.database = database

    def __call__(self, request: HttpRequest) -> HttpResponse:
        database = self.database or operators_database()
        if database is None or not request.path.startswith(reverse("admin:index")):
            with request_in_progress():
                return self.get_response(request)
        if request.method not in SAFE_METHODS:
            request.body  # noqa: B018 - read once so that a second attempt can read it again
        return self._attempts(request, database)

    def _attempts(self, request: HttpRequest, database: OperatorsDatabase) -> HttpResponse:
        for attempt in range(settings.JAVUMBO_OPERATORS_DB_RETRIES):
            if attempt:
                _rewind(request)
            with request_in_progress():
                response = self.get_response(request)
            try:
                database.publish()
                return response
            except OperatorsDatabaseConflict as exc:
                log.info("operators' database conflict on %s, try %d", request.path, attempt + 1)
                if not exc.restored:
                    return _refusal(503, Unavailable.default_detail)
            except Unavailable as exc:
                return _refusal(503, exc.message)
        return _refusal(409, OperatorsDatabaseConflict.default_detail)


def _refusal(status: int, message: str) -> HttpResponse:
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


def _rewind(request: HttpRequest) -> None:
    """Let the request's second run read the same body and form again."""
    request._stream = io.BytesIO(request.body)
    for cached in ("_post", "_files"):
        if hasattr(request, cached):
            delattr(request, cached)
