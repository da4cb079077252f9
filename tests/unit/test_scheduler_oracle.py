"""review.scheduler against the real Anki scheduler (the `anki` package) as oracle.

Anki's clock cannot be moved from Python, so time is simulated by moving the
card instead: a review answered N days late gets `due = today - N`, a
day-learning card gets a due day in the past. Each collection gets a random
rollover hour, so the time left until the next day varies from seconds to a
day and learning steps do or do not cross the rollover. ANKI_TEST_MODE turns
Anki's fuzz off; our side runs with `fuzz=False`.
"""

from __future__ import annotations

import os

os.environ["ANKI_TEST_MODE"] = "1"  # must precede the first anki import

import json
import random
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from review.scheduler import (
    CardState,
    DeckOptions,
    Timing,
    answer_card,
    interval_label,
    next_intervals,
    timing_for,
)

anki_collection = pytest.importorskip("anki.collection")
from anki.scheduler.v3 import CardAnswer  # noqa: E402

pytestmark = pytest.mark.slow

CARD_COLUMNS = (
    "id, nid, did, ord, type, queue, due, ivl, factor, reps, lapses, left, odue, odid, flags"
)
ISOLATION_MARKS = str.maketrans("", "", "\u2068\u2069")
RATINGS = (CardAnswer.AGAIN, CardAnswer.HARD, CardAnswer.GOOD, CardAnswer.EASY)


def random_legacy_options(rng: random.Random) -> dict[str, Any]:
    """A random but sane dconf fragment, covering steps that cross day boundaries."""
    return {
        "new": {
            "delays": rng.choice(
                [
                    [],
                    [1.0],
                    [1.0, 10.0],
                    [1.0, 10.0, 60.0],
                    [10.0, 1440.0],
                    [0.5, 30.0, 720.0, 2880.0],
                    [15.0, 120.0],
                    [5.0, 25.0, 90.0],
                ]
            ),
            "ints": [rng.randint(1, 3), rng.randint(2, 7), 0],
            "initialFactor": rng.choice([1300, 1800, 2500, 2500, 3100]),
        },
        "lapse": {
            "delays": rng.choice([[], [10.0], [10.0, 1440.0], [5.0, 60.0], [20.0]]),
            "mult": rng.choice([0.0, 0.0, 0.3, 0.5, 0.77]),
            "minInt": rng.randint(1, 3),
            "leechFails": rng.choice([1, 2, 3, 5, 8]),
            "leechAction": rng.choice([0, 1]),
        },
        "rev": {
            "hardFactor": rng.choice([0.8, 1.0, 1.2, 1.2, 1.5]),
            "ease4": rng.choice([1.0, 1.3, 1.3, 1.7]),
            "ivlFct": rng.choice([0.6, 1.0, 1.0, 1.25, 2.0]),
            "maxIvl": rng.choice([15, 365, 36500, 36500]),
        },
    }


def merged(conf: dict[str, Any], fragment: dict[str, Any]) -> dict[str, Any]:
    for section, values in fragment.items():
        conf[section].update(values)
    return conf


@dataclass
class AnkiOracle:
    """A throwaway Anki collection whose answers we compare with ours."""

    col: Any
    options: DeckOptions
    history: list[str] = field(default_factory=list)

    @classmethod
    def create(cls, path: Path, fragment: dict[str, Any], rollover_hour: int) -> AnkiOracle:
        col = anki_collection.Collection(str(path))
        col.crt = col.crt - 1000 * 86_400  # "today" well above zero, so dues can go back
        conf = merged(col.decks.get_config(1), fragment)
        col.decks.update_config(conf)
        prefs = col.get_preferences()
        prefs.scheduling.rollover = rollover_hour  # also resets Anki's cached timing
        col.set_preferences(prefs)
        return cls(col=col, options=DeckOptions.from_legacy_config(col.decks.get_config(1)))

    def add_card(self) -> int:
        note = self.col.new_note(self.col.models.by_name("Basic"))
        note["Front"] = f"q{len(self.history)}-{time.time()}"
        self.col.add_note(note, 1)
        return int(note.card_ids()[0])

    def card(self, cid: int) -> CardState:
        row = self.col.db.first(f"select {CARD_COLUMNS} from cards where id = ?", cid)
        return CardState(*row)

    def timing(self, now_ms: int) -> Timing:
        return Timing(now_ms, self.col.sched.today, self.col.sched.day_cutoff)

    def move_back_in_time(self, cid: int, rng: random.Random) -> None:
        """Simulate waiting before the next answer, by moving the card's due."""
        card, today = self.card(cid), self.col.sched.today
        if card.queue == 2:
            late = rng.choice([0, 0, 1, 2, rng.randint(0, 3 * card.ivl + 3), -rng.randint(1, 5)])
            self.set_due(cid, today - late)
        elif card.queue == 3:
            self.set_due(cid, today - rng.choice([0, 0, 1, 4, -1]))
        elif card.queue == 1:
            self.set_due(cid, int(time.time()) - rng.randint(0, 3 * 86_400))
        elif card.queue == -1:
            self.col.sched.unsuspend_cards([cid])

    def set_due(self, cid: int, due: int) -> None:
        self.col.db.execute("update cards set due = ? where id = ?", due, cid)

    def answer(self, cid: int, ease: int, now_ms: int, taken_ms: int) -> None:
        states = self.col._backend.get_scheduling_states(cid)
        chosen = [states.again, states.hard, states.good, states.easy][ease - 1]
        self.col.sched.answer_card(
            CardAnswer(
                card_id=cid,
                current_state=states.current,
                new_state=chosen,
                rating=RATINGS[ease - 1],
                answered_at_millis=now_ms,
                milliseconds_taken=taken_ms,
            )
        )

    def last_revlog(self, cid: int) -> tuple[int, ...]:
        return tuple(
            self.col.db.first(
                "select id, cid, usn, ease, ivl, lastIvl, factor, time, type from revlog "
                "where cid = ? order by id desc limit 1",
                cid,
            )
        )

    def note_has_leech_tag(self, cid: int) -> bool:
        nid = self.col.db.scalar("select nid from cards where id = ?", cid)
        return "leech" in self.col.get_note(nid).tags

    def clear_leech_tag(self, cid: int) -> None:
        nid = self.col.db.scalar("select nid from cards where id = ?", cid)
        self.col.tags.bulk_remove([nid], "leech")

    def card_data(self, cid: int) -> dict[str, Any]:
        return json.loads(self.col.db.scalar("select data from cards where id = ?", cid) or "{}")


def ours_for(oracle: AnkiOracle, before: CardState, ease: int, now_ms: int, taken: int):
    return answer_card(
        before,
        oracle.options,
        ease=ease,
        timing=oracle.timing(now_ms),
        time_taken_ms=taken,
        fuzz=False,
    )


def compare_one_answer(oracle: AnkiOracle, cid: int, ease: int, rng: random.Random) -> None:
    oracle.move_back_in_time(cid, rng)
    before = oracle.card(cid)
    time.sleep(0.001)  # a fresh millisecond: Anki bumps a revlog id that is taken
    now_ms = int(time.time() * 1000)
    check_buttons(oracle, before, now_ms)
    taken = rng.choice([0, 1500, 59_999, 60_001, 250_000])
    oracle.answer(cid, ease, now_ms, taken)
    after_ms = int(time.time() * 1000)
    ours = ours_for(oracle, before, ease, now_ms, taken)
    if after_ms // 1000 != now_ms // 1000 and oracle.card(cid) != ours.card:
        # Anki read its clock after the second ticked over.
        ours = ours_for(oracle, before, ease, after_ms, taken)
    oracle.history.append(f"{before} ease={ease} -> {ours.card}")
    context = "\n".join(oracle.history[-6:])
    assert oracle.card(cid) == ours.card, context
    assert oracle.last_revlog(cid) == (now_ms, *tuple(vars(ours.revlog).values())[1:]), context
    assert oracle.note_has_leech_tag(cid) == ours.add_leech_tag, context
    assert (oracle.card(cid).queue == -1) == ours.suspended, context
    check_card_data(oracle.card_data(cid), ours.original_position, now_ms)
    if ours.leech:
        oracle.clear_leech_tag(cid)


def check_card_data(data: dict[str, Any], original_position: int | None, now_ms: int) -> None:
    assert data["lrt"] in (now_ms // 1000, now_ms // 1000 + 1)
    if original_position is not None:
        assert data["pos"] == original_position


def check_buttons(oracle: AnkiOracle, card: CardState, now_ms: int) -> None:
    """Our next intervals, as labels, against what Anki shows on the buttons."""
    states = oracle.col._backend.get_scheduling_states(card.id)
    shown = [
        label.translate(ISOLATION_MARKS) for label in oracle.col.sched.describe_next_states(states)
    ]
    ours = next_intervals(card, oracle.options, timing=oracle.timing(now_ms), fuzz=False)
    labels = [interval_label(ours[ease]) for ease in (1, 2, 3, 4)]
    assert labels == shown, (card, ours, oracle.history[-3:])
    buttons = (states.again, states.hard, states.good, states.easy)
    for ease, state in zip((1, 2, 3, 4), buttons, strict=True):
        if state.normal.WhichOneof("kind") == "review":
            assert ours[ease] == state.normal.review.scheduled_days * 86_400


def random_rollover_hour(rng: random.Random) -> int:
    """Often the coming hour, so short steps cross the rollover; never one minutes away."""
    local = time.localtime()
    coming = (local.tm_hour + 1) % 24
    hour = rng.choice([rng.randrange(24), coming])
    if hour == coming and local.tm_min >= 57:
        hour = (hour + 12) % 24  # Anki's "today" must not change during the run
    return hour


def run_sequences(tmp_path: Path, seed: int, collections: int, cards: int, answers: int) -> int:
    rng = random.Random(seed)
    compared = 0
    for number in range(collections):
        path = tmp_path / f"c{seed}-{number}.anki2"
        options = random_legacy_options(rng)
        oracle = AnkiOracle.create(path, options, random_rollover_hour(rng))
        card_ids = [oracle.add_card() for _ in range(cards)]
        for _ in range(answers):
            cid = rng.choice(card_ids)
            compare_one_answer(oracle, cid, rng.choice([1, 2, 3, 3, 3, 4]), rng)
            compared += 1
        oracle.col.close()
    return compared


def test_it_answers_random_sequences_exactly_like_anki(tmp_path):
    compared = run_sequences(tmp_path, seed=20261123, collections=24, cards=3, answers=60)
    assert compared == 24 * 60


def test_it_labels_timespans_like_anki(tmp_path):
    col = anki_collection.Collection(str(tmp_path / "labels.anki2"))
    from anki.collection import FormatTimeSpan

    rng = random.Random(7)
    samples = [1, 59, 60, 89, 90, 3599, 3600, 5399, 5400, 86_399, 86_400, 129_600]
    samples += [rng.randrange(1, 40 * 365 * 86_400) for _ in range(3000)]
    samples += [days * 86_400 for days in range(1, 1200)]
    for seconds in samples:
        anki_label = col.format_timespan(seconds, context=FormatTimeSpan.ANSWER_BUTTONS)
        assert interval_label(seconds, learn_ahead_secs=0) == anki_label.translate(ISOLATION_MARKS)
    col.close()


TIMING_SCRIPT = """
import json, os, sys
os.environ["ANKI_TEST_MODE"] = "1"
from anki.collection import Collection
col = Collection(sys.argv[1])
out = []
base = col.crt
for back_days, rollover in json.loads(sys.argv[2]):
    col.crt = base - back_days * 86400
    prefs = col.get_preferences()
    prefs.scheduling.rollover = rollover
    col.set_preferences(prefs)
    out.append([col.crt, rollover, col.sched.today, col.sched.day_cutoff])
col.close()
print(json.dumps(out))
"""


@pytest.mark.parametrize(
    "zone", ["UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "Pacific/Chatham"]
)
def test_it_counts_days_like_anki_in_the_learners_timezone(tmp_path, zone):
    cases = [[back, hour] for back in (0, 1, 45, 200, 1000) for hour in (0, 4, 13, 23)]
    before_ms = int(time.time() * 1000)
    result = subprocess.run(
        [sys.executable, "-c", TIMING_SCRIPT, str(tmp_path / "t.anki2"), json.dumps(cases)],
        env={**os.environ, "TZ": zone},
        capture_output=True,
        text=True,
        check=True,
    )
    for crt, hour, today, cutoff in json.loads(result.stdout):
        ours = timing_for(
            collection_created=crt, now_ms=before_ms, timezone=zone, rollover_hour=hour
        )
        assert (ours.days_elapsed, ours.next_day_at) == (today, cutoff), (crt, hour)


FUZZ_SCRIPT = """
import json, sys, time
from anki.collection import Collection
from anki.scheduler.v3 import CardAnswer
col = Collection(sys.argv[1])
col.set_config("loadBalancerEnabled", False)
plan = json.loads(sys.argv[2])
today = col.sched.today
rows = []
for ivl, factor, cards in plan:
    for _ in range(cards):
        note = col.new_note(col.models.by_name("Basic"))
        note["Front"] = str(time.time())
        col.add_note(note, 1)
        cid = note.card_ids()[0]
        if ivl:
            col.db.execute(
                "update cards set type=2, queue=2, due=?, ivl=?, factor=? where id=?",
                today, ivl, factor, cid,
            )
        states = col._backend.get_scheduling_states(cid)
        row = col.db.first("select %s from cards where id=?" % sys.argv[3], cid)
        if ivl:
            days = [s.normal.review.scheduled_days for s in (states.hard, states.good, states.easy)]
            rows.append([row, days])
        else:
            now = int(time.time())
            col.sched.answer_card(CardAnswer(
                card_id=cid, current_state=states.current, new_state=states.again, rating=0,
                answered_at_millis=now * 1000, milliseconds_taken=0))
            due = col.db.scalar("select due from cards where id=?", cid)
            rows.append([row, [due - now]])
print(json.dumps({"today": today, "cutoff": col.sched.day_cutoff, "rows": rows}))
"""


def test_it_fuzzes_over_the_same_ranges_as_anki(tmp_path):
    """Anki with its fuzz on: our fuzz must reach exactly the same lowest and highest values."""
    plan = [[8, 2500, 150], [40, 2500, 150], [0, 0, 150]]
    env = {key: value for key, value in os.environ.items() if key != "ANKI_TEST_MODE"}
    script = [sys.executable, "-c", FUZZ_SCRIPT, str(tmp_path / "f.anki2"), json.dumps(plan)]
    result = subprocess.run(
        [*script, CARD_COLUMNS], env=env, capture_output=True, text=True, check=True
    )
    output = json.loads(result.stdout)
    anki: dict[tuple[int, int], set[int]] = {}
    ours: dict[tuple[int, int], set[int]] = {}
    for row, values in output["rows"]:
        card = CardState(*row)
        now = int(time.time())
        timing = Timing(now * 1000, output["today"], output["cutoff"])
        if card.ivl:
            mine = next_intervals(card, DeckOptions(), timing=timing, fuzz=True)
            fuzzed = [mine[ease] // 86_400 for ease in (2, 3, 4)]
        else:
            again = answer_card(
                card, DeckOptions(), ease=1, timing=timing, time_taken_ms=0, fuzz=True
            )
            fuzzed = [again.card.due - now]
        for button, (theirs, mine_value) in enumerate(zip(values, fuzzed, strict=True)):
            anki.setdefault((card.ivl, button), set()).add(theirs)
            ours.setdefault((card.ivl, button), set()).add(mine_value)
    assert len(anki[(40, 1)]) > 1, "Anki's fuzz was off"
    for key in anki:
        assert (min(ours[key]), max(ours[key])) == (min(anki[key]), max(anki[key])), key


def test_it_reads_out_of_range_legacy_options_as_anki_does(tmp_path):
    """A schema-11 file with odd options: Anki's reading of them is ours."""
    path = tmp_path / "legacy.anki2"
    anki_collection.Collection(str(path)).close(downgrade=True)
    rng = random.Random(11)
    for _ in range(30):
        raw = {
            "new": {"ints": [rng.choice([0, 1, 5, 40_000]), rng.choice([0, 4, 9])],
                    "initialFactor": rng.choice([900, 1300, 1310, 2500, 5000, 5001])},
            "rev": {"maxIvl": rng.choice([0, 1, 100, 36_500, 36_501]),
                    "ivlFct": rng.choice([0.01, 0.5, 1.0, 2.0, 2.5]),
                    "ease4": rng.choice([0.5, 1.0, 1.3, 5.0, 6.0]),
                    "hardFactor": rng.choice([0.4, 0.5, 1.2, 1.3, 1.4])},
            "lapse": {"minInt": rng.choice([0, 1, 3]), "leechFails": rng.choice([0, 1, 8]),
                      "mult": rng.choice([-0.5, 0.0, 0.5, 1.0, 1.5])},
        }  # fmt: skip
        with sqlite3.connect(path) as db:
            stored = json.loads(db.execute("select dconf from col").fetchone()[0])
            merged(stored["1"], raw)
            db.execute("update col set dconf = ?", (json.dumps(stored),))
        col = anki_collection.Collection(str(path))
        anki = col.decks.get_config(1)
        col.close(downgrade=True)
        ours = DeckOptions.from_legacy_config(stored["1"])
        assert (ours.graduating_interval, ours.easy_interval) == tuple(anki["new"]["ints"][:2])
        assert ours.initial_ease == anki["new"]["initialFactor"]
        assert ours.maximum_interval == anki["rev"]["maxIvl"]
        assert (ours.minimum_interval, ours.leech_threshold) == (
            anki["lapse"]["minInt"],
            anki["lapse"]["leechFails"],
        )
        ratios = (ours.interval_modifier, ours.easy_bonus, ours.hard_multiplier)
        rev, mult = anki["rev"], anki["lapse"]["mult"]
        expected = (rev["ivlFct"], rev["ease4"], rev["hardFactor"])
        assert (*ratios, ours.lapse_multiplier) == pytest.approx((*expected, mult), rel=1e-6), raw
