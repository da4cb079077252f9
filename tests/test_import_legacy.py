"""``manage.py import_legacy``: the original Flask server's admin.db and user folder, built
here from a real Anki collection, moved into DynamoDB and S3."""

from __future__ import annotations

import contextlib
import hashlib
import io
import secrets
import shutil
import sqlite3
from pathlib import Path

import bcrypt
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import Client

from javumbo import aws, learners
from javumbo.management.commands.import_legacy import ORIGIN
from sessions_cache import inspect, store
from tests.conftest import LEARNER_PASSWORD
from tests.engine_support import FIXTURE

OLD_PASSWORD = "flask-era-pw"  # the Flask server asked for 10 to 20 characters


def hashed(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()


def admin_db_write(path: Path, users: list[tuple[str, str, str]]) -> Path:
    """The Flask server's admin.db: its users table, as it created it."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS users (user_id INTEGER PRIMARY KEY AUTOINCREMENT, "
            "username TEXT UNIQUE NOT NULL, name TEXT NOT NULL, password_hash TEXT NOT NULL)"
        )
        conn.executemany(
            "INSERT INTO users (username, name, password_hash) VALUES (?, ?, ?)", users
        )
        conn.commit()
    return path


def damaged_copy(target: Path) -> None:
    """The fixture with an index page overwritten, as a failing disk would leave it."""
    data = bytearray(FIXTURE.read_bytes())
    with contextlib.closing(sqlite3.connect(FIXTURE)) as conn:
        [(root,)] = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'ix_notes_usn'")
    start = (root - 1) * 4096
    data[start + 8 : start + 4000] = bytes(i % 3 and 0x41 for i in range(start + 8, start + 4000))
    target.write_bytes(bytes(data))


def inconsistent_copy(target: Path) -> None:
    """The fixture with an index that no longer matches its table: only the
    integrity check can tell."""
    shutil.copyfile(FIXTURE, target)
    with contextlib.closing(sqlite3.connect(target)) as conn:
        conn.execute("PRAGMA writable_schema=ON")
        conn.execute(
            "UPDATE sqlite_master SET sql = 'CREATE INDEX ix_cards_nid ON cards (due)' "
            "WHERE name = 'ix_cards_nid'"
        )
        conn.commit()


def schema_18_copy(target: Path) -> None:
    shutil.copyfile(FIXTURE, target)
    with contextlib.closing(sqlite3.connect(target)) as conn:
        conn.execute("UPDATE col SET ver = 18")
        conn.commit()


@pytest.fixture
def names() -> dict[str, str]:
    """Legacy usernames for this test, unique in the run's tables."""
    tag = secrets.token_hex(3)
    roles = ("ana", "ben", "cara", "dora", "dee", "eve")
    return {role: f"{role}-{tag}" for role in roles}


@pytest.fixture
def legacy_server(tmp_path, names):
    """admin.db and user_dbs/: two sound users (one in mixed case), a damaged and an
    inconsistent collection, one in another schema, a user without a file, an
    invalid username, and a file without a user."""
    user_dbs = tmp_path / "user_dbs"
    user_dbs.mkdir()
    ana = names["ana"].capitalize()  # the Flask server kept names as typed
    shutil.copyfile(FIXTURE, user_dbs / f"{ana}.anki2")
    shutil.copyfile(FIXTURE, user_dbs / f"{names['ben']}.anki2")
    damaged_copy(user_dbs / f"{names['cara']}.anki2")
    inconsistent_copy(user_dbs / f"{names['dora']}.anki2")
    schema_18_copy(user_dbs / f"{names['dee']}.anki2")
    shutil.copyfile(FIXTURE, user_dbs / "bad name!.anki2")
    shutil.copyfile(FIXTURE, user_dbs / f"ghost-{secrets.token_hex(3)}.anki2")
    users = [(ana, "Ana", hashed(OLD_PASSWORD))]
    users += [(names[role], role.title(), hashed(OLD_PASSWORD)) for role in names if role != "ana"]
    users.append(("bad name!", "Bad", hashed(OLD_PASSWORD)))
    admin_db = admin_db_write(tmp_path / "admin.db", users)
    return admin_db, user_dbs


def import_legacy(admin_db: Path | str, user_dbs: Path | str, *extra: str) -> dict[str, str]:
    """Run the command; {name: its report line}, plus "summary"."""
    out = io.StringIO()
    call_command(
        "import_legacy", "--admin-db", admin_db, "--user-dbs", user_dbs, *extra, stdout=out
    )
    lines = out.getvalue().splitlines()
    # Each line is a 13-character verdict, a space, then "name" or "name: reason".
    report = {line[14:].split(":")[0]: line for line in lines[:-1]}
    return {**report, "summary": lines[-1]}


def login(username: str, password: str):
    return Client().post(
        "/api/auth/login",
        {"username": username, "password": password},
        content_type="application/json",
    )


def dump(path: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return list(conn.iterdump())


def snapshot_download(username: str, target: Path) -> Path:
    body = aws.s3().get_object(Bucket=settings.JAVUMBO_BUCKET, Key=store.snapshot_key(username))
    target.write_bytes(body["Body"].read())
    return target


def object_versions(username: str) -> list[str]:
    listed = aws.s3().list_object_versions(
        Bucket=settings.JAVUMBO_BUCKET, Prefix=store.user_prefix(username)
    )
    return [version["VersionId"] for version in listed.get("Versions", [])]


def fingerprint(folder: Path) -> dict[str, str]:
    files = [path for path in folder.rglob("*") if path.is_file()]
    return {str(path): hashlib.sha256(path.read_bytes()).hexdigest() for path in files}


# --- The first run ----------------------------------------------------------------------------


def test_it_migrates_sound_users_and_reports_everything_else(legacy_server, names, tmp_path):
    report = import_legacy(*legacy_server)
    ana, ben = names["ana"], names["ben"]
    assert report[ana].startswith("migrated") and report[ben].startswith("migrated")
    assert report[names["cara"]].startswith("failed") and "malformed" in report[names["cara"]]
    assert "integrity check failed" in report[names["dora"]]
    assert "not the one row of schema 11" in report[names["dee"]]
    assert "no collection file" in report[names["eve"]]
    assert report["bad name!"].startswith("failed") and "3 to 32 characters" in report["bad name!"]
    [ghost] = [line for name, line in report.items() if name.startswith("ghost-")]
    assert ghost.startswith("skipped") and "no user of this name" in ghost
    assert report["summary"] == "2 migrated, 1 skipped, 5 failed."
    for role in ("cara", "dora", "dee", "eve"):
        assert learners.learner_get(names[role]) is None
        assert store.snapshot_head(names[role]) is None
    assert learners.learner_get("bad name!") is None


def test_it_uploads_the_checked_collection_with_a_snapshot_and_journal_meta(
    legacy_server, names, tmp_path
):
    import_legacy(*legacy_server)
    learner = learners.learner_get(names["ana"])
    assert learner is not None and learner.name == "Ana" and learner.active
    head = store.snapshot_head(names["ana"])
    position = inspect.journal_position(names["ana"])
    assert head is not None and head.seq == 0 and head.collection_id == learner.collection_id
    assert position.exists and position.collection_id == learner.collection_id
    uploaded = snapshot_download(names["ana"], tmp_path / "uploaded.anki2")
    assert dump(uploaded) == dump(FIXTURE)


def test_it_lets_migrated_learners_sign_in_with_their_old_password(legacy_server, names, api_as):
    import_legacy(*legacy_server)
    signed_in = login(names["ana"].capitalize(), OLD_PASSWORD)
    assert signed_in.status_code == 200
    assert signed_in.json()["user"]["username"] == names["ana"]
    assert login(names["ben"], "not-the-old-password").status_code == 401
    status = api_as(learners.learner_get(names["ben"])).get("/api/session/status")
    assert status.status_code == 200 and status.json()["headSeq"] == 0


# --- Running it again, and dry runs -----------------------------------------------------------


def test_a_second_run_skips_what_is_there_and_changes_nothing(legacy_server, names):
    import_legacy(*legacy_server)
    versions = object_versions(names["ana"]) + object_versions(names["ben"])
    before = [learners.learner_get(names[role]) for role in ("ana", "ben")]
    report = import_legacy(*legacy_server)
    assert report[names["ana"]] == f"skipped       {names['ana']}: already migrated"
    assert report[names["ben"]] == f"skipped       {names['ben']}: already migrated"
    assert report["summary"] == "0 migrated, 3 skipped, 5 failed."
    assert object_versions(names["ana"]) + object_versions(names["ben"]) == versions
    assert [learners.learner_get(names[role]) for role in ("ana", "ben")] == before


def test_a_dry_run_reports_and_changes_nothing(legacy_server, names):
    admin_db, user_dbs = legacy_server
    files = fingerprint(admin_db.parent)
    report = import_legacy(admin_db, user_dbs, "--dry-run")
    assert report[names["ana"]].startswith("would migrate")
    assert report[names["cara"]].startswith("would fail")
    assert report["summary"].startswith("Dry run, nothing was changed.")
    assert report["summary"].endswith("2 migrated, 1 skipped, 5 failed.")
    for role in names:
        assert learners.learner_get(names[role]) is None
        assert object_versions(names[role]) == []
        assert not inspect.journal_position(names[role]).exists
    assert fingerprint(admin_db.parent) == files


def test_it_finishes_an_import_that_stopped_before_the_collection(legacy_server, names):
    learners.learner_import(
        username=names["ben"], name="Ben", password_hash=hashed(OLD_PASSWORD), origin=ORIGIN
    )
    report = import_legacy(*legacy_server)
    assert report[names["ben"]].startswith("migrated") and "finished" in report[names["ben"]]
    assert store.snapshot_head(names["ben"]) is not None
    assert login(names["ben"], OLD_PASSWORD).status_code == 200


def test_it_never_takes_over_a_learner_who_registered_the_name(tmp_path, learner_make):
    zed = learner_make("zed")
    user_dbs = tmp_path / "user_dbs"
    user_dbs.mkdir()
    shutil.copyfile(FIXTURE, user_dbs / f"{zed.username}.anki2")
    admin_db = admin_db_write(tmp_path / "admin.db", [(zed.username, "Zed", hashed(OLD_PASSWORD))])
    report = import_legacy(admin_db, user_dbs)
    assert report[zed.username].startswith("failed")
    assert "not migrated" in report[zed.username]
    assert login(zed.username, LEARNER_PASSWORD).status_code == 200
    assert login(zed.username, OLD_PASSWORD).status_code == 401
    assert learners.learner_get(zed.username) == zed


def test_it_refuses_legacy_names_that_collide_in_lowercase(tmp_path):
    name = f"kim-{secrets.token_hex(3)}"
    user_dbs = tmp_path / "user_dbs"
    user_dbs.mkdir()
    for legacy_name in (name, name.upper()):
        shutil.copyfile(FIXTURE, user_dbs / f"{legacy_name}.anki2")
    users = [(name, "Kim", hashed(OLD_PASSWORD)), (name.upper(), "KIM", hashed(OLD_PASSWORD))]
    report = import_legacy(admin_db_write(tmp_path / "admin.db", users), user_dbs)
    assert "more than one legacy user" in report[name]
    assert "more than one legacy user" in report[name.upper()]
    assert learners.learner_get(name) is None


def test_it_refuses_a_file_that_is_not_the_flask_servers_admin_db(tmp_path):
    user_dbs = tmp_path / "user_dbs"
    user_dbs.mkdir()
    with pytest.raises(CommandError, match="no users table"):
        import_legacy(shutil.copyfile(FIXTURE, tmp_path / "admin.db"), user_dbs)


def test_it_reads_the_legacy_data_from_s3_for_zappa_manage(legacy_server, names):
    admin_db, user_dbs = legacy_server
    prefix = f"legacy-{secrets.token_hex(3)}"
    bucket = settings.JAVUMBO_BUCKET
    aws.s3().upload_file(str(admin_db), bucket, f"{prefix}/admin.db")
    for path in user_dbs.iterdir():
        aws.s3().upload_file(str(path), bucket, f"{prefix}/user_dbs/{path.name}")
    local = import_legacy(admin_db, user_dbs, "--dry-run")
    remote = import_legacy(
        f"s3://{bucket}/{prefix}/admin.db", f"s3://{bucket}/{prefix}/user_dbs/", "--dry-run"
    )
    assert remote == local
    report = import_legacy(f"s3://{bucket}/{prefix}/admin.db", f"s3://{bucket}/{prefix}/user_dbs")
    assert report["summary"] == "2 migrated, 1 skipped, 5 failed."
    assert login(names["ana"], OLD_PASSWORD).status_code == 200
