"""``manage.py import_legacy --admin-db PATH --user-dbs DIR [--dry-run]``: move the original
Flask server's learners and collections into DynamoDB and S3.

Every legacy user is checked before anything is written: the username by
Javumbo's rules once lowercased, the name, the bcrypt hash, and the collection
(a self-contained copy passing SQLite's integrity check, with the five Anki
tables and ``col.ver`` 11). A user who passes becomes a learner keeping their
bcrypt hash, so they sign in with their old password, and the checked copy is
uploaded through ``engine.collection_create`` (a snapshot and the journal's meta
item). Running it again skips what is there and finishes an import that was cut
short; ``--dry-run`` reports what a run would do and changes nothing. It ends with
one line per user and file, and a summary. Runs locally on the files, or on
Lambda with ``zappa manage <stage> "import_legacy --admin-db s3://bucket/legacy/admin.db
--user-dbs s3://bucket/legacy/user_dbs/"`` (it downloads them to a scratch folder).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from javumbo import aws, learners, legacy
from javumbo.errors import JavumboError, Unavailable
from javumbo.learners import Learner, UsernameTaken
from sessions_cache import engine, inspect

log = logging.getLogger("javumbo")

ORIGIN = "flask-admin-db"
MIGRATED, SKIPPED, FAILED = "migrated", "skipped", "failed"
DRY_RUN_LABELS = {MIGRATED: "would migrate", SKIPPED: "would skip", FAILED: "would fail"}


@dataclass(frozen=True)
class Outcome:
    name: str  # the learner's username, or the legacy name or file it is about
    verdict: str  # MIGRATED, SKIPPED or FAILED
    reason: str = ""


@dataclass(frozen=True)
class Run:
    user_dbs: Path
    scratch: Path
    collisions: set[str]
    dry_run: bool


class Command(BaseCommand):
    help = "Import the original Flask server's admin.db users and <username>.anki2 collections."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--admin-db", required=True, help="the legacy admin.db: a path or s3://bucket/key"
        )
        parser.add_argument(
            "--user-dbs",
            required=True,
            help="the folder of <username>.anki2 files: a path or s3://bucket/prefix/",
        )
        parser.add_argument("--dry-run", action="store_true", help="report only; change nothing")

    def handle(self, *args: Any, admin_db: str, user_dbs: str, dry_run: bool, **_: Any) -> None:
        with tempfile.TemporaryDirectory(prefix="import-legacy-") as scratch_dir:
            scratch = Path(scratch_dir)
            users, folder = _legacy_read(admin_db, user_dbs, scratch)
            run = Run(folder, scratch, legacy.lowercase_collisions(users), dry_run)
            outcomes = [_user_import_reported(user, run) for user in users]
            outcomes += _files_without_users(users, folder)
        self._report(outcomes, dry_run)

    def _report(self, outcomes: list[Outcome], dry_run: bool) -> None:
        for outcome in outcomes:
            label = DRY_RUN_LABELS[outcome.verdict] if dry_run else outcome.verdict
            reason = f": {outcome.reason}" if outcome.reason else ""
            self.stdout.write(f"{label:<13} {outcome.name}{reason}")
        counts = {v: sum(o.verdict == v for o in outcomes) for v in (MIGRATED, SKIPPED, FAILED)}
        summary = f"{counts[MIGRATED]} migrated, {counts[SKIPPED]} skipped, {counts[FAILED]} failed"
        if dry_run:
            summary = f"Dry run, nothing was changed. A run would end: {summary}"
        self.stdout.write(f"{summary}.")


# --- Where the legacy data is: local files, or S3 (for ``zappa manage``) -----------------------


def _legacy_read(
    admin_db: str, user_dbs: str, scratch: Path
) -> tuple[list[legacy.LegacyUser], Path]:
    """The legacy users and the local folder of their collections (downloaded if in S3)."""
    folder = _folder_local(user_dbs, scratch / "user_dbs")
    if not folder.is_dir():
        raise CommandError(f"{user_dbs} is not a folder.")
    try:
        return legacy.legacy_users(_file_local(admin_db, scratch / "admin.db")), folder
    except legacy.LegacyDataError as exc:
        raise CommandError(str(exc)) from exc


def _s3_location(location: str) -> tuple[str, str]:
    bucket, _, key = location.removeprefix("s3://").partition("/")
    return bucket, key


def _file_local(location: str, target: Path) -> Path:
    if not location.startswith("s3://"):
        return Path(location)
    bucket, key = _s3_location(location)
    try:
        target.write_bytes(aws.s3().get_object(Bucket=bucket, Key=key)["Body"].read())
    except (BotoCoreError, ClientError) as exc:
        raise CommandError(f"Could not read {location}: {exc}") from exc
    return target


def _folder_local(location: str, target: Path) -> Path:
    """The folder itself, or a local copy of every ``.anki2`` object right under an S3 prefix."""
    if not location.startswith("s3://"):
        return Path(location)
    bucket, prefix = _s3_location(location.rstrip("/") + "/")
    target.mkdir()
    try:
        pages = aws.s3().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
    except (BotoCoreError, ClientError) as exc:
        raise CommandError(f"Could not list {location}: {exc}") from exc
    for key in keys:
        name = key.removeprefix(prefix)
        if "/" not in name and name.endswith(legacy.COLLECTION_SUFFIX):
            _file_local(f"s3://{bucket}/{key}", target / name)
    return target


# --- One legacy user ----------------------------------------------------------------------------


def _user_problems(user: legacy.LegacyUser, username: str, collisions: set[str]) -> list[str]:
    problems = learners.username_problems(username) + learners.name_problems(user.name)
    problems += learners.password_hash_problems(user.password_hash)
    if username in collisions:
        problems.append(f"more than one legacy user becomes {username!r} in lowercase")
    return problems


def _user_import_reported(user: legacy.LegacyUser, run: Run) -> Outcome:
    """One user's import; AWS failing for one user is reported and the run goes on."""
    try:
        return _user_import(user, run)
    except JavumboError as exc:
        return Outcome(user.username, FAILED, exc.message)


def _user_import(user: legacy.LegacyUser, run: Run) -> Outcome:
    username = user.username.strip().lower()
    problems = _user_problems(user, username, run.collisions)
    if problems:
        return Outcome(user.username, FAILED, " ".join(problems))
    if learners.learner_get(username) is not None:
        return _skip_or_finish(user, username, run)
    checked, failure = _collection_checked(user, username, run)
    if failure:
        return failure
    if run.dry_run:
        return Outcome(username, MIGRATED)
    try:
        learner, created = _learner_import(user, username)
    except UsernameTaken:
        return Outcome(username, FAILED, "a learner of this name appeared meanwhile")
    return _collection_upload(username, learner, created, checked)


def _skip_or_finish(user: legacy.LegacyUser, username: str, run: Run) -> Outcome:
    """A learner of this name exists: ours from an earlier run, or somebody else's."""
    if run.dry_run:
        return Outcome(username, SKIPPED, "a learner of this name already exists")
    try:
        learner, created = _learner_import(user, username)  # writes nothing when it exists
    except UsernameTaken:
        return Outcome(username, FAILED, "the name belongs to a learner who was not migrated")
    if not created and inspect.journal_position(username).exists:
        return Outcome(username, SKIPPED, "already migrated")
    # An earlier run stopped between the learner and the collection: finish it.
    checked, failure = _collection_checked(user, username, run)
    if failure:
        if created:
            _forget(learner)
        return failure
    return _collection_upload(username, learner, created, checked)


def _collection_checked(
    user: legacy.LegacyUser, username: str, run: Run
) -> tuple[Path, Outcome | None]:
    """A checked copy of the user's collection, or the outcome saying why there is none."""
    checked = run.scratch / f"{username}{legacy.COLLECTION_SUFFIX}"
    source = legacy.collection_file(run.user_dbs, user.username)
    if source is None:
        reason = f"no collection file {user.username}{legacy.COLLECTION_SUFFIX}"
        return checked, Outcome(username, FAILED, reason)
    problems = legacy.collection_copy(source, checked)
    if problems:
        return checked, Outcome(username, FAILED, f"{source.name}: {' '.join(problems)}")
    return checked, None


def _learner_import(user: legacy.LegacyUser, username: str) -> tuple[Learner, bool]:
    return learners.learner_import(
        username=username, name=user.name, password_hash=user.password_hash, origin=ORIGIN
    )


def _collection_upload(username: str, learner: Learner, created: bool, checked: Path) -> Outcome:
    try:
        engine.collection_create(
            username=username,
            collection_id=learner.collection_id,
            build=lambda path: shutil.copyfile(checked, path),
        )
    except JavumboError as exc:
        if created:
            _forget(learner)
        return Outcome(username, FAILED, f"the collection was not uploaded: {exc.message}")
    return Outcome(username, MIGRATED, "" if created else "finished an earlier, interrupted run")


def _forget(learner: Learner) -> None:
    """Remove a learner made by this run whose collection failed, so a rerun starts clean."""
    try:
        learners.learner_remove(learner)
    except Unavailable:
        log.exception("could not remove half-imported learner %s", learner.username)


def _files_without_users(users: list[legacy.LegacyUser], user_dbs: Path) -> list[Outcome]:
    known = {user.username for user in users} | {user.username.strip().lower() for user in users}
    return [
        Outcome(path.name, SKIPPED, "no user of this name in admin.db")
        for path in legacy.collection_files(user_dbs)
        if path.stem not in known
    ]
