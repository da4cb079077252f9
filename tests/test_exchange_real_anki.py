"""Export and import against the real Anki (the `anki` package) as oracle.

- Importing a package gives what Anki's own importer gives for the same package in a
  fresh collection: every fixture, and collection packages (.colpkg) Anki writes.
- An export imports into Anki, whose Check Database then finds nothing to repair, and
  Anki sees exactly the learner's notes, cards, scheduling, history, decks, tags, media;
  also a deck's export and one without scheduling.
- An export imported into a fresh Javumbo account gives the same content.

Anki upgrades what it opens to schema 18, so it only ever opens copies.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.test_import import (
    FIXTURES,
    PACKAGES,
    col_json,
    collection_path,
    content,
    fixture_package,
    media_stored,
    notetype_shape,
    package_contents,
    upload,
)

anki_collection = pytest.importorskip("anki.collection")
Collection = anki_collection.Collection
CLEAN_CHECK = ("Database rebuilt and optimized.", True)


# --- Anki's side -------------------------------------------------------------------------------


def anki_fresh(folder: Path) -> Any:
    folder.mkdir(parents=True)
    return Collection(str(folder / "collection.anki2"))


def anki_import(col: Any, package: Path, *, scheduling: bool = True) -> None:
    options = anki_collection.ImportAnkiPackageOptions(
        with_scheduling=scheduling, with_deck_configs=scheduling
    )
    col.import_anki_package(
        anki_collection.ImportAnkiPackageRequest(package_path=str(package), options=options)
    )


def anki_content(col: Any) -> dict[str, Any]:
    """What content() gives for one of our files, read from an open Anki collection."""
    today = col.sched.today
    shapes = {m["id"]: notetype_shape(m) for m in col.models.all()}
    names = {d["id"]: d["name"] for d in col.decks.all()}
    notes = {
        guid: (shapes[mid], flds, tags, mod)
        for guid, mid, flds, tags, mod in col.db.all("SELECT guid, mid, flds, tags, mod FROM notes")
    }
    cards = {}
    for guid, ord, did, kind, queue, due, *rest in col.db.all(
        "SELECT n.guid, c.ord, c.did, c.type, c.queue, c.due, c.ivl, c.factor, c.reps,"
        " c.lapses, c.left, c.odue, c.flags FROM cards c JOIN notes n ON n.id = c.nid"
    ):
        relative = due - today if queue in (2, 3) or kind == 2 else due
        cards[(guid, ord)] = (names[did], kind, queue, relative, *rest)
    revlog = [
        tuple(row)
        for row in col.db.all(
            "SELECT r.id, n.guid, c.ord, r.ease, r.ivl, r.lastIvl, r.factor, r.time, r.type"
            " FROM revlog r JOIN cards c ON c.id = r.cid JOIN notes n ON n.id = c.nid ORDER BY r.id"
        )
    ]
    tags = sorted({tag for _, _, text, _ in notes.values() for tag in col.tags.split(text)})
    return {
        "notes": notes,
        "cards": cards,
        "revlog": revlog,
        "decks": sorted(names.values()),
        "tags": tags,
    }


def anki_media(col: Any) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in Path(col.media.dir()).iterdir() if p.is_file()}


def what_anki_imports(
    package: Path, folder: Path, *, scheduling: bool = True
) -> tuple[dict[str, Any], dict[str, bytes]]:
    col = anki_fresh(folder)
    try:
        anki_import(col, package, scheduling=scheduling)
        assert col.fix_integrity() == CLEAN_CHECK
        return anki_content(col), anki_media(col)
    finally:
        col.close()


def ours(username: str) -> dict[str, Any]:
    return content(collection_path(username))


def anki_made_colpkg(tmp_path: Path, *, legacy: bool) -> Path:
    """A collection package Anki writes from the fixture's collection."""
    folder = tmp_path / f"colpkg-source-{legacy}"
    folder.mkdir()
    shutil.copy(FIXTURES / "collection.anki2", folder / "collection.anki2")
    col = Collection(str(folder / "collection.anki2"))
    out = tmp_path / f"fixture-{'legacy' if legacy else 'latest'}.colpkg"
    try:
        col.export_collection_package(str(out), include_media=True, legacy=legacy)
    finally:
        col.close()
    return out


# --- importing: as Anki does ------------------------------------------------------------------


@pytest.mark.parametrize("name", PACKAGES)
def test_importing_a_package_gives_what_ankis_importer_gives(name, alice, api_as, tmp_path):
    package = FIXTURES / name
    assert upload(api_as(alice), package.read_bytes(), name).status_code == 200
    expected, media = what_anki_imports(package, tmp_path / "anki")
    assert ours(alice.username) == expected
    assert media_stored(alice.username) == media


@pytest.mark.parametrize("legacy", [True, False], ids=["legacy", "latest"])
def test_collection_packages_anki_writes_import_with_all_their_content(
    legacy, alice, api_as, tmp_path
):
    package = anki_made_colpkg(tmp_path, legacy=legacy)
    response = upload(api_as(alice), package.read_bytes(), package.name)
    assert response.status_code == 200, response.json()
    expected, _ = what_anki_imports(package, tmp_path / "anki")
    assert ours(alice.username) == expected
    assert response.json()["notes"]["added"] == len(expected["notes"]) == 12


def test_importing_without_scheduling_gives_what_anki_gives(alice, api_as, tmp_path):
    package = FIXTURES / PACKAGES[2]
    assert upload(api_as(alice), package.read_bytes(), scheduling="false").status_code == 200
    expected, _ = what_anki_imports(package, tmp_path / "anki", scheduling=False)
    assert ours(alice.username) == expected
    assert expected["revlog"] == []


# --- exporting: Anki takes it as it is --------------------------------------------------------


@pytest.fixture
def varied(alice: Any, api_as: Any) -> Any:
    """Alice with the fixture's collection plus notes, a deck and changes made here."""
    api = api_as(alice)
    assert upload(api, fixture_package()).status_code == 200
    models = {
        nt["name"]: int(nt["id"])
        for nt in col_json(collection_path(alice.username), "models").values()
    }
    deck = api.post("/api/decks", {"name": "Javumbo::Made here"}, format="json").json()["id"]
    made = [
        ("Basic", ["made <b>here</b>", "hecho aquí"], ["javumbo"]),
        ("Cloze", ["{{c1::Lisboa}} e {{c2::Porto}}", ""], ["javumbo::cloze"]),
        ("Basic (and reversed card)", ["sol", '<img src="sol.png">'], []),
    ]
    for notetype, fields, tags in made:
        body = {"notetypeId": models[notetype], "deckId": deck, "fields": fields, "tags": tags}
        response = api.post("/api/notes", body, format="json")
        assert response.status_code == 201, response.json()
    card = response.json()["cards"][0]["id"]
    assert api.post(f"/api/cards/{card}/suspend").status_code in (200, 204)
    return api


def exported_file(api: Any, tmp_path: Path, query: str = "") -> Path:
    response = api.get(f"/api/export{query}")
    assert response.status_code == 200
    path = tmp_path / "export.apkg"
    path.write_bytes(response.content)
    return path


def test_anki_imports_an_export_whole_and_checks_it_clean(alice, varied, tmp_path):
    package = exported_file(varied, tmp_path)
    expected, media = what_anki_imports(package, tmp_path / "anki")
    assert expected == ours(alice.username)
    assert media == media_stored(alice.username) == {"sol.png": media["sol.png"]}


def test_anki_imports_a_deck_export_with_its_subdecks(alice, varied, tmp_path):
    decks = {
        d["name"]: d["id"] for d in col_json(collection_path(alice.username), "decks").values()
    }
    package = exported_file(varied, tmp_path, f"?deck={decks['Javumbo']}")
    expected, media = what_anki_imports(package, tmp_path / "anki")
    mine = ours(alice.username)
    assert expected["cards"] == {
        k: v for k, v in mine["cards"].items() if v[0] == "Javumbo::Made here"
    }
    assert len(expected["cards"]) == 5  # one Basic, two clozes, both sides of the reversed one
    assert media == {"sol.png": media_stored(alice.username)["sol.png"]}


def test_anki_imports_an_export_without_scheduling_as_new_cards(alice, varied, tmp_path):
    package = exported_file(varied, tmp_path, "?scheduling=false")
    expected, _ = what_anki_imports(package, tmp_path / "anki")
    assert expected["revlog"] == []
    assert {(kind, queue) for _, kind, queue, *_ in expected["cards"].values()} == {(0, 0)}
    assert set(expected["notes"]) == set(ours(alice.username)["notes"])


def test_an_export_imported_into_a_fresh_account_gives_the_same_content(
    alice, varied, bob, api_as, tmp_path
):
    package = exported_file(varied, tmp_path)
    response = upload(api_as(bob), package.read_bytes())
    assert response.status_code == 200
    assert response.json()["skipped"] == []
    assert ours(bob.username) == ours(alice.username)
    assert media_stored(bob.username) == media_stored(alice.username)
    inside = package_contents(package.read_bytes(), tmp_path / "inside")
    assert content(inside.collection_path) == ours(bob.username)


def test_anki_finds_nothing_to_repair_in_a_collection_after_imports(alice, varied, tmp_path):
    for name in PACKAGES:  # again: every note known, nothing new
        assert upload(varied, (FIXTURES / name).read_bytes(), name).status_code == 200
    colpkg = anki_made_colpkg(tmp_path, legacy=False)
    assert upload(varied, colpkg.read_bytes(), colpkg.name).status_code == 200
    copy = tmp_path / "learner" / "collection.anki2"
    copy.parent.mkdir()
    shutil.copy(collection_path(alice.username), copy)
    col = Collection(str(copy))
    try:
        assert col.fix_integrity() == CLEAN_CHECK
        assert col.note_count() == 15
    finally:
        col.close()
