"""Studying through the API: the queue (checked against Anki's own), answers, limits,
learn-ahead, "nothing due", sibling burying, leeches, undo and idempotent answers.

Time never passes by sleeping: review.clock is fixed and moved by hand (`clock`
fixture). Expected scheduling values come from Anki: the queue is compared
with the `anki` package's queue for random collections, answers with
review.scheduler (itself checked against Anki answer by answer), and the few
literal numbers are ANKI.md's rules for Anki's default options.

The helpers at the top are shared by test_review_flow.py and test_review_properties.py.
"""

from __future__ import annotations

import os

os.environ["ANKI_TEST_MODE"] = "1"  # Anki's fuzz off; must precede the first anki import

import json
import random
import sqlite3
import tempfile
import time
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connections

from decks import services as deck_services
from review import clock, queue
from review.scheduler import (
    CardState,
    DeckOptions,
    Timing,
    answer_card,
    interval_label,
    timing_for,
)
from sessions_cache import store
from sessions_cache.access import collection_session
from sessions_cache.cache import CachedCollection

CARD_COLUMNS = (
    "id, nid, did, ord, mod, usn, type, queue, due, ivl, factor, reps, lapses, left,"
    " odue, odid, flags, data"
)
SCHED_FIELDS = ("type", "queue", "due", "ivl", "factor", "reps", "lapses", "left")
DAY_MS = 86_400_000


# Shared helpers
# ---------------------------------------------------------------------------


@pytest.fixture
def study_clock():
    """review.clock fixed at the real time now, or just after the next rollover of UTC
    learners (4:00 UTC) when that is less than two hours away, so that the minutes a test
    moves the clock on never cross a day by chance. Tests move it with clock.advance()."""
    now = time.time_ns() // 1_000_000
    rollover = (now - 4 * 3_600_000) // DAY_MS * DAY_MS + 4 * 3_600_000 + DAY_MS
    clock.set_ms(rollover + 60_000 if rollover - now < 2 * 3_600_000 else now)
    yield clock
    clock.set_ms(None)


@pytest.fixture
def exact(settings):
    """Review fuzz off: answers give exactly Anki's un-fuzzed intervals."""
    settings.JAVUMBO_FUZZ = False


@dataclass
class Studying:
    """A learner studying through the API (and a back door to their collection)."""

    learner: Any
    api: Any

    @property
    def username(self) -> str:
        return self.learner.username

    def next(self, deck: int | None = None) -> dict[str, Any]:
        response = self.api.get("/api/review", {} if deck is None else {"deck": deck})
        assert response.status_code == 200, response.content
        return response.json()

    def answer(self, card_id: int, ease: int, taken: int = 4000, **extra: Any) -> Any:
        body = {"cardId": card_id, "ease": ease, "timeTaken": taken}
        headers = {}
        if "key" in extra:
            headers["HTTP_IDEMPOTENCY_KEY"] = extra.pop("key")
        body.update(extra)
        return self.api.post("/api/review", body, format="json", **headers)

    def answer_ok(self, card_id: int, ease: int, taken: int = 4000, **extra: Any) -> dict:
        response = self.answer(card_id, ease, taken, **extra)
        assert response.status_code == 200, response.content
        return response.json()

    def undo(self, **body: Any) -> Any:
        return self.api.post("/api/review/undo", body, format="json")

    def rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Read the collection as this container holds it after the last request."""
        uri = f"file:{CachedCollection(self.username).path}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True)) as conn:
            return conn.execute(sql, params).fetchall()

    def card(self, card_id: int) -> dict[str, Any]:
        names = [name.strip() for name in CARD_COLUMNS.split(",")]
        (row,) = self.rows(f"SELECT {CARD_COLUMNS} FROM cards WHERE id = ?", (card_id,))
        return dict(zip(names, row, strict=True))

    def col(self, column: str) -> Any:
        (value,) = self.rows(f"SELECT {column} FROM col")[0]
        return json.loads(value) if column in ("conf", "decks", "dconf", "tags") else value

    def write(self, sql: str, params: tuple | list = ()) -> None:
        """Change the collection outside the API, journaled like any request."""
        with collection_session(self.username, self.learner.collection_id):
            connections["userdb"].cursor().execute(sql, list(params))

    def services(self, action):
        """Run decks.services calls (deck_create, note_create...) on this collection."""
        with collection_session(self.username, self.learner.collection_id):
            return action(deck_services)

    def journal_length(self) -> int:
        entries, _ = store.journal_read(self.username, 0)
        return len(entries)


@pytest.fixture
def studying(learner_make, api_as):
    """A new learner with the starter deck (33 new Basic cards, the current deck)."""

    def make(name: str = "student", *, starter_deck: bool = True, timezone: str = "UTC"):
        learner = learner_make(name, starter_deck=starter_deck, timezone=timezone)
        return Studying(learner, api_as(learner))

    return make


def card_state(row: dict[str, Any]) -> CardState:
    return CardState(
        id=row["id"], note_id=row["nid"], deck_id=row["did"], ord=row["ord"],
        type=row["type"], queue=row["queue"], due=row["due"], ivl=row["ivl"],
        factor=row["factor"], reps=row["reps"], lapses=row["lapses"], left=row["left"],
        odue=row["odue"], odid=row["odid"], flags=row["flags"],
    )  # fmt: skip


def timing_now(student: Studying):
    """The scheduler's view of now for this learner (UTC learners, rollover 4)."""
    conf = student.col("conf")
    return timing_for(
        collection_created=student.col("crt"),
        now_ms=clock.now_ms(),
        timezone=conf.get("javumboTimezone", "UTC"),
        rollover_hour=conf.get("rollover", 4),
    )


def options_of(student: Studying, deck_id: int) -> DeckOptions:
    preset_id = student.col("decks")[str(deck_id)]["conf"]
    return DeckOptions.from_legacy_config(student.col("dconf")[str(preset_id)])


def expected_answer(student: Studying, before: dict[str, Any], ease: int, taken: int = 4000):
    """What Anki's scheduler (review.scheduler, fuzz off) makes of this answer now."""
    options = options_of(student, before["did"])
    return answer_card(
        card_state(before), options, ease=ease, timing=timing_now(student),
        time_taken_ms=taken, fuzz=False, time_cap_ms=options.max_answer_secs * 1000,
    )  # fmt: skip


def preset_set(student: Studying, deck_id: int, **options: Any) -> None:
    """Change the options of the preset `deck_id` uses (decks.services option names)."""
    student.services(lambda s: s.deck_options_put(deck_id=deck_id, options=options))


def deck_add(student: Studying, name: str, *, own_preset: bool = True) -> int:
    """A new deck; with `own_preset`, a preset of its own so its options stand alone."""
    deck_id = student.services(lambda s: s.deck_create(name=name))
    if own_preset:
        preset_id = student.services(lambda s: s.preset_create(name=f"for {name}"))
        student.services(lambda s: s.deck_options_put(deck_id=deck_id, preset_id=preset_id))
    return int(deck_id)


def notes_add(
    student: Studying, deck_id: int, count: int, notetype: str = "Basic", prefix: str = "q"
) -> list[int]:
    """`count` notes in the deck; returns their card ids in creation order."""
    note_ids = [
        student.services(
            lambda s, i=i: s.note_create(
                notetype=notetype, fields=[f"{prefix}{i}", f"a{i}"], deck_id=deck_id
            )
        )
        for i in range(count)
    ]
    ids = ", ".join(str(n) for n in note_ids)
    return [
        row[0] for row in student.rows(f"SELECT id FROM cards WHERE nid IN ({ids}) ORDER BY id")
    ]


def current_deck(student: Studying) -> int:
    return int(student.col("conf")["curDeck"])


def make_review(student: Studying, card_id: int, *, due_in_days: int, ivl: int, **more: int):
    """Turn a card into a review card due `due_in_days` from today."""
    today = timing_now(student).days_elapsed
    values = {"type": 2, "queue": 2, "due": today + due_in_days, "ivl": ivl, "factor": 2500}
    values.update(more)
    sets = ", ".join(f"{column} = %s" for column in values)
    student.write(f"UPDATE cards SET {sets} WHERE id = %s", [*values.values(), card_id])


# The queue against Anki's own
# ---------------------------------------------------------------------------

anki_collection: Any  # the anki package's Collection module, used untyped like a client
try:
    import anki.collection
    from anki.scheduler.v3 import CardAnswer

    anki_collection = anki.collection
except ImportError:  # only the comparisons with Anki need the real thing
    anki_collection = None
needs_anki = pytest.mark.skipif(anki_collection is None, reason="needs the anki package")
DECK_NAMES = ("P", "P::a", "P::b", "P::a::x", "P::b::y", "Q")


def _random_presets(col: Any, rng: random.Random) -> list[dict]:
    presets = [col.decks.get_config(1)]
    presets += [col.decks.get_config(col.decks.add_config_returning_id(f"c{k}")) for k in (1, 2)]
    for preset in presets:
        preset["new"]["perDay"] = rng.choice([0, 1, 3, 5, 20])
        preset["rev"]["perDay"] = rng.choice([0, 2, 4, 10, 200])
        preset["new"]["bury"] = rng.random() < 0.4
        preset["rev"]["bury"] = rng.random() < 0.4
        preset["buryInterdayLearning"] = rng.random() < 0.4
        preset["newMix"] = rng.choice([0, 0, 1, 2])
        preset["interdayLearningMix"] = rng.choice([0, 0, 1, 2])
        preset["reviewOrder"] = rng.choice([0, 0, 1, 2, 3, 4, 5, 6, 9, 10])
        preset["newGatherPriority"] = rng.choice([0, 0, 1, 2])
        preset["newSortOrder"] = rng.choice([0, 0, 1])
        col.decks.update_config(preset)
    return presets


def _random_card_states(col: Any, rng: random.Random) -> None:
    """Cards in every queue; a day-learning card gets the earlier answer that put it there."""
    today, now = col.sched.today, int(time.time())
    for cid in col.db.list("select id from cards order by id"):
        pick = rng.random()
        if pick < 0.35:
            continue
        if pick < 0.6:
            col.db.execute(
                "update cards set type=2, queue=2, due=?, ivl=?, factor=?, mod=? where id=?",
                today + rng.randint(-6, 2), rng.randint(1, 60), rng.choice([1300, 2500, 2800]),
                rng.randint(1, 10**9), cid,
            )  # fmt: skip
        elif pick < 0.72:
            due = now + rng.choice([-5000, -100, 300, 900, 3000, 50000])
            col.db.execute("update cards set type=1, queue=1, due=?, left=2 where id=?", due, cid)
        elif pick < 0.82:
            col.db.execute(
                "update cards set type=3, queue=3, due=?, ivl=3, factor=2500, left=1 where id=?",
                today + rng.randint(-2, 1), cid,
            )  # fmt: skip
            col.db.execute(
                "insert into revlog values (?, ?, -1, 1, 1, 3, 2500, 1000, 1)",
                (now - 2 * 86_400) * 1000 + rng.randint(0, 10**6), cid,
            )  # fmt: skip
        elif pick < 0.9:
            col.db.execute("update cards set queue=-1 where id=?", cid)
        else:
            col.db.execute("update cards set queue=? where id=?", rng.choice([-2, -3]), cid)


def _answer_some(col: Any, rng: random.Random) -> None:
    """Study a few cards in Anki today, so today's counts and burying come into play."""
    for _ in range(rng.randint(0, 6)):
        queued = col.sched.get_queued_cards(fetch_limit=1).cards
        if not queued:
            return
        states, ease = queued[0].states, rng.randint(1, 4)
        ratings = (CardAnswer.AGAIN, CardAnswer.HARD, CardAnswer.GOOD, CardAnswer.EASY)
        col.sched.answer_card(
            CardAnswer(
                card_id=queued[0].card.id, current_state=states.current,
                new_state=[states.again, states.hard, states.good, states.easy][ease - 1],
                rating=ratings[ease - 1], answered_at_millis=int(time.time() * 1000),
                milliseconds_taken=1000,
            )
        )  # fmt: skip


def anki_and_ours(seed: int, path: str) -> tuple[tuple, tuple]:
    """Anki's queue of a random collection, and ours for the same file (as schema 11)."""
    rng = random.Random(seed)
    col = anki_collection.Collection(path)
    col.crt -= 100 * 86_400
    prefs = col.get_preferences()
    prefs.scheduling.rollover = rng.randint(0, 23)
    col.set_preferences(prefs)
    deck_ids = [col.decks.id(name) for name in DECK_NAMES]
    presets = _random_presets(col, rng)
    for deck_id in deck_ids:
        deck = col.decks.get(deck_id)
        deck["conf"] = rng.choice(presets)["id"]
        col.decks.save(deck)
    for key in ("newCardsIgnoreReviewLimit", "applyAllParentLimits"):
        if rng.random() < 0.3:
            col.set_config(key, True)
    models = [col.models.by_name("Basic"), col.models.by_name("Basic (and reversed card)")]
    for i in range(rng.randint(10, 40)):
        note = col.new_note(rng.choice(models))
        note["Front"], note["Back"] = f"f{i}-{seed}", "b"
        col.add_note(note, rng.choice(deck_ids))
    _random_card_states(col, rng)
    col.set_config("lastUnburied", col.sched.today)
    root = rng.choice(deck_ids[:3])
    col.decks.select(root)
    _answer_some(col, rng)
    col.close()
    col = anki_collection.Collection(path)  # a freshly built queue
    queued = col.sched.get_queued_cards(fetch_limit=100_000)
    timing_now_ = (int(time.time() * 1000), col.sched.today, col.sched.day_cutoff)
    anki = ([c.card.id for c in queued.cards], (queued.new_count, queued.learning_count,
                                                queued.review_count))  # fmt: skip
    col.close(downgrade=True)
    with closing(sqlite3.connect(path)) as db:
        conf, decks, dconf = db.execute("select conf, decks, dconf from col").fetchone()
        collection = queue.CollectionJson(json.loads(conf), json.loads(decks), json.loads(dconf))
        built = queue.study_queue(db, collection, deck_id=root, timing=Timing(*timing_now_))
    c = built.counts
    return anki, (built.card_ids(), (c.new, c.learning, c.review))


@needs_anki
@pytest.mark.parametrize("seed", range(30))
def test_it_builds_the_same_queue_as_anki(seed):
    """Random collections: nested decks with their own presets (limits, bury options,
    mixes, orders), cards in every queue, some answered today; the whole queue and its
    counts must be Anki's."""
    with tempfile.TemporaryDirectory() as directory:
        anki, ours = anki_and_ours(seed, str(Path(directory) / "collection.anki2"))
    assert ours == anki


@needs_anki
def test_its_hash_is_ankis_fnvhash(tmp_path):
    """The stable hash behind Anki's random orders equals Anki's own SQL fnvhash()."""
    col = anki_collection.Collection(str(tmp_path / "hash.anki2"))
    rng = random.Random(7)
    try:
        for _ in range(50):
            values = [rng.randint(-(2**62), 2**62) for _ in range(rng.randint(1, 3))]
            anki = col.db.scalar(f"select fnvhash({', '.join(map(str, values))})")
            assert queue.fnv_hash(*values) == anki % 2**64
    finally:
        col.close()


def test_it_mixes_two_lists_as_ankis_intersperser():
    """Anki's own unit cases for its Intersperser (rslib queue/builder/intersperser.rs)."""

    def mixed(one, two):
        entries = queue.intersperse(
            [queue.QueueEntry(i, "a") for i in one], [queue.QueueEntry(i, "b") for i in two]
        )
        return [entry.card_id for entry in entries]

    assert mixed([1, 2, 3], [11, 22, 33]) == [1, 11, 2, 22, 3, 33]
    assert mixed([1, 2, 3], [11, 22]) == [1, 11, 2, 22, 3]
    assert mixed([1, 2, 3], [11, 22, 33, 44, 55, 66]) == [11, 1, 22, 33, 2, 44, 55, 3, 66]
    assert mixed([1, 2, 3], [11, 22, 33, 44, 55, 66, 77, 88]) == [
        11, 22, 1, 33, 44, 2, 55, 66, 3, 77, 88,
    ]  # fmt: skip
    assert mixed([1, 2, 3], []) == [1, 2, 3]


# The next card
# ---------------------------------------------------------------------------

CONTRACT_CARD_KEYS = {
    "id", "noteId", "deckId", "ord", "front", "back", "css",
    "type", "queue", "due", "ivl", "factor", "reps", "lapses", "left",
}  # fmt: skip


def test_it_shows_the_current_decks_first_new_card_with_counts_and_button_intervals(
    studying, study_clock, exact
):
    student = studying()
    shown = student.next()
    deck = current_deck(student)
    first = student.rows("SELECT id FROM cards WHERE did = ? ORDER BY due, ord LIMIT 1", (deck,))
    assert shown["deckId"] == deck
    assert set(shown["card"]) == CONTRACT_CARD_KEYS
    assert shown["card"]["id"] == first[0][0]
    assert "She <b>works</b> in a bank." in shown["card"]["front"]
    assert '<hr id="answer">' in shown["card"]["back"]
    # 33 new cards, Anki's default of 20 new cards a day
    assert shown["counts"] == {"new": 20, "learning": 0, "review": 0}
    # ANKI.md, steps [1, 10]: Again 1m, Hard (1+10)/2 = 5.5m, Good 10m, Easy 4 days
    assert {ease: i["seconds"] for ease, i in shown["intervals"].items()} == {
        "1": 60, "2": 330, "3": 600, "4": 4 * 86_400,
    }  # fmt: skip
    assert [i["label"] for i in shown["intervals"].values()] == ["1m", "6m", "10m", "4d"]
    assert shown["nextDueAt"] is None


def test_the_labels_are_ankis_without_the_learn_ahead_mark(studying, study_clock, exact):
    """Labels as Anki's answer buttons show them (`1.5h`, `3.2mo`...), without Anki's `<`
    for delays inside the learn-ahead limit (the web client shows them as they come)."""
    student = studying()
    card_id = student.next()["card"]["id"]
    make_review(student, card_id, due_in_days=0, ivl=100)
    student.write("UPDATE cards SET queue = -1 WHERE id != %s", [card_id])
    shown = student.next()
    assert shown["card"]["id"] == card_id
    for interval in shown["intervals"].values():
        assert interval["label"] == interval_label(interval["seconds"], learn_ahead_secs=0)
    assert shown["intervals"]["3"]["label"] == "8.2mo"  # 250 days


def test_it_studies_the_deck_asked_for_with_its_subdecks(studying, study_clock, exact):
    student = studying(starter_deck=False)
    parent = deck_add(student, "Spanish")
    child = deck_add(student, "Spanish::Verbs")
    in_parent = notes_add(student, parent, 2, prefix="p")
    in_child = notes_add(student, child, 2, prefix="c")
    assert student.next(parent)["counts"]["new"] == 4
    assert student.next(child)["counts"]["new"] == 2
    assert student.next(child)["card"]["id"] in in_child
    assert student.next(parent)["card"]["id"] in in_parent + in_child
    assert student.next()["deckId"] == current_deck(student)


def test_it_refuses_unknown_and_filtered_decks(studying, study_clock):
    student = studying()
    assert student.api.get("/api/review", {"deck": 12345}).status_code == 404
    bad = student.api.get("/api/review", {"deck": "soon"})
    assert bad.status_code == 400
    assert "deck" in bad.json()["details"]
    decks = student.col("decks")
    filtered = dict(decks["1"], id=77, name="Cram", dyn=1)
    decks["77"] = filtered
    student.write("UPDATE col SET decks = %s", [json.dumps(decks)])
    refused = student.api.get("/api/review", {"deck": 77})
    assert refused.status_code == 400
    assert refused.json()["code"] == "filtered_deck"


# Answering
# ---------------------------------------------------------------------------


def test_an_answer_writes_the_card_and_revlog_row_as_ankis_scheduler_computes(
    studying, study_clock, exact
):
    student = studying()
    card_id = student.next()["card"]["id"]
    before = student.card(card_id)
    col_mod = student.col("mod")
    study_clock.advance(seconds=7)
    expected = expected_answer(student, before, 3, taken=4000)
    body = student.answer_ok(card_id, 3, taken=4000)
    after = student.card(card_id)
    assert {f: after[f] for f in SCHED_FIELDS} == {
        f: getattr(expected.card, f) for f in SCHED_FIELDS
    }
    assert body["answered"] == {"id": card_id, **{f: after[f] for f in SCHED_FIELDS}}
    assert after["mod"] == clock.now_ms() // 1000
    assert after["usn"] == -1
    assert json.loads(after["data"]) == {"pos": before["due"], "lrt": clock.now_ms() // 1000}
    revlog = student.rows("SELECT id, cid, usn, ease, ivl, lastIvl, factor, time, type FROM revlog")
    entry = expected.revlog
    assert revlog == [
        (clock.now_ms(), card_id, -1, 3, entry.ivl, entry.last_ivl, entry.factor, 4000, entry.type)
    ]
    assert student.col("mod") > col_mod
    assert body["next"]["card"]["id"] != card_id


def test_it_caps_the_answer_time_at_the_decks_maximum(studying, study_clock, exact):
    student = studying()
    deck = current_deck(student)
    first = student.next()["card"]["id"]
    student.answer_ok(first, 3, taken=250_000)
    preset_set(student, deck, max_answer_seconds=20)
    second = student.next()["card"]["id"]
    student.answer_ok(second, 3, taken=25_000)
    times = dict(student.rows("SELECT cid, time FROM revlog"))
    assert times == {first: 60_000, second: 20_000}


def test_a_revlog_id_already_taken_is_bumped(studying, study_clock, exact):
    student = studying()
    card_id = student.next()["card"]["id"]
    now = clock.now_ms()
    for taken_id in (now, now + 1):
        student.write("INSERT INTO revlog VALUES (%s, 1, -1, 3, 1, 0, 2500, 1000, 0)", [taken_id])
    student.answer_ok(card_id, 3)
    assert student.rows("SELECT id FROM revlog WHERE cid = ?", (card_id,)) == [(now + 2,)]


@pytest.mark.parametrize("ease", [0, 5, -1, "good", None])
def test_it_refuses_an_ease_outside_1_to_4_and_changes_nothing(studying, study_clock, ease):
    student = studying()
    card_id = student.next()["card"]["id"]
    journal = student.journal_length()
    response = student.answer(card_id, ease)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_input"
    assert "ease" in response.json()["details"]
    assert student.journal_length() == journal
    assert student.rows("SELECT COUNT(*) FROM revlog") == [(0,)]


def test_it_refuses_a_card_that_is_not_in_the_queue(studying, study_clock, exact):
    student = studying()
    deck = current_deck(student)
    by_position = [r[0] for r in student.rows(
        "SELECT id FROM cards WHERE did = ? ORDER BY due", (deck,)
    )]  # fmt: skip
    suspended = by_position[0]
    beyond_the_limit = by_position[21]  # 20 new cards a day, the first one suspended
    student.write("UPDATE cards SET queue = -1 WHERE id = %s", [suspended])
    other_deck = deck_add(student, "Elsewhere")
    (elsewhere,) = notes_add(student, other_deck, 1)
    journal = student.journal_length()
    for card_id in (beyond_the_limit, suspended, elsewhere):
        response = student.answer(card_id, 3)
        assert response.status_code == 409
        assert response.json()["code"] == "not_in_queue"
    assert student.answer(999, 3).status_code == 404
    assert student.journal_length() == journal
    # studying the other deck, its card is in the queue
    assert student.answer(elsewhere, 3, deckId=other_deck).status_code == 200


# Learning cards, learn-ahead and "nothing due"
# ---------------------------------------------------------------------------


def test_learning_cards_due_now_come_before_everything_else(studying, study_clock, exact):
    student = studying()
    deck = current_deck(student)
    ids = [r[0] for r in student.rows("SELECT id FROM cards WHERE did = ? ORDER BY due", (deck,))]
    make_review(student, ids[0], due_in_days=-2, ivl=5)
    late, now = ids[-1], clock.now_ms() // 1000
    student.write("UPDATE cards SET type = 1, queue = 1, due = %s, left = 1 WHERE id = %s",
                  [now - 30, late])  # fmt: skip
    shown = student.next()
    assert shown["card"]["id"] == late
    assert shown["counts"] == {"new": 20, "learning": 1, "review": 1}


def test_a_learning_card_due_within_the_learn_ahead_limit_is_shown_when_nothing_else_is(
    studying, study_clock, exact
):
    student = studying()
    deck = current_deck(student)
    preset_set(student, deck, new_per_day=1, learning_steps=[25])
    card_id = student.next()["card"]["id"]
    after = student.answer_ok(card_id, 1)["next"]  # Again: due in 25 minutes
    due = student.card(card_id)["due"]
    assert due == clock.now_ms() // 1000 + 25 * 60
    assert after["card"] is None
    assert after["counts"] == {"new": 0, "learning": 0, "review": 0}
    assert after["nextDueAt"] == due * 1000
    study_clock.advance(minutes=6)  # now due in 19 minutes: inside Anki's 20-minute limit
    ahead = student.next()
    assert ahead["card"]["id"] == card_id
    assert ahead["counts"] == {"new": 0, "learning": 1, "review": 0}
    assert ahead["nextDueAt"] is None


def test_when_nothing_is_left_it_says_when_the_next_card_is_due(studying, study_clock, exact):
    student = studying()
    deck = current_deck(student)
    preset_set(student, deck, new_per_day=1)
    card_id = student.next()["card"]["id"]
    after = student.answer_ok(card_id, 4)["next"]  # Easy: a review card in 4 days
    # new cards wait for tomorrow's limit
    assert after["card"] is None
    assert after["nextDueAt"] == timing_now(student).next_day_at * 1000
    # only the review card left: it comes back at the start of its day
    student.write("UPDATE cards SET queue = -1 WHERE id != %s", [card_id])
    timing = timing_now(student)
    assert student.card(card_id)["due"] == timing.days_elapsed + 4
    assert student.next()["nextDueAt"] == (timing.next_day_at + 3 * 86_400) * 1000
    # nothing that can ever come up
    student.write("UPDATE cards SET queue = -1")
    assert student.next()["nextDueAt"] is None


def test_an_empty_deck_has_no_card_and_no_next_due_time(studying, study_clock):
    student = studying(starter_deck=False)
    shown = student.next()
    assert shown == {
        "deckId": 1, "card": None, "counts": {"new": 0, "learning": 0, "review": 0},
        "intervals": None, "nextDueAt": None,
    }  # fmt: skip


# Daily limits, per deck up the tree
# ---------------------------------------------------------------------------


def test_new_cards_are_limited_per_deck_up_the_tree_and_counted_from_todays_answers(
    studying, study_clock, exact
):
    student = studying(starter_deck=False)
    parent, left, right = (deck_add(student, n) for n in ("P", "P::a", "P::b"))
    for deck, limit in ((parent, 5), (left, 3), (right, 10)):
        preset_set(student, deck, new_per_day=limit)
        notes_add(student, deck, 6, prefix=f"d{deck}-")
    counts = {deck: student.next(deck)["counts"]["new"] for deck in (parent, left, right)}
    # P's own 6 and its children's: P caps all at 5; a child alone has its own limit
    assert counts == {parent: 5, left: 3, right: 6}
    for _ in range(2):
        shown = student.next(parent)
        student.answer_ok(shown["card"]["id"], 3, deckId=parent)
    answered_in = {row[0] for row in student.rows(
        "SELECT c.did FROM revlog r JOIN cards c ON c.id = r.cid"
    )}  # fmt: skip
    assert answered_in == {parent}  # Anki gathers deck by deck: P's own cards first
    assert student.next(parent)["counts"]["new"] == 3
    assert student.next(left)["counts"]["new"] == 3
    study_clock.advance(days=1)
    assert student.next(parent)["counts"]["new"] == 5


def test_reviews_are_limited_and_new_cards_count_against_the_review_limit(
    studying, study_clock, exact
):
    student = studying(starter_deck=False)
    deck = deck_add(student, "Limited")
    preset_set(student, deck, reviews_per_day=5)
    cards = notes_add(student, deck, 7)
    for card_id in cards[:4]:
        make_review(student, card_id, due_in_days=0, ivl=3)
    # 4 reviews leave 1 of the 5 for new cards
    assert student.next(deck)["counts"] == {"new": 1, "learning": 0, "review": 4}
    student.answer_ok(cards[4], 3, deckId=deck)  # the first new card by position
    # the new card answered today takes one review slot: 4 reviews, no more new
    assert student.next(deck)["counts"] == {"new": 0, "learning": 1, "review": 4}


# Sibling burying
# ---------------------------------------------------------------------------


def anki_buries_a_sibling_in(tmp_path: Path) -> int:
    """The queue Anki puts a new sibling in when a card is answered with "bury new siblings"."""
    col = anki_collection.Collection(str(tmp_path / "bury.anki2"))
    conf = col.decks.get_config(1)
    conf["new"]["bury"] = True
    col.decks.update_config(conf)
    note = col.new_note(col.models.by_name("Basic (and reversed card)"))
    note["Front"], note["Back"] = "x", "y"
    col.add_note(note, 1)
    (queued,) = col.sched.get_queued_cards(fetch_limit=5).cards  # the sibling waits
    states = queued.states
    col.sched.answer_card(
        CardAnswer(
            card_id=queued.card.id, current_state=states.current, new_state=states.good,
            rating=CardAnswer.GOOD, answered_at_millis=int(time.time() * 1000),
            milliseconds_taken=1,
        )
    )  # fmt: skip
    sibling_queue = col.db.scalar("select queue from cards where id != ?", queued.card.id)
    col.close()
    return int(sibling_queue)


@needs_anki
def test_answering_a_card_buries_its_siblings_until_the_next_day(
    studying, study_clock, exact, tmp_path
):
    buried = anki_buries_a_sibling_in(tmp_path)  # -2, "buried by the scheduler"
    student = studying(starter_deck=False)
    deck = deck_add(student, "Both ways")
    preset_set(student, deck, bury_new=True, bury_reviews=True, bury_interday_learning=True)
    a1, a2, b1, b2 = notes_add(student, deck, 2, notetype="Basic (and reversed card)")
    assert student.next(deck)["counts"]["new"] == 2  # one card per note
    make_review(student, a2, due_in_days=5, ivl=5)
    tomorrow = timing_now(student).days_elapsed + 1
    student.write("UPDATE cards SET type = 3, queue = 3, due = %s, ivl = 2, factor = 2500,"
                  " left = 1 WHERE id = %s", [tomorrow, b2])  # fmt: skip
    student.answer_ok(a1, 3, deckId=deck)
    student.answer_ok(b1, 3, deckId=deck)
    answered_at = clock.now_ms() // 1000
    for sibling in (a2, b2):
        card = student.card(sibling)
        assert (card["queue"], card["mod"], card["usn"]) == (buried, answered_at, -1)
    study_clock.advance(days=1)
    student.next(deck)
    assert (student.card(a2)["queue"], student.card(b2)["queue"]) == (2, 3)
    assert student.card(a2)["mod"] == answered_at  # Anki's unbury marks nothing modified
    assert student.col("conf")["lastUnburied"] == timing_now(student).days_elapsed


def test_siblings_stay_when_the_preset_does_not_bury(studying, study_clock, exact):
    student = studying(starter_deck=False)
    deck = deck_add(student, "Both ways")
    a1, a2 = notes_add(student, deck, 1, notetype="Basic (and reversed card)")
    assert student.next(deck)["counts"]["new"] == 2
    student.answer_ok(a1, 3, deckId=deck)
    assert student.card(a2)["queue"] == 0
    assert student.next(deck)["card"]["id"] == a2


# Leeches
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["suspend", "tagOnly"])
def test_a_leech_is_tagged_and_suspended_if_the_preset_says_so(
    studying, study_clock, exact, action
):
    student = studying()
    deck = current_deck(student)
    preset_set(student, deck, leech_action=action)
    card_id = student.next()["card"]["id"]
    make_review(student, card_id, due_in_days=0, ivl=10, lapses=7)
    student.write("UPDATE cards SET queue = -1 WHERE id != %s", [card_id])
    after = student.answer_ok(card_id, 1)  # the 8th lapse: Anki's default threshold
    card = student.card(card_id)
    (tags,) = student.rows("SELECT tags FROM notes WHERE id = ?", (card["nid"],))[0]
    assert "leech" in tags.split()
    assert "leech" in student.col("tags")
    assert card["lapses"] == 8
    assert card["queue"] == (-1 if action == "suspend" else 1)
    assert after["next"]["card"] is None if action == "suspend" else after["next"]["card"]


# Undo
# ---------------------------------------------------------------------------


def all_rows(student: Studying) -> dict[str, list[tuple]]:
    return {
        table: student.rows(f"SELECT * FROM {table} ORDER BY rowid")
        for table in ("cards", "notes", "revlog")
    }


def test_undo_restores_every_column_of_the_card_and_removes_the_revlog_row(
    studying, study_clock, exact
):
    student = studying()
    card_id = student.next()["card"]["id"]
    before = all_rows(student)
    study_clock.advance(seconds=30)
    student.answer_ok(card_id, 3)
    assert all_rows(student) != before
    col_mod = student.col("mod")
    response = student.undo()
    assert response.status_code == 200
    body = response.json()
    assert body["undone"] == {"cardId": card_id}
    assert body["next"]["card"]["id"] == card_id
    assert all_rows(student) == before
    assert student.col("mod") > col_mod  # the undo itself is a change to sync


def test_undo_goes_back_through_earlier_answers_then_says_there_is_nothing_left(
    studying, study_clock, exact
):
    student = studying()
    before = all_rows(student)
    answered = []
    for ease in (3, 1, 4, 2):
        card_id = student.next()["card"]["id"]
        answered.append(card_id)
        student.answer_ok(card_id, ease)
        study_clock.advance(seconds=20)
    undone = [student.undo().json()["undone"]["cardId"] for _ in answered]
    assert undone == answered[::-1]
    assert all_rows(student) == before
    nothing = student.undo()
    assert nothing.status_code == 409
    assert nothing.json()["code"] == "nothing_to_undo"


def test_the_undone_card_is_shown_next_until_another_answer(studying, study_clock, exact):
    student = studying()
    deck = current_deck(student)
    by_position = [r[0] for r in student.rows(
        "SELECT id FROM cards WHERE did = ? ORDER BY due", (deck,)
    )]  # fmt: skip
    review = by_position[-1]
    make_review(student, review, due_in_days=0, ivl=4)
    natural_first = student.next()["card"]["id"]
    assert natural_first != review  # Anki mixes the one review among 20 new cards
    student.answer_ok(review, 3)
    assert student.undo().json()["next"]["card"]["id"] == review
    assert student.next()["card"]["id"] == review
    student.answer_ok(natural_first, 3)
    assert student.next()["card"]["id"] != review


def test_undo_works_from_another_container(studying, study_clock, exact, settings, tmp_path):
    student = studying()
    card_id = student.next()["card"]["id"]
    before = student.card(card_id)
    student.answer_ok(card_id, 2)
    settings.JAVUMBO_CACHE_DIR = tmp_path / "another-container"
    assert student.undo().status_code == 200
    assert student.card(card_id) == before
    assert student.rows("SELECT COUNT(*) FROM revlog") == [(0,)]


def test_undo_restores_buried_siblings_and_the_leech_tag(studying, study_clock, exact):
    student = studying(starter_deck=False)
    deck = deck_add(student, "Both ways")
    preset_set(student, deck, bury_new=True, leech_action="suspend")
    a1, a2 = notes_add(student, deck, 1, notetype="Basic (and reversed card)")
    make_review(student, a1, due_in_days=0, ivl=10, lapses=7)
    before = all_rows(student)
    tags_before = student.col("tags")
    student.answer_ok(a1, 1, deckId=deck)
    assert (student.card(a1)["queue"], student.card(a2)["queue"]) == (-1, -2)
    assert "leech" in student.rows("SELECT tags FROM notes")[0][0]
    assert student.undo(deckId=deck).json()["next"]["card"]["id"] == a1
    assert all_rows(student) == before
    assert set(student.col("tags")) >= set(tags_before)


def test_undo_skips_an_answer_whose_card_changed_since(studying, study_clock, exact):
    student = studying()
    first = student.next()["card"]["id"]
    student.answer_ok(first, 3)
    second = student.next()["card"]["id"]
    student.answer_ok(second, 3)
    student.write("UPDATE cards SET queue = -1 WHERE id = %s", [second])  # suspended since
    suspended = student.card(second)
    assert student.undo().json()["undone"]["cardId"] == first
    assert student.card(second) == suspended
    assert student.rows("SELECT cid FROM revlog") == [(second,)]
    assert student.undo().status_code == 409


def test_the_undo_history_keeps_the_last_30_answers_of_the_day(studying, study_clock, exact):
    student = studying()
    for _ in range(31):
        shown = student.next()
        student.answer_ok(shown["card"]["id"], 3)
        study_clock.advance(seconds=5)
    assert len(student.col("conf")["javumboReview"]["undo"]) == 30
    study_clock.advance(days=1)
    student.next()  # the first request of a new day drops yesterday's history, as Anki
    assert "javumboReview" not in student.col("conf")
    assert student.undo().status_code == 409


# Idempotent answers
# ---------------------------------------------------------------------------


def test_an_answer_retried_with_the_same_idempotency_key_is_applied_once(
    studying, study_clock, exact
):
    student = studying()
    card_id = student.next()["card"]["id"]
    first = student.answer(card_id, 3, key="answer-1")
    again = student.answer(card_id, 3, key="answer-1")
    assert first.status_code == again.status_code == 200
    assert again["Idempotent-Replay"] == "true"
    assert again.json() == first.json()
    assert student.rows("SELECT cid FROM revlog") == [(card_id,)]
    assert student.card(card_id)["reps"] == 1


def test_reading_the_queue_changes_nothing(studying, study_clock, exact):
    student = studying()
    student.next()  # the first request copies the learner's timezone into the collection
    journal = student.journal_length()
    for _ in range(3):
        student.next()
        study_clock.advance(minutes=30)
    assert student.journal_length() == journal


def test_a_day_starts_at_the_rollover_hour_in_the_learners_timezone(studying, study_clock, exact):
    """For a learner in Tokyo, tomorrow's card comes up at 4:00 Tokyo time (19:00 UTC)."""
    student = studying(timezone="Asia/Tokyo")
    card_id = student.next()["card"]["id"]
    make_review(student, card_id, due_in_days=1, ivl=3)
    student.write("UPDATE cards SET queue = -1 WHERE id != %s", [card_id])
    tokyo = datetime.fromtimestamp(clock.now_ms() / 1000, ZoneInfo("Asia/Tokyo"))
    rollover = tokyo.replace(hour=4, minute=0, second=0, microsecond=0)
    if rollover <= tokyo:
        rollover += timedelta(days=1)
    clock.set_ms(int(rollover.timestamp()) * 1000 - 60_000)
    before = student.next()
    assert before["card"] is None
    assert before["nextDueAt"] == int(rollover.timestamp()) * 1000
    clock.advance(minutes=2)
    assert student.next()["card"]["id"] == card_id


def test_with_fuzz_the_interval_shown_is_the_interval_given(studying, study_clock, settings):
    settings.JAVUMBO_FUZZ = True
    student = studying()
    card_id = student.next()["card"]["id"]
    make_review(student, card_id, due_in_days=0, ivl=30)
    student.write("UPDATE cards SET queue = -1 WHERE id != %s", [card_id])
    shown = student.next()["intervals"]
    answered = student.answer_ok(card_id, 3)["answered"]
    assert shown["3"]["seconds"] == answered["ivl"] * 86_400


def test_learners_only_ever_study_their_own_collection(studying, study_clock, client):
    alice, bob = studying("alice"), studying("bob")
    alices_deck = current_deck(alice)
    alices_card = alice.next()["card"]["id"]
    bob.next()
    # ids are per collection: Alice's simply do not exist in Bob's
    assert bob.rows("SELECT COUNT(*) FROM cards WHERE id = ?", (alices_card,)) == [(0,)]
    assert str(alices_deck) not in bob.col("decks")
    assert bob.api.get("/api/review", {"deck": alices_deck}).status_code == 404
    assert bob.answer(alices_card, 3).status_code == 404
    assert client.get("/api/review").status_code == 401
    assert client.post("/api/review/undo").status_code == 401
    assert alice.rows("SELECT COUNT(*) FROM revlog") == [(0,)]
