"""The operators' database kept durable in S3: containers are local files (or whole
``manage.py`` processes) sharing one object in the suite's local S3."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.test import RequestFactory

from javumbo import aws
from javumbo.accounting import measuring
from javumbo.operators_db import (
    OperatorsDatabase,
    OperatorsDatabaseConflict,
    OperatorsDatabaseMiddleware,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def key() -> str:
    return f"operators/test-{secrets.token_hex(4)}.sqlite3"


@pytest.fixture
def containers(tmp_path, key):
    """containers(name) -> that container's copy of the operators' database."""

    def make(name: str) -> OperatorsDatabase:
        path = tmp_path / name / "default.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        return OperatorsDatabase(path, bucket=settings.JAVUMBO_BUCKET, key=key)

    return make


def write(database: OperatorsDatabase, value: str) -> None:
    with contextlib.closing(sqlite3.connect(database.path)) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS log (value TEXT)")
        conn.execute("INSERT INTO log VALUES (?)", (value,))
        conn.commit()


def rows(path: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return [value for (value,) in conn.execute("SELECT value FROM log ORDER BY rowid")]


def in_s3(key: str, scratch: Path) -> list[str]:
    body = aws.s3().get_object(Bucket=settings.JAVUMBO_BUCKET, Key=key)["Body"].read()
    scratch.write_bytes(body)
    return rows(scratch)


def started(containers, *names: str) -> list[OperatorsDatabase]:
    """The first container publishes a database holding "base"; the others fetch it."""
    first, *others = [containers(name) for name in names]
    first.refresh()
    write(first, "base")
    assert first.publish()
    for other in others:
        assert other.refresh()
    return [first, *others]


# --- One object, many containers --------------------------------------------------------------


def test_it_creates_the_first_copy_only_if_there_is_none(containers, key, tmp_path):
    a, b = containers("a"), containers("b")
    a.refresh()
    b.refresh()
    write(a, "from a")
    write(b, "from b")
    assert a.publish()
    with pytest.raises(OperatorsDatabaseConflict):
        b.publish()
    assert in_s3(key, tmp_path / "s3") == ["from a"]
    assert rows(b.path) == ["from a"]


def test_it_starts_from_an_empty_database_when_s3_has_no_copy(containers):
    a = containers("a")
    write(a, "left behind by an earlier process")
    assert not a.refresh()
    with contextlib.closing(sqlite3.connect(a.path)) as conn:
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == []
    assert not a.publish()  # an empty database is not a change worth a first copy


def test_it_fetches_another_containers_change_and_nothing_when_there_is_none(containers):
    a, b = started(containers, "a", "b")
    write(a, "a1")
    a.publish()
    assert b.refresh()
    assert rows(b.path) == ["base", "a1"]
    before = b.path.read_bytes()
    with measuring() as cost:
        assert not b.refresh()
    assert dict(cost.s3_ops) == {"GetObject": 1}  # If-None-Match: answered 304
    assert b.path.read_bytes() == before


def test_it_refuses_a_stale_writer_and_keeps_the_newer_copy(containers, key, tmp_path):
    a, b = started(containers, "a", "b")
    write(a, "a1")
    assert a.publish()
    write(b, "b1")  # based on the copy before a1
    with pytest.raises(OperatorsDatabaseConflict) as refused:
        b.publish()
    assert refused.value.restored
    assert in_s3(key, tmp_path / "s3") == ["base", "a1"]
    assert rows(b.path) == ["base", "a1"]  # b's change is gone, a's is there
    write(b, "b1")
    assert b.publish()
    assert a.refresh() and rows(a.path) == ["base", "a1", "b1"]


def test_it_lets_exactly_one_of_many_concurrent_writers_win(containers, key, tmp_path):
    racers = started(containers, *[f"c{i}" for i in range(6)])
    for racer in racers:
        write(racer, racer.path.parent.name)
    outcomes: list[str] = []
    barrier = threading.Barrier(len(racers))

    def race(racer: OperatorsDatabase) -> None:
        barrier.wait()
        try:
            racer.publish()
            outcomes.append(racer.path.parent.name)
        except OperatorsDatabaseConflict:
            outcomes.append("refused")

    threads = [threading.Thread(target=race, args=(racer,)) for racer in racers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    [winner] = [outcome for outcome in outcomes if outcome != "refused"]
    assert in_s3(key, tmp_path / "s3") == ["base", winner]
    assert all(rows(racer.path) == ["base", winner] for racer in racers)


def test_it_never_trusts_a_local_copy_changed_behind_its_back(containers, key, tmp_path):
    [a] = started(containers, "a")
    write(a, "never published")
    assert a.refresh()  # a plain GET, not If-None-Match: the local file is not what S3 has
    assert rows(a.path) == ["base"]
    assert in_s3(key, tmp_path / "s3") == ["base"]


def test_it_publishes_nothing_when_nothing_changed(containers):
    [a] = started(containers, "a")
    etag = a.etag
    with measuring() as cost:
        assert not a.publish()
    assert cost.s3_requests == 0 and a.etag == etag


# --- The middleware ---------------------------------------------------------------------------


def admin_post(path: str = "/admin/operators/learners/x/logout"):
    return RequestFactory().post(path, {"field": "value"})


def test_it_runs_a_request_again_when_another_container_published_first(
    containers, key, tmp_path, settings
):
    settings.JAVUMBO_OPERATORS_DB_SYNC = True
    a, b = started(containers, "a", "b")
    forms: list[str] = []

    def view(request) -> HttpResponse:
        forms.append(request.POST["field"])
        if len(forms) == 1:  # another container publishes while this request runs
            write(a, "a1")
            a.publish()
        write(b, "b1")
        return HttpResponse("done")

    response = OperatorsDatabaseMiddleware(view, database=b)(admin_post())
    assert response.status_code == 200
    assert forms == ["value", "value"]  # the second run read the same form
    assert in_s3(key, tmp_path / "s3") == ["base", "a1", "b1"]


def test_it_answers_409_when_every_try_loses(containers, key, tmp_path, settings):
    settings.JAVUMBO_OPERATORS_DB_SYNC = True
    settings.JAVUMBO_OPERATORS_DB_RETRIES = 2
    a, b = started(containers, "a", "b")

    def view(request) -> HttpResponse:
        write(a, "a")
        a.publish()
        write(b, "b")
        return HttpResponse("done")

    response = OperatorsDatabaseMiddleware(view, database=b)(admin_post())
    assert response.status_code == 409
    assert in_s3(key, tmp_path / "s3") == ["base", "a", "a"]
    assert rows(b.path) == ["base", "a", "a"]


def test_it_publishes_only_admin_requests(containers, key, tmp_path, settings):
    settings.JAVUMBO_OPERATORS_DB_SYNC = True
    [a] = started(containers, "a")

    def view(request) -> HttpResponse:
        write(a, "from the api")
        return HttpResponse("done")

    OperatorsDatabaseMiddleware(view, database=a)(RequestFactory().post("/api/anything"))
    assert in_s3(key, tmp_path / "s3") == ["base"]
    a.refresh()
    assert rows(a.path) == ["base"]


# --- Whole containers: manage.py processes with their own files ------------------------------


def manage(database: Path, key: str, *args: str, **extra_env: str) -> str:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "javumbo.settings",
        "JAVUMBO_DEFAULT_DB": str(database),
        "JAVUMBO_OPERATORS_DB_SYNC": "1",
        "JAVUMBO_OPERATORS_DB_KEY": key,
        **extra_env,
    }
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


ADMIN_ACTION = """
from django.test import Client
client = Client()
assert client.login(username="{operator}", password="{password}")
response = client.post("/admin/operators/learners/{learner}/logout")
print(response.status_code)
"""

WHAT_IS_THERE = """
import json
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.test import Client
print(json.dumps({{
    "staff": sorted(u.username for u in get_user_model().objects.filter(is_staff=True)),
    "log": [[e.user.username, e.object_repr, e.change_message] for e in LogEntry.objects.all()],
    "login": Client().login(username="{operator}", password="{password}"),
}}))
"""


@pytest.mark.slow
def test_a_cold_container_restores_the_operators_and_the_admin_log(tmp_path, key, learner_make):
    learner = learner_make("dana")
    operator, password = f"op-{secrets.token_hex(3)}", "an operator's long password"
    first, cold = tmp_path / "first.sqlite3", tmp_path / "cold.sqlite3"
    manage(first, key, "migrate", "--no-input", "-v", "0")
    manage(
        first,
        key,
        "createsuperuser",
        "--no-input",
        f"--username={operator}",
        "--email=op@example.com",
        DJANGO_SUPERUSER_PASSWORD=password,
    )
    action = ADMIN_ACTION.format(operator=operator, password=password, learner=learner.username)
    assert manage(first, key, "shell", "-v", "0", "-c", action).strip() == "302"

    query = WHAT_IS_THERE.format(operator=operator, password=password)
    found = json.loads(manage(cold, key, "shell", "-v", "0", "-c", query))
    assert found["staff"] == [operator]
    assert found["login"] is True
    [[who, what, message]] = found["log"]
    assert (who, what) == (operator, f"learner {learner.username}")
    assert message.startswith("Forced logout")
