"""The starter deck every new learner gets unless they ask not to: English verb tenses.

Thirty-odd Basic notes we wrote ourselves, added to a brand-new collection file
(made by ``decks.anki.collection_create``) with plain sqlite3, the way Anki
itself stores them in its legacy schema 11: the decks ``English`` and
``English::Verb tenses`` in ``col.decks`` (every legacy key copied from the
Default deck), one ``notes`` row per note and one new card per note, queued in
order (``due`` = position, from the collection's ``nextPos``). The starter deck
becomes the current deck, so a new learner can study at once.
"""

from __future__ import annotations

import copy
import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from decks import anki

PARENT_DECK = "English"
DECK_NAME = "English::Verb tenses"
DECK_DESCRIPTION = (
    "A starter deck from Javumbo: the English verb tenses, their forms and when to use "
    "them. Delete it whenever you like."
)
TAGS = ["javumbo-starter", "verb-tenses"]

NOTES: list[tuple[str, str]] = [
    (
        "Which tense? <i>She <b>works</b> in a bank.</i>",
        "Present simple: habits, routines and facts.",
    ),
    (
        "Which tense? <i>They <b>are watching</b> a film right now.</i>",
        "Present continuous (am/is/are + -ing): an action in progress now.",
    ),
    (
        "Which tense? <i>I <b>have lived</b> here since 2015.</i>",
        "Present perfect (have/has + past participle): from the past up to now.",
    ),
    (
        "Which tense? <i>He <b>has been studying</b> for three hours.</i>",
        "Present perfect continuous (have/has been + -ing): an activity that continues "
        "up to now, stressing how long.",
    ),
    (
        "Which tense? <i>We <b>visited</b> Rome last year.</i>",
        "Past simple: a finished action at a finished time.",
    ),
    (
        "Which tense? <i>I <b>was cooking</b> when you called.</i>",
        "Past continuous (was/were + -ing): an action in progress at a moment in the past.",
    ),
    (
        "Which tense? <i>The train <b>had left</b> before we arrived.</i>",
        "Past perfect (had + past participle): an action before another past action.",
    ),
    (
        "Which tense? <i>She <b>had been waiting</b> for an hour when the bus came.</i>",
        "Past perfect continuous (had been + -ing): how long something went on "
        "up to a moment in the past.",
    ),
    (
        "Which tense? <i>I <b>will call</b> you tomorrow.</i>",
        "Future simple (will + base form): decisions made now, promises, predictions.",
    ),
    (
        "Which tense? <i>This time tomorrow I <b>will be flying</b> to Lisbon.</i>",
        "Future continuous (will be + -ing): an action in progress at a moment in the future.",
    ),
    (
        "Which tense? <i>By June she <b>will have finished</b> the course.</i>",
        "Future perfect (will have + past participle): completed before a moment in the future.",
    ),
    (
        "Which tense? <i>By 2030 he <b>will have been working</b> here for ten years.</i>",
        "Future perfect continuous (will have been + -ing): how long something will have "
        "gone on by a moment in the future.",
    ),
    (
        "Present simple of <i>go</i> with <i>he/she/it</i>",
        "goes (he goes, she goes, it goes)",
    ),
    ("Past simple and past participle of <i>go</i>", "went, gone"),
    ("Past simple and past participle of <i>write</i>", "wrote, written"),
    ("Past simple and past participle of <i>eat</i>", "ate, eaten"),
    ("Past simple and past participle of <i>begin</i>", "began, begun"),
    ("Past simple and past participle of <i>bring</i>", "brought, brought"),
    ("Past simple and past participle of <i>choose</i>", "chose, chosen"),
    ("Past simple and past participle of <i>drink</i>", "drank, drunk"),
    ("Past simple and past participle of <i>see</i>", "saw, seen"),
    ("Past simple and past participle of <i>take</i>", "took, taken"),
    ("Past simple and past participle of <i>think</i>", "thought, thought"),
    (
        "Which is right: <i>I have seen him yesterday</i> or <i>I saw him yesterday</i>?",
        "<i>I saw him yesterday.</i> A finished time such as <i>yesterday</i> takes the "
        "past simple, not the present perfect.",
    ),
    (
        "What is wrong with <i>I am knowing the answer</i>?",
        "<i>Know</i> is a stative verb, and stative verbs are not normally used in "
        "continuous forms: <i>I know the answer.</i>",
    ),
    (
        "<i>since</i> or <i>for</i>? <i>I have lived here ___ ten years.</i>",
        "<i>for</i>, with a length of time. <i>Since</i> takes a starting point: "
        "<i>since 2015</i>.",
    ),
    (
        "Past continuous or past simple? <i>While I ___ (walk) home, it ___ (start) to rain.</i>",
        "<i>While I <b>was walking</b> home, it <b>started</b> to rain.</i> The longer "
        "action is in progress; the short one interrupts it.",
    ),
    (
        "Make it negative: <i>She likes coffee.</i>",
        "<i>She doesn't like coffee.</i> (does not + base form)",
    ),
    (
        "Make it a question: <i>They arrived late.</i>",
        "<i>Did they arrive late?</i> (did + subject + base form)",
    ),
    (
        "Which tense for a timetable? <i>The train ___ (leave) at 6:15 tomorrow.</i>",
        "Present simple: <i>The train <b>leaves</b> at 6:15 tomorrow.</i>",
    ),
    (
        "<i>will</i> or <i>going to</i>? <i>Look at those clouds! It ___ rain.</i>",
        "<i>It's <b>going to</b> rain.</i> A prediction from what we can see now "
        "takes <i>going to</i>.",
    ),
    (
        "Which tense for an arrangement? <i>I ___ (meet) Anna at eight tonight.</i>",
        "Present continuous: <i>I'<b>m meeting</b> Anna at eight tonight.</i>",
    ),
    (
        "Words that often go with the present perfect",
        "already, yet, ever, never, just, so far, since, for",
    ),
]


def starter_deck_add(path: Path, *, now_ms: int | None = None) -> int:
    """Add the starter deck's decks, notes and cards to the new collection at ``path``;
    returns the starter deck's id."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    conn = sqlite3.connect(path)
    try:
        with conn:
            deck_id = _add(conn, now_ms)
    finally:
        conn.close()
    return deck_id


def _add(conn: sqlite3.Connection, now_ms: int) -> int:
    decks_json, models_json, conf_json = conn.execute(
        "SELECT decks, models, conf FROM col"
    ).fetchone()
    decks, conf = json.loads(decks_json), json.loads(conf_json)
    basic = _basic_notetype(json.loads(models_json))
    ids = _IdSource(conn, now_ms)
    _deck_add(decks, PARENT_DECK, ids.next_deck(decks), now_ms)
    deck_id = _deck_add(decks, DECK_NAME, ids.next_deck(decks), now_ms)
    for front, back in NOTES:
        _note_add(conn, ids, basic, [front, back], deck_id, position=conf["nextPos"])
        conf["nextPos"] += 1
    conf.update(curDeck=deck_id, activeDecks=[deck_id])
    conn.execute(
        "UPDATE col SET decks = ?, conf = ?, mod = ?",
        (json.dumps(decks), json.dumps(conf), now_ms),
    )
    return deck_id


def _basic_notetype(models: dict[str, Any]) -> dict[str, Any]:
    for notetype in models.values():
        if notetype.get("name") == "Basic" and notetype.get("type") == 0:
            return dict(notetype)
    raise ValueError("The new collection has no Basic note type.")


def _deck_add(decks: dict[str, Any], name: str, deck_id: int, now_ms: int) -> int:
    deck = copy.deepcopy(decks["1"])  # Default carries every legacy key Anki expects
    deck.update(id=deck_id, name=name, mod=now_ms // 1000, usn=-1)
    deck.update(desc=DECK_DESCRIPTION if name == DECK_NAME else "")
    for counter in ("newToday", "revToday", "lrnToday", "timeToday"):
        deck[counter] = [0, 0]
    decks[str(deck_id)] = deck
    return deck_id


def _note_add(
    conn: sqlite3.Connection,
    ids: _IdSource,
    notetype: dict[str, Any],
    fields: list[str],
    deck_id: int,
    *,
    position: int,
) -> None:
    note_id, mod = ids.next_row("notes"), ids.now_ms // 1000
    conn.execute(
        "INSERT INTO notes (id, guid, mid, mod, usn, tags, flds, sfld, csum, flags, data)"
        " VALUES (?, ?, ?, ?, -1, ?, ?, ?, ?, 0, '')",
        (
            note_id,
            anki.guid_new(),
            int(notetype["id"]),
            mod,
            anki.tags_to_text(TAGS),
            anki.join_fields(fields),
            anki.sort_field(fields, int(notetype["sortf"])),
            anki.field_checksum(fields[0]),
        ),
    )
    for ordinal in anki.card_ordinals(notetype, fields, tags=TAGS):
        conn.execute(
            "INSERT INTO cards (id, nid, did, ord, mod, usn, type, queue, due, ivl, factor,"
            " reps, lapses, left, odue, odid, flags, data)"
            " VALUES (?, ?, ?, ?, ?, -1, 0, 0, ?, 0, 0, 0, 0, 0, 0, 0, 0, '{}')",
            (ids.next_row("cards"), note_id, deck_id, ordinal, mod, position),
        )


class _IdSource:
    """Epoch-millisecond ids as Anki makes them, never one already used in the file."""

    def __init__(self, conn: sqlite3.Connection, now_ms: int) -> None:
        self.conn = conn
        self.now_ms = now_ms
        self._last = now_ms - 1

    def _next(self, taken: Callable[[int], bool]) -> int:
        self._last = anki.new_id(taken, now_ms=self._last + 1)
        return self._last

    def next_deck(self, decks: dict[str, Any]) -> int:
        return self._next(lambda candidate: str(candidate) in decks)

    def next_row(self, table: str) -> int:
        query = f"SELECT 1 FROM {table} WHERE id = ?"  # table is one of ours, never input
        return self._next(
            lambda candidate: self.conn.execute(query, (candidate,)).fetchone() is not None
        )
