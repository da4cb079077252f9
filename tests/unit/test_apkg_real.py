"""decks.apkg against the real Anki (the `anki` package, 26.9.x) as oracle.

What we write must import into Anki exactly as Anki's own export of the same
content does (same notes, cards with their scheduling, revlog, decks, tags,
media) and pass Check Database. What we convert from schema 18 must equal
what Anki itself writes when it downgrades the same collection for a legacy
package. Anki upgrades any schema-11 file it opens, so tests open copies.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import shutil
import sqlite3
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import zstandard

from decks.apkg import PackageContents, media_references, package_read, package_write

anki_collection = pytest.importorskip("anki.collection")
import_export_pb2 = pytest.importorskip("anki.import_export_pb2")
Collection = anki_collection.Collection

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "anki"
LEGACY2 = FIXTURES / "javumbo_fixture_legacy2.apkg"
LATEST = FIXTURES / "javumbo_fixture_latest.apkg"
CLEAN_CHECK = "Database rebuilt and optimized."
# An Anki export writes the `conf` of the fresh collection it exports into;
# curModel there is the id of a note type that collection just created.
FRESH_COLLECTION_KEYS = {"curModel"}


# --- helpers -----------------------------------------------------------------


@pytest.fixture
def new_collection(tmp_path: Path) -> Iterator[Callable[[str], Any]]:
    opened: list[Any] = []

    def create(name: str) -> Any:
        folder = tmp_path / name
        folder.mkdir()
        col = Collection(str(folder / "collection.anki2"))
        opened.append(col)
        return col

    yield create
    for col in opened:
        col.close()


def open_copy(path: Path, folder: Path) -> Any:
    folder.mkdir()
    shutil.copyfile(path, folder / "collection.anki2")
    return Collection(str(folder / "collection.anki2"))


def anki_import(col: Any, package: Path) -> None:
    options = anki_collection.ImportAnkiPackageOptions(with_scheduling=True, with_deck_configs=True)
    request = anki_collection.ImportAnkiPackageRequest(package_path=str(package), options=options)
    col.import_anki_package(request)


def anki_export(col: Any, out: Path, *, scheduling: bool, legacy: bool, limit: Any = None) -> None:
    options = anki_collection.ExportAnkiPackageOptions(
        with_scheduling=scheduling, with_deck_configs=scheduling, with_media=True, legacy=legacy
    )
    col.export_anki_package(out_path=str(out), options=options, limit=limit)


def what_anki_sees(col: Any) -> dict[str, Any]:
    """A collection's content keyed by what survives an import (names, guids)."""
    decks = {d["id"]: d["name"] for d in col.decks.all()}
    models = {m["id"]: m["name"] for m in col.models.all()}
    cards = col.db.all(
        "SELECT n.guid, c.ord, c.did, c.type, c.queue, c.due, c.ivl, c.factor, c.reps,"
        " c.lapses, c.left, c.odue, c.flags FROM cards c JOIN notes n ON n.id = c.nid"
    )
    return {
        "decks": sorted(decks.values()),
        "notes": sorted(
            (guid, models[mid], tags, flds)
            for guid, mid, tags, flds in col.db.all("SELECT guid, mid, tags, flds FROM notes")
        ),
        "cards": sorted((row[0], row[1], decks[row[2]], *row[3:]) for row in cards),
        "revlog": sorted(
            col.db.all(
                "SELECT r.id, n.guid, c.ord, r.ease, r.ivl, r.lastIvl, r.factor, r.time, r.type"
                " FROM revlog r JOIN cards c ON c.id = r.cid JOIN notes n ON n.id = c.nid"
            )
        ),
        "tags": sorted(col.tags.all()),
        "media": sorted(p.name for p in Path(col.media.dir()).iterdir()),
    }


def by_id(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda item: item["id"])


def all_deck_configs(col: Any) -> list[dict[str, Any]]:
    return col.decks.all_config()


def assert_checks_clean(col: Any) -> None:
    assert col.fix_integrity() == (CLEAN_CHECK, True)


def col_json(path: Path) -> dict[str, Any]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        row = conn.execute("SELECT conf, models, decks, dconf, tags FROM col").fetchone()
    return dict(
        zip(("conf", "models", "decks", "dconf", "tags"), map(json.loads, row), strict=True)
    )


def without_fresh_collection_keys(col: dict[str, Any]) -> dict[str, Any]:
    conf = {k: v for k, v in col["conf"].items() if k not in FRESH_COLLECTION_KEYS}
    return col | {"conf": conf}


def write(contents: PackageContents, out: Path, **options: Any) -> None:
    loaders = {name: path.read_bytes for name, path in contents.media.items()}
    with out.open("wb") as stream:
        package_write(contents.collection_path, stream, media=loaders, **options)


@pytest.fixture(scope="module")
def fixture_contents(tmp_path_factory: pytest.TempPathFactory) -> PackageContents:
    return package_read(LEGACY2, workdir=tmp_path_factory.mktemp("fixture"))


# --- schema 18 -> 11 ---------------------------------------------------------


def test_anki_opens_the_converted_anki21b_collection_and_checks_it_clean(tmp_path: Path) -> None:
    converted = package_read(LATEST, workdir=tmp_path / "latest").collection_path
    legacy = tmp_path / "legacy.anki21"
    with zipfile.ZipFile(LEGACY2) as archive:
        legacy.write_bytes(archive.read("collection.anki21"))
    # Anki's own downgrade of the same collection, key for key.
    assert col_json(converted) == col_json(legacy)

    ours, anki = open_copy(converted, tmp_path / "ours"), open_copy(legacy, tmp_path / "anki")
    try:
        # Check Database also registers the notes' tags, so run it on both.
        assert_checks_clean(ours)
        assert_checks_clean(anki)
        for listing in (lambda c: c.models.all(), lambda c: c.decks.all(), all_deck_configs):
            assert by_id(listing(ours)) == by_id(listing(anki))
        assert what_anki_sees(ours) | {"media": []} == what_anki_sees(anki) | {"media": []}
    finally:
        ours.close()
        anki.close()


def build_varied_collection(col: Any) -> None:
    """Options, decks and note type settings away from every default."""
    custom = col.models.copy(col.models.by_name("Basic"))
    custom["name"] = "Custom"
    front, back = custom["flds"]
    front.update(rtl=True, sticky=True, font="Liberation Serif", size=31, description="é")
    back.update(plainText=True, collapsed=True, excludeFromSearch=True)
    custom["tmpls"][0].update(bqfmt="<b>{{Front}}</b>", bafmt="{{Back}}", bfont="Arial", bsize=14)
    custom.update(latexsvg=True, latexPre="\\documentclass{article}", sortf=1)
    col.models.update_dict(custom)

    config = col.decks.get_config(col.decks.add_config_returning_id("Intense"))
    config["new"].update(delays=[0.5, 3.0, 25.0], perDay=37, initialFactor=2300, order=0)
    config["new"].update(ints=[2, 5, 0], bury=True)
    config["rev"].update(perDay=333, ease4=1.45, ivlFct=0.93, maxIvl=2000, hardFactor=1.15)
    config["lapse"].update(delays=[7.5, 60.0], mult=0.35, minInt=2, leechFails=6, leechAction=0)
    config.update(maxTaken=90, autoplay=False, timer=1, replayq=False, newMix=1)
    config.update(interdayLearningMix=2, reviewOrder=3, newSortOrder=2, newGatherPriority=5)
    config.update(newPerDayMinimum=3, desiredRetention=0.87, answerAction=3, questionAction=1)
    config.update(secondsToShowQuestion=2.5, stopTimerOnAnswer=True, waitForAudio=False)
    col.decks.update_config(config)

    spanish = col.decks.get(col.decks.id("Lang::Spanish"))
    spanish.update(conf=config["id"], desc="Spanish <i>deck</i>", extendNew=5, reviewLimit=150)
    col.decks.save(spanish)
    for i in range(6):
        note = col.new_note(col.models.by_name("Custom"))
        note["Front"], note["Back"] = f"front {i}", f"back {i}"
        note.tags = ["t1", f"x::y{i}"]
        col.add_note(note, spanish["id"])
    col.decks.select(spanish["id"])
    for _ in range(3):
        col.sched.answerCard(col.sched.getCard(), 3)
    cram = col.decks.get(col.decks.new_filtered("Cram"))
    cram.update(terms=[["deck:Lang::Spanish", 3, 1]], resched=False, delays=[1.0, 2.0])
    col.decks.save(cram)
    col.sched.rebuild_filtered_deck(cram["id"])


def test_it_converts_options_decks_and_note_types_as_anki_downgrades_them(
    new_collection: Callable[[str], Any], tmp_path: Path
) -> None:
    source = new_collection("source")
    build_varied_collection(source)
    assert source.db.scalar("SELECT count() FROM cards WHERE odid != 0") > 0
    anki_export(source, tmp_path / "legacy.apkg", scheduling=True, legacy=True)
    anki_export(source, tmp_path / "latest.apkg", scheduling=True, legacy=False)

    latest = package_read(tmp_path / "latest.apkg", workdir=tmp_path / "latest")
    legacy = package_read(tmp_path / "legacy.apkg", workdir=tmp_path / "legacy")
    assert latest.source_format == "latest-anki21b"
    converted, downgraded = col_json(latest.collection_path), col_json(legacy.collection_path)
    assert without_fresh_collection_keys(converted) == without_fresh_collection_keys(downgraded)
    assert any(deck["dyn"] for deck in converted["decks"].values())
    assert any(config["name"] == "Intense" for config in converted["dconf"].values())
    ours = open_copy(latest.collection_path, tmp_path / "ours")
    try:
        assert_checks_clean(ours)
    finally:
        ours.close()


def test_it_reads_the_latest_media_map_as_anki_wrote_it(tmp_path: Path) -> None:
    with zipfile.ZipFile(LATEST) as archive:
        raw = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(archive.read("media"))).read()
    entries = import_export_pb2.MediaEntries.FromString(raw).entries
    contents = package_read(LATEST, workdir=tmp_path)
    assert sorted(contents.media) == sorted(entry.name for entry in entries)
    for entry in entries:
        data = contents.media[entry.name].read_bytes()
        assert (len(data), hashlib.sha1(data).digest()) == (entry.size, entry.sha1)


def test_it_reads_the_collection_packages_anki_writes(
    new_collection: Callable[[str], Any], tmp_path: Path
) -> None:
    col = new_collection("source")
    anki_import(col, LATEST)
    expected = {
        table: sorted(col.db.all(f"SELECT * FROM {table}"))
        for table in ("notes", "cards", "revlog")
    }
    read = {}
    for legacy in (True, False):
        package = tmp_path / f"legacy-{legacy}.colpkg"
        col.export_collection_package(str(package), include_media=True, legacy=legacy)
        col.reopen()
        read[legacy] = package_read(package, workdir=tmp_path / f"read-{legacy}")
        with contextlib.closing(sqlite3.connect(read[legacy].collection_path)) as conn:
            for table, rows in expected.items():
                assert sorted(map(list, conn.execute(f"SELECT * FROM {table}"))) == rows
        assert sorted(read[legacy].media) == ["sol.png"]
    assert read[False].source_format == "latest-anki21b"
    assert col_json(read[False].collection_path) == col_json(read[True].collection_path)


# --- Anki imports what we write ----------------------------------------------


def test_anki_imports_our_export_as_it_imports_its_own(
    fixture_contents: PackageContents, new_collection: Callable[[str], Any], tmp_path: Path
) -> None:
    write(fixture_contents, tmp_path / "ours.apkg")
    ours, anki = new_collection("ours"), new_collection("anki")
    anki_import(ours, tmp_path / "ours.apkg")
    anki_import(anki, LEGACY2)
    assert_checks_clean(ours)
    seen = what_anki_sees(ours)
    assert seen == what_anki_sees(anki)
    assert len(seen["notes"]) == 12 and seen["media"] == ["sol.png"]


DECK_EXPORTS = [
    ("Spanish", True),
    ("Spanish", False),
    ("Spanish::Verbs", True),
    ("Geography", True),
    ("Geography", False),
]


@pytest.mark.parametrize(("deck", "scheduling"), DECK_EXPORTS)
def test_anki_imports_our_deck_export_as_it_imports_its_own(
    deck: str,
    scheduling: bool,
    fixture_contents: PackageContents,
    new_collection: Callable[[str], Any],
    tmp_path: Path,
) -> None:
    decks = col_json(fixture_contents.collection_path)["decks"].values()
    # Anki exports a deck with its children; our callers pass them.
    deck_ids = {d["id"] for d in decks if d["name"] == deck or d["name"].startswith(deck + "::")}
    write(
        fixture_contents, tmp_path / "ours.apkg", deck_ids=deck_ids, include_scheduling=scheduling
    )
    source = new_collection("source")
    anki_import(source, LEGACY2)
    limit = anki_collection.DeckIdLimit(source.decks.id_for_name(deck))
    anki_export(source, tmp_path / "anki.apkg", scheduling=scheduling, legacy=True, limit=limit)

    ours, anki = new_collection("ours"), new_collection("anki")
    anki_import(ours, tmp_path / "ours.apkg")
    anki_import(anki, tmp_path / "anki.apkg")
    assert_checks_clean(ours)
    assert what_anki_sees(ours) == what_anki_sees(anki)


def test_our_export_without_scheduling_matches_ankis(
    fixture_contents: PackageContents, new_collection: Callable[[str], Any], tmp_path: Path
) -> None:
    source = new_collection("source")
    anki_import(source, LEGACY2)
    anki_export(source, tmp_path / "anki.apkg", scheduling=False, legacy=True)
    write(fixture_contents, tmp_path / "ours.apkg", include_scheduling=False)

    def card_rows(package: Path, entry: str) -> list[tuple]:
        path = tmp_path / f"{package.stem}.db"
        with zipfile.ZipFile(package) as archive:
            path.write_bytes(archive.read(entry))
        with contextlib.closing(sqlite3.connect(path)) as conn:
            return conn.execute(
                "SELECT id, nid, ord, type, queue, due, ivl, factor, reps, lapses, left, odue,"
                " odid, flags, data FROM cards ORDER BY id"
            ).fetchall()

    anki_rows = card_rows(tmp_path / "anki.apkg", "collection.anki21")
    assert any(row[3] for row in card_rows(LEGACY2, "collection.anki21"))  # had scheduling
    assert card_rows(tmp_path / "ours.apkg", "collection.anki2") == anki_rows


MEDIA_FIELDS = [
    '<img src="dq.png">',
    "<img src='sq.png'>",
    "<img src=unq.png>",
    "<img class=x src=unq2.png alt='a'>",
    '<IMG SRC="upper.PNG">',
    '<img alt="a > b" src="gt.png">',
    '<img src="amp&amp;s.png">',
    "[sound:snd.mp3] [sound:a&amp;b.mp3]",
    '<audio src="au.ogg"></audio><video src="vid.mp4"><source src="src.webm">',
    '<object data="obj.svg"></object>',
    '<img src="http://example.com/remote.png"><img src="data:image/png;base64,AAAA">',
    '<img src="sp ace.png"><img\nsrc="newline.png"><img src="uni é.png">',
    '<img src="a&nbsp;b.png"><img src="../escape.png"><img src="dir/nested.png">',
]


def test_media_references_take_what_ankis_exporter_takes(
    new_collection: Callable[[str], Any], tmp_path: Path
) -> None:
    col = new_collection("media")
    deck = col.decks.id("Media")
    for text in MEDIA_FIELDS:
        note = col.new_note(col.models.by_name("Basic"))
        note["Front"], note["Back"] = text, "-"
        col.add_note(note, deck)
    ours = set().union(*map(media_references, MEDIA_FIELDS))
    # Anki only exports files that exist: offer it every name either side could want.
    for name in ours | {"remote.png", "escape.png", "nested.png", "a\xa0b.png"}:
        Path(col.media.dir(), name).write_bytes(name.encode())
    anki_export(col, tmp_path / "anki.apkg", scheduling=True, legacy=True)
    with zipfile.ZipFile(tmp_path / "anki.apkg") as archive:
        taken_by_anki = set(json.loads(archive.read("media")).values())
    assert len(taken_by_anki) > 10
    assert ours == taken_by_anki
