"""The collection API against the real Anki (the `anki` package) as oracle.

A collection built entirely through the API (notes of the three stock types, nested
decks, tags, a suspended card, renames, deletions, Forget, a preset) is copied out of
the container cache and opened by Anki: Check Database reports nothing, and Anki sees
the same notes, cards, decks, tags and presets. Anki, given the same notes, generates
the same cards. On a collection Anki made, card operations (Forget, suspend, bury,
move) and searches give what Anki's own give.

Anki upgrades a schema-11 file to schema 18 when it opens it, so it always opens a copy.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Sequence

import pytest

from decks import anki
from tests.engine_support import FIXTURE, learner_create
from tests.test_decks import (
    add_note,
    api_fixture,  # noqa: F401 - the api fixture
    collection_path,
    deck_named,
    make_deck,
    query,
)

Collection = pytest.importorskip("anki.collection").Collection

CLEAN_CHECK = "Database rebuilt and optimized."  # what Check Database says when all is well

NOTES = [
    ("Basic", {"Front": "<b>hola</b>", "Back": "hello"}, ["spanish", "greetings"]),
    ("Basic", {"Front": 'el sol <img src="sol.png">', "Back": "the sun"}, ["media"]),
    ("Basic (and reversed card)", {"Front": "France", "Back": "<b>Paris</b>"}, ["geo::europe"]),
    ("Basic (and reversed card)", {"Front": "only the front"}, []),
    ("Cloze", {"Text": "{{c1::Lima}} is the capital of {{c3::Peru}}", "Back Extra": "x"}, []),
    ("Cloze", {"Text": "{{c1::a {{c2::b {{c4::c}}}}}}"}, ["cloze", "nested"]),
    ("Cloze", {"Text": "{{c2::x::hint}} {{c2::y}} {{c0::z {{c5::w}}}}"}, ["Cloze"]),
    ("Cloze", {"Text": "{{c1::Rome}} {{c1::Roma}}", "Back Extra": "<i>it</i>"}, ["geo::europe"]),
]


def opened_by_anki(username: str, tmp_path, name: str = "copy.anki2"):
    return Collection(str(shutil.copy(collection_path(username), tmp_path / name)))


def our_view(username: str) -> dict:
    """Notes, cards, decks, tags and presets as our file holds them."""
    decks = json.loads(query(username, "SELECT decks FROM col")[0][0])
    return {
        "notes": {
            nid: (guid, mid, anki.split_fields(flds), anki.tags_from_text(tags))
            for nid, guid, mid, flds, tags in query(
                username, "SELECT id, guid, mid, flds, tags FROM notes"
            )
        },
        "cards": set(query(username, "SELECT id, nid, ord, did, type, queue, due FROM cards")),
        "decks": {int(d["id"]): d["name"] for d in decks.values()},
        "tags": set(json.loads(query(username, "SELECT tags FROM col")[0][0])),
        "presets": {
            int(p["id"]): p["name"]
            for p in json.loads(query(username, "SELECT dconf FROM col")[0][0]).values()
        },
    }


def anki_view(col) -> dict:
    notes = {}
    for nid in col.find_notes(""):
        note = col.get_note(nid)
        notes[nid] = (note.guid, note.mid, list(note.fields), list(note.tags))
    cards = {
        tuple(row) for row in col.db.all("SELECT id, nid, ord, did, type, queue, due FROM cards")
    }
    return {
        "notes": notes,
        "cards": cards,
        "decks": {d.id: d.name for d in col.decks.all_names_and_ids()},
        "tags": set(col.tags.all()),
        "presets": {c["id"]: c["name"] for c in col.decks.all_config()},
    }


def build_through_the_api(api) -> dict[str, list]:
    verbs = make_deck(api, "Languages::Spanish::Verbs")
    geo = make_deck(api, "Geography")
    added = []
    for index, (notetype, fields, tags) in enumerate(NOTES):
        deck_id = verbs["id"] if index % 2 else geo["id"]
        added.append(add_note(api, notetype, fields, tags, deck_id=deck_id))
    api.post(f"/api/cards/{added[2]['cards'][1]['id']}/suspend")
    api.post(f"/api/cards/{added[4]['cards'][0]['id']}/bury")
    api.post(f"/api/cards/{added[0]['cards'][0]['id']}/forget", {}, format="json")
    api.post(f"/api/cards/{added[1]['cards'][0]['id']}/move", {"deckId": 1}, format="json")
    api.put(
        f"/api/decks/{deck_named(api, 'Languages')['id']}/rename",
        {"name": "Idiomas"},
        format="json",
    )
    api.put("/api/tags/rename", {"old": "geo", "new": "places"}, format="json")
    scratch = make_deck(api, "Scratch::Inner")
    gone = add_note(api, "Basic", ["temporary", "x"], deck_id=scratch["id"])
    api.delete(f"/api/decks/{deck_named(api, 'Scratch')['id']}")
    api.delete(f"/api/notes/{added[3]['id']}")
    preset = api.post("/api/deck-options", {"name": "Gentle", "newPerDay": 5}, format="json")
    api.put(f"/api/decks/{geo['id']}/options", {"presetId": preset.json()["id"]}, format="json")
    api.put(
        f"/api/notes/{added[5]['id']}", {"fields": {"Text": "{{c1::a}} {{c6::b}}"}}, format="json"
    )
    api.put("/api/decks/current", {"deckId": verbs["id"]}, format="json")
    return {"added": added, "gone": [gone]}


def test_anki_checks_a_collection_built_through_the_api_and_sees_what_we_stored(
    api, alice, tmp_path
):
    build_through_the_api(api)
    ours = our_view(alice.username)
    assert "Idiomas::Spanish::Verbs" in ours["decks"].values()
    col = opened_by_anki(alice.username, tmp_path)
    try:
        assert col.fix_integrity() == (CLEAN_CHECK, True)
        theirs = anki_view(col)
        assert theirs == ours
        assert col.decks.current()["id"] == deck_named(api, "Idiomas::Spanish::Verbs")["id"]
        suspended = col.find_cards("is:suspended")
        assert [col.get_card(cid).note()["Front"] for cid in suspended] == ["France"]
    finally:
        col.close()


def test_anki_generates_the_same_cards_for_the_same_notes(api, tmp_path):
    ours = {}
    for notetype, fields, tags in NOTES:
        note = add_note(api, notetype, fields, tags)
        ours[json.dumps([notetype, fields])] = sorted(card["ord"] for card in note["cards"])
    col = Collection(str(tmp_path / "reference.anki2"))
    try:
        theirs = {}
        for notetype, fields, tags in NOTES:
            note = col.new_note(col.models.by_name(notetype))
            for name, value in fields.items():
                note[name] = value
            note.tags = tags
            col.add_note(note, 1)
            theirs[json.dumps([notetype, fields])] = sorted(card.ord for card in note.cards())
    finally:
        col.close()
    assert ours == theirs


def test_anki_keeps_the_cards_an_edit_generates(api, alice, tmp_path):
    note = add_note(api, "Cloze", {"Text": "{{c1::one}}"})
    api.put(
        f"/api/notes/{note['id']}", {"fields": {"Text": "{{c1::one}} {{c2::two}}"}}, format="json"
    )
    pair = add_note(api, "Basic (and reversed card)", {"Front": "front only"})
    api.patch(f"/api/notes/{pair['id']}", {"fields": {"Back": "and back"}}, format="json")
    col = opened_by_anki(alice.username, tmp_path)
    try:
        assert col.fix_integrity() == (CLEAN_CHECK, True)
        for note_id in (note["id"], pair["id"]):
            assert sorted(c.ord for c in col.get_note(note_id).cards()) == [0, 1]
    finally:
        col.close()


def test_new_decks_and_presets_have_the_json_anki_writes(api, alice, tmp_path):
    ours = make_deck(api, "Fresh::Child")
    preset = api.post("/api/deck-options", {"name": "Own"}, format="json").json()
    path = tmp_path / "anki.anki2"
    col = Collection(str(path))
    child = col.decks.id("Fresh::Child")
    config = col.decks.add_config_returning_id("Own")
    col.close(downgrade=True)
    with sqlite3.connect(path) as conn:
        decks_json, dconf_json = conn.execute("SELECT decks, dconf FROM col").fetchone()
    identity = {"id", "mod", "usn"}

    def without_identity(value: dict) -> dict:
        return {k: v for k, v in value.items() if k not in identity}

    ours_decks = json.loads(query(alice.username, "SELECT decks FROM col")[0][0])
    ours_dconf = json.loads(query(alice.username, "SELECT dconf FROM col")[0][0])
    assert without_identity(ours_decks[str(ours["id"])]) == without_identity(
        json.loads(decks_json)[str(child)]
    )
    assert without_identity(ours_dconf[str(preset["id"])]) == without_identity(
        json.loads(dconf_json)[str(config)]
    )


# Operations on a collection Anki made, done by us and by Anki
# ---------------------------------------------------------------------------

BASE_ID = 1767614400000  # the fixture's first note/card id (fixtures_manifest.json)
CARD_COLUMNS = "did, ord, type, queue, due, ivl, factor, reps, lapses, left, odue, odid, flags"


@pytest.fixture
def twins(tmp_path):
    """The fixture collection twice: as a learner's (through the API) and opened by Anki."""
    learner = learner_create("twin")
    api = learner.client()
    assert api.get("/api/decks").status_code == 200
    col = Collection(str(shutil.copy(FIXTURE, tmp_path / "anki.anki2")))
    yield learner, api, col
    col.close()


def card_state(rows: Sequence) -> list:
    *columns, data = rows
    return [*columns, json.loads(data or "{}")]


def ours_card(username: str, card_id: int) -> list:
    return card_state(
        query(username, f"SELECT {CARD_COLUMNS}, data FROM cards WHERE id = ?", (card_id,))[0]
    )


def theirs_card(col, card_id: int) -> list:
    return card_state(col.db.first(f"SELECT {CARD_COLUMNS}, data FROM cards WHERE id = ?", card_id))


def test_forget_suspend_and_bury_leave_cards_as_anki_leaves_them(twins):
    learner, api, col = twins
    review, relearning, new, suspended = (BASE_ID + n for n in (0, 7, 6, 5))
    api.post(f"/api/cards/{review}/forget", {}, format="json")
    api.post(
        f"/api/cards/{relearning}/forget",
        {"restorePosition": True, "resetCounts": True},
        format="json",
    )
    api.post(f"/api/cards/{new}/bury")
    api.post(f"/api/cards/{suspended}/unsuspend")
    api.post(f"/api/cards/{BASE_ID + 1}/suspend")
    col.sched.schedule_cards_as_new([review], restore_position=False, reset_counts=False)
    col.sched.schedule_cards_as_new([relearning], restore_position=True, reset_counts=True)
    col.sched.bury_cards([new], manual=True)
    col.sched.unsuspend_cards([suspended])
    col.sched.suspend_cards([BASE_ID + 1])
    for card_id in (review, relearning, new, suspended, BASE_ID + 1):
        assert ours_card(learner.username, card_id) == theirs_card(col, card_id), card_id
    manual = "SELECT cid, usn, ease, ivl, lastIvl, factor, time, type FROM revlog WHERE type = 4"
    assert sorted(query(learner.username, manual)) == sorted(map(tuple, col.db.all(manual)))
    assert json.loads(query(learner.username, "SELECT conf FROM col")[0][0])["nextPos"] == (
        col.get_config("nextPos")
    )


def test_moving_learning_cards_adjusts_their_steps_as_anki_does(twins):
    learner, api, col = twins
    spanish = deck_named(api, "Spanish")["id"]
    steps = {"learningSteps": [1, 5, 10, 30], "relearningSteps": [5, 20, 60]}
    preset = api.post("/api/deck-options", {"name": "Steps", **steps}, format="json").json()
    api.put(f"/api/decks/{spanish}/options", {"presetId": preset["id"]}, format="json")
    config = col.decks.add_config_returning_id("Steps")
    conf = col.decks.get_config(config)
    conf["new"]["delays"], conf["lapse"]["delays"] = [1.0, 5.0, 10.0, 30.0], [5.0, 20.0, 60.0]
    col.decks.update_config(conf)
    deck = col.decks.get(spanish)
    deck["conf"] = config
    col.decks.save(deck)
    learning, relearning = BASE_ID + 10, BASE_ID + 7
    for card_id in (learning, relearning):
        api.post(f"/api/cards/{card_id}/move", {"deckId": spanish}, format="json")
    col.set_deck([learning, relearning], spanish)
    for card_id in (learning, relearning):
        assert ours_card(learner.username, card_id) == theirs_card(col, card_id), card_id


SEARCHES = [
    "",
    "is:new",
    "is:learn",
    "is:review",
    "is:due",
    "is:suspended",
    "is:buried",
    "tag:verbs",
    "tag:ver*",
    "tag:VERBS::AR-ER-IR",
    "tag:spanish -tag:media",
    "tag:none",
    "deck:Spanish",
    "deck:spanish::verbs",
    "deck:Span*",
    "-deck:Geography",
    "deck:Geography is:review",
    "paris",
    "PARIS",
    '"the capital"',
    "capital of",
    "hablar -is:new",
    "note:Cloze",
    "note:basic*",
    "flag:0",
]


@pytest.mark.parametrize("q", SEARCHES)
def test_searches_find_the_cards_anki_finds(twins, q):
    _, api, col = twins
    body = api.get("/api/cards", {"q": q, "perPage": 200}).json()
    assert sorted(card["id"] for card in body["results"]) == sorted(col.find_cards(q))


def test_deck_counts_match_anki_searches_for_due_cards(twins):
    _, api, col = twins
    for name in ("Spanish", "Spanish::Verbs", "Geography", "Default"):
        deck = deck_named(api, name)
        where = f'"deck:{name}"'
        assert deck["newCount"] == len(col.find_cards(f"{where} is:new -is:suspended -is:buried"))
        assert deck["learnCount"] == len(col.find_cards(f"{where} is:learn is:due"))
        assert deck["reviewCount"] == len(col.find_cards(f"{where} is:review is:due -is:learn"))
        assert deck["cardCount"] == len(col.find_cards(where))
