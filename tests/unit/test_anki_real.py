"""decks.anki against the real Anki (the `anki` package, 26.9.x) as oracle.

A collection written by `collection_create` must open in Anki and pass Check
Database untouched, also after notes of every stock type are added with plain SQL
using our ids, guids, checksums, sort fields and card ordinals. Where Anki computes
something itself (checksums, generated cards, rendered cards, a new collection's
note types and config) we compare against what it computed.

Anki upgrades a schema-11 file to schema 18 when it opens it, so every test opens a
copy. Rendering is compared with `card.render_output()`'s question_text/answer_text,
i.e. `card.question()`/`card.answer()` without the `<style>` block Anki prepends
(the notetype CSS, which our API returns separately).
"""

from __future__ import annotations

import copy
import json
import shutil
import sqlite3
import time
from pathlib import Path

import pytest

from decks import anki

Collection = pytest.importorskip("anki.collection").Collection

CLEAN_CHECK = "Database rebuilt and optimized."  # col.tr.database_check_rebuilt()

NOTES = {
    "Basic": [
        (["front <b>x</b>", "back"], ["b", "a"]),
        (['el sol <img src="sol.png">', "the sun"], ["media"]),
        (["12", "twelve"], []),
        (["AT&amp;T &nbsp; <i>co</i>", ""], ["Zeta", "alpha", "ALPHA"]),
        (["", "only back"], []),
    ],
    "Basic (and reversed card)": [
        (["France", "<b>Paris</b>"], ["geo::europe"]),
        (["only front", ""], []),
        (["", "only back"], []),
        (["<br>", "<div> </div>"], []),
    ],
    "Cloze": [
        (["{{c1::Rome}} is in {{c2::Italy}}", "extra"], ["cloze"]),
        (["{{c1::a}} and {{c3::b}}", ""], []),
        (["{{c1::a {{c2::b {{c4::c}}}}}}", ""], []),
        (["{{c1::x::hint}} {{c1::y}} {{c0::z {{c2::w}}}}", ""], []),
        (["{{c2::only two}}", ""], []),
        (["no clozes", ""], []),
    ],
}


@pytest.fixture(scope="module")
def anki_reference(tmp_path_factory):
    """A collection Anki itself created, with NOTES added through Anki, then downgraded."""
    path = tmp_path_factory.mktemp("anki") / "reference.anki2"
    col = Collection(str(path))
    for name, notes in NOTES.items():
        model = col.models.by_name(name)
        for fields, tags in notes:
            note = col.new_note(model)
            note.fields[:] = fields
            note.tags = tags
            col.add_note(note, 1)
    col.close(downgrade=True)
    return path


@pytest.fixture
def anki_col(anki_reference, tmp_path):
    col = Collection(str(shutil.copy(anki_reference, tmp_path / "reference.anki2")))
    yield col
    col.close()


@pytest.fixture
def ours(tmp_path):
    path = tmp_path / "ours.anki2"
    anki.collection_create(path, rollover_hour=4, timezone="Europe/Madrid")
    return path


def open_copy(path: Path, tmp_path: Path):
    return Collection(str(shutil.copy(path, tmp_path / "opened-by-anki.anki2")))


def add_note_with_sql(
    db: sqlite3.Connection, model: dict, fields: list[str], tags: list[str]
) -> None:
    """Add a note and its new cards the way Anki writes them in schema 11."""
    conf = json.loads(db.execute("SELECT conf FROM col").fetchone()[0])
    now = int(time.time())
    nid = anki.new_id(
        lambda i: db.execute("SELECT 1 FROM notes WHERE id=?", (i,)).fetchone() is not None
    )
    db.execute(
        "INSERT INTO notes VALUES (?, ?, ?, ?, -1, ?, ?, ?, ?, 0, '')",
        (
            nid,
            anki.guid_new(),
            model["id"],
            now,
            anki.tags_to_text(tags),
            anki.join_fields(fields),
            anki.sort_field(fields, model["sortf"]),
            anki.field_checksum(fields[0]),
        ),
    )
    for ord in anki.card_ordinals(model, fields, tags=tags):
        cid = anki.new_id(
            lambda i: db.execute("SELECT 1 FROM cards WHERE id=?", (i,)).fetchone() is not None
        )
        db.execute(
            "INSERT INTO cards VALUES (?, ?, 1, ?, ?, -1, 0, 0, ?, 0, 0, 0, 0, 0, 0, 0, 0, '{}')",
            (cid, nid, ord, now, conf["nextPos"]),
        )
    conf["nextPos"] += 1
    db.execute("UPDATE col SET conf=?", (json.dumps(conf),))


def fill_with_sql(path: Path) -> None:
    db = sqlite3.connect(path)
    models = {
        m["name"]: m
        for m in json.loads(db.execute("SELECT models FROM col").fetchone()[0]).values()
    }
    for name, notes in NOTES.items():
        for fields, tags in notes:
            add_note_with_sql(db, models[name], fields, tags)
    db.commit()
    db.close()


def notes_and_cards(col) -> tuple[list, list]:
    notes = col.db.all("SELECT id, guid, mid, tags, flds, sfld, csum FROM notes ORDER BY id")
    cards = col.db.all("SELECT id, nid, did, ord, type, queue, due FROM cards ORDER BY id")
    return notes, cards


# the empty collection
# ---------------------------------------------------------------------------


def test_it_creates_a_collection_anki_opens_and_finds_clean(ours, tmp_path):
    col = open_copy(ours, tmp_path)
    try:
        assert col.fix_integrity() == (CLEAN_CHECK, True)
        assert col.sched_ver() == 2 and col.v3_scheduler()
        assert col.sched.today == 0
        assert col.decks.all_names_and_ids()[0].name == "Default"
        assert sorted(m.name for m in col.models.all_names_and_ids()) == [
            "Basic",
            "Basic (and reversed card)",
            "Cloze",
        ]
        assert col.get_config("rollover") == 4
        madrid_now = anki.utc_minutes_west("Europe/Madrid", int(time.time()))
        assert col.get_config("creationOffset") == madrid_now
        # localOffset is the client's own zone: desktop Anki rewrites it with the
        # machine's (the sync server is what reads the learner's value)
    finally:
        col.close()


def test_it_writes_the_same_schema_as_anki(ours, anki_reference):
    def schema(path):
        with sqlite3.connect(path) as db:
            rows = db.execute(
                "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
            )
            return sorted(rows.fetchall())

    assert schema(ours) == schema(anki_reference)


def test_it_starts_from_the_same_config_decks_and_options_as_anki(ours, tmp_path):
    fresh = tmp_path / "fresh.anki2"
    col = Collection(str(fresh))
    col.close(downgrade=True)
    with sqlite3.connect(fresh) as db:
        theirs = db.execute("SELECT crt, ver, conf, decks, dconf, tags FROM col").fetchone()
    with sqlite3.connect(ours) as db:
        mine = db.execute("SELECT crt, ver, conf, decks, dconf, tags FROM col").fetchone()
    their_conf, our_conf = json.loads(theirs[2]), json.loads(mine[2])
    for key, value in their_conf.items():
        if key not in ("curModel", "creationOffset"):  # an id; the learner's zone
            assert our_conf[key] == value, key
    assert set(our_conf) - set(their_conf) == {"localOffset", "rollover"}
    assert mine[1] == theirs[1] == 11
    assert json.loads(mine[3]) == json.loads(theirs[3])
    assert json.loads(mine[4]) == json.loads(theirs[4])
    assert mine[5] == theirs[5]


def test_it_sets_the_creation_day_like_anki(tmp_path):
    # Anki dates a new collection from the last 4:00 in the machine's own zone
    now = int(time.time())
    col = Collection(str(tmp_path / "fresh.anki2"))
    minutes_west = -time.localtime(now).tm_gmtoff // 60
    assert anki.creation_day_start(now, minutes_west) == col.crt
    col.close()


def without_ids(notetype: dict) -> dict:
    stripped = {k: v for k, v in notetype.items() if k not in ("id", "mod", "usn")}
    stripped["tmpls"] = [{k: v for k, v in t.items() if k != "id"} for t in notetype["tmpls"]]
    stripped["flds"] = [{k: v for k, v in f.items() if k != "id"} for f in notetype["flds"]]
    return stripped


def test_it_builds_the_stock_note_types_exactly_as_anki(anki_col):
    ours = [
        anki.notetype_basic(id=1, now=0),
        anki.notetype_basic_reversed(id=2, now=0),
        anki.notetype_cloze(id=3, now=0),
    ]
    for notetype in ours:
        theirs = anki_col.models.by_name(notetype["name"])
        assert json.dumps(without_ids(notetype)) == json.dumps(without_ids(theirs))


# notes added with SQL
# ---------------------------------------------------------------------------


def test_it_adds_notes_with_sql_that_anki_accepts_unchanged(ours, tmp_path):
    fill_with_sql(ours)
    col = open_copy(ours, tmp_path)
    try:
        before = notes_and_cards(col)
        assert col.fix_integrity() == (CLEAN_CHECK, True)
        assert notes_and_cards(col) == before  # nothing regenerated, nothing rewritten
        note_count = sum(len(notes) for notes in NOTES.values())
        assert col.note_count() == note_count
        expected = [
            (fields, anki.tags_from_text(anki.tags_to_text(tags)))
            for n in NOTES.values()
            for fields, tags in n
        ]
        seen = [(col.get_note(nid).fields, col.get_note(nid).tags) for nid in col.find_notes("")]
        assert sorted(map(str, seen)) == sorted(map(str, expected))
        assert col.get_config("nextPos") == note_count + 1
    finally:
        col.close()


def test_it_computes_checksums_and_sort_fields_as_anki_does(anki_col):
    for _, _, mid, _, flds, sfld, csum in notes_and_cards(anki_col)[0]:
        fields = anki.split_fields(flds)
        sortf = anki_col.models.get(mid)["sortf"]
        assert anki.field_checksum(fields[0]) == csum
        assert anki.sort_field(fields, sortf) == str(sfld)  # "12" comes back as the integer 12


def test_it_writes_tags_as_anki_does(anki_col):
    stored = sorted(anki_col.db.list("SELECT tags FROM notes"))
    ours = sorted(anki.tags_to_text(tags) for notes in NOTES.values() for _, tags in notes)
    assert ours == stored


def test_it_generates_the_cards_anki_generates(anki_col):
    for nid in anki_col.find_notes(""):
        note = anki_col.get_note(nid)
        generated = sorted(card.ord for card in note.cards())
        assert anki.card_ordinals(note.note_type(), note.fields, tags=note.tags) == generated


def test_it_generates_cards_for_user_templates_as_anki(anki_col):
    model = copy.deepcopy(anki_col.models.by_name("Basic (and reversed card)"))
    model["id"] = 0
    model["name"] = "Conditional"
    model["tmpls"][0]["qfmt"] = "{{#Back}}{{Front}}{{/Back}}"
    model["tmpls"][1]["qfmt"] = "{{^Front}}{{Back}}{{/Front}}{{type:Front}}"
    anki_col.models.add_dict(model)
    model = anki_col.models.by_name("Conditional")
    for fields in (["F", "B"], ["F", ""], ["", "B"], ["", ""]):
        note = anki_col.new_note(model)
        note.fields[:] = fields
        anki_col.add_note(note, 1)
        assert anki.card_ordinals(model, fields) == sorted(c.ord for c in note.cards())


# rendering
# ---------------------------------------------------------------------------


def test_it_renders_every_stock_card_as_anki(anki_col):
    for cid in anki_col.find_cards(""):
        card = anki_col.get_card(cid)
        note = card.note()
        output = card.render_output()
        ours = anki.render_card(
            note.note_type(),
            note.fields,
            card.ord,
            tags=note.tags,
            deck_name=anki_col.decks.name(card.did),
            card_id=card.id,
        )
        assert ours == (output.question_text, output.answer_text)


TEMPLATES = [
    "{{Tags}}|{{Type}}|{{Deck}}|{{Subdeck}}|{{Card}}|{{CardFlag}}|{{CardID}}|{{Front}}",
    "{{#Back}}B:{{Back}}{{/Back}}{{^Extra}}noextra{{/Extra}}{{#Tags}}T{{/Tags}}",
    "{{#c1}}C1{{/c1}}{{^c2}}notc2{{/c2}}{{text:Front}}{{kana:Back}}{{furigana:Back}}",
    "{{=<% %>=}}<%Front%><!-- {{Nope}} -->",
    "{{type:Back}}{{unknown:text:Front}}{{text:unknown:Front}}{{FrontSide}}",
    "{{ Front }}{{{Front}}}{{Front}}{{::Front}}{{hint:Front}}{{cloze-only:Front}}",
    "{{Nope}}",
    "{{#Nope}}x{{/Nope}}",
    "{{#Front}}x",
    "{{/Front}}",
    "{{#Front}}x{{/Back}}",
    "{{text: Front}}",
    "{{Extra}}",
]


@pytest.fixture(scope="module")
def custom_card(anki_reference, tmp_path_factory):
    """A flagged card of a three-field note type, in a nested deck, with tags."""
    path = shutil.copy(anki_reference, tmp_path_factory.mktemp("custom") / "custom.anki2")
    col = Collection(str(path))
    model = col.models.copy(col.models.by_name("Basic"), add=False)
    model["name"] = "Custom"
    col.models.add_field(model, col.models.new_field("Extra"))
    col.models.add_dict(model)
    model = col.models.by_name("Custom")
    note = col.new_note(model)
    note.fields[:] = ["hola <b>x</b> {{c1::y}}", "日本[にほん] x", " <br> "]
    note.tags = ["t2", "t1"]
    col.add_note(note, col.decks.id("Lang::Spanish::Verbs"))
    card = note.cards()[0]
    col.set_user_flag_for_cards(3, [card.id])
    yield col, model, note, card
    col.close()


@pytest.mark.parametrize("qfmt", TEMPLATES)
@pytest.mark.parametrize(
    "afmt", ["{{FrontSide}}<hr id=answer>{{Back}}", "{{Back}}{{#Nope}}{{/Nope}}"]
)
def test_it_renders_user_templates_as_anki(custom_card, qfmt, afmt):
    _, model, note, card = custom_card
    template = {**model["tmpls"][0], "qfmt": qfmt, "afmt": afmt}
    output = note.ephemeral_card(0, custom_template=template).render_output()
    ours = anki.render_card(
        {**model, "tmpls": [template]},
        note.fields,
        0,
        tags=note.tags,
        deck_name="Lang::Spanish::Verbs",
        card_flag=3,
        card_id=card.id,
    )
    assert ours == (output.question_text, output.answer_text)


def test_it_renders_clozes_in_our_collection_as_anki(ours, tmp_path):
    fill_with_sql(ours)
    with sqlite3.connect(ours) as db:
        models = {
            str(k): v
            for k, v in json.loads(db.execute("SELECT models FROM col").fetchone()[0]).items()
        }
        rows = db.execute(
            "SELECT c.id, c.ord, n.mid, n.flds, n.tags FROM cards c JOIN notes n ON n.id = c.nid"
        ).fetchall()
    col = open_copy(ours, tmp_path)
    try:
        for cid, ord, mid, flds, tags in rows:
            output = col.get_card(cid).render_output()
            ours_rendered = anki.render_card(
                models[str(mid)],
                anki.split_fields(flds),
                ord,
                tags=anki.tags_from_text(tags),
                deck_name="Default",
                card_id=cid,
            )
            assert ours_rendered == (output.question_text, output.answer_text)
    finally:
        col.close()


def test_it_strips_html_exactly_as_anki(anki_col):
    from anki.collection import StripHtmlMode

    samples = [
        "a &amp; b &lt;i&gt;",
        "AT&T &amp; co",
        "&apos; &quot; &#39; &#x27; &#X41; &#x; &#; &;; &eacute;&Eacute;&euro;",
        "&#xD800; &#1114112; &#0; x&nbsp;y\xa0z",
        "<b>b</b><!-- c --><STYLE>s</style><script type=x>y</script>< notatag",
        '<img src="a b.png"> <IMG SRC=c.png> <img alt="x>y" src=\'d.png\' /> <source src=e.mp3>',
        '<audio controls data=f.ogg></audio><object data="g.swf"></object>',
        "ſtyle <ſtyle>x</style> <div\nclass=a>multi\nline</div>",  # noqa: RUF001
    ]
    for text in samples:
        normal = anki_col._backend.strip_html(text=text, mode=StripHtmlMode.NORMAL)
        media = anki_col._backend.strip_html(text=text, mode=StripHtmlMode.PRESERVE_MEDIA_FILENAMES)
        assert anki.strip_html(text) == normal
        assert anki.strip_html_preserving_media_filenames(text) == media


def test_it_normalizes_fields_as_anki_stores_them(anki_col):
    model = anki_col.models.by_name("Basic")
    note = anki_col.new_note(model)
    raw = ["cafe\u0301 a\x01b\x7fc\td\ne", "\ufb01 \u212b"]
    note.fields[:] = raw
    anki_col.add_note(note, 1)
    stored = anki_col.db.scalar("SELECT flds FROM notes WHERE id = ?", note.id)
    assert anki.join_fields(anki.field_normalize(text) for text in raw) == stored
    assert stored != anki.join_fields(raw)
