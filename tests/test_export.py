"""GET /api/export: the .apkg inline when it is small, a presigned S3 link above the
threshold (both paths exercised), a deck with its subdecks, without scheduling, built
from the learner's current state (journal entries not yet compacted included), with the
learner's media, and without the keys Javumbo keeps in `col.conf` for itself."""

from __future__ import annotations

import io
import json
import re
import time
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings

from sessions_cache import store
from tests.test_import import (
    collection_path,
    content,
    fixture_package,
    package_contents,
    reading,
    upload,
)


@pytest.fixture
def api(alice: Any, api_as: Any) -> Any:
    client = api_as(alice)
    assert upload(client, fixture_package()).status_code == 200
    return client


def exported(response: Any, workdir: Path) -> Any:
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    return package_contents(response.content, workdir)


def test_a_small_export_is_answered_as_the_apkg_itself(alice, api, tmp_path):
    response = api.get("/api/export")
    disposition = response["Content-Disposition"]
    assert re.fullmatch(
        rf'attachment; filename="javumbo-{alice.username}-\d{{4}}-\d\d-\d\d\.apkg"', disposition
    )
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert archive.namelist() == ["collection.anki2", "0", "media"]
        assert json.loads(archive.read("media")) == {"0": "sol.png"}
    package = exported(response, tmp_path)
    assert content(package.collection_path) == content(collection_path(alice.username))
    assert package.source_format == "legacy-anki2"


def test_the_package_can_be_asked_for_by_its_content_type(api):
    response = api.get("/api/export", HTTP_ACCEPT="application/octet-stream")
    assert response.status_code == 200
    assert response.content[:2] == b"PK"


def fetch(url: str) -> tuple[bytes, Any]:
    with urllib.request.urlopen(url, timeout=30) as answer:
        return answer.read(), answer.headers


def assert_published(response: Any, alice: Any, tmp_path: Path) -> None:
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"downloadUrl", "expiresAt", "filename", "bytes"}
    assert body["filename"].startswith(f"javumbo-{alice.username}-")
    lifetime = django_settings.JAVUMBO_EXPORT_URL_SECONDS * 1000
    assert 0 < body["expiresAt"] - time.time() * 1000 <= lifetime
    assert body["downloadUrl"].startswith(django_settings.AWS_ENDPOINT_URLS["s3"])
    data, headers = fetch(body["downloadUrl"])
    assert len(data) == body["bytes"]
    assert body["filename"] in headers["Content-Disposition"]
    package = package_contents(data, tmp_path)
    assert content(package.collection_path) == content(collection_path(alice.username))


def test_above_the_threshold_the_answer_is_a_presigned_link(alice, api, tmp_path, settings):
    settings.JAVUMBO_EXPORT_INLINE_MAX_BYTES = 1000
    assert_published(api.get("/api/export"), alice, tmp_path)


def test_inline_false_always_answers_the_link(alice, api, tmp_path):
    assert_published(api.get("/api/export?inline=false"), alice, tmp_path)


def test_the_link_points_under_exports_where_the_bucket_expires_it(alice, api):
    url = api.get("/api/export?inline=false").json()["downloadUrl"]
    assert f"/exports/{alice.username}/" in url


def test_a_deck_is_exported_with_its_subdecks_only(alice, api, tmp_path):
    decks = {
        d["name"]: d["id"] for d in json.loads(collection_json(alice.username, "decks")).values()
    }
    package = exported(api.get(f"/api/export?deck={decks['Spanish']}"), tmp_path)
    ours = content(collection_path(alice.username))
    theirs = content(package.collection_path)
    assert theirs["cards"] == {
        key: card for key, card in ours["cards"].items() if card[0] == "Spanish::Verbs"
    }
    assert {name for name, *_ in theirs["cards"].values()} == {"Spanish::Verbs"}
    assert "Geography" not in theirs["decks"]


def collection_json(username: str, column: str) -> str:
    with reading(collection_path(username)) as conn:
        return str(conn.execute(f"SELECT {column} FROM col").fetchone()[0])


def test_without_scheduling_cards_are_new_and_there_is_no_history(api, tmp_path):
    package = exported(api.get("/api/export?scheduling=false"), tmp_path)
    with reading(package.collection_path) as conn:
        assert conn.execute("SELECT DISTINCT type, queue, ivl, reps FROM cards").fetchall() == [
            (0, 0, 0, 0)
        ]
        assert conn.execute("SELECT count() FROM revlog").fetchone() == (0,)
        assert conn.execute("SELECT count() FROM notes").fetchone() == (12,)


def test_the_export_holds_changes_not_yet_compacted(alice, api, tmp_path):
    response = api.post("/api/cards", {"front": "fresh front", "back": "fresh back"}, format="json")
    assert response.status_code == 201
    _, meta = store.journal_read(alice.username, 0)
    assert meta is not None and meta.snapshot_seq == 0  # everything is still in the journal
    package = exported(api.get("/api/export"), tmp_path)
    with reading(package.collection_path) as conn:
        fields = [flds for (flds,) in conn.execute("SELECT flds FROM notes")]
    assert "fresh front\x1ffresh back" in fields


def test_the_learners_media_goes_back_into_the_export(api, tmp_path):
    original = (
        package_contents(fixture_package(), tmp_path / "original").media["sol.png"].read_bytes()
    )
    package = exported(api.get("/api/export"), tmp_path / "export")
    assert {name: path.read_bytes() for name, path in package.media.items()} == {
        "sol.png": original
    }


def test_keys_javumbo_keeps_for_itself_are_left_out(alice, api, tmp_path):
    api.get("/api/stats")  # the first look-up of the timezone records it in the collection
    assert any(
        key.startswith("javumbo") for key in json.loads(collection_json(alice.username, "conf"))
    )
    package = exported(api.get("/api/export"), tmp_path)
    with reading(package.collection_path) as conn:
        conf = json.loads(conn.execute("SELECT conf FROM col").fetchone()[0])
    assert conf and not [key for key in conf if key.lower().startswith("javumbo")]


def test_an_unknown_deck_is_404(api):
    response = api.get("/api/export?deck=424242")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_a_bad_option_is_400(api):
    response = api.get("/api/export?scheduling=maybe")
    assert response.status_code == 400
    assert "scheduling" in response.json()["details"]


def test_export_needs_a_learner(client):
    assert client.get("/api/export").status_code == 401
