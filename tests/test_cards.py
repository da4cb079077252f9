"""Cards through the API: the old client's shortcuts, one card with every field, search,
moving, flags, suspend/bury and Forget, deletion; bad input changes nothing; learners
stay apart. (test_collection_real_anki.py replays the same operations in Anki itself.)"""

from __future__ import annotations

import json

import pytest

from decks import anki
from tests.test_decks import (
    Unchanged,
    add_note,
    anki_made_fixture,  # noqa: F401 - the anki_made fixture
    api_fixture,  # noqa: F401 - the api fixture
    col_json,
    collection_rows,
    error_of,
    make_deck,
    query,
)

SCHEDULING = ("type", "queue", "due", "ivl", "factor", "reps", "lapses", "left", "odue", "odid")
CARD_COLUMNS = ("id", "nid", "did", "ord", "mod", "usn", *SCHEDULING, "flags", "data")


def card_row(username: str, card_id: int) -> dict:
    sql = f"SELECT {', '.join(CARD_COLUMNS)} FROM cards WHERE id = ?"
    (row,) = query(username, sql, (card_id,))
    return dict(zip(CARD_COLUMNS, row, strict=True))


def fixture_card(username: str, where: str) -> dict:
    """A card of the Anki-made collection in a given state."""
    sql = f"SELECT id FROM cards WHERE {where} ORDER BY id LIMIT 1"
    return card_row(username, query(username, sql)[0][0])


# The old client's shortcuts
# ---------------------------------------------------------------------------


def test_posting_front_and_back_adds_a_basic_note_in_the_current_deck(api, alice):
    deck = make_deck(api, "Inbox")
    api.put("/api/decks/current", {"deckId": deck["id"]}, format="json")
    response = api.post("/api/cards", {"front": "Qué tal", "back": "How are you"}, format="json")
    assert response.status_code == 201
    card = response.json()
    assert (card["deckId"], card["notetype"], card["ord"]) == (deck["id"], "Basic", 0)
    assert card["fields"] == {"Front": "Qué tal", "Back": "How are you"}
    assert card_row(alice.username, card["id"])["nid"] == card["noteId"]


def test_posting_an_empty_front_is_refused(api, alice):
    with Unchanged(alice.username):
        error_of(api.post("/api/cards", {"front": "  ", "back": "x"}, format="json"), 400)
        error_of(api.post("/api/cards", {"back": "x"}, format="json"), 400)


def test_one_card_has_every_scheduling_field_and_its_rendered_sides(anki_made):
    learner, api = anki_made
    stored = fixture_card(learner.username, "type = 3")  # relearning, as Anki left it
    card = api.get(f"/api/cards/{stored['id']}").json()
    for column in (*SCHEDULING, "flags", "mod", "usn", "ord"):
        assert card[column] == stored[column], column
    (flds, tags) = query(
        learner.username, "SELECT flds, tags FROM notes WHERE id = ?", (stored["nid"],)
    )[0]
    assert list(card["fields"].values()) == anki.split_fields(flds)
    assert card["tags"] == anki.tags_from_text(tags)
    assert card["front"] and card["back"].startswith(card["front"])
    assert ".card" in card["css"]
    assert card["deckName"] == col_json(learner.username, "decks")[str(stored["did"])]["name"]


def test_rendered_sides_have_scripts_and_event_handlers_removed(api):
    front = 'Hi<script>alert("x")</script><img src="a.png" onerror="steal()">'
    card = api.post(
        "/api/cards", {"front": front, "back": "<a href=javascript:x()>b</a>"}, format="json"
    ).json()
    for side in (card["front"], card["back"]):
        assert "<script" not in side and "onerror" not in side and "javascript:" not in side
    assert '<img src="a.png">' in card["front"]
    assert card["fields"]["Front"] == front  # stored exactly as given, as Anki stores it


def test_a_cloze_card_hides_its_own_cloze_on_the_front_only(api):
    note = add_note(api, "Cloze", ["{{c1::Lima}} is in {{c2::Peru}}", ""])
    first = api.get(f"/api/cards/{note['cards'][0]['id']}").json()
    visible_front, visible_back = anki.strip_html(first["front"]), anki.strip_html(first["back"])
    assert "Lima" not in visible_front and "[...]" in visible_front and "Peru" in visible_front
    assert "Lima" in visible_back


def test_putting_front_and_back_edits_the_note(api, alice):
    card = api.post("/api/cards", {"front": "a", "back": "b"}, format="json").json()
    response = api.put(f"/api/cards/{card['id']}", {"front": "c"}, format="json")
    assert response.json()["fields"] == {"Front": "c", "Back": "b"}
    note = query(alice.username, "SELECT flds FROM notes WHERE id = ?", (card["noteId"],))
    assert note == [(anki.join_fields(["c", "b"]),)]


def test_putting_front_on_a_cloze_card_is_refused(api, alice):
    note = add_note(api, "Cloze", ["{{c1::x}}", ""])
    with Unchanged(alice.username):
        body = error_of(
            api.put(f"/api/cards/{note['cards'][0]['id']}", {"front": "y"}, format="json"), 400
        )
    assert "front" in body["details"]


def test_putting_a_flag_keeps_mod_and_marks_the_card_for_sync(anki_made):
    learner, api = anki_made
    stored = fixture_card(learner.username, "flags = 0")
    api.put(f"/api/cards/{stored['id']}", {"flags": 3}, format="json")
    after = card_row(learner.username, stored["id"])
    assert (after["flags"], after["mod"], after["usn"]) == (3, stored["mod"], -1)
    with Unchanged(learner.username):
        error_of(api.put(f"/api/cards/{stored['id']}", {"flags": 8}, format="json"), 400)


# Search and lists
# ---------------------------------------------------------------------------


def test_it_searches_cards_by_text_tag_deck_and_state(api):
    spanish = make_deck(api, "Spanish::Verbs")
    add_note(api, fields=["<b>hablar</b>", "to speak"], tags=["verbs::ar"], deck_id=spanish["id"])
    add_note(api, fields=["comer", "to eat"], tags=["verbs::er"], deck_id=spanish["id"])
    other = add_note(api, fields=["Paris", "capital"], tags=["geo"])
    api.post(f"/api/cards/{other['cards'][0]['id']}/suspend")

    def fronts(**params):
        body = api.get("/api/cards", params).json()
        return [card["fields"]["Front"] for card in body["results"]]

    assert fronts(q="HABLAR") == ["<b>hablar</b>"]
    assert fronts(q='"to speak"') == ["<b>hablar</b>"]
    assert fronts(q="tag:verbs") == ["<b>hablar</b>", "comer"]
    assert fronts(q="tag:verbs -tag:verbs::er") == ["<b>hablar</b>"]
    assert fronts(q='deck:"spanish"') == ["<b>hablar</b>", "comer"]
    assert fronts(q="is:suspended") == ["Paris"]
    assert fronts(q="is:new -is:suspended to") == ["<b>hablar</b>", "comer"]
    assert fronts(deck=deck_id_of(api, "Spanish")) == ["<b>hablar</b>", "comer"]
    assert fronts(deck=1, q="capital") == ["Paris"]


def deck_id_of(api, name: str) -> int:
    roots = api.get("/api/decks").json()["results"]
    return next(d["id"] for d in roots if d["name"] == name)


@pytest.mark.parametrize("q", ['"open', "is:fresh", "flag:x", "deck:"])
def test_it_refuses_searches_it_cannot_read(api, q):
    body = error_of(api.get("/api/cards", {"q": q}), 400)
    assert body["details"]["q"]


def test_it_refuses_an_unknown_deck_filter(api):
    assert error_of(api.get("/api/cards", {"deck": 404040}), 404)["code"] == "not_found"
    assert error_of(api.get("/api/cards", {"deck": "x"}), 400)["details"]["deck"]


def test_it_pages_card_lists_within_the_limits(api):
    for number in range(3):
        add_note(api, fields=[f"card {number}", ""])
    body = api.get("/api/cards?perPage=500").json()
    assert (body["perPage"], body["total"]) == (200, 3)
    assert [c["fields"]["Front"] for c in body["results"]] == ["card 0", "card 1", "card 2"]
    assert "css" not in body["results"][0]
    assert error_of(api.get("/api/cards?page=9"), 404)["code"] == "not_found"


# Moving
# ---------------------------------------------------------------------------


def test_it_moves_a_card_to_another_deck(api, alice):
    target = make_deck(api, "Target")
    card = api.post("/api/cards", {"front": "a", "back": "b"}, format="json").json()
    response = api.post(f"/api/cards/{card['id']}/move", {"deckId": target["id"]}, format="json")
    assert response.json()["deckId"] == target["id"]
    stored = card_row(alice.username, card["id"])
    assert (stored["did"], stored["usn"]) == (target["id"], -1)
    api.put(f"/api/cards/{card['id']}", {"deckId": 1}, format="json")
    assert card_row(alice.username, card["id"])["did"] == 1


def test_it_refuses_to_move_to_a_deck_that_does_not_exist(api, alice):
    card = api.post("/api/cards", {"front": "a", "back": "b"}, format="json").json()
    with Unchanged(alice.username):
        body = error_of(
            api.post(f"/api/cards/{card['id']}/move", {"deckId": 9}, format="json"), 400
        )
        error_of(api.post(f"/api/cards/{card['id']}/move", {}, format="json"), 400)
        error_of(api.post("/api/cards/99/move", {"deckId": 1}, format="json"), 404)
    assert "deckId" in body["details"]


# Suspend, bury and Forget
# ---------------------------------------------------------------------------


def test_suspending_and_unsuspending_restores_the_queue_from_the_type(anki_made):
    learner, api = anki_made
    review = fixture_card(learner.username, "queue = 2")
    learning = fixture_card(learner.username, "queue = 1")
    for card, queue in ((review, 2), (learning, 1)):
        assert api.post(f"/api/cards/{card['id']}/suspend").json()["queue"] == -1
        assert card_row(learner.username, card["id"])["usn"] == -1
        assert api.post(f"/api/cards/{card['id']}/unsuspend").json()["queue"] == queue


def test_burying_and_unburying(anki_made):
    learner, api = anki_made
    review = fixture_card(learner.username, "queue = 2")
    suspended = fixture_card(learner.username, "queue = -1")
    assert api.post(f"/api/cards/{review['id']}/bury").json()["queue"] == -3
    assert api.get("/api/cards", {"q": "is:buried"}).json()["total"] == 1
    assert api.post(f"/api/cards/{review['id']}/unbury").json()["queue"] == 2
    assert api.post(f"/api/cards/{suspended['id']}/bury").json()["queue"] == -1


def test_forget_makes_a_card_new_at_the_end_of_the_queue_and_logs_it(anki_made):
    learner, api = anki_made
    review = fixture_card(learner.username, "queue = 2")
    position = col_json(learner.username, "conf")["nextPos"]
    card = api.post(f"/api/cards/{review['id']}/forget", {}, format="json").json()
    assert (card["type"], card["queue"], card["due"]) == (0, 0, position)
    assert (card["ivl"], card["factor"], card["reps"]) == (0, 0, review["reps"])
    assert col_json(learner.username, "conf")["nextPos"] == position + 1
    assert "pos" not in json.loads(card_row(learner.username, review["id"])["data"])
    logged = query(
        learner.username,
        "SELECT cid, usn, ease, ivl, lastIvl, factor, time, type"
        " FROM revlog ORDER BY id DESC LIMIT 1",
    )
    assert logged == [(review["id"], -1, 0, 0, review["ivl"], 0, 0, 4)]


def test_forget_can_reset_counts_and_restore_the_original_position(anki_made):
    learner, api = anki_made
    review = fixture_card(learner.username, "queue = 2")
    original = json.loads(review["data"])["pos"]
    card = api.post(
        f"/api/cards/{review['id']}/forget",
        {"resetCounts": True, "restorePosition": True},
        format="json",
    ).json()
    assert (card["due"], card["reps"], card["lapses"]) == (original, 0, 0)


@pytest.mark.parametrize("action", ["suspend", "unsuspend", "bury", "unbury", "forget"])
def test_actions_on_an_unknown_card_are_not_found(api, alice, action):
    with Unchanged(alice.username):
        error_of(api.post(f"/api/cards/777/{action}", {}, format="json"), 404)


# Deleting
# ---------------------------------------------------------------------------


def test_deleting_a_card_keeps_its_note_until_its_last_card_goes(api, alice):
    note = add_note(api, "Basic (and reversed card)", ["a", "b"])
    first, second = (c["id"] for c in note["cards"])
    assert api.delete(f"/api/cards/{first}").status_code == 204
    assert api.get(f"/api/notes/{note['id']}").status_code == 200
    assert api.delete(f"/api/cards/{second}").status_code == 204
    assert api.get(f"/api/notes/{note['id']}").status_code == 404
    assert query(alice.username, "SELECT usn, oid, type FROM graves ORDER BY rowid") == [
        (-1, first, 0),
        (-1, second, 0),
        (-1, note["id"], 1),
    ]
    assert error_of(api.delete(f"/api/cards/{first}"), 404)["code"] == "not_found"


# Learners stay apart
# ---------------------------------------------------------------------------


def test_a_learner_cannot_see_or_touch_another_learners_cards(alice, bob, api_as):
    api_a, api_b = api_as(alice), api_as(bob)
    bobs = api_b.post("/api/cards", {"front": "bob", "back": "only"}, format="json").json()
    api_a.get("/api/decks")
    before = collection_rows(bob.username)
    card = f"/api/cards/{bobs['id']}"
    assert api_a.get(card).status_code == 404
    assert api_a.put(card, {"front": "mallory"}, format="json").status_code == 404
    assert api_a.delete(card).status_code == 404
    for action in ("suspend", "unsuspend", "bury", "unbury", "forget"):
        assert api_a.post(f"{card}/{action}", {}, format="json").status_code == 404
    assert api_a.post(f"{card}/move", {"deckId": 1}, format="json").status_code == 404
    assert api_a.get("/api/cards", {"q": "bob"}).json()["total"] == 0
    assert collection_rows(bob.username) == before
