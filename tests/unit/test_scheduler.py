"""Unit tests for review.scheduler.

Expected values in the tables below were produced by the real Anki scheduler
(the `anki` package 26.9.3, fuzz off) for the same card and options; dues are
relative (days from today for day-based queues, seconds from now for queue 1),
so they hold for any clock. tests/unit/test_scheduler_oracle.py compares
against Anki live.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from review.scheduler import (
    CardNotAnswerable,
    CardState,
    DeckOptions,
    InvalidAnswer,
    InvalidEase,
    Timing,
    answer_card,
    interval_label,
    next_intervals,
    timing_for,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "anki"
CARD_FIELDS = (
    "id, nid, did, ord, type, queue, due, ivl, factor, reps, lapses, left, odue, odid, flags"
)
TODAY = 1000
NOW_SECS = 1_800_000_000
# Twelve hours until the next rollover.
TIMING = Timing(now_ms=NOW_SECS * 1000 + 123, days_elapsed=TODAY, next_day_at=NOW_SECS + 43_200)


def options_with(fragment: dict[str, Any]) -> DeckOptions:
    conf: dict[str, Any] = {"new": {}, "rev": {}, "lapse": {}}
    for section, values in fragment.items():
        conf[section].update(values)
    return DeckOptions.from_legacy_config(conf)


def card_with(ctype: int, queue: int, due_rel: int, ivl: int, factor: int, left: int, lapses: int):
    """A card whose due is relative: days from today, seconds from now, or a position."""
    due = {0: 1, 1: NOW_SECS + due_rel, 2: TODAY + due_rel, 3: TODAY + due_rel}[queue]
    return CardState(
        id=1_700_000_000_000, note_id=1_700_000_000_001, deck_id=1, ord=0, type=ctype,
        queue=queue, due=due, ivl=ivl, factor=factor, reps=5, lapses=lapses, left=left,
    )  # fmt: skip


def relative_due(card: CardState) -> int:
    return card.due - NOW_SECS if card.due > 1_000_000_000 else card.due - TODAY


def options_from_header(header: str) -> dict[str, Any]:
    """`[new.delays=1,10 rev.maxIvl=100]` -> a dconf fragment."""
    fragment: dict[str, Any] = {}
    for setting in header.strip("[]").split():
        if setting == "defaults":
            continue
        name, value = setting.split("=")
        section, key = name.split(".")
        parsed = [float(v) for v in value.split(",") if v] if key == "delays" else json.loads(value)
        fragment.setdefault(section, {})[key] = parsed
    return fragment


def answers_table(text: str) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    fragment: dict[str, Any] = {}
    for line in text.strip().splitlines():
        if line.startswith("["):
            fragment = options_from_header(line)
            continue
        name, before, ease, after, revlog, leech = (part.strip() for part in line.split("|"))
        numbers = [tuple(int(n) for n in part.split()) for part in (before, after, revlog)]
        rows.append((name, fragment, numbers[0], int(ease), numbers[1], numbers[2], leech == "1"))
    return rows


# Under each [options] header: case | card (type queue due ivl factor left lapses) | ease |
# card after, same columns | revlog (ease ivl lastIvl factor time type) | leech tag added.
# Every row is what Anki did with that card.
ANKI_ANSWERS = answers_table("""
[defaults]
new card | 0 0 0 0 0 0 0 | 1 | 1 1 60 0 0 2 0 | 1 -60 0 0 60000 0 | 0
new card | 0 0 0 0 0 0 0 | 2 | 1 1 330 0 0 2 0 | 2 -330 0 0 3000 0 | 0
new card | 0 0 0 0 0 0 0 | 3 | 1 1 600 0 0 1 0 | 3 -600 0 0 3000 0 | 0
new card | 0 0 0 0 0 0 0 | 4 | 2 2 4 4 2500 0 0 | 4 4 0 2500 3000 0 | 0
learning, last step | 1 1 0 0 0 1 0 | 1 | 1 1 60 0 0 2 0 | 1 -60 -600 0 3000 0 | 0
learning, last step | 1 1 0 0 0 1 0 | 2 | 1 1 600 0 0 1 0 | 2 -600 -600 0 60000 0 | 0
learning, last step | 1 1 0 0 0 1 0 | 3 | 2 2 1 1 2500 0 0 | 3 1 -600 2500 3000 0 | 0
learning, last step | 1 1 0 0 0 1 0 | 4 | 2 2 4 4 2500 0 0 | 4 4 -600 2500 3000 0 | 0
[new.delays=10]
single 10m step | 0 0 0 0 0 0 0 | 2 | 1 1 900 0 0 1 0 | 2 -900 0 0 3000 0 | 0
single 10m step | 0 0 0 0 0 0 0 | 3 | 2 2 1 1 2500 0 0 | 3 1 0 2500 3000 0 | 0
[new.delays=4320]
single 3-day step | 0 0 0 0 0 0 0 | 1 | 1 3 3 0 0 1 0 | 1 3 0 0 60000 0 | 0
single 3-day step | 0 0 0 0 0 0 0 | 2 | 1 3 4 0 0 1 0 | 2 4 0 0 3000 0 | 0
[new.delays=1,1440]
steps 1m 1d | 0 0 0 0 0 0 0 | 3 | 1 3 1 0 0 1 0 | 3 1 0 0 3000 0 | 0
[new.delays=1,2880]
steps 1m 2d | 1 1 0 0 0 2 0 | 3 | 1 3 2 0 0 1 0 | 3 2 -60 0 3000 0 | 0
[new.delays=1,1440]
day-learning card | 1 3 -2 0 0 1 0 | 2 | 1 3 1 0 0 1 0 | 2 1 1 0 3000 0 | 0
day-learning card | 1 3 -2 0 0 1 0 | 3 | 2 2 1 1 2500 0 0 | 3 1 1 2500 60000 0 | 0
[new.delays=]
no learning steps | 0 0 0 0 0 0 0 | 1 | 2 2 1 1 2500 0 0 | 1 1 0 2500 3000 0 | 0
no learning steps | 0 0 0 0 0 0 0 | 2 | 2 2 1 1 2500 0 0 | 2 1 0 2500 3000 0 | 0
no learning steps | 0 0 0 0 0 0 0 | 3 | 2 2 1 1 2500 0 0 | 3 1 0 2500 3000 0 | 0
no learning steps | 0 0 0 0 0 0 0 | 4 | 2 2 4 4 2500 0 0 | 4 4 0 2500 3000 0 | 0
[defaults]
review on time | 2 2 0 10 2500 0 0 | 1 | 3 1 600 1 2300 1 1 | 1 -600 10 2300 60000 1 | 0
review on time | 2 2 0 10 2500 0 0 | 2 | 2 2 12 12 2350 0 0 | 2 12 10 2350 3000 1 | 0
review on time | 2 2 0 10 2500 0 0 | 3 | 2 2 25 25 2500 0 0 | 3 25 10 2500 3000 1 | 0
review on time | 2 2 0 10 2500 0 0 | 4 | 2 2 33 33 2650 0 0 | 4 33 10 2650 3000 1 | 0
review 1 day late | 2 2 -1 10 2500 0 0 | 2 | 2 2 12 12 2350 0 0 | 2 12 10 2350 60000 1 | 0
review 1 day late | 2 2 -1 10 2500 0 0 | 3 | 2 2 26 26 2500 0 0 | 3 26 10 2500 3000 1 | 0
review 1 day late | 2 2 -1 10 2500 0 0 | 4 | 2 2 36 36 2650 0 0 | 4 36 10 2650 3000 1 | 0
review 3 days late | 2 2 -3 10 2500 0 0 | 3 | 2 2 29 29 2500 0 0 | 3 29 10 2500 60000 1 | 0
review 3 days late | 2 2 -3 10 2500 0 0 | 4 | 2 2 42 42 2650 0 0 | 4 42 10 2650 3000 1 | 0
review 7 days late | 2 2 -7 10 2500 0 0 | 2 | 2 2 12 12 2350 0 0 | 2 12 10 2350 3000 1 | 0
review 7 days late | 2 2 -7 10 2500 0 0 | 3 | 2 2 34 34 2500 0 0 | 3 34 10 2500 3000 1 | 0
review 7 days late | 2 2 -7 10 2500 0 0 | 4 | 2 2 55 55 2650 0 0 | 4 55 10 2650 60000 1 | 0
review 3 days early | 2 2 3 10 2500 0 0 | 3 | 2 2 25 25 2500 0 0 | 3 25 10 2500 3000 1 | 0
review ivl 1 | 2 2 0 1 2500 0 0 | 2 | 2 2 2 2 2350 0 0 | 2 2 1 2350 3000 1 | 0
review ivl 1 | 2 2 0 1 2500 0 0 | 3 | 2 2 3 3 2500 0 0 | 3 3 1 2500 3000 1 | 0
review ivl 1 | 2 2 0 1 2500 0 0 | 4 | 2 2 4 4 2650 0 0 | 4 4 1 2650 3000 1 | 0
ease floor | 2 2 0 100 1300 0 2 | 1 | 3 1 600 1 1300 1 3 | 1 -600 100 1300 60000 1 | 0
ease floor | 2 2 0 100 1300 0 2 | 2 | 2 2 120 120 1300 0 2 | 2 120 100 1300 3000 1 | 0
ease floor | 2 2 0 100 1300 0 2 | 3 | 2 2 130 130 1300 0 2 | 3 130 100 1300 3000 1 | 0
[rev.maxIvl=100]
maximum interval | 2 2 -5 90 2500 0 0 | 2 | 2 2 100 100 2350 0 0 | 2 100 90 2350 3000 1 | 0
maximum interval | 2 2 -5 90 2500 0 0 | 3 | 2 2 100 100 2500 0 0 | 3 100 90 2500 3000 1 | 0
maximum interval | 2 2 -5 90 2500 0 0 | 4 | 2 2 100 100 2650 0 0 | 4 100 90 2650 60000 1 | 0
[rev.ivlFct=0.8]
interval modifier 0.8 | 2 2 0 20 2500 0 0 | 2 | 2 2 21 21 2350 0 0 | 2 21 20 2350 3000 1 | 0
interval modifier 0.8 | 2 2 0 20 2500 0 0 | 3 | 2 2 40 40 2500 0 0 | 3 40 20 2500 3000 1 | 0
interval modifier 0.8 | 2 2 0 20 2500 0 0 | 4 | 2 2 52 52 2650 0 0 | 4 52 20 2650 3000 1 | 0
[rev.hardFactor=1.0]
hard multiplier 1.0 | 2 2 0 20 2500 0 0 | 2 | 2 2 20 20 2350 0 0 | 2 20 20 2350 3000 1 | 0
hard multiplier 1.0 | 2 2 0 20 2500 0 0 | 3 | 2 2 50 50 2500 0 0 | 3 50 20 2500 60000 1 | 0
[rev.ease4=1.5]
easy bonus 1.5 | 2 2 0 20 2500 0 0 | 4 | 2 2 75 75 2650 0 0 | 4 75 20 2650 3000 1 | 0
[lapse.mult=0.5 lapse.minInt=2]
lapse multiplier | 2 2 0 5 2500 0 0 | 1 | 3 1 600 3 2300 1 1 | 1 -600 5 2300 3000 1 | 0
lapse minimum | 2 2 0 3 2500 0 0 | 1 | 3 1 600 2 2300 1 1 | 1 -600 3 2300 3000 1 | 0
[lapse.delays=]
lapse, no relearning steps | 2 2 0 30 2500 0 0 | 1 | 2 2 1 1 2300 0 1 | 1 1 30 2300 3000 1 | 0
[defaults]
eighth lapse | 2 2 0 30 2500 0 7 | 1 | 3 1 600 1 2300 1 8 | 1 -600 30 2300 60000 1 | 1
ninth lapse | 2 2 0 30 2500 0 8 | 1 | 3 1 600 1 2300 1 9 | 1 -600 30 2300 3000 1 | 0
twelfth lapse | 2 2 0 30 2500 0 11 | 1 | 3 1 600 1 2300 1 12 | 1 -600 30 2300 3000 1 | 1
[lapse.leechAction=0]
eighth lapse, suspend | 2 2 0 30 2500 0 7 | 1 | 3 -1 600 1 2300 1 8 | 1 -600 30 2300 3000 1 | 1
[lapse.leechFails=3]
third lapse of 3 | 2 2 0 30 2500 0 2 | 1 | 3 1 600 1 2300 1 3 | 1 -600 30 2300 3000 1 | 1
fourth lapse of 3 | 2 2 0 30 2500 0 3 | 1 | 3 1 600 1 2300 1 4 | 1 -600 30 2300 3000 1 | 0
fifth lapse of 3 | 2 2 0 30 2500 0 4 | 1 | 3 1 600 1 2300 1 5 | 1 -600 30 2300 60000 1 | 1
[lapse.mult=0.5]
relearning | 3 1 0 6 2300 1 1 | 1 | 3 1 600 3 2300 1 1 | 1 -600 -600 2300 3000 2 | 0
relearning | 3 1 0 6 2300 1 1 | 2 | 3 1 900 6 2300 1 1 | 2 -900 -600 2300 3000 2 | 0
relearning | 3 1 0 6 2300 1 1 | 3 | 2 2 6 6 2300 0 1 | 3 6 -600 2300 3000 2 | 0
relearning | 3 1 0 6 2300 1 1 | 4 | 2 2 7 7 2300 0 1 | 4 7 -600 2300 60000 2 | 0
[lapse.delays=10,60]
relearning, two steps | 3 1 0 6 2300 2 1 | 2 | 3 1 2100 6 2300 2 1 | 2 -2100 -600 2300 3000 2 | 0
relearning, two steps | 3 1 0 6 2300 2 1 | 3 | 3 1 3600 6 2300 1 1 | 3 -3600 -600 2300 3000 2 | 0
[lapse.mult=0.7]
f32 lapse 241.5 | 2 2 -2 345 1660 0 0 | 1 | 3 1 600 242 1460 1 1 | 1 -600 345 1460 60000 1 | 0
[rev.hardFactor=1.15 rev.ease4=1.15]
f32 hard 126.5 | 2 2 -18 110 2040 0 0 | 2 | 2 2 127 127 1890 0 0 | 2 127 110 1890 3000 1 | 0
[rev.hardFactor=1.15]
f32 easy 1683.5 | 2 2 -13 337 3700 0 0 | 4 | 2 2 1683 1683 3850 0 0 | 4 1683 337 3850 3000 1 | 0
[rev.hardFactor=1.15 rev.ease4=1.15]
f32 good 58.5 | 2 2 -8 21 2340 0 0 | 3 | 2 2 58 58 2340 0 0 | 3 58 21 2340 3000 1 | 0
[rev.hardFactor=1.3 rev.ease4=1.35]
f32 hard 487.5 | 2 2 -15 375 2670 0 0 | 2 | 2 2 487 487 2520 0 0 | 2 487 375 2520 3000 1 | 0
[defaults]
review with ivl 0 | 2 2 0 0 2500 0 0 | 2 | 2 2 1 1 2350 0 0 | 2 1 0 2350 60000 1 | 0
review with ivl 0 | 2 2 0 0 2500 0 0 | 3 | 2 2 3 3 2500 0 0 | 3 3 0 2500 3000 1 | 0
review with ivl 0 | 2 2 0 0 2500 0 0 | 4 | 2 2 4 4 2650 0 0 | 4 4 0 2650 3000 1 | 0
[rev.hardFactor=0.8 rev.ivlFct=2.0]
review with ivl 0, late | 2 2 -2 0 2200 0 1 | 2 | 2 2 2 2 2050 0 1 | 2 2 0 2050 3000 1 | 0
review with ivl 0, late | 2 2 -2 0 2200 0 1 | 3 | 2 2 9 9 2200 0 1 | 3 9 0 2200 3000 1 | 0
review with ivl 0, late | 2 2 -2 0 2200 0 1 | 4 | 2 2 17 17 2350 0 1 | 4 17 0 2350 60000 1 | 0
[defaults]
relearning with ivl 0 | 3 1 0 0 2500 1 1 | 3 | 2 2 0 0 2500 0 1 | 3 0 -600 2500 3000 2 | 0
relearning with ivl 0 | 3 1 0 0 2500 1 1 | 4 | 2 2 1 1 2500 0 1 | 4 1 -600 2500 3000 2 | 0
[lapse.mult=0.5 lapse.minInt=20 rev.maxIvl=15]
lapse over the maximum | 2 2 0 289 2500 0 0 | 1 | 3 1 600 15 2300 1 1 | 1 -600 289 2300 60000 1 | 0
[lapse.mult=0.5 rev.maxIvl=15]
relearn, over max | 3 1 0 289 2500 1 1 | 1 | 3 1 600 15 2500 1 1 | 1 -600 -600 2500 3000 2 | 0
""")


@pytest.mark.parametrize(
    ("fragment", "before", "ease", "after", "revlog", "leech"),
    [case[1:] for case in ANKI_ANSWERS],
    ids=[f"{case[0]}, ease {case[3]}" for case in ANKI_ANSWERS],
)
def test_it_answers_like_anki(fragment, before, ease, after, revlog, leech):
    card = card_with(*before)
    taken = 60_000 if revlog[4] == 60_000 else 3000
    result = answer_card(
        card, options_with(fragment), ease=ease, timing=TIMING, time_taken_ms=taken, fuzz=False
    )
    new = result.card
    got = (new.type, new.queue, relative_due(new), new.ivl, new.factor, new.left, new.lapses)
    assert got == after
    row = result.revlog
    assert (row.ease, row.ivl, row.last_ivl, row.factor, row.time, row.type) == revlog
    assert result.add_leech_tag == leech
    assert result.suspended == (new.queue == -1)


def test_it_writes_the_revlog_row_anki_writes():
    card = card_with(2, 2, 0, 10, 2500, 0, 0)
    result = answer_card(
        card, DeckOptions(), ease=3, timing=TIMING, time_taken_ms=250_000, fuzz=False
    )
    assert (result.revlog.id, result.revlog.cid, result.revlog.usn) == (TIMING.now_ms, card.id, -1)
    assert result.revlog.time == 60_000


def test_it_caps_the_answer_time_at_a_chosen_limit():
    card = card_with(2, 2, 0, 10, 2500, 0, 0)
    result = answer_card(
        card, DeckOptions(), ease=3, timing=TIMING, time_taken_ms=90_000, fuzz=False,
        time_cap_ms=120_000,
    )  # fmt: skip
    assert result.revlog.time == 90_000


def test_it_counts_reps_and_clears_the_original_due():
    card = replace(card_with(2, 2, 0, 10, 2500, 0, 0), odue=77)
    result = answer_card(card, DeckOptions(), ease=3, timing=TIMING, time_taken_ms=0, fuzz=False)
    assert (result.card.reps, result.card.odue) == (card.reps + 1, 0)


def test_it_reports_the_position_a_new_card_leaves_and_the_review_time():
    card = replace(card_with(0, 0, 0, 0, 0, 0, 0), due=42)
    result = answer_card(card, DeckOptions(), ease=3, timing=TIMING, time_taken_ms=0, fuzz=False)
    assert result.original_position == 42
    assert result.reviewed_at_secs == NOW_SECS
    review = answer_card(
        card_with(2, 2, 0, 10, 2500, 0, 0), DeckOptions(), ease=3, timing=TIMING,
        time_taken_ms=0, fuzz=False,
    )  # fmt: skip
    assert review.original_position is None


def test_it_strips_the_legacy_today_count_from_left():
    card = card_with(1, 1, 0, 0, 0, 2002, 0)
    result = answer_card(card, DeckOptions(), ease=2, timing=TIMING, time_taken_ms=0, fuzz=False)
    assert result.card.left == 2
    assert result.card.due - NOW_SECS == 330


# One card studied in Anki (lapse multiplier 0.5), an answer at a time:
# (days late, ease) -> (type, queue, ivl, factor, lapses, left) after the answer.
ANKI_SEQUENCE = [
    (0, 3, 1, 1, 0, 0, 0, 1), (0, 3, 2, 2, 1, 2500, 0, 0), (0, 3, 2, 2, 3, 2500, 0, 0),
    (0, 3, 2, 2, 8, 2500, 0, 0), (2, 3, 2, 2, 23, 2500, 0, 0), (0, 2, 2, 2, 28, 2350, 0, 0),
    (5, 4, 2, 2, 101, 2500, 0, 0), (0, 3, 2, 2, 253, 2500, 0, 0), (0, 1, 3, 1, 127, 2300, 1, 1),
    (0, 3, 2, 2, 127, 2300, 1, 0), (0, 3, 2, 2, 292, 2300, 1, 0), (1, 3, 2, 2, 673, 2300, 1, 0),
    (0, 3, 2, 2, 1548, 2300, 1, 0), (10, 3, 2, 2, 3572, 2300, 1, 0),
    (0, 4, 2, 2, 10680, 2450, 1, 0), (0, 3, 2, 2, 26166, 2450, 1, 0),
    (0, 1, 3, 1, 13083, 2250, 2, 1), (0, 1, 3, 1, 6542, 2250, 2, 1),
    (0, 3, 2, 2, 6542, 2250, 2, 0), (3, 2, 2, 2, 7850, 2100, 2, 0),
    (0, 3, 2, 2, 16485, 2100, 2, 0), (0, 3, 2, 2, 34619, 2100, 2, 0),
    (30, 3, 2, 2, 36500, 2100, 2, 0), (0, 3, 2, 2, 36500, 2100, 2, 0),
]  # fmt: skip


def test_it_follows_ankis_intervals_over_a_long_sequence():
    options = options_with({"lapse": {"mult": 0.5}})
    card = card_with(0, 0, 0, 0, 0, 0, 0)
    now, today = NOW_SECS, TODAY
    for late, ease, *expected in ANKI_SEQUENCE:
        if card.queue == 2:
            today = card.due + late  # wait until the card is due, plus the lateness
        else:
            now = max(now, card.due) if card.queue == 1 else now
        timing = Timing(now * 1000, today, now + 3600)
        card = answer_card(
            card, options, ease=ease, timing=timing, time_taken_ms=1000, fuzz=False
        ).card
        assert [card.type, card.queue, card.ivl, card.factor, card.lapses, card.left] == expected


def simulate_days(options: DeckOptions, eases: list[int], *, fuzz: bool) -> list[Any]:
    """Study one card whenever it is due, a day at a time; returns the revlog."""
    card = card_with(0, 0, 0, 0, 0, 0, 0)
    now, today, revlog, answers = NOW_SECS, TODAY, [], iter(eases)
    while (ease := next(answers, None)) is not None:
        if card.queue == 2 or card.queue == 3:
            today = max(today, card.due)
            now = max(now, (today - TODAY) * 86_400 + NOW_SECS)
        elif card.queue == 1:
            now = max(now, card.due)
            today = TODAY + (now - NOW_SECS) // 86_400
        timing = Timing(now * 1000, today, NOW_SECS + (today - TODAY + 1) * 86_400)
        result = answer_card(card, options, ease=ease, timing=timing, time_taken_ms=500, fuzz=fuzz)
        assert result.card.queue in {1, 2, 3}
        if result.card.queue == 2:
            assert result.card.due == today + result.card.ivl
        revlog.append(result.revlog)
        card = result.card
    return revlog


@pytest.mark.parametrize("fuzz", [False, True])
def test_it_chains_review_intervals_in_the_revlog_over_years_of_days(fuzz):
    eases = [3, 3] + [3, 3, 2, 3, 4, 3, 1, 3, 3, 3, 2, 3, 3] * 8
    revlog = simulate_days(DeckOptions(), eases, fuzz=fuzz)
    for earlier, later in pairwise(revlog):
        if earlier.ivl > 0 and later.type == 1:
            assert later.last_ivl == earlier.ivl
    assert max(row.ivl for row in revlog) > 365


def fixture_rows(query: str) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(FIXTURES / "collection.anki2")
    try:
        return db.execute(query).fetchall()
    finally:
        db.close()


def fuzz_spread(
    card: CardState, *, ease: int = 3, timing: Timing = TIMING, cards: int = 200
) -> set[int]:
    """The review intervals the fuzz gives this answer, over many card ids."""
    return {
        answer_card(
            replace(card, id=card.id + n), DeckOptions(), ease=ease, timing=timing,
            time_taken_ms=0, fuzz=True,
        ).card.ivl
        for n in range(cards)
    }  # fmt: skip


def test_it_replays_the_reviews_of_a_real_anki_collection():
    """Anki studied the fixture over 12 days (fuzz on, UTC, 4am rollover, default options)."""
    [(crt,)] = fixture_rows("select crt from col")
    history = fixture_rows("select cid, id, ease, ivl, lastIvl, factor, time, type from revlog")
    cards = {row[0]: CardState(*row) for row in fixture_rows(f"select {CARD_FIELDS} from cards")}
    replayed: dict[int, CardState] = {}
    for cid, answered_at, ease, ivl, *rest in sorted(history, key=lambda row: row[1]):
        card = replayed.get(cid) or as_new(cards[cid])
        timing = timing_for(collection_created=crt, now_ms=answered_at, timezone="UTC")
        result = answer_card(
            card, DeckOptions(), ease=ease, timing=timing, time_taken_ms=rest[2], fuzz=False
        )
        row = result.revlog
        assert [row.last_ivl, row.factor, row.time, row.type] == rest
        replayed[cid] = result.card
        if row.ivl > 0 and result.card.type == 2:
            # Anki fuzzed this one: carry on from the interval it chose.
            assert ivl in fuzz_spread(card, ease=ease, timing=timing)
            replayed[cid] = replace(result.card, ivl=ivl, due=timing.days_elapsed + ivl)
        else:
            assert row.ivl == ivl
    assert set(replayed) == {cid for cid, card in cards.items() if card.type != 0}
    for cid, card in replayed.items():
        final = cards[cid]
        assert (card.type, card.ivl, card.factor, card.reps, card.lapses, card.left) == (
            final.type, final.ivl, final.factor, final.reps, final.lapses, final.left
        )  # fmt: skip


def as_new(card: CardState) -> CardState:
    return replace(card, type=0, queue=0, due=0, ivl=0, factor=0, reps=0, lapses=0, left=0)


def test_it_fuzzes_deterministically_by_card_and_reps():
    card = card_with(2, 2, 0, 40, 2500, 0, 0)
    first = answer_card(card, DeckOptions(), ease=3, timing=TIMING, time_taken_ms=0, fuzz=True)
    again = answer_card(card, DeckOptions(), ease=3, timing=TIMING, time_taken_ms=0, fuzz=True)
    assert first == again
    later = answer_card(
        replace(card, reps=card.reps + 1), DeckOptions(), ease=3, timing=TIMING,
        time_taken_ms=0, fuzz=True,
    )  # fmt: skip
    assert len(fuzz_spread(card, cards=50)) > 1
    assert later.card.ivl in fuzz_spread(card, cards=300)


@pytest.mark.parametrize(("factor", "lowest", "highest"), [(1700, 14, 20), (3700, 33, 41)])
def test_it_fuzzes_over_ankis_ranges(factor, lowest, highest):
    # Good on a 10-day card is 10 * ease: 17 and 37 days, whose fuzz ranges are
    # test vectors in Anki's fuzz.rs.
    spread = fuzz_spread(card_with(2, 2, 0, 10, factor, 0, 0), cards=400)
    assert spread == set(range(lowest, highest + 1))


def test_it_fuzzes_learning_steps_up_to_a_quarter_at_most_five_minutes():
    card = card_with(0, 0, 0, 0, 0, 0, 0)
    offsets = {
        answer_card(
            replace(card, id=card.id + n), DeckOptions(), ease=3, timing=TIMING,
            time_taken_ms=0, fuzz=True,
        ).card.due - NOW_SECS
        for n in range(500)
    }  # fmt: skip
    assert min(offsets) >= 600 and max(offsets) < 750
    long_step = options_with({"new": {"delays": [1.0, 120.0]}})
    result = answer_card(
        replace(card, id=card.id + 1), long_step, ease=3, timing=TIMING, time_taken_ms=0,
        fuzz=True,
    )  # fmt: skip
    assert 7200 <= result.card.due - NOW_SECS < 7500


def test_it_shows_the_intervals_it_would_give():
    card = card_with(0, 0, 0, 0, 0, 0, 0)
    assert next_intervals(card, DeckOptions(), timing=TIMING, fuzz=False) == {
        1: 60, 2: 330, 3: 600, 4: 4 * 86_400,
    }  # fmt: skip
    review = card_with(2, 2, 0, 10, 2500, 0, 0)
    shown = next_intervals(review, DeckOptions(), timing=TIMING, fuzz=True)
    for ease in (2, 3, 4):
        result = answer_card(
            review, DeckOptions(), ease=ease, timing=TIMING, time_taken_ms=0, fuzz=True
        )
        assert shown[ease] == result.card.ivl * 86_400


def test_it_counts_a_step_ending_exactly_at_the_rollover_as_a_day():
    # interval_kind.rs: a delay of at least the time left today becomes days.
    card = card_with(0, 0, 0, 0, 0, 0, 0)
    at_rollover = replace(TIMING, next_day_at=NOW_SECS + 600)
    result = answer_card(
        card, DeckOptions(), ease=3, timing=at_rollover, time_taken_ms=0, fuzz=False
    )
    assert (result.card.queue, result.card.due, result.revlog.ivl) == (3, TODAY + 1, 1)
    just_before = replace(TIMING, next_day_at=NOW_SECS + 601)
    result = answer_card(
        card, DeckOptions(), ease=3, timing=just_before, time_taken_ms=0, fuzz=False
    )
    assert (result.card.queue, result.card.due, result.revlog.ivl) == (1, NOW_SECS + 600, -600)


def test_it_shows_a_step_past_the_rollover_in_days():
    card = card_with(0, 0, 0, 0, 0, 0, 0)
    near_midnight = replace(TIMING, next_day_at=NOW_SECS + 300)
    assert next_intervals(card, DeckOptions(), timing=near_midnight, fuzz=False)[3] == 86_400
    result = answer_card(
        card, DeckOptions(), ease=3, timing=near_midnight, time_taken_ms=0, fuzz=False
    )
    assert (result.card.queue, result.card.due, result.revlog.ivl) == (3, TODAY + 1, 1)


@pytest.mark.parametrize("ease", [0, 5, -1])
def test_it_rejects_an_unknown_button(ease):
    with pytest.raises(InvalidEase):
        answer_card(
            card_with(2, 2, 0, 10, 2500, 0, 0), DeckOptions(), ease=ease, timing=TIMING,
            time_taken_ms=0, fuzz=False,
        )  # fmt: skip


@pytest.mark.parametrize(
    "card",
    [
        replace(card_with(2, 2, 0, 10, 2500, 0, 0), queue=-1),
        replace(card_with(2, 2, 0, 10, 2500, 0, 0), queue=-2),
        replace(card_with(2, 2, 0, 10, 2500, 0, 0), queue=-3),
        replace(card_with(2, 2, 0, 10, 2500, 0, 0), queue=0),
        replace(card_with(0, 0, 0, 0, 0, 0, 0), queue=2),
        replace(card_with(1, 1, 0, 0, 0, 1, 0), queue=2),
        replace(card_with(2, 2, 0, 10, 2500, 0, 0), odid=5),
        replace(card_with(2, 2, 0, 10, 2500, 0, 0), type=7),
    ],
    ids=["suspended", "sibling-buried", "buried", "review-in-new-queue", "new-in-review-queue",
         "learning-in-review-queue", "filtered", "unknown-type"],
)  # fmt: skip
def test_it_rejects_a_card_that_cannot_be_answered(card):
    with pytest.raises(CardNotAnswerable):
        answer_card(card, DeckOptions(), ease=3, timing=TIMING, time_taken_ms=0, fuzz=False)
    with pytest.raises(InvalidAnswer):
        next_intervals(card, DeckOptions(), timing=TIMING, fuzz=False)


def test_it_reads_the_deck_options_of_a_real_anki_file():
    db = sqlite3.connect(FIXTURES / "collection.anki2")
    dconf = json.loads(db.execute("select dconf from col").fetchone()[0])
    db.close()
    assert DeckOptions.from_legacy_config(dconf["1"]) == DeckOptions()


def test_it_reads_every_legacy_option_key():
    conf = {
        "new": {"delays": [2, 20.5], "ints": [2, 5, 0], "initialFactor": 2300, "perDay": 15,
                "bury": True},
        "rev": {"perDay": 150, "ease4": 1.4, "ivlFct": 0.9, "maxIvl": 3650, "hardFactor": 1.1,
                "bury": True},
        "lapse": {"delays": [5, 30], "mult": 0.2, "minInt": 2, "leechFails": 6,
                  "leechAction": 0},
        "buryInterdayLearning": True,
        "maxTaken": 90,
    }  # fmt: skip
    assert DeckOptions.from_legacy_config(conf) == DeckOptions(
        learn_steps=(2.0, 20.5), graduating_interval=2, easy_interval=5, initial_ease=2300,
        relearn_steps=(5.0, 30.0), lapse_multiplier=0.2, minimum_interval=2, leech_threshold=6,
        leech_action=0, hard_multiplier=1.1, easy_bonus=1.4, interval_modifier=0.9,
        maximum_interval=3650, new_per_day=15, reviews_per_day=150, bury_new=True,
        bury_reviews=True, bury_interday_learning=True, max_answer_secs=90,
    )  # fmt: skip


def test_it_falls_back_to_defaults_where_anki_rejects_a_value():
    # Anki replaced each of these with its default when it saved them (checked live).
    conf = {
        "new": {"ints": [0, 0, 0], "initialFactor": 900},
        "rev": {"maxIvl": 0, "ease4": 0.5, "ivlFct": 0.01, "hardFactor": 0.5},
        "lapse": {"minInt": 0, "leechFails": 0, "mult": 0.5},
    }
    expected = replace(DeckOptions(), hard_multiplier=0.5, lapse_multiplier=0.5)
    assert DeckOptions.from_legacy_config(conf) == expected


def test_it_takes_anki_defaults_for_missing_keys_and_short_interval_lists():
    assert DeckOptions.from_legacy_config({}) == DeckOptions()
    assert DeckOptions.from_legacy_config({"new": {"ints": [3]}}) == DeckOptions()


# Labels Anki 26.9.3 shows (format_timespan / describe_next_states), isolation marks removed.
ANKI_LABELS = [
    (1, "1s"), (30, "30s"), (59, "59s"), (60, "1m"), (89, "1m"), (90, "2m"), (330, "6m"),
    (599, "10m"), (3599, "60m"), (3600, "1h"), (5400, "1.5h"), (86_399, "24h"), (86_400, "1d"),
    (129_600, "2d"), (2_592_000, "30d"), (2_678_400, "1mo"), (3_888_000, "1.5mo"),
    (31_449_600, "12mo"), (31_536_000, "1y"), (43_200_000, "1.4y"), (3_153_600_000, "100y"),
]  # fmt: skip


@pytest.mark.parametrize(("seconds", "label"), ANKI_LABELS)
def test_it_labels_intervals_like_ankis_answer_buttons(seconds, label):
    assert interval_label(seconds, learn_ahead_secs=0) == label


def test_it_collapses_delays_inside_the_learn_ahead_limit():
    # What Anki shows above the buttons of a new card with default options.
    shown = next_intervals(card_with(0, 0, 0, 0, 0, 0, 0), DeckOptions(), timing=TIMING, fuzz=False)
    assert [interval_label(shown[ease]) for ease in (1, 2, 3, 4)] == ["<1m", "<6m", "<10m", "4d"]
    assert interval_label(0) == "(end)"
    assert interval_label(1200) == "20m"


def test_it_refuses_a_negative_label():
    with pytest.raises(ValueError):
        interval_label(-1)


def local_stamp(zone: str, year: int, month: int, day: int, *clock: int) -> int:
    hour, minute, second = (*clock, 0, 0, 0)[:3]
    moment = datetime(year, month, day, hour, minute, second, tzinfo=ZoneInfo(zone))
    return int(moment.timestamp())


def test_it_starts_the_day_at_the_rollover_hour():
    # Cases from Anki's own timing.rs tests: created at 2am; 4am rollover.
    crt = local_stamp("UTC", 2019, 12, 1, 2, 0)
    for hours, today in ((0, 0), (-24, 0), (24, 0), (26, 1)):
        timing = timing_for(
            collection_created=crt, now_ms=(crt + hours * 3600) * 1000, timezone="UTC"
        )
        assert timing.days_elapsed == today
    late_rollover = [(44, 0), (45, 1)]
    for hours, today in late_rollover:
        timing = timing_for(
            collection_created=crt, now_ms=(crt + hours * 3600) * 1000, timezone="UTC",
            rollover_hour=23,
        )  # fmt: skip
        assert timing.days_elapsed == today


def test_it_counts_days_across_daylight_saving_changes():
    # Anki's timing.rs: created at midnight MDT, 2018-08-06; day 507 on 2019-12-26 (MST).
    crt = local_stamp("America/Denver", 2018, 8, 6, 0, 0)
    now_ms = local_stamp("America/Denver", 2019, 12, 26, 20, 0) * 1000
    timing = timing_for(collection_created=crt, now_ms=now_ms, timezone="America/Denver")
    assert timing.days_elapsed == 507
    created_3am = local_stamp("America/Denver", 2018, 8, 6, 3, 0)
    for parts, today in (((2018, 8, 9, 1, 59, 59), 2), ((2018, 8, 9, 3, 59, 59), 2),
                         ((2018, 8, 9, 4, 0, 0), 3)):  # fmt: skip
        now_ms = local_stamp("America/Denver", *parts) * 1000
        timing = timing_for(
            collection_created=created_3am, now_ms=now_ms, timezone="America/Denver"
        )
        assert timing.days_elapsed == today


@pytest.mark.parametrize(
    ("now_parts", "rollover_parts"),
    [
        ((2026, 3, 7, 12, 0), (2026, 3, 8, 4, 0)),  # spring forward: a 23-hour day
        ((2026, 3, 8, 3, 30), (2026, 3, 8, 4, 0)),
        ((2026, 10, 31, 12, 0), (2026, 11, 1, 4, 0)),  # fall back: a 25-hour day
        ((2026, 11, 1, 1, 30), (2026, 11, 1, 4, 0)),
        ((2026, 11, 1, 4, 0), (2026, 11, 2, 4, 0)),
    ],
)
def test_it_rolls_over_at_the_local_hour_through_daylight_saving(now_parts, rollover_parts):
    zone = "America/New_York"
    crt = local_stamp(zone, 2026, 1, 1, 4, 0)
    timing = timing_for(
        collection_created=crt, now_ms=local_stamp(zone, *now_parts) * 1000, timezone=zone
    )
    assert timing.next_day_at == local_stamp(zone, *rollover_parts)
    rollovers_passed = (datetime(*rollover_parts[:3]) - datetime(2026, 1, 1)).days - 1
    assert timing.days_elapsed == rollovers_passed


def test_it_never_counts_negative_days():
    crt = local_stamp("Europe/Berlin", 2026, 5, 1, 10, 0)
    timing = timing_for(
        collection_created=crt, now_ms=(crt - 86_400) * 1000, timezone="Europe/Berlin"
    )
    assert timing.days_elapsed == 0


# --- properties ---------------------------------------------------------------------

review_cards = st.builds(
    lambda ivl, factor, late, lapses, reps, cid: CardState(
        id=cid, note_id=1, deck_id=1, ord=0, type=2, queue=2, due=TODAY - late, ivl=ivl,
        factor=factor, reps=reps, lapses=lapses, left=0,
    ),
    ivl=st.integers(0, 36_500), factor=st.integers(1300, 5000), late=st.integers(-30, 400),
    lapses=st.integers(0, 30), reps=st.integers(0, 500), cid=st.integers(1, 2**50),
)  # fmt: skip
option_sets = st.builds(
    lambda hard, easy, modifier, maximum, mult, minimum: options_with({
        "rev": {"hardFactor": hard, "ease4": easy, "ivlFct": modifier, "maxIvl": maximum},
        "lapse": {"mult": mult, "minInt": minimum},
    }),
    hard=st.floats(0.5, 1.3), easy=st.floats(1.0, 5.0), modifier=st.floats(0.5, 2.0),
    maximum=st.integers(1, 36_500), mult=st.floats(0.0, 1.0), minimum=st.integers(1, 400),
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(card=review_cards, options=option_sets, ease=st.integers(1, 4), fuzz=st.booleans())
def test_it_never_lowers_ease_below_1300(card, options, ease, fuzz):
    result = answer_card(card, options, ease=ease, timing=TIMING, time_taken_ms=0, fuzz=fuzz)
    assert result.card.factor >= 1300
    assert result.revlog.factor >= 1300


@settings(max_examples=300, deadline=None)
@given(card=review_cards, options=option_sets, ease=st.integers(2, 4), fuzz=st.booleans())
def test_it_keeps_passing_intervals_within_one_day_and_the_maximum(card, options, ease, fuzz):
    result = answer_card(card, options, ease=ease, timing=TIMING, time_taken_ms=0, fuzz=fuzz)
    assert 1 <= result.card.ivl <= options.maximum_interval


@settings(max_examples=300, deadline=None)
@given(card=review_cards, options=option_sets, fuzz=st.booleans())
def test_it_never_shortens_the_interval_on_good_after_good(card, options, fuzz):
    card = replace(card, ivl=min(card.ivl, options.maximum_interval))
    first = answer_card(card, options, ease=3, timing=TIMING, time_taken_ms=0, fuzz=fuzz).card
    later = replace(TIMING, days_elapsed=first.due)
    second = answer_card(first, options, ease=3, timing=later, time_taken_ms=0, fuzz=fuzz).card
    assert second.ivl >= first.ivl
    assert second.ivl > first.ivl or second.ivl == options.maximum_interval


learning_cards = st.builds(
    lambda ctype, left, reps: CardState(
        id=99, note_id=1, deck_id=1, ord=0, type=ctype, queue=1, due=NOW_SECS, ivl=3,
        factor=2500, reps=reps, lapses=1, left=left,
    ),
    ctype=st.sampled_from([1, 3]), left=st.integers(0, 3), reps=st.integers(0, 50),
)  # fmt: skip
step_lists = st.lists(st.floats(0.5, 4000.0), max_size=4)


@settings(max_examples=300, deadline=None)
@given(
    card=st.one_of(review_cards, learning_cards), steps=step_lists, relearn=step_lists,
    ease=st.integers(1, 4), until_rollover=st.integers(1, 86_400), fuzz=st.booleans(),
)  # fmt: skip
def test_it_writes_learning_intervals_as_negative_seconds_and_days_as_positive(
    card, steps, relearn, ease, until_rollover, fuzz
):
    options = options_with({"new": {"delays": steps}, "lapse": {"delays": relearn}})
    timing = replace(TIMING, next_day_at=NOW_SECS + until_rollover)
    result = answer_card(card, options, ease=ease, timing=timing, time_taken_ms=0, fuzz=fuzz)
    new, row = result.card, result.revlog
    if new.queue == 1:
        assert row.ivl < 0 and new.due >= NOW_SECS - row.ivl
    elif new.queue in (2, 3):
        assert row.ivl > 0 and new.due == TODAY + row.ivl
    current_steps = {1: steps, 3: relearn}.get(card.type)
    if current_steps is None:
        assert row.last_ivl == card.ivl
    elif all(step * 60 < until_rollover for step in current_steps):
        assert row.last_ivl <= 0
    assert row.type == {1: 0, 2: 1, 3: 2}[card.type]
