"""decks.anki and decks.templates without the anki package.

Expected values come from Anki itself: the notes, cards and note types in
tests/fixtures/anki/collection.anki2 (a collection Anki 26.9 made), and outputs
recorded from the anki 26.9.3 package (`col.add_note`, `card.render_output()`,
`backend.strip_html`) or quoted from Anki's own Rust tests. test_anki_real.py
re-checks the same behaviour live against the package.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from decks import anki
from decks.templates import blake3_digest

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "anki" / "collection.anki2"

BLANK_FRONT = (
    "<div>The front of this card is blank.<br><a href='https://docs.ankiweb.net/templates/"
    "errors.html#front-of-card-is-blank'>More information</a></div>"
)


def missing_cloze(number: int) -> str:
    return (
        f"<div>No cloze \u2068{number}\u2069 found on card.\nPlease either add a cloze deletion,"
        " or use the Empty Cards tool.<br><a href='https://docs.ankiweb.net/templates/errors.html"
        "#no-cloze-filter-on-cloze-note-type'>More information</a></div>"
    )


@pytest.fixture(scope="module")
def fixture_collection():
    connection = sqlite3.connect(f"file:{FIXTURE}?mode=ro", uri=True)
    models = json.loads(connection.execute("SELECT models FROM col").fetchone()[0])
    notes = connection.execute("SELECT id, guid, mid, tags, flds, sfld, csum FROM notes").fetchall()
    cards = connection.execute("SELECT nid, ord FROM cards").fetchall()
    connection.close()
    return {"models": models, "notes": notes, "cards": cards}


@pytest.fixture
def notetypes():
    return {
        "basic": anki.notetype_basic(id=1, now=0),
        "reversed": anki.notetype_basic_reversed(id=2, now=0),
        "cloze": anki.notetype_cloze(id=3, now=0),
    }


# checksums, sort fields, HTML stripping
# ---------------------------------------------------------------------------


def test_it_computes_the_same_checksum_and_sort_field_as_anki_for_every_fixture_note(
    fixture_collection,
):
    for _, _, mid, _, flds, sfld, csum in fixture_collection["notes"]:
        fields = anki.split_fields(flds)
        sortf = fixture_collection["models"][str(mid)]["sortf"]
        assert anki.field_checksum(fields[0]) == csum
        assert anki.sort_field(fields, sortf) == sfld


def test_it_checksums_the_html_stripped_first_field():
    # values Anki stored for these first fields
    assert anki.field_checksum("front <b>x</b>") == 100681843
    assert anki.field_checksum("front x") == 100681843
    assert anki.field_checksum("") == 3661210606
    assert anki.field_checksum('el sol <img src="sol.png">') == 1840317632


def test_it_keeps_media_file_names_in_the_sort_field():
    assert anki.sort_field(['el sol <img src="sol.png">', "x"], 0) == "el sol  sol.png "
    assert anki.sort_field(["<img src=a.png>"], 0) == " a.png "
    assert anki.sort_field(["<IMG SRC='b c.png' alt=x>"], 0) == " b c.png "
    assert anki.sort_field(['<audio src="x.mp3" controls></audio> y'], 0) == " x.mp3  y"
    assert anki.sort_field(["a", "<b>second</b>"], 1) == "second"


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("a &amp; b", "a & b"),
        ("x&nbsp;y", "x y"),
        ("&#x41;&#65;", "AA"),
        ("&lt;b&gt;", "<b>"),
        ("<b>bold</b> <!-- c --> <style>p{}</style>s<SCRIPT>y</script>", "bold  s"),
        ("line<br>break<div>x</div>", "linebreakx"),
        # one malformed entity and Anki decodes nothing at all
        ("AT&T &amp; co", "AT&T &amp; co"),
        ("&apos;", "&apos;"),
    ],
)
def test_it_strips_html_and_decodes_entities_like_anki(html, text):
    assert anki.strip_html(html) == text


# ids, guids, fields, tags
# ---------------------------------------------------------------------------


def test_it_makes_guids_in_ankis_base91_alphabet(fixture_collection):
    alphabet = set(anki.BASE91_ALPHABET)
    guids = {anki.guid_new() for _ in range(200)}
    assert len(guids) == 200
    assert all(set(guid) <= alphabet and 1 <= len(guid) <= 10 for guid in guids)
    assert all(set(guid) <= alphabet for _, guid, *_ in fixture_collection["notes"])
    assert anki.base91(2**64 - 1) == "Rj&Z5m[>Zp"  # 10 digits, the widest a u64 gets
    assert anki.base91(91) == "ba"


def test_it_bumps_ids_past_the_taken_ones():
    taken = {1000, 1001, 1003}
    assert anki.new_id(taken.__contains__, now_ms=1000) == 1002
    assert anki.new_id(now_ms=1000) == 1000
    assert abs(anki.new_id() - datetime.now().timestamp() * 1000) < 5000


def test_it_joins_and_splits_fields_with_the_unit_separator():
    assert anki.join_fields(["a", "", "c"]) == "a\x1f\x1fc"
    assert anki.split_fields("a\x1f\x1fc") == ["a", "", "c"]
    assert anki.split_fields(anki.join_fields(["only"])) == ["only"]


def test_it_writes_tags_in_ankis_canonical_form():
    # what Anki stored for a note given these tags
    assert anki.tags_to_text(["Zeta", "alpha", "b::c", "ALPHA", "x\u3000y", "  "]) == (
        " alpha b::c x y Zeta "
    )
    assert anki.tags_to_text([]) == ""
    assert anki.tags_to_text(["b", "a"]) == " a b "
    # Anki's own test (rslib tags/register.rs): blanks become "blank"
    assert anki.tags_to_text(["", "foo", " ", "::", "foo::"]) == " blank::blank foo foo::blank "


def test_it_reads_tags_back_from_text(fixture_collection):
    assert anki.tags_from_text(" a b::c  d ") == ["a", "b::c", "d"]
    assert anki.tags_from_text("") == []
    for note in fixture_collection["notes"]:
        tags = note[3]
        assert anki.tags_to_text(anki.tags_from_text(tags)) == tags


# clozes and card generation
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("{{c1::a}} {{c2::b}}", {1, 2}),
        ("{{c2::x}}{{c10::y}}", {2, 10}),
        ("{{c1::a {{c2::b}}}}", {1, 2}),
        ("{{c0::x}} {{c3::y}}", {3}),
        ("{{c0::a {{c2::b}}}}", {2}),
        ("{{c1::x::hint}} {{c1::z}}", {1}),
        ("no clozes", set()),
        ("{{c1::open", set()),
        ("{{c2::te}}{{c1::s}}t{{", {1, 2}),  # from Anki's cloze.rs tests
        ("öaöaöööaö", set()),
    ],
)
def test_it_finds_cloze_numbers_like_anki(text, numbers):
    assert anki.cloze_numbers([text]) == numbers


def test_it_collects_cloze_numbers_across_fields():
    assert anki.cloze_numbers(["{{c1::a}}", "{{c3::b}}"]) == {1, 3}


def test_it_generates_the_same_cards_as_anki_for_every_fixture_note(fixture_collection):
    ords_by_note: dict[int, list[int]] = {}
    for nid, ord in fixture_collection["cards"]:
        ords_by_note.setdefault(nid, []).append(ord)
    for nid, _, mid, tags, flds, _, _ in fixture_collection["notes"]:
        model = fixture_collection["models"][str(mid)]
        fields = anki.split_fields(flds)
        expected = sorted(ords_by_note[nid])
        assert anki.card_ordinals(model, fields, tags=anki.tags_from_text(tags)) == expected


@pytest.mark.parametrize(
    ("kind", "fields", "ords"),
    [
        ("basic", ["F", "B"], [0]),
        ("basic", ["", "B"], [0]),  # nothing renders: Anki still adds card 0
        ("reversed", ["F", "B"], [0, 1]),
        ("reversed", ["F", ""], [0]),
        ("reversed", ["", "B"], [1]),
        ("reversed", ["<br>", "<div> </div>"], [0]),
        ("cloze", ["{{c1::a}} {{c3::b}}", ""], [0, 2]),
        ("cloze", ["{{c2::x}}{{c10::y}}", ""], [1, 9]),
        ("cloze", ["{{c0::a {{c2::b}}}}", ""], [1]),
        ("cloze", ["no clozes", ""], [0]),
    ],
)
def test_it_picks_the_card_ordinals_anki_generates(notetypes, kind, fields, ords):
    assert anki.card_ordinals(notetypes[kind], fields) == ords


def test_it_counts_tags_as_a_field_for_tag_conditionals(notetypes):
    model = notetypes["reversed"]
    model["tmpls"][1]["qfmt"] = "{{#Tags}}{{Front}}{{/Tags}}"
    assert anki.card_ordinals(model, ["F", ""]) == [0]
    assert anki.card_ordinals(model, ["F", ""], tags=["t"]) == [0, 1]


def test_it_skips_templates_that_do_not_parse(notetypes):
    model = notetypes["reversed"]
    model["tmpls"][0]["qfmt"] = "{{#Front}}{{Front}}"  # never closed
    assert anki.card_ordinals(model, ["F", "B"]) == [1]


def test_it_adds_no_fallback_card_to_a_note_that_has_cards_already(notetypes):
    # Anki's "card 0 if nothing qualifies" is for new notes only (cardgen.rs)
    assert anki.card_ordinals(notetypes["reversed"], ["", ""], ensure_card=False) == []
    assert anki.card_ordinals(notetypes["cloze"], ["no clozes", ""], ensure_card=False) == []
    assert anki.card_ordinals(notetypes["reversed"], ["", "B"], ensure_card=False) == [1]


# rendering
# ---------------------------------------------------------------------------


def render(model, fields, ord, **kwargs):
    kwargs.setdefault("tags", [])
    kwargs.setdefault("deck_name", "Default")
    return anki.render_card(model, fields, ord, **kwargs)


def test_it_renders_the_basic_types_like_anki(notetypes):
    assert render(notetypes["basic"], ["F", "B"], 0) == ("F", "F\n\n<hr id=answer>\n\nB")
    assert render(notetypes["basic"], ["F", ""], 0) == ("F", "F\n\n<hr id=answer>\n\n")
    assert render(notetypes["reversed"], ["F", "B"], 1) == ("B", "B\n\n<hr id=answer>\n\nF")


def test_it_renders_a_blank_front_the_way_anki_explains_it(notetypes):
    assert render(notetypes["basic"], ["", "B"], 0) == (BLANK_FRONT, BLANK_FRONT)
    assert render(notetypes["basic"], ["<br>", "<div> </div>"], 0) == (
        "<br>" + BLANK_FRONT,
        BLANK_FRONT,
    )


def test_it_renders_clozes_with_ankis_markup(notetypes):
    model = notetypes["cloze"]
    assert render(model, ["{{c1::a}} {{c2::b}}", ""], 0) == (
        '<span class="cloze" data-cloze="a" data-ordinal="1">[...]</span> '
        '<span class="cloze-inactive" data-ordinal="2">b</span>',
        '<span class="cloze" data-ordinal="1">a</span> '
        '<span class="cloze-inactive" data-ordinal="2">b</span><br>\n',
    )
    question, _ = render(model, ["{{c1::x::hint}} {{c1::z}}", "extra"], 0)
    assert question == (
        '<span class="cloze" data-cloze="x" data-ordinal="1">[hint]</span> '
        '<span class="cloze" data-cloze="z" data-ordinal="1">[...]</span>'
    )


def test_it_hides_nested_clozes_inside_the_active_one(notetypes):
    question, answer = render(notetypes["cloze"], ["{{c1::a {{c2::b}}}}", ""], 0)
    assert question == (
        '<span class="cloze" data-cloze="a&#x20;&lt;span&#x20;class&#x3D;&quot;cloze&#x2D;'
        'inactive&quot;&#x20;data&#x2D;ordinal&#x3D;&quot;2&quot;&gt;b&lt;&#x2F;span&gt;" '
        'data-ordinal="1">[...]</span>'
    )
    assert answer == (
        '<span class="cloze" data-ordinal="1">a <span class="cloze-inactive" '
        'data-ordinal="2">b</span></span><br>\n'
    )


def test_it_reports_a_missing_cloze_like_anki(notetypes):
    assert render(notetypes["cloze"], ["no clozes", ""], 0) == (missing_cloze(1), missing_cloze(1))


def custom_notetype(qfmt, afmt="{{FrontSide}}<hr id=answer>{{Back}}"):
    model = anki.notetype_basic(id=9, now=0)
    model["name"] = "Custom"
    model["flds"].append({**model["flds"][1], "name": "Extra", "ord": 2})
    model["tmpls"][0].update(qfmt=qfmt, afmt=afmt)
    return model


FIELDS = ["hola <b>x</b>", "hello", " <br> "]


def test_it_fills_in_the_special_fields():
    model = custom_notetype(
        "{{Tags}}|{{Type}}|{{Deck}}|{{Subdeck}}|{{Card}}|{{CardFlag}}|{{CardID}}|{{Front}}"
    )
    question, answer = anki.render_card(
        model,
        FIELDS,
        0,
        tags=["t1", "t2"],
        deck_name="Lang::Spanish::Verbs",
        card_flag=3,
        card_id=1795461854045,
    )
    assert (
        question
        == "t1 t2|Custom|Lang::Spanish::Verbs|Verbs|Card 1|flag3|1795461854045|hola <b>x</b>"
    )
    assert answer == question + "<hr id=answer>hello"


@pytest.mark.parametrize(
    ("qfmt", "question"),
    [
        ("{{#Back}}B:{{Back}}{{/Back}}{{^Extra}}noextra{{/Extra}}", "B:hellonoextra"),
        ("{{#c1}}C1{{/c1}}{{#c2}}C2{{/c2}}{{^c2}}notc2{{/c2}}{{Front}}", "C1notc2hola <b>x</b>"),
        ("{{text:Front}}", "hola x"),
        ("{{=<% %>=}}<%Front%>", "hola <b>x</b>"),
        ("<!-- {{Nope}} -->{{Front}}", "<!-- {{Nope}} -->hola <b>x</b>"),
        ("{{type:Back}}{{Front}}", "[[type:Back]]hola <b>x</b>"),
        ("{{unknown:text:Front}}", "hola x"),
        ("{{text:unknown:Front}}", "hola <b>x</b>"),
        ("{{FrontSide}}{{Front}}", "hola <b>x</b>"),
        ("{{ Front }}{{{Front}}}", "hola <b>x</b>hola <b>x</b>}"),
        ("{{Front}}{{::Front}}", "hola <b>x</b>hola <b>x</b>"),
    ],
)
def test_it_renders_user_templates_like_anki(qfmt, question):
    rendered_question, answer = render(custom_notetype(qfmt), FIELDS, 0)
    assert rendered_question == question
    assert answer == question + "<hr id=answer>hello"


def test_it_shows_ankis_error_for_an_unknown_field():
    message = (
        "Front template has a problem:<br>Found &#x27;\u2068{{Nope}}\u2069&#x27;, but there is no "
        "field called &#x27;\u2068Nope\u2069&#x27;<br><a href='https://docs.ankiweb.net/templates/"
        "errors.html#template-syntax-error'>More information</a>"
    )
    assert render(custom_notetype("{{Nope}}"), FIELDS, 0) == (message, message)


def test_it_shows_ankis_error_for_unbalanced_conditionals():
    question, answer = render(custom_notetype("{{#Front}}x{{/Back}}"), FIELDS, 0)
    assert question == answer
    assert (
        "Found &#x27;\u2068{{/Back}}\u2069&#x27;, but expected &#x27;\u2068{{/Front}}\u2069&#x27;"
        in question
    )
    question, _ = render(custom_notetype("{{Front}}", afmt="{{#Front}}"), FIELDS, 0)
    assert question.startswith("Back template has a problem:<br>Missing &#x27;\u2068{{/Front}}")


def test_it_gives_hint_links_ankis_element_id():
    # Anki's template_filters.rs test: hint_filter("foo", "field") uses id 83fe48607f0f3a66
    assert blake3_digest(b"foofield")[:8].hex() == "83fe48607f0f3a66"
    question, _ = render(custom_notetype("{{hint:Front}}"), ["F", "", ""], 0)
    assert "document.getElementById('hint2a9dbac0688538f5')" in question
    assert '<div id="hint2a9dbac0688538f5" class=hint style="display: none">F</div>' in question


def test_it_hashes_long_input_with_the_blake3_tree():
    # the hint id Anki gave a 3000-byte field (three BLAKE3 chunks, so a parent node)
    field = "".join(chr(0x61 + i % 26) for i in range(3000))
    assert blake3_digest((field + "Front").encode())[:8].hex() == "96f4933a39ed6506"


# sanitising
# ---------------------------------------------------------------------------


def test_it_removes_scripts_handlers_and_javascript_urls():
    dirty = (
        '<script>alert(1)</script><img src="x.png" onerror="alert(2)">'
        '<a href="javascript:alert(3)">x</a><iframe src="https://evil"></iframe>'
        "<style>body{}</style><object data=x></object><embed src=y>"
    )
    clean = anki.sanitize_html(dirty)
    for forbidden in (
        "script",
        "alert",
        "onerror",
        "javascript",
        "iframe",
        "style",
        "object",
        "embed",
    ):
        assert forbidden not in clean
    assert '<img src="x.png">' in clean


def test_it_keeps_ordinary_card_formatting():
    html = (
        '<b>b</b><i>i</i><u>u</u><img src="sol.png" alt="sun"><ul><li>one</li></ul>'
        '<table><tbody><tr><td>cell</td></tr></tbody></table><span class="cloze" '
        'data-ordinal="1" style="color:red">x</span><hr id="answer"><ruby>日<rt>ni</rt></ruby>'
    )
    assert anki.sanitize_html(html) == html


def test_it_drops_element_ids_other_than_the_answer_marker():
    assert anki.sanitize_html('<hr id=answer><hr id="x"><div id="y">z</div>') == (
        '<hr id="answer"><hr><div>z</div>'
    )


def test_it_keeps_only_harmless_style_properties():
    clean = anki.sanitize_html('<div style="color: red; position: fixed; top: 0">x</div>')
    assert clean == '<div style="color:red">x</div>'


# a new collection file
# ---------------------------------------------------------------------------


def test_it_starts_the_collection_on_the_latest_rollover():
    # Anki's timing.rs tests (AEST, UTC+10): 9:30 -> 4:00 that day; 1:30 -> 4:00 the day before
    aest = timezone(timedelta(hours=10))
    at_930 = int(datetime(2020, 5, 10, 9, 30, 30, tzinfo=aest).timestamp())
    at_130 = int(datetime(2020, 5, 10, 1, 30, 30, tzinfo=aest).timestamp())
    assert anki.creation_day_start(at_930, -600) == int(
        datetime(2020, 5, 10, 4, tzinfo=aest).timestamp()
    )
    assert anki.creation_day_start(at_130, -600) == int(
        datetime(2020, 5, 9, 4, tzinfo=aest).timestamp()
    )
    assert anki.creation_day_start(at_930, -600, rollover_hour=10) == int(
        datetime(2020, 5, 9, 10, tzinfo=aest).timestamp()
    )


def test_it_measures_offsets_in_minutes_west_with_daylight_saving():
    winter = int(datetime(2026, 1, 15, 12, tzinfo=UTC).timestamp())
    summer = int(datetime(2026, 7, 15, 12, tzinfo=UTC).timestamp())
    assert anki.utc_minutes_west("Europe/Madrid", winter) == -60
    assert anki.utc_minutes_west("Europe/Madrid", summer) == -120
    assert anki.utc_minutes_west("America/New_York", winter) == 300
    assert anki.utc_minutes_west("UTC", summer) == 0


def test_it_creates_a_schema_11_collection(tmp_path):
    path = tmp_path / "collection.anki2"
    now_ms = int(datetime(2026, 1, 15, 23, 30, tzinfo=UTC).timestamp() * 1000)
    anki.collection_create(path, now_ms=now_ms, rollover_hour=4, timezone="Europe/Madrid")
    connection = sqlite3.connect(path)
    row = connection.execute(
        "SELECT id, crt, mod, scm, ver, dty, usn, ls, conf, models, decks, dconf, tags FROM col"
    ).fetchone()
    names = {name for (name,) in connection.execute("SELECT name FROM sqlite_master")}
    journal_mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
    connection.close()
    # 00:30 in Madrid is before the 4:00 rollover: the collection's day 0 began the day before
    assert row[1] == int(datetime(2026, 1, 15, 3, tzinfo=UTC).timestamp())
    assert row[:2] == (1, row[1]) and row[2:8] == (now_ms, now_ms, 11, 0, 0, 0)
    conf, models, decks, dconf = (json.loads(text) for text in row[8:12])
    assert row[12] == "{}"
    assert {m["name"] for m in models.values()} == {"Basic", "Basic (and reversed card)", "Cloze"}
    assert conf["curModel"] == now_ms and models[str(now_ms)]["name"] == "Basic"
    assert (conf["creationOffset"], conf["localOffset"], conf["rollover"]) == (-60, -60, 4)
    assert (conf["nextPos"], conf["curDeck"], conf["activeDecks"], conf["schedVer"]) == (
        1,
        1,
        [1],
        2,
    )
    assert decks["1"]["name"] == "Default" and dconf["1"]["new"]["delays"] == [1.0, 10.0]
    assert names >= {"col", "notes", "cards", "revlog", "graves", "ix_notes_csum", "ix_cards_sched"}
    assert journal_mode == "delete"


def test_it_makes_new_deck_options_like_ankis_default_group():
    # the fixture's options group is Anki's own default, untouched
    connection = sqlite3.connect(f"file:{FIXTURE}?mode=ro", uri=True)
    ankis = json.loads(connection.execute("SELECT dconf FROM col").fetchone()[0])["1"]
    connection.close()
    made = anki.deck_config_new(id=42, name="Gentle", now=1_700_000_000)
    assert (made["id"], made["name"], made["mod"], made["usn"]) == (42, "Gentle", 1_700_000_000, -1)
    identity = ("id", "name", "mod", "usn")
    assert {k: v for k, v in made.items() if k not in identity} == {
        k: v for k, v in ankis.items() if k not in identity
    }


def test_it_refuses_to_overwrite_an_existing_collection(tmp_path):
    path = tmp_path / "collection.anki2"
    path.write_bytes(b"precious")
    with pytest.raises(FileExistsError):
        anki.collection_create(path)
    assert path.read_bytes() == b"precious"


def test_it_gives_templates_and_fields_their_own_random_ids():
    first, second = anki.notetype_basic(id=1, now=5), anki.notetype_basic(id=1, now=5)
    assert first["tmpls"][0]["id"] != second["tmpls"][0]["id"]
    assert len({f["id"] for f in first["flds"]}) == 2
    assert (first["mod"], first["usn"]) == (5, -1)
