"""Compaction folds the journal into a new snapshot without ever losing an entry."""

from __future__ import annotations

import itertools
import sqlite3
import time
from unittest import mock

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command

from javumbo import aws
from sessions_cache import engine, store
from tests.engine_support import learner_create, requests_made

pytestmark = pytest.mark.urls("tests.collection_views")
ids = itertools.count(1_810_000_000_000)


@pytest.fixture
def alice(container):
    return learner_create("alice")


def write(learner, n=1):
    client = learner.client()
    written = []
    for _ in range(n):
        rid = next(ids)
        assert client.post("/api/test/revlog", {"ids": [rid]}, format="json").status_code == 201
        written.append(rid)
    return written


def snapshot(username):
    return store.snapshot_head(username)


def test_reaching_the_threshold_compacts_into_a_new_snapshot(alice, settings):
    settings.JAVUMBO_COMPACT_THRESHOLD = 5
    write(alice, 4)
    assert snapshot(alice.username).seq == 0
    write(alice, 1)
    assert snapshot(alice.username).seq == 5
    entries, meta = store.journal_read(alice.username, 0)
    assert meta is not None and meta.snapshot_seq == 5
    assert all(e.expires_at is not None for e in entries)


def test_folded_entries_are_not_needed_by_a_cold_container(alice, container, settings):
    settings.JAVUMBO_COMPACT_THRESHOLD = 3
    written = write(alice, 7)
    container()
    response = alice.client().get("/api/test/revlog")
    assert requests_made(response)["s3"] == 1
    assert set(written) <= set(response.json()["ids"])


def test_a_container_behind_expired_entries_downloads_the_snapshot(alice, container, settings):
    first = django_settings.JAVUMBO_CACHE_DIR
    alice.client().get("/api/test/revlog")  # the first container is warm at seq 0
    second = container()
    settings.JAVUMBO_COMPACT_THRESHOLD = 4
    written = write(alice, 4)  # the second container writes and compacts
    settings.JAVUMBO_CACHE_DIR = first
    later = time.time() + django_settings.JAVUMBO_FOLDED_ENTRY_TTL_SECONDS + 1
    with mock.patch("sessions_cache.store.time.time", return_value=later):
        response = alice.client().get("/api/test/revlog")
    assert requests_made(response)["s3"] == 1  # the folded entries count as gone
    assert set(written) <= set(response.json()["ids"])
    assert second != first


def test_a_stale_writer_cannot_overwrite_a_newer_snapshot(alice):
    write(alice, 2)
    old = snapshot(alice.username)
    engine.collection_compact(username=alice.username)
    newer = snapshot(alice.username)
    assert newer.seq == 2 and newer.etag != old.etag
    with pytest.raises(store.SnapshotConflict):
        store.snapshot_upload(
            alice.username, b"stale", seq=1, collection_id=alice.collection_id, based_on=old.etag
        )
    assert snapshot(alice.username).etag == newer.etag


def test_a_lagging_compactor_leaves_the_newer_snapshot_in_place(alice, container):
    lagging = django_settings.JAVUMBO_CACHE_DIR
    write(alice, 2)
    with engine.collection_locked(alice.username, None) as opened:
        container()
        write(alice, 3)  # meanwhile another container writes and compacts to seq 5
        engine.collection_compact(username=alice.username)
        django_settings.JAVUMBO_CACHE_DIR = lagging
        result = engine.compact(opened)  # based on the seq-0 snapshot, at seq 2
    assert snapshot(alice.username).seq == 5
    assert result.snapshot_seq == 2
    _, meta = store.journal_read(alice.username, 0)
    assert meta is not None and meta.snapshot_seq == 5


def test_compaction_with_nothing_pending_uploads_nothing(alice):
    with mock.patch.object(aws.s3(), "put_object", wraps=aws.s3().put_object) as put:
        result = engine.collection_compact(username=alice.username)
    assert result.folded == 0 and put.call_count == 0


def test_the_scheduled_job_compacts_only_idle_learners(container):
    idle, busy = learner_create("idle"), learner_create("busy")
    write(idle, 2)
    write(busy, 2)
    compacted = {r.username for r in engine.compact_idle(idle_seconds=0)}
    assert {idle.username, busy.username} <= compacted
    write(busy, 1)
    compacted = {r.username for r in engine.compact_idle(idle_seconds=3600)}
    assert busy.username not in compacted
    assert snapshot(idle.username).seq == 2


def test_the_scheduled_commands_run(capsys, alice):
    write(alice, 1)
    call_command("compact_idle", "--idle-seconds", "0")
    assert "Compacted" in capsys.readouterr().out
    call_command("clean_cache", "--max-idle-seconds", "0")
    assert "Removed" in capsys.readouterr().out
    from javumbo import events

    events.compact_idle_collections({}, None)
    events.clean_container_cache({}, None)
    assert snapshot(alice.username).seq == 1


@pytest.mark.urls("tests.collection_views")
def test_compaction_deletes_folded_spills_and_a_lagging_container_uses_the_snapshot(
    alice, container
):
    lagging = django_settings.JAVUMBO_CACHE_DIR
    alice.client().get("/api/test/revlog")  # warm at seq 0
    container()
    response = alice.client().post("/api/test/note", {"size": 500_000, "id": 78}, format="json")
    assert response.status_code == 201
    entries, _ = store.journal_read(alice.username, 0)
    spill = entries[0].spill
    assert spill is not None
    engine.collection_compact(username=alice.username)
    listing = aws.s3().list_object_versions(Bucket=django_settings.JAVUMBO_BUCKET, Prefix=spill)
    assert not listing.get("Versions") and not listing.get("DeleteMarkers")
    django_settings.JAVUMBO_CACHE_DIR = lagging
    response = alice.client().get("/api/test/revlog")
    assert response.status_code == 200
    assert requests_made(response)["s3"] == 1  # the snapshot, not the deleted spill
    cached = sqlite3.connect(lagging / alice.username / "collection.anki2")
    assert cached.execute("SELECT length(flds) FROM notes WHERE id = 78").fetchone() == (500_000,)
    cached.close()


def test_a_deactivated_learners_pending_changes_are_still_compacted(alice):
    write(alice, 2)
    engine.collection_set_active(username=alice.username, active=False)
    assert alice.username in {r.username for r in engine.compact_idle(idle_seconds=0)}
    assert snapshot(alice.username).seq == 2
