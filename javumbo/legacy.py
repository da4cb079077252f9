"""The original Flask server's data as Javumbo's migration reads it (framework-free).

That server kept its learners in ``admin.db`` (a ``users`` table of username,
name and bcrypt ``password_hash``) and each learner's collection in a folder as
``<username>.anki2``. Nothing here writes to either: collections are read
through SQLite in read-only mode, copied into one self-contained file, and
checked before anything is trusted.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

SCHEMA_VERSION = 11
ANKI_TABLES = ("col", "notes", "cards", "revlog", "graves")
USER_COLUMNS = ("username", "name", "password_hash")
COLLECTION_SUFFIX = ".anki2"


class LegacyDataError(Exception):
    """The legacy admin database cannot be read as the Flask server wrote it."""


@dataclass(frozen=True)
class LegacyUser:
    username: str  # as the Flask server stored it (any case)
    name: str
    password_hash: str


def _read_only(path: Path) -> sqlite3.Connection:
    # mode=ro: the migration must never change the data it migrates from.
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


def legacy_users(admin_db: Path) -> list[LegacyUser]:
    """Every row of the users table, in the order they were created."""
    if not admin_db.is_file():
        raise LegacyDataError(f"{admin_db} is not a file.")
    try:
        with contextlib.closing(_read_only(admin_db)) as conn:
            columns = {row[1] for row in conn.execute("PRAGMA table_info(users)")}
            missing = [column for column in USER_COLUMNS if column not in columns]
            if missing:
                raise LegacyDataError(f"{admin_db} has no users table with {', '.join(missing)}.")
            rows = conn.execute(
                "SELECT username, name, password_hash FROM users ORDER BY rowid"
            ).fetchall()
    except sqlite3.DatabaseError as exc:
        raise LegacyDataError(f"{admin_db} is not a readable SQLite database ({exc}).") from exc
    return [LegacyUser(str(u or ""), str(n or ""), str(h or "")) for u, n, h in rows]


def lowercase_collisions(users: list[LegacyUser]) -> set[str]:
    """Lowercased usernames that more than one legacy user would become."""
    counts = Counter(user.username.strip().lower() for user in users)
    return {username for username, count in counts.items() if count > 1}


def collection_file(user_dbs: Path, username: str) -> Path | None:
    """The user's collection: ``<username>.anki2`` as stored, else in lowercase."""
    for stem in dict.fromkeys((username, username.strip().lower())):
        candidate = user_dbs / f"{stem}{COLLECTION_SUFFIX}"
        if candidate.is_file():
            return candidate
    return None


def collection_files(user_dbs: Path) -> list[Path]:
    return sorted(user_dbs.glob(f"*{COLLECTION_SUFFIX}"))


def collection_copy(source: Path, target: Path) -> list[str]:
    """Copy ``source`` into ``target`` as one self-contained file (a WAL folded in,
    rollback journal) and check the copy; why it cannot be migrated, or [] when it can."""
    target.unlink(missing_ok=True)
    try:
        with (
            contextlib.closing(_read_only(source)) as reader,
            contextlib.closing(sqlite3.connect(target)) as writer,
        ):
            reader.backup(writer)
            writer.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.DatabaseError as exc:
        return [f"not a readable SQLite database ({exc})"]
    return collection_problems(target)


def collection_problems(path: Path) -> list[str]:
    """Why the file is not a sound Anki collection in schema 11; [] when it is."""
    try:
        with contextlib.closing(_read_only(path)) as conn:
            verdict = [row[0] for row in conn.execute("PRAGMA integrity_check")]
            if verdict != ["ok"]:
                return [f"SQLite integrity check failed: {'; '.join(verdict[:3])}"]
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
            missing = [table for table in ANKI_TABLES if table not in tables]
            if missing:
                return [f"not an Anki collection: no table {', '.join(missing)}"]
            versions = [row[0] for row in conn.execute("SELECT ver FROM col")]
    except sqlite3.DatabaseError as exc:
        return [f"not a readable SQLite database ({exc})"]
    if versions != [SCHEMA_VERSION]:
        return [f"col.ver is {versions}, not the one row of schema {SCHEMA_VERSION}"]
    return []
