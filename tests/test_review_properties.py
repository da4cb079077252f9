"""Properties of studying that hold for any history (hypothesis).

- Answers through the API, whatever the buttons, waits, options and fuzz: a review
  card's factor never goes below 1300, its interval stays within [1, maximum],
  Good after Good never shortens it, and every answer leaves one revlog row.
- Long chains of answers straight through the scheduler: the same, for many more
  histories than the API can afford.
- The queue of any collection: no card twice, only cards that are due, the counts
  match the cards, each deck's daily limits hold for its whole subtree, and with
  burying on, one card per note.
"""

# The fixtures shared with test_review.py are imported by name, which ruff reads as
# redefinitions when tests take them as arguments.
# ruff: noqa: F811

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from dataclasses import replace
from typing import Any

import pytest
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from decks import anki
from review import clock, queue
from review.scheduler import CardState, DeckOptions, Timing, answer_card
from tests.test_review import current_deck, preset_set, studying  # noqa: F401 (a fixture)

DAY = 86_400


def assert_review_invariants(
    card: dict[str, Any] | CardState, maximum: int, *, easy_after_relearning: bool = False
) -> None:
    """A review (or relearning) card's factor is at least 1300 and its interval within
    [1, maximum]; Easy on a relearning card may give one day more than the maximum, as in
    Anki (the post-lapse interval + 1, unclamped: test below)."""
    values = card if isinstance(card, dict) else vars(card)
    if values["type"] in (2, 3):
        assert values["factor"] >= 1300
        assert 1 <= values["ivl"] <= maximum + (1 if easy_after_relearning else 0)


# Through the API
# ---------------------------------------------------------------------------

api_options = st.fixed_dictionaries(
    {
        "maximum_interval": st.integers(1, 400),
        "hard_multiplier": st.sampled_from([0.5, 1.0, 1.2, 1.3]),
        "interval_modifier": st.sampled_from([0.5, 1.0, 1.7]),
        "lapse_multiplier": st.sampled_from([0.0, 0.4, 1.0]),
        "learning_steps": st.sampled_from([[1, 10], [30], [], [5, 1440]]),
        "relearning_steps": st.sampled_from([[10], [], [10, 1440]]),
    }
)
answers = st.lists(st.tuples(st.integers(1, 4), st.integers(0, 4 * DAY)), min_size=1, max_size=12)


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(options=api_options, history=answers, fuzz=st.booleans())
def test_answers_through_the_api_keep_ankis_invariants(studying, options, history, fuzz):
    clock.set_ms(time.time_ns() // 1_000_000)
    try:
        with override_settings(JAVUMBO_FUZZ=fuzz):
            _study_one_card(studying(), options, history)
    finally:
        clock.set_ms(None)


def _study_one_card(student: Any, options: dict[str, Any], history: list) -> None:
    deck = current_deck(student)
    preset_set(student, deck, **options)
    card_id = student.next()["card"]["id"]
    student.write("UPDATE cards SET queue = -1 WHERE id != %s", [card_id])
    previous_good_ivl = None
    for number, (ease, extra_wait) in enumerate(history, start=1):
        _wait_until_due(student, card_id, extra_wait)
        before = student.card(card_id)
        response = student.answer(card_id, ease)
        assert response.status_code == 200, (before, response.content)
        after = student.card(card_id)
        relearning_easy = before["type"] == 3 and ease == 4
        assert_review_invariants(
            after, options["maximum_interval"], easy_after_relearning=relearning_easy
        )
        good_on_review = ease == 3 and before["type"] == 2
        if good_on_review and previous_good_ivl is not None:
            assert after["ivl"] >= previous_good_ivl
        previous_good_ivl = after["ivl"] if good_on_review else None
        assert student.rows("SELECT COUNT(*) FROM revlog") == [(number,)]


def _wait_until_due(student: Any, card_id: int, extra: int) -> None:
    """Move the clock to when the card is due (or past it), as a learner who waits."""
    card = student.card(card_id)
    now = clock.now_ms() // 1000
    if card["queue"] == 1:
        clock.set_ms(max(now, card["due"] + extra) * 1000)
    elif card["queue"] in (2, 3):
        day_start = student.col("crt") + card["due"] * DAY  # whole days for a UTC learner
        clock.set_ms(max(now, day_start + 3600 + extra) * 1000)


# Straight through the scheduler
# ---------------------------------------------------------------------------

scheduler_options = st.builds(
    lambda maximum, hard, modifier, mult, minimum, steps, relearn: DeckOptions.from_legacy_config(
        {
            "new": {"delays": steps},
            "rev": {"maxIvl": maximum, "hardFactor": hard, "ivlFct": modifier},
            "lapse": {"mult": mult, "minInt": minimum, "delays": relearn},
        }
    ),
    maximum=st.integers(1, 36_500), hard=st.floats(0.5, 1.3), modifier=st.floats(0.5, 2.0),
    mult=st.floats(0.0, 1.0), minimum=st.integers(1, 50),
    steps=st.lists(st.floats(0.5, 3000.0), max_size=3),
    relearn=st.lists(st.floats(0.5, 3000.0), max_size=3),
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(
    options=scheduler_options,
    history=st.lists(st.tuples(st.integers(1, 4), st.integers(0, 30 * DAY)), max_size=40),
    fuzz=st.booleans(),
)
def test_long_histories_through_the_scheduler_keep_ankis_invariants(options, history, fuzz):
    card = CardState(
        id=1_700_000_000_000, note_id=1, deck_id=1, ord=0, type=0, queue=0, due=1, ivl=0,
        factor=0, reps=0, lapses=0, left=0,
    )  # fmt: skip
    now, crt = 1_800_000_000, 1_800_000_000 - 500 * DAY
    previous_good = None
    for ease, wait in history:
        if card.queue == -1:
            card = replace(card, queue=2 if card.type == 2 else 1)  # unsuspended by hand
        now = max(now, _due_time(card, crt)) + wait
        timing = Timing(now * 1000, (now - crt) // DAY, crt + ((now - crt) // DAY + 1) * DAY)
        result = answer_card(card, options, ease=ease, timing=timing, time_taken_ms=0, fuzz=fuzz)
        relearning_easy = card.type == 3 and ease == 4
        assert_review_invariants(
            result.card, options.maximum_interval, easy_after_relearning=relearning_easy
        )
        good_on_review = ease == 3 and card.type == 2
        if good_on_review and previous_good is not None:
            assert result.card.ivl >= previous_good
        previous_good = result.card.ivl if good_on_review else None
        card = result.card


def _due_time(card: CardState, crt: int) -> int:
    if card.queue == 1:
        return card.due
    if card.queue in (2, 3):
        return crt + card.due * DAY
    return 0


# The queue of any collection
# ---------------------------------------------------------------------------

DECK_NAMES = ("A", "A::b", "A::c", "A::b::d")
NOW = 1_800_000_000
TIMING = Timing(NOW * 1000, 1000, NOW + 6 * 3600)


def _preset(preset_id: int, new: int, reviews: int, bury: bool) -> dict[str, Any]:
    return {
        "id": preset_id,
        "new": {"perDay": new, "bury": bury},
        "rev": {"perDay": reviews, "bury": bury},
        "buryInterdayLearning": bury,
    }


cards = st.lists(
    st.tuples(
        st.integers(0, len(DECK_NAMES) - 1),  # deck
        st.integers(0, 12),  # note
        st.sampled_from([0, 0, 1, 2, 2, 3, -1, -2, -3]),  # queue
        st.integers(-3, 3),  # due: days from today, or hours from now for queue 1
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(
    card_rows=cards,
    limits=st.lists(st.tuples(st.integers(0, 6), st.integers(0, 8)), min_size=4, max_size=4),
    bury=st.booleans(),
    studied_deck=st.integers(0, 1),
)
def test_any_queue_holds_due_cards_once_within_every_decks_limits(
    card_rows, limits, bury, studied_deck
):
    decks = {str(i + 1): {"id": i + 1, "name": n, "conf": i + 1} for i, n in enumerate(DECK_NAMES)}
    presets = {str(i + 1): _preset(i + 1, new, rev, bury) for i, (new, rev) in enumerate(limits)}
    collection = queue.CollectionJson({"collapseTime": 1200}, decks, presets)
    with closing(sqlite3.connect(":memory:")) as db:
        db.executescript(anki.SCHEMA_SQL)
        rows = _insert_cards(db, card_rows)
        built = queue.study_queue(db, collection, deck_id=studied_deck + 1, timing=TIMING)
    entries = built.entries
    assert len({e.card_id for e in entries}) == len(entries)
    scope = {int(d["id"]) for d in queue.decks_in_scope(collection, studied_deck + 1)}
    kinds = {e.card_id: e.kind for e in entries}
    for card_id, kind in kinds.items():
        assert rows[card_id]["did"] in scope
        assert _is_due(rows[card_id], kind)
    counted = [sum(k == kind for k in kinds.values()) for kind in ("new", "review")]
    learning = sum(k in ("learning", "dayLearning") for k in kinds.values())
    assert [built.counts.new, built.counts.review] == counted
    assert built.counts.learning == learning
    _assert_limits(collection, rows, kinds, scope)
    if bury:
        _assert_one_card_per_note(rows, kinds, scope)


def _insert_cards(db: sqlite3.Connection, card_rows: list) -> dict[int, dict[str, Any]]:
    rows = {}
    for index, (deck, note, queue_, offset) in enumerate(card_rows):
        card_type = {0: 0, 1: 1, 2: 2, 3: 1}.get(queue_, 2)
        due = {0: index, 1: NOW + offset * 3600}.get(queue_, TIMING.days_elapsed + offset)
        card = {"id": 1000 + index, "nid": note, "did": deck + 1, "queue": queue_, "due": due}
        db.execute(
            "INSERT INTO cards VALUES (?, ?, ?, 0, 0, 0, ?, ?, ?, 1, 2500, 1, 0, 0, 0, 0, 0, '')",
            (card["id"], note, deck + 1, card_type, queue_, due),
        )
        rows[card["id"]] = card
    return rows


def _is_due(card: dict[str, Any], kind: str) -> bool:
    if kind == "learning":
        return card["queue"] == 1 and card["due"] <= NOW + 1200
    if kind in ("review", "dayLearning"):
        expected_queue = 2 if kind == "review" else 3
        return card["queue"] == expected_queue and card["due"] <= TIMING.days_elapsed
    return card["queue"] == 0


def _assert_limits(collection: Any, rows: dict, kinds: dict, scope: set[int]) -> None:
    for deck_id in scope:
        below = {int(d["id"]) for d in queue.decks_in_scope(collection, deck_id)}
        preset = collection.presets[str(deck_id)]
        taken = [kinds[c] for c in kinds if rows[c]["did"] in below]
        new, reviews = taken.count("new"), taken.count("review") + taken.count("dayLearning")
        assert new <= preset["new"]["perDay"]
        assert reviews + new <= preset["rev"]["perDay"]  # new cards use review slots too


def _assert_one_card_per_note(rows: dict, kinds: dict, scope: set[int]) -> None:
    """With burying on everywhere, a note shows one card, and none once it has a
    learning card today (learning cards are gathered first)."""
    main = [c for c, kind in kinds.items() if kind != "learning"]
    notes = [rows[c]["nid"] for c in main]
    assert len(notes) == len(set(notes))
    learning_notes = {
        card["nid"]
        for card in rows.values()
        if card["queue"] == 1 and card["did"] in scope and card["due"] <= TIMING.next_day_at
    }
    assert not learning_notes & set(notes)


def test_easy_on_a_relearning_card_passes_the_maximum_by_one_day_as_in_anki(tmp_path):
    """The one exception to "within the maximum interval", checked against the `anki`
    package: maximum 1 day, no learning steps, one relearning step; Again on the review,
    then Easy on the relearning card gives 2 days in Anki, and in Javumbo."""
    anki_collection = pytest.importorskip("anki.collection")
    from anki.scheduler.v3 import CardAnswer

    col = anki_collection.Collection(str(tmp_path / "anki.anki2"))
    conf = col.decks.get_config(1)
    conf["new"]["delays"], conf["lapse"]["delays"], conf["rev"]["maxIvl"] = [], [1.0], 1
    col.decks.update_config(conf)
    note = col.new_note(col.models.by_name("Basic"))
    note["Front"] = "x"
    col.add_note(note, 1)
    card_id = note.card_ids()[0]
    ratings = (CardAnswer.AGAIN, CardAnswer.HARD, CardAnswer.GOOD, CardAnswer.EASY)
    ours = CardState(
        id=card_id, note_id=note.id, deck_id=1, ord=0, type=0, queue=0, due=1, ivl=0,
        factor=0, reps=0, lapses=0, left=0,
    )  # fmt: skip
    options = DeckOptions.from_legacy_config(conf)
    for ease in (1, 1, 4):
        now = int(time.time())
        col.db.execute("update cards set due = ? where id = ? and queue = 2", col.sched.today,
                       card_id)  # fmt: skip
        col.db.execute("update cards set due = ? where id = ? and queue = 1", now - 10, card_id)
        ours = replace(ours, due={1: now - 10, 2: col.sched.today}.get(ours.queue, ours.due))
        states = col._backend.get_scheduling_states(card_id)
        chosen = [states.again, states.hard, states.good, states.easy][ease - 1]
        col.sched.answer_card(
            CardAnswer(
                card_id=card_id, current_state=states.current, new_state=chosen,
                rating=ratings[ease - 1], answered_at_millis=now * 1000, milliseconds_taken=1,
            )
        )  # fmt: skip
        timing = Timing(now * 1000, col.sched.today, col.sched.day_cutoff)
        ours = answer_card(
            ours, options, ease=ease, timing=timing, time_taken_ms=1, fuzz=False
        ).card
    anki_ivl = col.db.scalar("select ivl from cards where id = ?", card_id)
    col.close()
    assert anki_ivl == ours.ivl == 2
