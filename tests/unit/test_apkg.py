"""decks.apkg without Django or the real Anki: the packages Anki itself wrote
(tests/fixtures/anki, described by fixtures_manifest.json) must read with the
manifest's content, hostile packages must be refused with the right code, and
what package_write produces must read back to the same rows."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import shutil
import sqlite3
import struct
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zstandard

from decks.apkg import (
    ExportSummary,
    PackageContents,
    PackageError,
    PackageLimits,
    media_references,
    package_read,
    package_write,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "anki"
MANIFEST = json.loads((FIXTURES / "fixtures_manifest.json").read_text())
CONTENT = MANIFEST["content"]
FORMATS = {
    "javumbo_fixture_legacy1.apkg": ("legacy-anki2", 11),
    "javumbo_fixture_legacy2.apkg": ("legacy-anki21", 11),
    "javumbo_fixture_latest.apkg": ("latest-anki21b", 18),
}
ROW_TABLES = ("notes", "cards", "revlog", "graves")


# --- helpers -----------------------------------------------------------------


def read_fixture(name: str, workdir: Path) -> PackageContents:
    return package_read(FIXTURES / name, workdir=workdir)


@contextlib.contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    """A connection that commits on success and is always closed."""
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        with conn:
            yield conn
    finally:
        conn.close()


def col_json(path: Path) -> dict[str, dict]:
    keys = ("conf", "models", "decks", "dconf", "tags")
    with connect(path) as conn:
        row = conn.execute(f"SELECT {', '.join(keys)} FROM col").fetchone()
    return {key: json.loads(row[key]) for key in keys}


def rows(path: Path) -> dict[str, list[tuple]]:
    with connect(path) as conn:
        return {
            table: [tuple(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2")]
            for table in ROW_TABLES
        }


def deck_ids_by_name(path: Path) -> dict[str, int]:
    return {deck["name"]: deck["id"] for deck in col_json(path)["decks"].values()}


def build_zip(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def fixture_entries(name: str) -> dict[str, bytes]:
    with zipfile.ZipFile(FIXTURES / name) as archive:
        return {entry: archive.read(entry) for entry in archive.namelist()}


def proto_bytes(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (field numbers < 16, payload < 128 bytes)."""
    assert number < 16 and len(payload) < 128
    return bytes([number << 3 | 2, len(payload)]) + payload


def latest_media_map(*names: str, zip_names: tuple[int, ...] = ()) -> bytes:
    entries = [proto_bytes(1, name.encode()) for name in names]
    for index, zip_name in enumerate(zip_names):
        # legacy_zip_filename is field 255, a varint: tag bytes f8 0f
        entries[index] += b"\xf8\x0f" + bytes([zip_name])
    message = b"".join(proto_bytes(1, entry) for entry in entries)
    return zstandard.ZstdCompressor().compress(message)


def error_code(source: bytes | Path, tmp_path: Path, limits: PackageLimits | None = None) -> str:
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    with pytest.raises(PackageError) as caught:
        package_read(stream, workdir=tmp_path / "work", limits=limits or PackageLimits())
    assert caught.value.message
    return caught.value.code


def media_loaders(contents: PackageContents) -> dict:
    return {name: (lambda path=path: path.read_bytes()) for name, path in contents.media.items()}


def export(collection: Path, **options) -> tuple[bytes, ExportSummary]:
    out = io.BytesIO()
    summary = package_write(collection, out, **options)
    return out.getvalue(), summary


@pytest.fixture(scope="module")
def latest(tmp_path_factory: pytest.TempPathFactory) -> PackageContents:
    return read_fixture("javumbo_fixture_latest.apkg", tmp_path_factory.mktemp("latest"))


@pytest.fixture
def collection(latest: PackageContents, tmp_path: Path) -> Path:
    """A private copy of the fixture collection that a test may change."""
    path = tmp_path / "source.anki2"
    shutil.copyfile(latest.collection_path, path)
    return path


# --- reading what Anki wrote -------------------------------------------------


@pytest.mark.parametrize("package", sorted(FORMATS))
def test_it_reads_every_fixture_with_the_manifests_content(package: str, tmp_path: Path) -> None:
    contents = read_fixture(package, tmp_path)
    assert (contents.source_format, contents.schema_version) == FORMATS[package]
    col = col_json(contents.collection_path)
    decks = {int(key): deck["name"] for key, deck in col["decks"].items()}
    models = {int(key): model["name"] for key, model in col["models"].items()}
    with connect(contents.collection_path) as conn:
        assert conn.execute("SELECT ver FROM col").fetchone()[0] == 11
        counts = [conn.execute(f"SELECT count() FROM {t}").fetchone()[0] for t in ROW_TABLES[:3]]
        card_decks = {decks[did] for (did,) in conn.execute("SELECT did FROM cards")}
        used_models = {models[mid] for (mid,) in conn.execute("SELECT mid FROM notes")}
        tags = {tag for (text,) in conn.execute("SELECT tags FROM notes") for tag in text.split()}
        states = Counter(
            f"queue={q},type={t}" for q, t in conn.execute("SELECT queue, type FROM cards")
        )
    assert counts == [CONTENT["notes"], CONTENT["cards"], CONTENT["revlog"]]
    assert sorted(decks.values()) == CONTENT["decks_all"]
    assert sorted(card_decks) == CONTENT["decks_with_cards"]
    assert sorted(used_models) == CONTENT["notetypes_used"]
    assert sorted(tags) == CONTENT["tags"]
    assert states == CONTENT["cards_by_queue_type"]
    assert (
        sum(n for state, n in states.items() if state.startswith("queue=-1"))
        == CONTENT["suspended"]
    )
    assert sorted(contents.media) == CONTENT["media"]


def test_it_extracts_media_with_the_bytes_anki_stored(tmp_path: Path) -> None:
    # Legacy packages store media files as they are, so entry "0" is sol.png.
    stored = fixture_entries("javumbo_fixture_legacy1.apkg")["0"]
    assert stored.startswith(b"\x89PNG")
    for package in FORMATS:
        contents = read_fixture(package, tmp_path / package)
        assert contents.media["sol.png"].read_bytes() == stored
        assert contents.media["sol.png"].parent == tmp_path / package / "media"


@pytest.mark.parametrize("package", ["javumbo_fixture_legacy2.apkg", "javumbo_fixture_latest.apkg"])
def test_it_never_picks_the_placeholder_collection(package: str, tmp_path: Path) -> None:
    placeholder = tmp_path / "placeholder.anki2"
    placeholder.write_bytes(fixture_entries(package)["collection.anki2"])
    with connect(placeholder) as conn:
        placeholder_fields = {flds for (flds,) in conn.execute("SELECT flds FROM notes")}
    contents = read_fixture(package, tmp_path / "work")
    with connect(contents.collection_path) as conn:
        fields = {flds for (flds,) in conn.execute("SELECT flds FROM notes")}
    assert placeholder_fields and not placeholder_fields & fields
    assert len(fields) == CONTENT["notes"]


def test_it_gives_the_same_content_for_all_three_formats(tmp_path: Path) -> None:
    results = {package: read_fixture(package, tmp_path / package) for package in FORMATS}
    paths = [contents.collection_path for contents in results.values()]
    first_rows, first_col = rows(paths[0]), col_json(paths[0])
    for path in paths[1:]:
        assert rows(path) == first_rows
    # legacy2 holds Anki's own downgrade of what latest holds in schema 18.
    converted = col_json(results["javumbo_fixture_latest.apkg"].collection_path)
    assert converted == col_json(results["javumbo_fixture_legacy2.apkg"].collection_path)
    assert first_col["models"] == converted["models"]


def test_it_reads_from_streams_that_cannot_seek(tmp_path: Path) -> None:
    class OneWay(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            chunk = self._data.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    data = (FIXTURES / "javumbo_fixture_latest.apkg").read_bytes()
    contents = package_read(io.BufferedReader(OneWay(data)), workdir=tmp_path)
    assert rows(contents.collection_path)["notes"]
    assert sorted(contents.media) == CONTENT["media"]


def test_it_follows_legacy_zip_filenames_in_the_latest_media_map(tmp_path: Path) -> None:
    entries = fixture_entries("javumbo_fixture_latest.apkg")
    sol = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(entries["0"])).read()
    entries["1"] = zstandard.ZstdCompressor().compress(b"other bytes")
    entries["media"] = latest_media_map("other.png", "sol.png", zip_names=(1, 0))
    contents = package_read(io.BytesIO(build_zip(entries)), workdir=tmp_path)
    assert contents.media["other.png"].read_bytes() == b"other bytes"
    assert contents.media["sol.png"].read_bytes() == sol


# --- refusing bad packages ---------------------------------------------------


def test_it_refuses_bytes_that_are_not_a_zip(tmp_path: Path) -> None:
    assert error_code(b"SQLite format 3\x00 but not a zip", tmp_path) == "not_a_zip"
    assert error_code(b"", tmp_path) == "not_a_zip"


def test_it_refuses_a_zip_without_a_collection(tmp_path: Path) -> None:
    assert error_code(build_zip({"media": b"{}"}), tmp_path) == "no_collection"
    # meta says latest, but only the placeholder is there
    entries = fixture_entries("javumbo_fixture_latest.apkg")
    del entries["collection.anki21b"]
    assert error_code(build_zip(entries), tmp_path) == "no_collection"


@pytest.mark.parametrize("meta", [b"", b"\x08\x00", b"\x08\x04", b"\x08\x7f", b"\x0a\x05abc"])
def test_it_refuses_unknown_package_versions(meta: bytes, tmp_path: Path) -> None:
    entries = fixture_entries("javumbo_fixture_legacy2.apkg")
    entries["meta"] = meta
    assert error_code(build_zip(entries), tmp_path) == "unknown_schema"


def test_it_refuses_a_collection_of_an_unexpected_schema(tmp_path: Path) -> None:
    path = tmp_path / "collection.anki2"
    path.write_bytes(fixture_entries("javumbo_fixture_legacy1.apkg")["collection.anki2"])
    with connect(path) as conn:
        conn.execute("UPDATE col SET ver = 18")
    package = build_zip({"collection.anki2": path.read_bytes(), "media": b"{}"})
    assert error_code(package, tmp_path) == "unknown_schema"


def test_it_refuses_a_collection_that_is_not_sqlite(tmp_path: Path) -> None:
    package = build_zip({"collection.anki2": b"not a database" * 100, "media": b"{}"})
    assert error_code(package, tmp_path) == "corrupt_collection"
    latest = fixture_entries("javumbo_fixture_latest.apkg")
    latest["collection.anki21b"] = b"not zstd either"
    assert error_code(build_zip(latest), tmp_path) == "corrupt_collection"


def test_it_refuses_a_collection_that_fails_the_integrity_check(tmp_path: Path) -> None:
    data = bytearray(fixture_entries("javumbo_fixture_legacy1.apkg")["collection.anki2"])
    path = tmp_path / "probe.anki2"
    path.write_bytes(data)
    with connect(path) as conn:
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'ix_notes_csum'")
        page = root.fetchone()[0]
    # An empty index page: the file opens and queries "work", but lose rows.
    size = int.from_bytes(data[16:18], "big")
    empty_leaf = bytes([0x0A, 0, 0, 0, 0]) + size.to_bytes(2, "big") + b"\x00"
    data[(page - 1) * size : page * size] = empty_leaf.ljust(size, b"\x00")
    package = build_zip({"collection.anki2": bytes(data), "media": b"{}"})
    assert error_code(package, tmp_path) == "corrupt_collection"


def test_it_refuses_a_database_without_the_anki_tables(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with connect(path) as conn:
        conn.execute("CREATE TABLE col (ver integer)")
        conn.execute("INSERT INTO col VALUES (11)")
    package = build_zip({"collection.anki2": path.read_bytes(), "media": b"{}"})
    assert error_code(package, tmp_path) == "corrupt_collection"


def test_it_refuses_a_zip_bomb_before_extracting_it(tmp_path: Path) -> None:
    package = build_zip({"collection.anki2": bytes(20 * 1024 * 1024), "media": b"{}"})
    assert len(package) < 100_000
    assert error_code(package, tmp_path) == "package_too_large"
    assert not (tmp_path / "work" / "collection.anki2").exists()


def test_it_refuses_entries_whose_declared_size_is_too_large(tmp_path: Path) -> None:
    package = bytearray(build_zip({"collection.anki2": b"x" * 100, "media": b"{}"}))
    # Patch the central directory's uncompressed size of the first entry.
    directory = package.index(b"PK\x01\x02")
    package[directory + 24 : directory + 28] = struct.pack("<I", 0xFFFF0000)
    assert error_code(bytes(package), tmp_path) == "package_too_large"


def test_it_stops_a_zstd_bomb_while_streaming(tmp_path: Path) -> None:
    # The zip directory only sees the small zstd frame; the guard must act on
    # the bytes that come out of it.
    entries = fixture_entries("javumbo_fixture_latest.apkg")
    entries["collection.anki21b"] = zstandard.ZstdCompressor().compress(bytes(64 * 1024 * 1024))
    assert len(entries["collection.anki21b"]) < 10_000
    assert error_code(build_zip(entries, zipfile.ZIP_STORED), tmp_path) == "package_too_large"
    entries = fixture_entries("javumbo_fixture_latest.apkg")
    entries["0"] = zstandard.ZstdCompressor().compress(bytes(64 * 1024 * 1024))
    assert error_code(build_zip(entries, zipfile.ZIP_STORED), tmp_path) == "package_too_large"


def test_it_enforces_each_configured_limit(tmp_path: Path) -> None:
    package = FIXTURES / "javumbo_fixture_legacy2.apkg"
    for limits in (
        PackageLimits(max_entries=len(fixture_entries(package.name)) - 1),
        PackageLimits(max_upload_bytes=package.stat().st_size - 1),
        PackageLimits(max_total_bytes=100_000),
        PackageLimits(max_collection_bytes=100_000),
        PackageLimits(max_media_file_bytes=60),
        PackageLimits(max_ratio=2, ratio_exempt_bytes=0),
    ):
        assert error_code(package, tmp_path, limits) == "package_too_large", limits
    assert read_fixture(package.name, tmp_path / "defaults").media


@pytest.mark.parametrize("name", ["../evil.png", "a/b.png", "a\\b.png", "..", "", "x\x00.png"])
def test_it_refuses_media_names_that_leave_the_media_folder(name: str, tmp_path: Path) -> None:
    legacy = fixture_entries("javumbo_fixture_legacy1.apkg")
    legacy["media"] = json.dumps({"0": name}).encode()
    assert error_code(build_zip(legacy), tmp_path) == "bad_media"
    latest = fixture_entries("javumbo_fixture_latest.apkg")
    latest["media"] = latest_media_map(name)
    assert error_code(build_zip(latest), tmp_path) == "bad_media"
    assert not (tmp_path / "evil.png").exists()


@pytest.mark.parametrize(
    "media_map",
    [b"not json", b"[1, 2]", b'{"zero": "a.png"}', b'{"0": 5}', b'{"7": "missing.png"}'],
)
def test_it_refuses_legacy_media_maps_it_cannot_follow(media_map: bytes, tmp_path: Path) -> None:
    entries = fixture_entries("javumbo_fixture_legacy1.apkg")
    entries["media"] = media_map
    assert error_code(build_zip(entries), tmp_path) == "bad_media"


def test_it_refuses_latest_media_maps_it_cannot_follow(tmp_path: Path) -> None:
    entries = fixture_entries("javumbo_fixture_latest.apkg")
    for media_map in (
        b"\x00not zstd",
        zstandard.ZstdCompressor().compress(b"\x0a\x7f truncated"),
        latest_media_map("sol.png", "sol.png"),
    ):
        entries["media"] = media_map
        assert error_code(build_zip(entries), tmp_path) == "bad_media"


# --- writing -----------------------------------------------------------------


def test_it_round_trips_the_whole_collection(latest: PackageContents, tmp_path: Path) -> None:
    data, summary = export(latest.collection_path, media=media_loaders(latest))
    again = package_read(io.BytesIO(data), workdir=tmp_path)
    assert rows(again.collection_path) == rows(latest.collection_path)
    before, after = col_json(latest.collection_path), col_json(again.collection_path)
    for key in ("models", "decks", "dconf", "conf"):
        assert after[key] == before[key]
    assert {n: p.read_bytes() for n, p in again.media.items()} == {
        n: p.read_bytes() for n, p in latest.media.items()
    }
    assert summary == ExportSummary(
        CONTENT["notes"], CONTENT["cards"], CONTENT["revlog"], len(CONTENT["media"]), len(data)
    )


def test_it_writes_the_legacy_package_layout(latest: PackageContents) -> None:
    data, _ = export(latest.collection_path, media=media_loaders(latest))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == ["collection.anki2", "0", "media"]
        assert json.loads(archive.read("media")) == {"0": "sol.png"}
        assert archive.read("0") == latest.media["sol.png"].read_bytes()
        assert archive.read("collection.anki2").startswith(b"SQLite format 3\x00")


def test_it_writes_the_same_bytes_for_the_same_export(latest: PackageContents) -> None:
    assert export(latest.collection_path)[0] == export(latest.collection_path)[0]


def test_it_leaves_the_source_collection_untouched(collection: Path) -> None:
    before = hashlib.sha256(collection.read_bytes()).hexdigest()
    export(collection, deck_ids={1}, include_scheduling=False)
    assert hashlib.sha256(collection.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in collection.parent.iterdir()) == [collection.name]


def test_it_exports_a_deck_with_its_parents_and_default(
    latest: PackageContents, tmp_path: Path
) -> None:
    verbs = deck_ids_by_name(latest.collection_path)["Spanish::Verbs"]
    with connect(latest.collection_path) as conn:
        card_ids = {i for (i,) in conn.execute("SELECT id FROM cards WHERE did = ?", (verbs,))}
        note_ids = {n for (n,) in conn.execute("SELECT nid FROM cards WHERE did = ?", (verbs,))}
        model_ids = {
            str(m)
            for (m,) in conn.execute(
                "SELECT DISTINCT mid FROM notes WHERE id IN (SELECT nid FROM cards WHERE did = ?)",
                (verbs,),
            )
        }
        revlog = [tuple(r) for r in conn.execute("SELECT * FROM revlog ORDER BY id")]
    data, summary = export(latest.collection_path, deck_ids={verbs})
    exported = package_read(io.BytesIO(data), workdir=tmp_path).collection_path
    got = rows(exported)
    assert {row[0] for row in got["cards"]} == card_ids
    assert {row[0] for row in got["notes"]} == note_ids
    assert got["revlog"] == [row for row in revlog if row[1] in card_ids]
    col = col_json(exported)
    assert sorted(deck["name"] for deck in col["decks"].values()) == [
        "Default",
        "Spanish",
        "Spanish::Verbs",
    ]
    assert set(col["models"]) == model_ids
    assert set(col["dconf"]) == {str(d["conf"]) for d in col["decks"].values()}
    assert (summary.notes, summary.cards, summary.revlog) == (
        len(note_ids),
        len(card_ids),
        len(got["revlog"]),
    )


def test_it_includes_only_media_the_exported_notes_use(latest: PackageContents) -> None:
    loaders = media_loaders(latest) | {"unused.png": lambda: b"never referenced"}
    decks = deck_ids_by_name(latest.collection_path)
    spanish = {decks["Spanish"], decks["Spanish::Verbs"]}
    for deck_ids, expected in (
        (spanish, {"0": "sol.png"}),
        ({decks["Geography"]}, {}),
        (None, {"0": "sol.png"}),
    ):
        data, summary = export(latest.collection_path, deck_ids=deck_ids, media=loaders)
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            assert json.loads(archive.read("media")) == expected
            assert summary.media_files == len(expected) == len(archive.namelist()) - 2


def test_it_includes_the_underscored_files_note_types_use(collection: Path) -> None:
    col = col_json(collection)
    basic = next(model for model in col["models"].values() if model["name"] == "Basic")
    basic["css"] += '\n@font-face { src: url("_font.woff"); }\n@import "_extra.css";'
    basic["tmpls"][0]["qfmt"] += '<script src="_helper.js"></script>'
    with connect(collection) as conn:
        conn.execute("UPDATE col SET models = ?", (json.dumps(col["models"]),))
    names = ("_font.woff", "_extra.css", "_helper.js", "_unused.js")
    data, summary = export(collection, media={name: name.encode for name in names})
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert sorted(json.loads(archive.read("media")).values()) == sorted(names[:3])
    assert summary.media_files == 3


def test_it_resets_scheduling_when_asked_to(latest: PackageContents, tmp_path: Path) -> None:
    with connect(latest.collection_path) as conn:
        before = {r["id"]: dict(r) for r in conn.execute("SELECT * FROM cards")}
    data, summary = export(latest.collection_path, include_scheduling=False)
    exported = package_read(io.BytesIO(data), workdir=tmp_path).collection_path
    with connect(exported) as conn:
        after = {r["id"]: dict(r) for r in conn.execute("SELECT * FROM cards")}
        assert conn.execute("SELECT count() FROM revlog").fetchone()[0] == summary.revlog == 0
        assert conn.execute("SELECT count() FROM graves").fetchone()[0] == 0
    assert after.keys() == before.keys()
    for card_id, card in after.items():
        old = before[card_id]
        assert card["type"] == card["queue"] == card["ivl"] == card["factor"] == 0
        assert card["reps"] == card["lapses"] == card["odue"] == card["odid"] == 0
        assert card["flags"] == 0
        # a new card keeps its place in the new queue; others go back to theirs
        old_position = old["due"] if old["type"] == 0 else json.loads(old["data"])["pos"]
        assert card["due"] == old_position
        assert "pos" not in json.loads(card["data"])
    for deck in col_json(exported)["decks"].values():
        assert deck["conf"] == 1
        assert [deck[k] for k in ("newToday", "revToday", "lrnToday", "timeToday")] == [[0, 0]] * 4


def test_it_drops_leech_and_marked_without_scheduling(collection: Path, tmp_path: Path) -> None:
    with connect(collection) as conn:
        note_id = conn.execute("SELECT min(id) FROM notes").fetchone()[0]
        conn.execute("UPDATE notes SET tags = ' Leech keep marked ' WHERE id = ?", (note_id,))
    for scheduling, expected in ((True, " Leech keep marked "), (False, " keep ")):
        data, _ = export(collection, include_scheduling=scheduling)
        exported = package_read(io.BytesIO(data), workdir=tmp_path / str(scheduling))
        with connect(exported.collection_path) as conn:
            tags = conn.execute("SELECT tags FROM notes WHERE id = ?", (note_id,)).fetchone()[0]
        assert tags == expected


def move_card_to_filtered_deck(collection: Path) -> tuple[int, int, int]:
    """Put a review card of Geography into a new filtered deck, as Anki would."""
    col = col_json(collection)
    home = next(d for d in col["decks"].values() if d["name"] == "Geography")
    filtered = dict(home, id=home["id"] + 1000, name="Cram", dyn=1, resched=True, terms=[])
    del filtered["conf"]
    col["decks"][str(filtered["id"])] = filtered
    with connect(collection) as conn:
        card_id = conn.execute(
            "SELECT min(id) FROM cards WHERE did = ? AND type = 2", (home["id"],)
        ).fetchone()[0]
        conn.execute(
            "UPDATE cards SET odid = did, odue = due, did = ?, due = -100000 WHERE id = ?",
            (filtered["id"], card_id),
        )
        conn.execute("UPDATE col SET decks = ?", (json.dumps(col["decks"]),))
    return card_id, home["id"], filtered["id"]


def test_it_exports_cards_lent_to_a_filtered_deck_with_their_home_deck(
    collection: Path, tmp_path: Path
) -> None:
    card_id, home, filtered = move_card_to_filtered_deck(collection)
    data, _ = export(collection, deck_ids={home})
    exported = package_read(io.BytesIO(data), workdir=tmp_path / "sched").collection_path
    with connect(exported) as conn:
        card = conn.execute("SELECT did, odid FROM cards WHERE id = ?", (card_id,)).fetchone()
    assert tuple(card) == (filtered, home)
    assert {str(home), str(filtered)} <= set(col_json(exported)["decks"])

    data, _ = export(collection, deck_ids={home}, include_scheduling=False)
    exported = package_read(io.BytesIO(data), workdir=tmp_path / "new").collection_path
    with connect(exported) as conn:
        card = conn.execute("SELECT did, odid FROM cards WHERE id = ?", (card_id,)).fetchone()
    assert tuple(card) == (home, 0)
    assert str(filtered) not in col_json(exported)["decks"]


# --- media references ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('<img src="a.png">', {"a.png"}),
        ("<img src='b c.png'>", {"b c.png"}),
        ("<img class=x src=c.png alt=y>", {"c.png"}),
        ('<IMG ALT="1 > 0" SRC="d.PNG">', {"d.PNG"}),
        ("[sound:e.mp3] and [sound:f g.ogg]", {"e.mp3", "f g.ogg"}),
        (
            '<audio src="h.ogg"></audio><video src="i.mp4"><source src="j.webm">',
            {
                "h.ogg",
                "i.mp4",
                "j.webm",
            },
        ),
        ('<object data="k.svg"></object>', {"k.svg"}),
        ('<img src="l&amp;m.png"> [sound:n&amp;o.mp3]', {"l&m.png", "n&o.mp3"}),
        ('<img data-src="lazy.png" src="p.png">', {"lazy.png", "p.png"}),
        ('<img src="http://example.com/q.png"><img src="HTTPS://x.org/r.png">', set()),
        ('<img src="data:image/png;base64,AAAA"><img src="//cdn.org/s.png">', set()),
        ('<img src="../t.png"><img src="dir/u.png"><img src="">', set()),
        ('<a href="v.png">link</a> <p data="w.png">', set()),
        ("plain text, no media", set()),
    ],
)
def test_it_finds_the_media_a_field_uses(text: str, expected: set[str]) -> None:
    assert media_references(text) == expected
