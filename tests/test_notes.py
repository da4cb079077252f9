"""Notes, note types and tags through the API: cards generated as Anki generates them, the
rows Anki expects, edits that add or remove cloze cards, deletion with graves, tag
listing and hierarchical renames; bad input changes nothing; learners stay apart."""

from __future__ import annotations

import pytest

from decks import anki, selectors, services
from sessions_cache.access import collection_session
from tests.test_decks import (
    Unchanged,
    add_note,
    anki_made_fixture,  # noqa: F401 - the anki_made fixture
    api_fixture,  # noqa: F401 - the api fixture
    col_json,
    error_of,
    make_deck,
    query,
)


def note_row(username: str, note_id: int) -> dict:
    columns = ("id", "guid", "mid", "mod", "usn", "tags", "flds", "sfld", "csum", "flags", "data")
    (row,) = query(username, f"SELECT {', '.join(columns)} FROM notes WHERE id = ?", (note_id,))
    return dict(zip(columns, row, strict=True))


def card_rows(username: str, note_id: int) -> list[tuple]:
    return query(
        username,
        "SELECT ord, did, type, queue, due, ivl, factor, usn, odid, data FROM cards"
        " WHERE nid = ? ORDER BY ord",
        (note_id,),
    )


def notetype_named(username: str, name: str) -> dict:
    return next(nt for nt in col_json(username, "models").values() if nt["name"] == name)


# Note types
# ---------------------------------------------------------------------------


def test_it_lists_the_note_types_with_fields_and_templates(api, alice):
    body = api.get("/api/notetypes").json()
    stored = col_json(alice.username, "models")
    assert body["total"] == len(stored) == 3
    by_name = {nt["name"]: nt for nt in body["results"]}
    cloze = by_name["Cloze"]
    assert cloze["kind"] == "cloze" and by_name["Basic"]["kind"] == "standard"
    assert [f["name"] for f in cloze["fields"]] == ["Text", "Back Extra"]
    reversed_ = by_name["Basic (and reversed card)"]
    assert [t["front"] for t in reversed_["templates"]] == ["{{Front}}", "{{Back}}"]
    one = api.get(f"/api/notetypes/{cloze['id']}").json()
    assert one == cloze
    assert error_of(api.get("/api/notetypes/1"), 404)["code"] == "not_found"


# Creating notes
# ---------------------------------------------------------------------------


def test_it_adds_a_note_with_the_rows_anki_writes(api, alice):
    position = col_json(alice.username, "conf")["nextPos"]
    note = add_note(api, "Basic", ["<b>Bonjour</b> &amp; salut", "hello"], tags=["French", "greet"])
    stored = note_row(alice.username, note["id"])
    basic = notetype_named(alice.username, "Basic")
    assert stored["mid"] == basic["id"] == note["notetypeId"]
    assert stored["flds"] == anki.join_fields(["<b>Bonjour</b> &amp; salut", "hello"])
    assert stored["sfld"] == anki.sort_field(["<b>Bonjour</b> &amp; salut"], 0) == "Bonjour & salut"
    assert stored["csum"] == anki.field_checksum("<b>Bonjour</b> &amp; salut")
    assert (stored["tags"], stored["usn"], stored["flags"], stored["data"]) == (
        " French greet ",
        -1,
        0,
        "",
    )
    assert abs(stored["mod"] - note["id"] // 1000) <= 1
    assert len(stored["guid"]) >= 8 and set(stored["guid"]) <= set(anki.BASE91_ALPHABET)
    assert card_rows(alice.username, note["id"]) == [(0, 1, 0, 0, position, 0, 0, -1, 0, "{}")]
    conf = col_json(alice.username, "conf")
    assert conf["nextPos"] == position + 1 and conf["curModel"] == basic["id"]
    assert col_json(alice.username, "tags") == {"French": -1, "greet": -1}
    assert note["fields"] == {"Front": "<b>Bonjour</b> &amp; salut", "Back": "hello"}


def test_it_generates_one_card_per_template_sharing_one_queue_position(api, alice):
    note = add_note(api, "Basic (and reversed card)", {"Front": "uno", "Back": "one"})
    rows = card_rows(alice.username, note["id"])
    assert [row[0] for row in rows] == [0, 1]
    assert rows[0][4] == rows[1][4]  # Anki gives a note's new cards the same position
    only_front = add_note(api, "Basic (and reversed card)", {"Front": "solo"})
    assert [c["ord"] for c in only_front["cards"]] == [0]


def test_it_generates_one_card_per_cloze_number(api, alice):
    note = add_note(
        api, "Cloze", {"Text": "{{c1::Lima}} is in {{c3::Peru}}", "Back Extra": "<i>geo</i>"}
    )
    assert [c["ord"] for c in note["cards"]] == [0, 2]
    assert note["fields"]["Back Extra"] == "<i>geo</i>"
    assert note["kind"] == "cloze"


def test_it_adds_to_the_current_deck_unless_told_otherwise(api, alice):
    current = make_deck(api, "Current")
    other = make_deck(api, "Other")
    api.put("/api/decks/current", {"deckId": current["id"]}, format="json")
    assert add_note(api)["cards"][0]["deckId"] == current["id"]
    assert add_note(api, deck_id=other["id"])["cards"][0]["deckId"] == other["id"]
    conf = col_json(alice.username, "conf")
    basic = notetype_named(alice.username, "Basic")
    assert conf[f"_nt_{basic['id']}_lastDeck"] == other["id"]
    assert conf[f"_deck_{other['id']}_lastNotetype"] == basic["id"]


def test_it_accepts_a_note_type_by_id_and_normalises_fields_as_anki(api, alice):
    basic = notetype_named(alice.username, "Basic")
    response = api.post(
        "/api/notes",
        {"notetypeId": basic["id"], "fields": ["Cafe\u0301\x01", "x"], "tags": []},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["fields"]["Front"] == "Café"


def test_it_spells_a_tag_as_already_registered_and_sorts_tags(api, alice):
    add_note(api, tags=["Verbs::AR"])
    note = add_note(api, tags=["zeta", "verbs::ar", "VERBS::er", "alpha", "ALPHA"])
    # as the anki package does it: a registered tag's own spelling wins, and so does a
    # registered parent's ("VERBS" itself was never registered, so "VERBS::er" stays)
    assert note["tags"] == ["alpha", "Verbs::AR", "VERBS::er", "zeta"]
    child = add_note(api, tags=["verbs::ar::x"])
    assert child["tags"] == ["Verbs::AR::x"]
    assert set(col_json(alice.username, "tags")) == {
        "Verbs::AR",
        "VERBS::er",
        "Verbs::AR::x",
        "zeta",
        "alpha",
    }


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"notetype": "Nope", "fields": ["a", "b"]}, "notetypeId"),
        ({"notetypeId": 12345, "fields": ["a", "b"]}, "notetypeId"),
        ({"fields": ["a", "b"]}, "notetypeId"),
        ({"notetype": "Basic", "fields": ["only one"]}, "fields"),
        ({"notetype": "Basic", "fields": ["a", "b", "c"]}, "fields"),
        ({"notetype": "Basic", "fields": {"Front": "a", "Nope": "b"}}, "fields"),
        ({"notetype": "Basic", "fields": "a b"}, "fields"),
        ({"notetype": "Basic", "fields": ["", "back"]}, "fields"),
        ({"notetype": "Basic", "fields": [" <br> <div></div> ", "back"]}, "fields"),
        ({"notetype": "Basic", "fields": {"Back": "no front"}}, "fields"),
        ({"notetype": "Cloze", "fields": ["no clozes here", ""]}, "fields"),
        ({"notetype": "Cloze", "fields": ["{{c0::zero is no cloze}}", ""]}, "fields"),
        ({"notetype": "Basic", "fields": ["x" * 100_001, ""]}, "fields"),
        ({"notetype": "Basic", "fields": ["é" * 50_001, ""]}, "fields"),
        ({"notetype": "Basic", "fields": ["a", "b"], "tags": ["   "]}, "tags"),
        ({"notetype": "Basic", "fields": ["a", "b"], "tags": ["two words"]}, "tags"),
        ({"notetype": "Basic", "fields": ["a", "b"], "tags": ["t" * 101]}, "tags"),
        (
            {"notetype": "Basic", "fields": ["a", "b"], "tags": [f"t{i}" for i in range(101)]},
            "tags",
        ),
        ({"notetype": "Basic", "fields": ["a", "b"], "deckId": 4242}, "deckId"),
    ],
)
def test_it_refuses_bad_notes_and_changes_nothing(api, alice, body, detail):
    with Unchanged(alice.username):
        response = error_of(api.post("/api/notes", body, format="json"), 400)
    assert detail in response["details"]


def test_it_names_the_field_that_is_too_large(api, alice):
    with Unchanged(alice.username):
        body = error_of(
            api.post(
                "/api/notes",
                {"notetype": "Cloze", "fields": ["{{c1::x}}", "y" * 100_001]},
                format="json",
            ),
            400,
        )
    assert list(body["details"]["fields"]) == ["Back Extra"]


def test_it_accepts_fields_at_the_size_limit_and_refuses_notes_over_theirs(api, alice):
    at_limit = "x" * services.FIELD_MAX_BYTES
    assert (
        api.post(
            "/api/notes", {"notetype": "Basic", "fields": [at_limit, at_limit]}, format="json"
        ).status_code
        == 201
    )
    assert services.NOTE_MAX_BYTES < 6 * services.FIELD_MAX_BYTES
    many = ["{{c1::x}}" + "y" * (services.FIELD_MAX_BYTES - 10), ""]
    with Unchanged(alice.username):
        error_of(
            api.post("/api/notes", {"notetype": "Cloze", "fields": many * 3}, format="json"), 400
        )


# Reading, listing and searching notes
# ---------------------------------------------------------------------------


def test_it_shows_a_note_with_its_cards(api):
    note = add_note(api, "Basic (and reversed card)", ["sol", "sun"], tags=["astro"])
    shown = api.get(f"/api/notes/{note['id']}").json()
    assert shown == note
    assert [c["ord"] for c in shown["cards"]] == [0, 1]
    assert {c["noteId"] for c in shown["cards"]} == {note["id"]}
    assert error_of(api.get("/api/notes/123"), 404)["code"] == "not_found"


def test_it_lists_and_searches_notes_page_by_page(api):
    for word in ("uno", "dos", "tres"):
        add_note(api, "Basic (and reversed card)", [word, "number"], tags=["es"])
    add_note(api, fields=["other", "thing"])
    everything = api.get("/api/notes?perPage=2").json()
    assert (everything["total"], len(everything["results"])) == (4, 2)
    found = api.get("/api/notes", {"q": "tag:es -dos"}).json()
    assert [n["fields"]["Front"] for n in found["results"]] == ["uno", "tres"]
    assert error_of(api.get("/api/notes", {"q": '"open'}), 400)["details"]["q"]


# Editing
# ---------------------------------------------------------------------------


def test_it_edits_fields_by_name_and_replaces_tags(api, alice):
    note = add_note(api, fields=["old front", "back"], tags=["a"])
    response = api.patch(
        f"/api/notes/{note['id']}",
        {"fields": {"Front": "<i>new</i>"}, "tags": ["b"]},
        format="json",
    )
    assert response.status_code == 200
    stored = note_row(alice.username, note["id"])
    assert stored["flds"] == anki.join_fields(["<i>new</i>", "back"])
    assert (stored["sfld"], stored["csum"]) == ("new", anki.field_checksum("<i>new</i>"))
    assert (stored["tags"], stored["usn"]) == (" b ", -1)


def test_it_edits_all_fields_with_a_list(api, alice):
    note = add_note(api, fields=["a", "b"])
    api.put(f"/api/notes/{note['id']}", {"fields": ["c", "d"]}, format="json")
    assert note_row(alice.username, note["id"])["flds"] == anki.join_fields(["c", "d"])


def test_a_new_cloze_number_adds_a_card_in_the_notes_deck_at_its_position(api, alice):
    deck = make_deck(api, "Clozes")
    note = add_note(api, "Cloze", ["{{c1::a}}", ""], deck_id=deck["id"])
    position = card_rows(alice.username, note["id"])[0][4]
    add_note(api)  # moves nextPos on
    api.put(f"/api/notes/{note['id']}", {"fields": {"Text": "{{c1::a}} {{c2::b}}"}}, format="json")
    rows = card_rows(alice.username, note["id"])
    assert [(r[0], r[1], r[4]) for r in rows] == [
        (0, deck["id"], position),
        (1, deck["id"], position),
    ]


def test_a_cloze_number_that_disappears_takes_its_card_with_it(api, alice):
    note = add_note(api, "Cloze", ["{{c1::a}} {{c2::b}}", ""])
    gone = note["cards"][0]["id"]
    api.put(f"/api/notes/{note['id']}", {"fields": {"Text": "a {{c2::b}}"}}, format="json")
    assert [r[0] for r in card_rows(alice.username, note["id"])] == [1]
    assert query(alice.username, "SELECT usn, oid, type FROM graves") == [(-1, gone, 0)]


def test_a_filled_template_adds_its_card_to_the_notes_deck(api, alice):
    deck = make_deck(api, "Pairs")
    note = add_note(api, "Basic (and reversed card)", {"Front": "only"}, deck_id=deck["id"])
    api.patch(f"/api/notes/{note['id']}", {"fields": {"Back": "now both"}}, format="json")
    assert [(r[0], r[1]) for r in card_rows(alice.username, note["id"])] == [
        (0, deck["id"]),
        (1, deck["id"]),
    ]


def test_an_edit_that_changes_nothing_writes_nothing(api, alice):
    note = add_note(api, fields=["same", "same"], tags=["t"])
    with Unchanged(alice.username):
        response = api.put(
            f"/api/notes/{note['id']}", {"fields": ["same", "same"], "tags": ["t"]}, format="json"
        )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"fields": ["only one"]},
        {"fields": {"Front": ""}},
        {"fields": {"Nope": "x"}},
        {"tags": ["a b"]},
        {"fields": {"Front": "x" * 100_001}},
    ],
)
def test_it_refuses_bad_edits_and_changes_nothing(api, alice, body):
    note = add_note(api)
    with Unchanged(alice.username):
        error_of(api.put(f"/api/notes/{note['id']}", body, format="json"), 400)


def test_it_refuses_to_empty_a_cloze_note_of_clozes(api, alice):
    note = add_note(api, "Cloze", ["{{c1::a}}", ""])
    with Unchanged(alice.username):
        error_of(api.put(f"/api/notes/{note['id']}", {"fields": ["plain", ""]}, format="json"), 400)


def test_editing_an_unknown_note_is_not_found(api, alice):
    with Unchanged(alice.username):
        error_of(api.put("/api/notes/5", {"tags": []}, format="json"), 404)
        error_of(api.delete("/api/notes/5"), 404)


# Deleting
# ---------------------------------------------------------------------------


def test_it_deletes_a_note_with_its_cards_and_records_graves(api, alice):
    note = add_note(api, "Basic (and reversed card)", ["a", "b"])
    assert api.delete(f"/api/notes/{note['id']}").status_code == 204
    assert query(alice.username, "SELECT COUNT(*) FROM cards WHERE nid = ?", (note["id"],)) == [
        (0,)
    ]
    graves = query(alice.username, "SELECT usn, oid, type FROM graves ORDER BY type, oid")
    assert graves == [(-1, c["id"], 0) for c in note["cards"]] + [(-1, note["id"], 1)]


# Tags
# ---------------------------------------------------------------------------


def test_it_lists_tags_with_their_note_counts(api):
    add_note(api, tags=["verbs::ar", "spanish"])
    add_note(api, tags=["Spanish"])
    body = api.get("/api/tags").json()
    assert body["results"] == [
        {"name": "spanish", "noteCount": 2},
        {"name": "verbs::ar", "noteCount": 1},
    ]


def test_it_renames_a_tag_with_its_children_ignoring_case(api, alice):
    a = add_note(api, tags=["verbs", "keep"])
    b = add_note(api, tags=["Verbs::ar", "verbsy"])
    response = api.put("/api/tags/rename", {"old": "VERBS", "new": "grammar::verbs"}, format="json")
    assert response.json() == {"renamed": 2}
    assert note_row(alice.username, a["id"])["tags"] == " grammar::verbs keep "
    assert note_row(alice.username, b["id"])["tags"] == " grammar::verbs::ar verbsy "
    assert set(col_json(alice.username, "tags")) == {
        "keep",
        "verbsy",
        "grammar::verbs",
        "grammar::verbs::ar",
    }


def test_it_refuses_bad_tag_renames(api, alice):
    add_note(api, tags=["exists"])
    with Unchanged(alice.username):
        error_of(api.put("/api/tags/rename", {"old": "missing", "new": "x"}, format="json"), 404)
        error_of(api.put("/api/tags/rename", {"old": "exists", "new": "  "}, format="json"), 400)
        error_of(api.put("/api/tags/rename", {"old": "exists", "new": "a b"}, format="json"), 400)
        error_of(api.put("/api/tags/rename", {"old": "", "new": "x"}, format="json"), 400)


# Learners stay apart
# ---------------------------------------------------------------------------


def test_a_learner_cannot_see_or_touch_another_learners_notes(alice, bob, api_as):
    from tests.test_decks import collection_rows

    api_a, api_b = api_as(alice), api_as(bob)
    bobs = add_note(api_b, fields=["bob's", "note"], tags=["private"])
    api_a.get("/api/decks")
    before = collection_rows(bob.username)
    assert api_a.get(f"/api/notes/{bobs['id']}").status_code == 404
    assert api_a.put(f"/api/notes/{bobs['id']}", {"tags": []}, format="json").status_code == 404
    assert api_a.delete(f"/api/notes/{bobs['id']}").status_code == 404
    assert api_a.get("/api/notes").json()["total"] == 0
    assert api_a.get("/api/tags").json()["results"] == []
    rename = api_a.put("/api/tags/rename", {"old": "private", "new": "public"}, format="json")
    assert rename.status_code == 404
    assert collection_rows(bob.username) == before


def test_it_never_case_converts_field_names(api, alice):
    with collection_session(alice.username, alice.collection_id):
        state = selectors.collection_load()
        basic = next(nt for nt in state.notetypes.values() if nt["name"] == "Basic")
        # the camelCase converters would turn these into "theFront" and "back_side"
        basic["flds"][0]["name"], basic["flds"][1]["name"] = "the_front", "backSide"
        basic["tmpls"][0]["qfmt"] = "{{the_front}}"
        basic["tmpls"][0]["afmt"] = "{{FrontSide}}<hr id=answer>{{backSide}}"
        services.collection_save(state, notetypes=True)
    note = add_note(api, "Basic", {"the_front": "a", "backSide": "b"})
    assert note["fields"] == {"the_front": "a", "backSide": "b"}
    card = api.get(f"/api/cards/{note['cards'][0]['id']}").json()
    assert card["fields"] == {"the_front": "a", "backSide": "b"}
    assert (card["front"], card["back"][-1]) == ("a", "b")


def test_it_keeps_field_names_as_the_learner_wrote_them(anki_made):
    learner, api = anki_made
    optional = notetype_named(learner.username, "Basic (optional reversed card)")
    note = add_note(api, optional["name"], {"Front": "f", "Back": "b", "Add Reverse": "y"})
    assert note["fields"] == {"Front": "f", "Back": "b", "Add Reverse": "y"}
    assert [c["ord"] for c in note["cards"]] == [0, 1]
