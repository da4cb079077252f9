"""Decks and deck options through the API: the tree and its counts, create, rename, delete,
the current deck, options presets; bad input changes nothing; learners stay apart.

The helpers at the top are shared by test_notes.py, test_cards.py and
test_collection_real_anki.py.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from decks import selectors, services
from javumbo.errors import InvalidInput
from sessions_cache import store
from sessions_cache.access import collection_session
from sessions_cache.cache import CachedCollection
from tests.engine_support import learner_create, requests_made

TABLES = ("col", "notes", "cards", "revlog", "graves")


# Shared helpers
# ---------------------------------------------------------------------------


def collection_path(username: str) -> Path:
    """The learner's collection as this container holds it after its last request."""
    return CachedCollection(username).path


def collection_rows(username: str) -> dict[str, list[tuple]]:
    """Every row of every Anki table, to tell whether a request changed anything."""
    uri = f"file:{collection_path(username)}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as conn:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in TABLES}


def col_json(username: str, column: str) -> dict:
    uri = f"file:{collection_path(username)}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as conn:
        return json.loads(conn.execute(f"SELECT {column} FROM col").fetchone()[0])


def query(username: str, sql: str, params: tuple = ()) -> list[tuple]:
    uri = f"file:{collection_path(username)}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as conn:
        return conn.execute(sql, params).fetchall()


def journal_length(username: str) -> int:
    entries, _ = store.journal_read(username, 0)
    return len(entries)


class Unchanged:
    """`with Unchanged(learner): <bad request>` asserts that nothing at all changed."""

    def __init__(self, username: str) -> None:
        self.username = username

    def __enter__(self) -> Unchanged:
        self.rows = collection_rows(self.username)
        self.journal = journal_length(self.username)
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            assert collection_rows(self.username) == self.rows
            assert journal_length(self.username) == self.journal


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) <= {"error", "code", "details"} and body["error"]
    return body


def add_note(api, notetype="Basic", fields=None, tags=(), deck_id=None) -> dict:
    body = {"notetype": notetype, "fields": fields or ["front", "back"], "tags": list(tags)}
    if deck_id is not None:
        body["deckId"] = deck_id
    response = api.post("/api/notes", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def make_deck(api, name: str) -> dict:
    response = api.post("/api/decks", {"name": name}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def deck_named(api, name: str) -> dict:
    pending = list(api.get("/api/decks?perPage=200").json()["results"])
    while pending:
        node = pending.pop()
        if node["name"] == name:
            return node
        pending.extend(node["children"])
    raise AssertionError(f"no deck {name!r}")


@pytest.fixture(name="api")
def api_fixture(alice, api_as):
    client = api_as(alice)
    assert client.get("/api/decks").status_code == 200  # the collection is now cached here
    return client


@pytest.fixture(name="anki_made")
def anki_made_fixture():
    """A learner whose collection is a copy of tests/fixtures/anki/collection.anki2."""
    learner = learner_create("anki")
    client = learner.client()
    assert client.get("/api/decks").status_code == 200
    return learner, client


# The tree
# ---------------------------------------------------------------------------


def test_it_lists_decks_as_a_tree_with_the_current_deck(anki_made):
    learner, api = anki_made
    body = api.get("/api/decks").json()
    names = {d["name"]: d for d in col_json(learner.username, "decks").values()}
    assert [root["name"] for root in body["results"]] == ["Default", "Geography", "Spanish"]
    spanish = body["results"][2]
    assert [child["name"] for child in spanish["children"]] == ["Spanish::Verbs"]
    assert spanish["children"][0]["parentId"] == spanish["id"] == names["Spanish"]["id"]
    assert body["currentDeckId"] == col_json(learner.username, "conf")["curDeck"]
    assert (body["total"], body["page"], body["perPage"]) == (3, 1, 20)


def test_it_counts_cards_by_state_including_subdecks(api, alice):
    verbs = make_deck(api, "Spanish::Verbs")
    parent = deck_named(api, "Spanish")
    for word in ("hablar", "comer", "vivir"):
        add_note(api, fields=[word, "to ..."], deck_id=verbs["id"])
    add_note(api, fields=["hola", "hello"], deck_id=parent["id"])
    card = api.get(f"/api/decks/{verbs['id']}/cards").json()["results"][0]
    api.post(f"/api/cards/{card['id']}/suspend")
    verbs, parent = deck_named(api, "Spanish::Verbs"), deck_named(api, "Spanish")
    assert (verbs["newCount"], verbs["cardCount"]) == (2, 3)
    assert (parent["newCount"], parent["cardCount"]) == (3, 4)
    assert parent["learnCount"] == parent["reviewCount"] == 0


def test_it_pages_the_top_level_decks(api):
    for name in ("A", "B", "C"):
        make_deck(api, name)
    body = api.get("/api/decks?perPage=2&page=2").json()
    assert [d["name"] for d in body["results"]] == ["C", "Default"]
    assert (body["total"], body["page"], body["perPage"]) == (4, 2, 2)


def test_it_shows_one_deck_with_its_subdecks(api):
    child = make_deck(api, "Music::Theory")
    parent = deck_named(api, "Music")
    body = api.get(f"/api/decks/{parent['id']}").json()
    assert body["name"] == "Music"
    assert [c["id"] for c in body["children"]] == [child["id"]]


# Create
# ---------------------------------------------------------------------------


def test_it_creates_a_deck_as_anki_writes_one(api, alice):
    created = make_deck(api, "Languages")
    decks = col_json(alice.username, "decks")
    stored = decks[str(created["id"])]
    assert set(stored) == set(decks["1"])  # the shape Anki gives every deck
    assert (stored["name"], stored["conf"], stored["dyn"], stored["usn"]) == ("Languages", 1, 0, -1)
    assert abs(stored["mod"] - created["id"] // 1000) <= 1  # epoch seconds; id epoch ms
    assert created["parentId"] is None and created["presetId"] == 1


def test_it_creates_missing_parents_and_adopts_existing_parents_spelling(api, alice):
    make_deck(api, "Science")
    created = make_deck(api, "science::Physics::Waves")
    names = sorted(d["name"] for d in col_json(alice.username, "decks").values())
    assert names == ["Default", "Science", "Science::Physics", "Science::Physics::Waves"]
    assert created["name"] == "Science::Physics::Waves"


def test_it_trims_each_part_of_a_name_and_drops_quotes_and_control_characters(api):
    created = make_deck(api, '  Art \x07:: "Modern"  ')
    assert created["name"] == "Art::Modern"


def test_it_refuses_a_name_that_exists_ignoring_case(api, alice):
    make_deck(api, "History::Rome")
    with Unchanged(alice.username):
        body = error_of(api.post("/api/decks", {"name": "HISTORY::rome"}, format="json"), 409)
    assert body["code"] == "deck_exists" and "name" in body["details"]


@pytest.mark.parametrize(
    "name",
    ["", "   ", "\t\n", "A::::B", "A:: ::B", "::A", "x" * 201, "::".join("d" * 21), '"'],
)
def test_it_refuses_bad_deck_names_and_changes_nothing(api, alice, name):
    with Unchanged(alice.username):
        body = error_of(api.post("/api/decks", {"name": name}, format="json"), 400)
    assert "name" in body["details"]


def test_it_accepts_the_longest_and_deepest_names_allowed(api):
    assert make_deck(api, "x" * services.DECK_NAME_MAX_CHARS)["shortName"] == "x" * 200
    deep = "::".join(f"d{i}" for i in range(services.DECK_NAME_MAX_PARTS))
    assert make_deck(api, deep)["name"] == deep


# Rename
# ---------------------------------------------------------------------------


def test_it_renames_a_deck_and_its_subdecks_follow(api, alice):
    verbs = make_deck(api, "Spanish::Verbs::Irregular")
    spanish = deck_named(api, "Spanish")
    response = api.put(f"/api/decks/{spanish['id']}/rename", {"name": "Español"}, format="json")
    assert response.status_code == 200 and response.json()["name"] == "Español"
    decks = col_json(alice.username, "decks")
    assert decks[str(verbs["id"])]["name"] == "Español::Verbs::Irregular"
    assert sorted(d["name"] for d in decks.values()) == [
        "Default",
        "Español",
        "Español::Verbs",
        "Español::Verbs::Irregular",
    ]
    assert all(d["usn"] == -1 for d in decks.values() if d["id"] != 1)


def test_it_renames_with_patch_and_creates_new_parents(api, alice):
    deck = make_deck(api, "Loose")
    response = api.patch(f"/api/decks/{deck['id']}", {"name": "Box::Loose"}, format="json")
    assert response.status_code == 200
    assert response.json()["parentId"] == deck_named(api, "Box")["id"]


def test_it_changes_only_the_case_of_a_name(api):
    deck = make_deck(api, "spanish")
    response = api.put(f"/api/decks/{deck['id']}/rename", {"name": "Spanish"}, format="json")
    assert response.json()["name"] == "Spanish"


def test_it_changes_a_description_and_shows_it_without_scripts(api, alice):
    deck = make_deck(api, "Notes")
    described = "<b>mine</b><script>alert(1)</script>"
    response = api.patch(f"/api/decks/{deck['id']}", {"description": described}, format="json")
    assert col_json(alice.username, "decks")[str(deck["id"])]["desc"] == described
    assert response.json()["description"] == "<b>mine</b>"


def test_it_refuses_renames_onto_another_deck_or_inside_itself(api, alice):
    make_deck(api, "Taken")
    deck = make_deck(api, "Mine")
    with Unchanged(alice.username):
        error_of(api.put(f"/api/decks/{deck['id']}/rename", {"name": "taken"}, format="json"), 409)
        error_of(
            api.put(f"/api/decks/{deck['id']}/rename", {"name": "Mine::Sub"}, format="json"), 400
        )
        error_of(api.put(f"/api/decks/{deck['id']}/rename", {"name": "  "}, format="json"), 400)
        error_of(api.put("/api/decks/999/rename", {"name": "Other"}, format="json"), 404)


# Delete
# ---------------------------------------------------------------------------


def test_it_deletes_a_deck_with_its_subdecks_cards_and_orphaned_notes(api, alice):
    top = make_deck(api, "Old")
    sub = make_deck(api, "Old::Sub")
    keep = make_deck(api, "Keep")
    gone = add_note(api, fields=["gone", "x"], deck_id=sub["id"])
    split = add_note(api, "Basic (and reversed card)", ["a", "b"], deck_id=top["id"])
    moved = split["cards"][1]["id"]
    api.post(f"/api/cards/{moved}/move", {"deckId": keep["id"]}, format="json")
    assert api.delete(f"/api/decks/{top['id']}").status_code == 204
    assert set(col_json(alice.username, "decks")) == {"1", str(keep["id"])}
    assert api.get(f"/api/notes/{gone['id']}").status_code == 404
    assert [c["id"] for c in api.get(f"/api/notes/{split['id']}").json()["cards"]] == [moved]
    graves = set(query(alice.username, "SELECT usn, oid, type FROM graves"))
    assert graves == {
        (-1, gone["cards"][0]["id"], 0),
        (-1, split["cards"][0]["id"], 0),
        (-1, gone["id"], 1),
        (-1, top["id"], 2),
        (-1, sub["id"], 2),
    }


def test_deleting_the_current_deck_makes_default_current(api, alice):
    deck = make_deck(api, "Current")
    api.put("/api/decks/current", {"deckId": deck["id"]}, format="json")
    api.delete(f"/api/decks/{deck['id']}")
    assert api.get("/api/decks").json()["currentDeckId"] == 1
    assert col_json(alice.username, "conf")["activeDecks"] == [1]


def test_it_refuses_to_delete_the_default_deck_or_an_unknown_one(api, alice):
    add_note(api)
    with Unchanged(alice.username):
        assert error_of(api.delete("/api/decks/1"), 400)["code"] == "default_deck"
        error_of(api.delete("/api/decks/424242"), 404)


# The current deck
# ---------------------------------------------------------------------------


def test_it_sets_the_current_deck_with_its_subdecks_active(api, alice):
    child = make_deck(api, "Top::Child")
    top = deck_named(api, "Top")
    response = api.put("/api/decks/current", {"deckId": top["id"]}, format="json")
    assert response.json() == {"currentDeckId": top["id"]}
    conf = col_json(alice.username, "conf")
    assert (conf["curDeck"], sorted(conf["activeDecks"])) == (top["id"], [top["id"], child["id"]])
    assert api.get("/api/decks").json()["currentDeckId"] == top["id"]


def test_it_refuses_an_unknown_current_deck(api, alice):
    with Unchanged(alice.username):
        body = error_of(api.put("/api/decks/current", {"deckId": 12345}, format="json"), 400)
        error_of(api.put("/api/decks/current", {}, format="json"), 400)
    assert "deckId" in body["details"]


# Cards of a deck
# ---------------------------------------------------------------------------


def test_it_lists_a_decks_cards_with_its_subdecks_paginated(api):
    sub = make_deck(api, "Set::Sub")
    top = deck_named(api, "Set")
    add_note(api, fields=["one", "1"], deck_id=top["id"])
    add_note(api, fields=["two", "2"], deck_id=sub["id"])
    add_note(api, fields=["elsewhere", "3"])
    first = api.get(f"/api/decks/{top['id']}/cards?perPage=1").json()
    second = api.get(f"/api/decks/{top['id']}/cards?perPage=1&page=2").json()
    assert (first["total"], first["perPage"]) == (2, 1)
    assert [first["results"][0]["fields"]["Front"], second["results"][0]["fields"]["Front"]] == [
        "one",
        "two",
    ]
    assert error_of(api.get("/api/decks/31337/cards"), 404)["code"] == "not_found"


# Options presets
# ---------------------------------------------------------------------------


def test_it_shows_the_preset_a_deck_uses_as_stored(anki_made):
    learner, api = anki_made
    stored = col_json(learner.username, "dconf")["1"]
    body = api.get("/api/decks/1/options").json()
    assert (body["id"], body["name"]) == (1, stored["name"])
    assert body["newPerDay"] == stored["new"]["perDay"]
    assert body["learningSteps"] == stored["new"]["delays"]
    assert [body["graduatingInterval"], body["easyInterval"]] == stored["new"]["ints"][:2]
    assert body["startingEase"] * 1000 == stored["new"]["initialFactor"]
    assert body["relearningSteps"] == stored["lapse"]["delays"]
    assert body["maximumInterval"] == stored["rev"]["maxIvl"]
    assert body["leechAction"] == ("suspend" if stored["lapse"]["leechAction"] == 0 else "tagOnly")
    assert 1 in body["deckIds"]


def test_it_changes_the_options_every_deck_sharing_the_preset_sees(api, alice):
    deck = make_deck(api, "Shared")
    changes = {
        "newPerDay": 35,
        "learningSteps": [2, 15.5],
        "startingEase": 2.3,
        "leechAction": "suspend",
        "buryNew": True,
        "easyInterval": 6,
    }
    response = api.put(f"/api/decks/{deck['id']}/options", changes, format="json")
    assert response.status_code == 200
    stored = col_json(alice.username, "dconf")["1"]
    assert stored["new"]["perDay"] == 35 and stored["new"]["delays"] == [2.0, 15.5]
    assert stored["new"]["initialFactor"] == 2300 and stored["new"]["ints"][:2] == [1, 6]
    assert (stored["lapse"]["leechAction"], stored["new"]["bury"], stored["usn"]) == (0, True, -1)
    assert api.get("/api/decks/1/options").json()["newPerDay"] == 35


@pytest.mark.parametrize(
    "changes",
    [
        {"newPerDay": -1},
        {"reviewsPerDay": 10_000},
        {"learningSteps": [0]},
        {"learningSteps": "1 10"},
        {"startingEase": 1.2},
        {"lapseMultiplier": 1.5},
        {"hardMultiplier": 2},
        {"leechAction": "delete"},
        {"maximumInterval": 0},
        {"buryNew": "perhaps"},
        {"presetId": 987},
    ],
)
def test_it_refuses_options_out_of_range_and_changes_nothing(api, alice, changes):
    with Unchanged(alice.username):
        body = error_of(api.put("/api/decks/1/options", changes, format="json"), 400)
    assert set(body["details"]) == set(changes)


def test_it_creates_clones_updates_and_switches_presets(api, alice):
    deck = make_deck(api, "Intensive")
    created = api.post("/api/deck-options", {"name": "Fast", "newPerDay": 50}, format="json")
    assert created.status_code == 201
    fast = created.json()
    clone = api.post(
        "/api/deck-options", {"name": "Fast copy", "cloneFrom": fast["id"]}, format="json"
    ).json()
    assert (fast["newPerDay"], clone["newPerDay"], fast["reviewsPerDay"]) == (50, 50, 200)
    switched = api.put(f"/api/decks/{deck['id']}/options", {"presetId": fast["id"]}, format="json")
    assert switched.json()["deckIds"] == [deck["id"]]
    api.put(f"/api/deck-options/{fast['id']}", {"name": "Faster", "newPerDay": 60}, format="json")
    presets = api.get("/api/deck-options").json()
    assert [p["name"] for p in presets["results"]] == ["Default", "Fast copy", "Faster"]
    dconf = col_json(alice.username, "dconf")
    assert set(dconf[str(fast["id"])]) == set(dconf["1"])  # every key Anki writes
    assert col_json(alice.username, "decks")[str(deck["id"])]["conf"] == fast["id"]


def test_deleting_a_preset_moves_its_decks_to_the_default_and_asks_for_a_full_sync(api, alice):
    deck = make_deck(api, "Moving")
    preset = api.post("/api/deck-options", {"name": "Temp"}, format="json").json()
    api.put(f"/api/decks/{deck['id']}/options", {"presetId": preset["id"]}, format="json")
    scm_before = query(alice.username, "SELECT scm FROM col")[0][0]
    assert api.delete(f"/api/deck-options/{preset['id']}").status_code == 204
    assert col_json(alice.username, "decks")[str(deck["id"])]["conf"] == 1
    assert str(preset["id"]) not in col_json(alice.username, "dconf")
    assert query(alice.username, "SELECT scm FROM col")[0][0] > scm_before


def test_it_refuses_bad_preset_requests(api, alice):
    with Unchanged(alice.username):
        error_of(api.delete("/api/deck-options/1"), 400)
        error_of(api.get("/api/deck-options/55"), 404)
        error_of(api.put("/api/deck-options/55", {"name": "x"}, format="json"), 404)
        error_of(api.post("/api/deck-options", {"name": "   "}, format="json"), 400)
        error_of(api.post("/api/deck-options", {"name": "C", "cloneFrom": 5}, format="json"), 400)
        error_of(api.get("/api/decks/77/options"), 404)


# "Today" in the learner's timezone
# ---------------------------------------------------------------------------


def test_it_keeps_the_learners_timezone_in_the_collection_after_one_users_table_read(
    learner_make, api_as
):
    tokyo = learner_make("tokyo", timezone="Asia/Tokyo")
    client = api_as(tokyo)
    client.get("/api/decks")
    mod = query(tokyo.username, "SELECT mod FROM col")[0][0]
    assert col_json(tokyo.username, "conf")[services.TIMEZONE_KEY] == "Asia/Tokyo"
    warm = client.get("/api/decks")
    assert requests_made(warm) == {"s3": 0, "ddb": 1}  # the journal query only
    assert query(tokyo.username, "SELECT mod FROM col")[0][0] == mod


def test_a_timezone_change_reaches_the_collection(alice):
    with collection_session(alice.username, alice.collection_id):
        services.collection_timezone_set(timezone="America/Lima")
    with collection_session(alice.username, alice.collection_id):
        assert services.learner_timezone(username=alice.username) == "America/Lima"
    with pytest.raises(InvalidInput), collection_session(alice.username, alice.collection_id):
        services.collection_timezone_set(timezone="Mars/Olympus")


def test_a_collection_without_a_learner_item_counts_days_in_its_own_offset(anki_made):
    learner, _ = anki_made
    assert services.TIMEZONE_KEY not in col_json(learner.username, "conf")
    with collection_session(learner.username, learner.collection_id):
        assert services.learner_timezone(username=learner.username) == "UTC"
        state = selectors.collection_load()
        state.conf["localOffset"] = 300  # Anki's minutes west of UTC: UTC-5
        services.collection_save(state, conf=True)
        zone = services.learner_timezone(username=learner.username)
    offset = datetime.now(ZoneInfo(zone)).utcoffset()
    assert offset == timedelta(hours=-5)


# Learners stay apart; strangers are refused
# ---------------------------------------------------------------------------


def test_a_learner_cannot_see_or_touch_another_learners_decks(alice, bob, api_as):
    api_a, api_b = api_as(alice), api_as(bob)
    bobs = make_deck(api_b, "Bob's secrets")
    add_note(api_b, fields=["mine", "only"], deck_id=bobs["id"])
    before = collection_rows(bob.username)
    assert api_a.get(f"/api/decks/{bobs['id']}").status_code == 404
    assert (
        api_a.patch(f"/api/decks/{bobs['id']}", {"name": "Mallory"}, format="json").status_code
        == 404
    )
    assert api_a.delete(f"/api/decks/{bobs['id']}").status_code == 404
    assert api_a.get(f"/api/decks/{bobs['id']}/cards").status_code == 404
    assert api_a.put("/api/decks/current", {"deckId": bobs["id"]}, format="json").status_code == 400
    assert "Bob's secrets" not in json.dumps(api_a.get("/api/decks").json())
    assert collection_rows(bob.username) == before


def test_it_refuses_requests_without_a_token(client):
    assert error_of(client.get("/api/decks"), 401)["code"] == "not_authenticated"
    assert client.post("/api/decks", {"name": "x"}, format="json").status_code == 401
