"""decks.search: the `?q=` language, parsed and run on a real schema-11 SQLite file.

The meaning of each term follows Anki's search manual (tag:x also finds x::child,
deck:x includes subdecks, `*` and `_` wildcards, `-` negation); test_collection_real_anki.py
checks the same queries against the `anki` package's own search on a collection Anki made.
"""

from __future__ import annotations

import sqlite3

import pytest

from decks import anki, search
from decks.search import SearchContext, SearchError, Term

TODAY = 100
DAY_ENDS_AT = 1_800_000_000


def test_it_splits_terms_on_spaces_and_keeps_quoted_words_together():
    assert search.parse('dog "the cat" deck:"My Deck" "tag:a b"') == [
        Term("text", "dog"),
        Term("text", "the cat"),
        Term("deck", "My Deck"),
        Term("tag", "a b"),
    ]


def test_it_reads_a_leading_minus_as_negation():
    assert search.parse("-tag:old -dog") == [
        Term("tag", "old", negated=True),
        Term("text", "dog", negated=True),
    ]


def test_it_treats_unknown_keys_and_times_as_text():
    assert search.parse("10:30 front:x") == [Term("text", "10:30"), Term("text", "front:x")]


def test_it_lowercases_keys_and_states_but_not_names():
    assert search.parse("TAG:Verbs IS:NEW Deck:Spanish") == [
        Term("tag", "Verbs"),
        Term("is", "new"),
        Term("deck", "Spanish"),
    ]


def test_it_keeps_escapes_for_the_wildcard_matcher():
    assert search.parse(r"a\*b a\"b") == [Term("text", r"a\*b"), Term("text", r"a\"b")]


@pytest.mark.parametrize(
    "query",
    ['"unclosed', "is:nothing", "tag:", "flag:9", "-", "x" * (search.QUERY_MAX_CHARS + 1)],
)
def test_it_refuses_malformed_queries(query):
    with pytest.raises(SearchError):
        search.parse(query)


def test_an_empty_query_has_no_terms():
    assert search.parse("   ") == []


def test_wildcards_match_runs_and_single_characters_and_escapes_are_literal():
    assert search.name_matches("Spanish::Verbs", "span*")
    assert search.name_matches("Spanish", "sp_nish")
    assert not search.name_matches("Spanish", "span")
    assert search.name_matches("a*b", r"a\*b")
    assert not search.name_matches("axb", r"a\*b")


def test_text_is_matched_without_html_and_ignoring_case():
    flds = anki.join_fields(["<b>Pa</b>ris &amp; Lyon", "ÉTÉ"])
    assert search.text_matches(flds, "paris & lyon")
    assert search.text_matches(flds, "été")
    assert not search.text_matches(flds, "<b>")


def test_a_tag_matches_itself_and_its_children_only():
    tags = " geo::europe spanish "
    assert search.tags_match(tags, "GEO")
    assert search.tags_match(tags, "geo::europe")
    assert search.tags_match(tags, "span*")
    assert not search.tags_match(tags, "geo::eu")
    assert not search.tags_match(tags, "europe")
    assert not search.tags_match(" geography ", "geo")


# Running the SQL on a schema-11 file
# ---------------------------------------------------------------------------

DECKS = {1: "Default", 10: "Spanish", 11: "Spanish::Verbs", 20: "Geography"}
# (card id, note fields, tags, did, type, queue, due, odid, flags)
CARDS = [
    (1, ["hablar", "to speak"], " spanish verbs::ar ", 11, 0, 0, 1, 0, 0),
    (2, ["<i>comer</i>", "to eat"], " spanish verbs::er ", 11, 2, 2, TODAY, 0, 1),
    (3, ["France", "<b>Paris</b>"], " geo ", 20, 2, 2, TODAY + 1, 0, 0),
    (4, ["Kenya", "Nairobi"], "", 20, 1, 1, DAY_ENDS_AT - 5, 0, 0),
    (5, ["Peru", "Lima"], " geo ", 20, 2, -1, TODAY - 3, 0, 0),
    (6, ["ser", "to be"], " spanish ", 1, 3, 3, TODAY, 10, 0),
    (7, ["ir", "to go"], " spanish ", 10, 0, -3, 2, 0, 0),
    (8, ["Chile", "Santiago"], " geo ", 20, 1, 1, DAY_ENDS_AT + 5, 0, 0),
]


@pytest.fixture
def db():
    connection = sqlite3.connect(":memory:")
    connection.executescript(anki.SCHEMA_SQL)
    for cid, fields, tags, did, ctype, queue, due, odid, flags in CARDS:
        connection.execute(
            "INSERT INTO notes VALUES (?, 'g', ?, 0, -1, ?, ?, '', 0, 0, '')",
            (cid, 7 if cid == 3 else 5, tags, anki.join_fields(fields)),
        )
        connection.execute(
            "INSERT INTO cards VALUES (?, ?, ?, 0, 0, -1, ?, ?, ?, 0, 0, 0, 0, 0, 0, ?, ?, '')",
            (cid, cid, did, ctype, queue, due, odid, flags),
        )
    search.register_functions(connection)
    yield connection
    connection.close()


def context() -> SearchContext:
    def deck_ids(pattern: str) -> list[int]:
        matched = [name for name in DECKS.values() if search.name_matches(name, pattern)]
        return [
            did
            for did, name in DECKS.items()
            if any(name == m or name.startswith(m + "::") for m in matched)
        ]

    notetypes = {5: "Basic", 7: "Basic (and reversed card)"}
    return SearchContext(
        deck_ids=deck_ids,
        notetype_ids=lambda p: [i for i, n in notetypes.items() if search.name_matches(n, p)],
        today=TODAY,
        day_ends_at=DAY_ENDS_AT,
    )


def found(db, query: str) -> list[int]:
    where, params = search.where_sql(search.parse(query), context())
    sql = f"SELECT c.id FROM cards c JOIN notes n ON n.id = c.nid WHERE {where} ORDER BY c.id"
    return [row[0] for row in db.execute(sql.replace("%s", "?"), params)]


@pytest.mark.parametrize(
    ("query", "ids"),
    [
        ("", [1, 2, 3, 4, 5, 6, 7, 8]),
        ("to", [1, 2, 6, 7]),
        ("comer", [2]),
        ("paris", [3]),
        ('"to speak"', [1]),
        ("to speak", [1]),
        ("-to", [3, 4, 5, 8]),
        ("tag:verbs", [1, 2]),
        ("tag:spanish -tag:verbs", [6, 7]),
        ("tag:none", [4]),
        ("deck:spanish", [1, 2, 6, 7]),
        ("deck:Spanish::Verbs", [1, 2]),
        ("deck:geo*", [3, 4, 5, 8]),
        ("-deck:geography", [1, 2, 6, 7]),
        ("deck:nowhere", []),
        ("-deck:nowhere", [1, 2, 3, 4, 5, 6, 7, 8]),
        ("is:new", [1, 7]),
        ("is:learn", [4, 6, 8]),
        ("is:review", [2, 3, 5, 6]),
        ("is:due", [2, 4, 6]),
        ("is:suspended", [5]),
        ("is:buried", [7]),
        ("is:review -is:suspended tag:geo", [3]),
        ("note:basic", [1, 2, 4, 5, 6, 7, 8]),
        ('"note:Basic (and reversed card)"', [3]),
        ("flag:1", [2]),
    ],
)
def test_it_finds_the_cards_each_query_describes(db, query, ids):
    assert found(db, query) == ids


def test_sql_never_contains_the_query_text(db):
    where, params = search.where_sql(search.parse('"x\'); DROP TABLE cards; --"'), context())
    assert "DROP" not in where
    assert params == ["x'); DROP TABLE cards; --"]
    assert found(db, '"x\'); DROP TABLE cards; --"') == []
