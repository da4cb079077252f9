"""POST /api/import: every package format Anki writes, the merge rules, media kept in S3,
bad files refused with nothing changed, a large import made durable, a concurrent change
from another container kept.

What an import should give is read from the package itself with decks.apkg's reader
(checked against the real Anki in tests/unit/test_apkg_real.py);
test_exchange_real_anki.py compares the merge with what Anki's own importer does.

The helpers at the top are shared by test_export.py, test_stats.py and
test_exchange_real_anki.py.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import sqlite3
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import requests
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile

from decks import anki, exchange
from decks.apkg import PackageContents, package_read
from javumbo import aws
from review.scheduler import timing_for
from sessions_cache import journal, store
from sessions_cache.access import current_access
from sessions_cache.cache import CachedCollection

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "anki"
PACKAGES = (
    "javumbo_fixture_legacy1.apkg",
    "javumbo_fixture_legacy2.apkg",
    "javumbo_fixture_latest.apkg",
)
MANIFEST = json.loads((FIXTURES / "fixtures_manifest.json").read_text())
TABLES = ("col", "notes", "cards", "revlog", "graves")


# --- shared helpers ------------------------------------------------------------------------


def collection_path(username: str) -> Path:
    """The learner's collection as this container holds it after its last request."""
    return CachedCollection(username).path


@contextlib.contextmanager
def reading(path: Path) -> Iterator[sqlite3.Connection]:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        yield conn


@contextlib.contextmanager
def writing(path: Path) -> Iterator[sqlite3.Connection]:
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        yield conn


def rows(username: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with reading(collection_path(username)) as conn:
        return conn.execute(sql, params).fetchall()


def col_json(path: Path, column: str) -> Any:
    with reading(path) as conn:
        return json.loads(conn.execute(f"SELECT {column} FROM col").fetchone()[0])


def media_stored(username: str) -> dict[str, bytes]:
    prefix = f"users/{username}/media/"
    bucket = django_settings.JAVUMBO_BUCKET
    listed = aws.s3().list_objects_v2(Bucket=bucket, Prefix=prefix)
    return {
        item["Key"][len(prefix) :]: aws.s3()
        .get_object(Bucket=bucket, Key=item["Key"])["Body"]
        .read()
        for item in listed.get("Contents", [])
    }


def journal_length(username: str) -> int:
    entries, _ = store.journal_read(username, 0)
    return len(entries)


def state_of(username: str) -> tuple[Any, ...]:
    """Everything an import could change: every row, the journal, the media."""
    with reading(collection_path(username)) as conn:
        tables = {t: conn.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in TABLES}
    return tables, journal_length(username), media_stored(username)


def upload(api: Any, data: bytes, name: str = "deck.apkg", **fields: Any) -> Any:
    body = {"file": SimpleUploadedFile(name, data, "application/octet-stream"), **fields}
    return api.post("/api/import", body, format="multipart")


def zipped(entries: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def legacy_package(collection: Path, media: dict[str, bytes] | None = None) -> bytes:
    """A legacy .apkg around a schema-11 collection file, laid out as Anki lays one out."""
    names = sorted(media or {})
    entries = {"collection.anki2": collection.read_bytes()}
    entries |= {str(i): (media or {})[name] for i, name in enumerate(names)}
    entries["media"] = json.dumps({str(i): name for i, name in enumerate(names)}).encode()
    return zipped(entries)


def package_contents(data: bytes, workdir: Path) -> PackageContents:
    """What is inside a package, read by decks.apkg (schema 11 whatever the format)."""
    return package_read(io.BytesIO(data), workdir=workdir)


def days_elapsed(conn: sqlite3.Connection) -> int:
    crt, conf = conn.execute("SELECT crt, conf FROM col").fetchone()
    timing = timing_for(
        collection_created=crt,
        now_ms=int(time.time() * 1000),
        timezone="UTC",
        rollover_hour=json.loads(conf).get("rollover", 4),
    )
    return timing.days_elapsed


def notetype_shape(notetype: dict[str, Any]) -> tuple[Any, ...]:
    """A note type by what its notes depend on (Anki may rename an imported one)."""
    return (
        notetype.get("type", 0),
        tuple(f["name"] for f in notetype["flds"]),
        tuple(t["name"] for t in notetype["tmpls"]),
    )


def content(path: Path) -> dict[str, Any]:
    """A schema-11 collection by what survives an import: guids, note type shapes and deck
    names for ids, due dates in days from the collection's own today."""
    with reading(path) as conn:
        today = days_elapsed(conn)
        models, decks = (
            json.loads(v) for v in conn.execute("SELECT models, decks FROM col").fetchone()
        )
        names = {int(key): deck["name"] for key, deck in decks.items()}
        notes = {
            guid: (notetype_shape(models[str(mid)]), flds, tags, mod)
            for guid, mid, flds, tags, mod in conn.execute(
                "SELECT guid, mid, flds, tags, mod FROM notes"
            )
        }
        cards = {}
        for guid, ord, did, kind, queue, due, *rest in conn.execute(
            "SELECT n.guid, c.ord, c.did, c.type, c.queue, c.due, c.ivl, c.factor, c.reps,"
            " c.lapses, c.left, c.odue, c.flags FROM cards c JOIN notes n ON n.id = c.nid"
        ):
            relative = due - today if queue in (2, 3) or kind == 2 else due
            cards[(guid, ord)] = (names[did], kind, queue, relative, *rest)
        revlog = conn.execute(
            "SELECT r.id, n.guid, c.ord, r.ease, r.ivl, r.lastIvl, r.factor, r.time, r.type"
            " FROM revlog r JOIN cards c ON c.id = r.cid JOIN notes n ON n.id = c.nid ORDER BY r.id"
        ).fetchall()
    tags = sorted({tag for _, _, text, _ in notes.values() for tag in anki.tags_from_text(text)})
    return {
        "notes": notes,
        "cards": cards,
        "revlog": revlog,
        "decks": sorted(names.values()),
        "tags": tags,
    }


def fixture_package(name: str = "javumbo_fixture_legacy2.apkg") -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_collection(workdir: Path) -> tuple[Path, dict[str, bytes]]:
    """A writable copy of the fixture's collection (schema 11) and its media, to craft from."""
    contents = package_contents(fixture_package(), workdir)
    return contents.collection_path, {name: p.read_bytes() for name, p in contents.media.items()}


@pytest.fixture
def api(alice: Any, api_as: Any) -> Any:
    return api_as(alice)


# --- every format imports with all its content ------------------------------------------------


@pytest.mark.parametrize("name", PACKAGES)
def test_it_imports_every_fixture_package_with_all_its_content(name, alice, api, tmp_path):
    data = fixture_package(name)
    response = upload(api, data, name)
    assert response.status_code == 200, response.json()
    package = package_contents(data, tmp_path)
    expected = content(package.collection_path)
    ours = content(collection_path(alice.username))
    assert ours["notes"] == expected["notes"]
    assert ours["cards"] == expected["cards"]
    assert ours["revlog"] == expected["revlog"]
    assert ours["decks"] == expected["decks"]
    assert ours["tags"] == expected["tags"] == MANIFEST["content"]["tags"]
    assert set(col_json(collection_path(alice.username), "tags")) >= set(expected["tags"])
    assert media_stored(alice.username) == {n: p.read_bytes() for n, p in package.media.items()}
    counts = MANIFEST["content"]
    assert response.json() == {
        "notes": {"added": counts["notes"], "updated": 0, "skipped": 0},
        "cards": {"added": counts["cards"], "updated": 0, "skipped": 0},
        "revlog": {"added": counts["revlog"]},
        "decks": {"added": 3},  # Default is the learner's own Default, by name
        "notetypes": {"added": 0, "matched": 3},  # the stock types, by name and fields
        "media": {"added": 1, "skipped": 0},
        "skipped": [],
    }


def test_notes_of_a_matching_note_type_use_the_learners_own(alice, api):
    ours = {
        nt["name"]: int(nt["id"])
        for nt in col_json(collection_path(alice.username), "models").values()
    }
    upload(api, fixture_package())
    models = col_json(collection_path(alice.username), "models")
    assert {nt["name"]: int(nt["id"]) for nt in models.values()} == ours
    used = {mid for (mid,) in rows(alice.username, "SELECT DISTINCT mid FROM notes")}
    assert used <= set(ours.values())


# --- the merge ------------------------------------------------------------------------------------


def test_a_second_import_skips_every_known_note_and_changes_nothing(alice, api):
    upload(api, fixture_package())
    before = state_of(alice.username)
    response = upload(api, fixture_package())
    assert response.status_code == 200
    body = response.json()
    assert body["notes"] == {"added": 0, "updated": 0, "skipped": 12}
    assert body["cards"] == {"added": 0, "updated": 0, "skipped": 16}
    assert body["revlog"] == {"added": 0}
    assert body["media"] == {"added": 0, "skipped": 1}
    assert {item["reason"] for item in body["skipped"]} == {exchange.REASON_NEWER_HERE}
    assert len(body["skipped"]) == 12
    assert state_of(alice.username) == before


def first_note(path: Path) -> tuple[str, str]:
    with reading(path) as conn:
        guid, flds = conn.execute("SELECT guid, flds FROM notes ORDER BY id LIMIT 1").fetchone()
    return guid, flds


@pytest.mark.parametrize(("shift", "updated"), [(100, True), (-100, False)])
def test_a_known_note_is_updated_only_when_the_imported_one_is_newer(
    shift, updated, alice, api, tmp_path
):
    upload(api, fixture_package())
    path, media = fixture_collection(tmp_path)
    guid, flds = first_note(path)
    changed = anki.join_fields(["<b>changed</b> front", "changed back"])
    with writing(path) as conn:
        conn.execute(
            "UPDATE notes SET flds = ?, mod = mod + ? WHERE guid = ?", (changed, shift, guid)
        )
    response = upload(api, legacy_package(path, media))
    body = response.json()
    assert body["notes"] == {"added": 0, "updated": int(updated), "skipped": 12 - int(updated)}
    [(stored, sfld, csum)] = rows(
        alice.username, "SELECT flds, sfld, csum FROM notes WHERE guid = ?", (guid,)
    )
    if updated:
        assert stored == changed
        assert (str(sfld), csum) == ("changed front", anki.field_checksum("<b>changed</b> front"))
    else:
        assert stored == flds
        assert {"guid": guid, "reason": exchange.REASON_NEWER_HERE} in body["skipped"]


def test_a_card_studied_elsewhere_comes_back_with_its_new_review(alice, api, tmp_path):
    upload(api, fixture_package())
    path, media = fixture_collection(tmp_path)
    with writing(path) as conn:
        card_id, nid, ivl, reps = conn.execute(
            "SELECT id, nid, ivl, reps FROM cards WHERE queue = 2 ORDER BY id LIMIT 1"
        ).fetchone()
        conn.execute(
            "UPDATE cards SET ivl = ?, reps = ?, mod = mod + 1000 WHERE id = ?",
            (ivl + 7, reps + 1, card_id),
        )
        review_id = int(time.time() * 1000)
        conn.execute(
            "INSERT INTO revlog VALUES (?, ?, -1, 3, ?, ?, 2500, 4000, 1)",
            (review_id, card_id, ivl + 7, ivl),
        )
        guid = conn.execute("SELECT guid FROM notes WHERE id = ?", (nid,)).fetchone()[0]
    response = upload(api, legacy_package(path, media))
    body = response.json()
    assert body["cards"] == {"added": 0, "updated": 1, "skipped": 15}
    assert body["revlog"] == {"added": 1}
    [(stored_ivl, stored_reps)] = rows(
        alice.username,
        "SELECT c.ivl, c.reps FROM cards c JOIN notes n ON n.id = c.nid"
        " WHERE n.guid = ? AND c.ord = 0",
        (guid,),
    )
    assert (stored_ivl, stored_reps) == (ivl + 7, reps + 1)
    assert rows(alice.username, "SELECT ivl FROM revlog WHERE id = ?", (review_id,)) == [(ivl + 7,)]


def test_a_note_type_with_a_taken_id_and_other_fields_is_added_under_a_new_id(alice, api, tmp_path):
    """As Anki: the same id with different fields is another type. Its notes are added,
    except one whose guid the learner has under their own type (skipped, with why)."""
    upload(api, fixture_package())
    ours = col_json(collection_path(alice.username), "models")
    basic_id = next(int(k) for k, nt in ours.items() if nt["name"] == "Basic")
    path, media = fixture_collection(tmp_path)
    with writing(path) as conn:
        models = json.loads(conn.execute("SELECT models FROM col").fetchone()[0])
        theirs = next(nt for nt in models.values() if nt["name"] == "Basic")
        old_id = int(theirs["id"])
        extra = dict(theirs["flds"][-1], name="Extra", ord=len(theirs["flds"]))
        theirs.update(id=basic_id, flds=[*theirs["flds"], extra])
        models = {str(nt["id"]): nt for nt in models.values()}
        conn.execute("UPDATE col SET models = ?", (json.dumps(models),))
        conn.execute(
            "UPDATE notes SET mid = ?, flds = flds || char(31) || 'x' WHERE mid = ?",
            (basic_id, old_id),
        )
        known = conn.execute(
            "SELECT guid FROM notes WHERE mid = ? ORDER BY id", (basic_id,)
        ).fetchall()
        conn.execute(
            "UPDATE notes SET guid = 'fresh-guid', mod = mod + 50 WHERE guid = ?", known[0]
        )
    body = upload(api, legacy_package(path, media)).json()
    assert body["notetypes"] == {"added": 1, "matched": 2}
    models = col_json(collection_path(alice.username), "models")
    added = next(nt for nt in models.values() if nt["name"] == "Basic+")
    assert int(added["id"]) != basic_id
    assert [f["name"] for f in added["flds"]] == ["Front", "Back", "Extra"]
    assert rows(alice.username, "SELECT mid FROM notes WHERE guid = 'fresh-guid'") == [
        (int(added["id"]),)
    ]
    other = [item for item in body["skipped"] if item["reason"] == exchange.REASON_OTHER_TYPE]
    assert {item["guid"] for item in other} == {guid for (guid,) in known[1:]}


def test_decks_are_matched_by_name_ignoring_case(alice, api, tmp_path):
    response = api.post("/api/decks", {"name": "geography"}, format="json")
    assert response.status_code == 201
    deck_id = response.json()["id"]
    body = upload(api, fixture_package()).json()
    assert body["decks"] == {"added": 2}  # Spanish and Spanish::Verbs
    decks = col_json(collection_path(alice.username), "decks")
    assert sorted(d["name"] for d in decks.values()) == [
        "Default",
        "Spanish",
        "Spanish::Verbs",
        "geography",
    ]
    in_geography = rows(alice.username, "SELECT count() FROM cards WHERE did = ?", (deck_id,))[0][0]
    with reading(package_contents(fixture_package(), tmp_path).collection_path) as conn:
        theirs = json.loads(conn.execute("SELECT decks FROM col").fetchone()[0])
        geography = next(int(k) for k, d in theirs.items() if d["name"] == "Geography")
        expected = conn.execute("SELECT count() FROM cards WHERE did = ?", (geography,)).fetchone()[
            0
        ]
    assert in_geography == expected > 0


def test_without_scheduling_every_card_is_new_and_no_history_comes(alice, api):
    response = upload(api, fixture_package(), scheduling="false")
    body = response.json()
    assert body["revlog"] == {"added": 0}
    assert body["cards"]["added"] == 16
    assert rows(alice.username, "SELECT DISTINCT type, queue, ivl, reps FROM cards") == [
        (0, 0, 0, 0)
    ]
    assert rows(alice.username, "SELECT count() FROM revlog") == [(0,)]


def test_a_clashing_media_name_is_stored_under_a_new_name_and_the_note_follows(
    alice, api, tmp_path
):
    upload(api, fixture_package())
    path, media = fixture_collection(tmp_path)
    with writing(path) as conn:
        nid = conn.execute("SELECT id FROM notes WHERE flds LIKE '%sol.png%'").fetchone()[0]
        conn.execute("UPDATE notes SET guid = 'sun-again' WHERE id = ?", (nid,))
    picture = b"\x89PNG another picture of the sun"
    body = upload(api, legacy_package(path, {"sol.png": picture})).json()
    assert body["media"] == {"added": 1, "skipped": 0}
    renamed = f"sol-{hashlib.sha1(picture).hexdigest()[:8]}.png"
    stored = media_stored(alice.username)
    assert stored[renamed] == picture
    assert stored["sol.png"] == media["sol.png"]
    [(flds,)] = rows(alice.username, "SELECT flds FROM notes WHERE guid = 'sun-again'")
    assert renamed in flds and "sol.png" not in flds


def test_media_no_note_uses_is_not_stored(alice, api, tmp_path):
    path, media = fixture_collection(tmp_path)
    body = upload(api, legacy_package(path, {**media, "unused.mp3": b"ID3"})).json()
    assert body["media"] == {"added": 1, "skipped": 1}
    assert set(media_stored(alice.username)) == {"sol.png"}


# --- bad files change nothing -------------------------------------------------------------------


def corrupt_collection() -> bytes:
    return zipped({"collection.anki2": b"SQLite format 3\x00" + b"\x17" * 4000, "media": b"{}"})


def zip_bomb() -> bytes:
    return zipped({"collection.anki2": bytes(8 * 1024 * 1024), "media": b"{}"})


BAD_FILES = {
    "not a zip": (lambda: b"PK? no, just some text", 415, "not_a_zip"),
    "no collection": (lambda: zipped({"media": b"{}"}), 400, "no_collection"),
    "unknown schema": (
        lambda: zipped({"meta": b"\x08\x09", "collection.anki2": b""}),
        415,
        "unknown_schema",
    ),
    "corrupt SQLite": (corrupt_collection, 400, "corrupt_collection"),
    "zip bomb": (zip_bomb, 413, "package_too_large"),
}


@pytest.mark.parametrize("kind", BAD_FILES)
def test_a_bad_file_is_refused_clearly_and_changes_nothing(kind, alice, api):
    make, status, code = BAD_FILES[kind]
    upload(api, fixture_package())
    before = state_of(alice.username)
    response = upload(api, make())
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert response.json()["error"]
    assert state_of(alice.username) == before


def test_a_package_with_too_many_files_is_refused(alice, api, settings):
    settings.JAVUMBO_IMPORT_MAX_ENTRIES = 3
    before = state_of(alice.username)
    response = upload(api, fixture_package())  # five entries
    assert (response.status_code, response.json()["code"]) == (413, "package_too_large")
    assert state_of(alice.username) == before


def test_an_upload_over_the_import_limit_is_refused_with_413(alice, api, settings):
    settings.JAVUMBO_IMPORT_MAX_BYTES = 10_000
    before = state_of(alice.username)
    response = upload(api, fixture_package())
    assert (response.status_code, response.json()["code"]) == (413, "package_too_large")
    assert state_of(alice.username) == before


def test_a_body_larger_than_django_reads_is_refused_with_413_before_it_is_read(
    alice, api, settings
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 20_000
    response = upload(api, fixture_package())
    assert (response.status_code, response.json()["code"]) == (413, "too_large")


def test_media_beyond_the_learners_allowance_is_refused_and_nothing_changes(alice, api, settings):
    settings.JAVUMBO_MEDIA_MAX_TOTAL_BYTES = 50  # sol.png has 67 bytes
    before = state_of(alice.username)
    response = upload(api, fixture_package())
    assert (response.status_code, response.json()["code"]) == (413, "media_quota")
    assert state_of(alice.username) == before


def test_an_import_needs_a_file(api):
    response = api.post("/api/import", {"scheduling": "false"}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()["details"]


def test_someone_elses_upload_key_is_refused(alice, bob, api):
    response = api.post(
        "/api/import", {"uploadKey": f"users/{bob.username}/imports/x.apkg"}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (400, "bad_package")


# --- large packages ------------------------------------------------------------------------


def test_a_package_uploaded_straight_to_s3_imports_like_a_direct_upload(alice, api):
    ticket = api.post("/api/import/uploads").json()
    assert ticket["maxBytes"] == django_settings.JAVUMBO_IMPORT_MAX_BYTES
    assert ticket["uploadKey"].startswith(f"users/{alice.username}/imports/")
    sent = requests.post(
        ticket["uploadUrl"],
        data=ticket["formFields"],
        files={"file": fixture_package()},
        timeout=30,
    )
    assert sent.status_code in (200, 201, 204)
    response = api.post("/api/import", {"uploadKey": ticket["uploadKey"]}, format="json")
    assert response.status_code == 200
    assert response.json()["notes"]["added"] == 12


def large_package(workdir: Path, notes: int) -> bytes:
    """The fixture collection grown by `notes` Basic notes, each with a reviewed card."""
    path, media = fixture_collection(workdir)
    base = 1_600_000_000_000
    with writing(path) as conn:
        mid, did = conn.execute(
            "SELECT n.mid, c.did FROM notes n JOIN cards c ON c.nid = n.id"
        ).fetchone()
        conn.executemany(
            "INSERT INTO notes VALUES (?, ?, ?, 1, -1, ' bulk ', ?, ?, 0, 0, '')",
            (
                (base + i, f"bulk{i}", mid, f"word {i}\x1fmeaning {i}", f"word {i}")
                for i in range(notes)
            ),
        )
        conn.executemany(
            "INSERT INTO cards VALUES (?, ?, ?, 0, 1, -1, 2, 2, 5, 3, 2500, 2, 0, 0, 0, 0, 0, '')",
            ((base + i, base + i, did) for i in range(notes)),
        )
        conn.executemany(
            "INSERT INTO revlog VALUES (?, ?, -1, 3, 3, 1, 2500, 5000, 1)",
            ((base + i, base + i) for i in range(notes)),
        )
    return legacy_package(path, media)


def test_a_large_import_is_one_durable_entry_another_container_replays(
    alice, api, tmp_path, container
):
    data = large_package(tmp_path, 20_000)
    response = upload(api, data)
    assert response.status_code == 200
    assert response.json()["notes"]["added"] == 20_012
    entries, _ = store.journal_read(alice.username, 0)
    assert len(entries) == 1 and entries[0].spill is not None  # too big for DynamoDB: in S3
    container()  # a cold container: snapshot + the spilled entry
    counts = api.get("/api/stats").json()["cardCounts"]
    assert counts["total"] == 20_016


def test_an_import_racing_another_container_keeps_both_changes(alice, api):
    real = exchange.collection_import
    attempts: list[int] = []
    rival = 1_234_567_890_123

    def racing(**kwargs: Any) -> exchange.ImportSummary:
        summary = real(**kwargs)
        attempts.append(summary.notes["added"])
        if len(attempts) == 1:  # another container answers a card first
            opened = current_access().opened
            assert opened is not None
            row = {
                "id": rival,
                "cid": 1,
                "usn": -1,
                "ease": 3,
                "ivl": 1,
                "lastIvl": 0,
                "factor": 0,
                "time": 900,
                "type": 0,
            }
            store.journal_append(
                opened.username,
                opened.seq + 1,
                journal.entry_encode([["i", "revlog", rival, row]]),
                collection_id=opened.state.collection_id,
            )
        return summary

    with mock.patch.object(exchange, "collection_import", side_effect=racing):
        response = upload(api, fixture_package())
    assert response.status_code == 200
    assert attempts == [12, 12]  # run again after catching up, from the same upload
    assert response.json()["notes"]["added"] == 12
    assert rows(alice.username, "SELECT count() FROM notes") == [(12,)]
    assert rows(alice.username, "SELECT id FROM revlog WHERE id = ?", (rival,)) == [(rival,)]
    assert journal_length(alice.username) == 2


def test_cards_of_a_filtered_deck_go_home_and_a_stranded_one_keeps_a_normal_deck(
    alice, api, tmp_path
):
    path, media = fixture_collection(tmp_path)
    with writing(path) as conn:
        decks = json.loads(conn.execute("SELECT decks FROM col").fetchone()[0])
        home = next(int(k) for k, d in decks.items() if d["name"] == "Geography")
        cram = {**decks[str(home)], "id": 9999, "name": "Cram", "dyn": 1, "terms": [["x", 9, 0]]}
        conn.execute("UPDATE col SET decks = ?", (json.dumps({**decks, "9999": cram}),))
        borrowed, stranded = (
            card_id
            for (card_id,) in conn.execute(
                "SELECT id FROM cards WHERE did = ? AND queue = 2 ORDER BY id LIMIT 2", (home,)
            )
        )
        move = "UPDATE cards SET did = 9999, odid = ?, odue = due, due = -100000 WHERE id = ?"
        conn.execute(move, (home, borrowed))
        conn.execute(move, (424242, stranded))  # its home deck is not in the package
        keys = {
            card_id: (guid, ord)
            for card_id, guid, ord in conn.execute(
                "SELECT c.id, n.guid, c.ord FROM cards c JOIN notes n ON n.id = c.nid"
            )
        }
        today = days_elapsed(conn)
        [(original_due,)] = conn.execute("SELECT odue FROM cards WHERE id = ?", (borrowed,))
    assert upload(api, legacy_package(path, media)).status_code == 200
    ours = content(collection_path(alice.username))
    # (deck, type, queue, due in days from today, ivl, factor, reps, lapses, left, odue, flags)
    came_home = ours["cards"][keys[borrowed]]
    assert came_home[:4] == ("Geography", 2, 2, original_due - today)
    assert came_home[-2] == 0
    assert ours["cards"][keys[stranded]][:3] == ("Cram", 2, 2)
    decks_now = {d["name"]: d for d in col_json(collection_path(alice.username), "decks").values()}
    assert decks_now["Cram"]["dyn"] == 0
    assert rows(alice.username, "SELECT count() FROM cards WHERE odid != 0") == [(0,)]
