"""Whole study sessions through the API: the existing web client's flow, each rule of
ANKI.md on a real request, and weeks of simulated study checked answer by answer
against Anki's scheduler (review.scheduler, fuzz off, itself checked against the
`anki` package). The clock is review.clock, moved by hand: nothing sleeps.
"""

# The fixtures shared with test_review.py are imported by name, which ruff reads as
# redefinitions when tests take them as arguments.
# ruff: noqa: F811

from __future__ import annotations

import random
import secrets
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from rest_framework.test import APIClient

from review import clock
from tests.conftest import LEARNER_PASSWORD
from tests.test_review import (  # noqa: F401 (fixtures)
    SCHED_FIELDS,
    Studying,
    current_deck,
    exact,
    expected_answer,
    make_review,
    preset_set,
    study_clock,
    studying,
    timing_now,
)

DAY = 86_400


def starter_deck_node(decks: dict[str, Any]) -> dict[str, Any]:
    (english,) = [d for d in decks["results"] if d["name"] == "English"]
    (tenses,) = english["children"]
    return tenses


def test_the_web_clients_session_flow(client, study_clock, exact, settings, tmp_path):
    """Register with the starter deck, sign in, study 20 cards with the answers' `next`,
    finish the learning steps, flush; the counts follow, tomorrow too, in a cold container."""
    username = f"flow-{secrets.token_hex(4)}"
    registered = client.post(
        "/api/auth/register",
        {"username": username, "password": LEARNER_PASSWORD, "starterDeck": True},
        format="json",
    )
    assert registered.status_code == 201
    signed = client.post(
        "/api/auth/login", {"username": username, "password": LEARNER_PASSWORD}, format="json"
    ).json()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {signed['accessToken']}")
    assert api.post("/api/session/start").status_code == 200
    deck = starter_deck_node(api.get("/api/decks").json())
    assert (deck["newCount"], deck["learnCount"], deck["reviewCount"]) == (33, 0, 0)

    shown = api.get("/api/review").json()
    assert shown["deckId"] == deck["id"]
    assert shown["counts"] == {"new": 20, "learning": 0, "review": 0}
    studied = []
    for _ in range(20):
        studied.append(shown["card"]["id"])
        clock.advance(seconds=8)
        answer = {"cardId": shown["card"]["id"], "ease": 3, "timeTaken": 8000}
        shown = api.post("/api/review", answer, format="json").json()["next"]
    assert len(set(studied)) == 20
    # all 20 are learning cards due within 10 minutes: shown ahead, no new card left today
    assert shown["counts"] == {"new": 0, "learning": 20, "review": 0}
    assert shown["card"]["id"] == studied[0]
    assert starter_deck_node(api.get("/api/decks").json())["newCount"] == 13

    clock.advance(minutes=10)
    while shown["card"] is not None:
        answer = {"cardId": shown["card"]["id"], "ease": 3, "timeTaken": 3000}
        shown = api.post("/api/review", answer, format="json").json()["next"]
        clock.advance(seconds=5)
    assert shown["counts"] == {"new": 0, "learning": 0, "review": 0}
    next_rollover = shown["nextDueAt"]
    assert next_rollover > clock.now_ms()
    assert api.post("/api/session/flush").status_code == 200

    settings.JAVUMBO_CACHE_DIR = tmp_path / "cold-container"
    clock.set_ms(next_rollover + 3_600_000)
    tomorrow = api.get("/api/review").json()
    assert tomorrow["counts"] == {"new": 13, "learning": 0, "review": 20}


def test_each_rule_of_anki_md_holds_through_the_api(studying, study_clock, exact):
    """ANKI.md's rules with Anki's default options (steps [1, 10] and [10], graduating 1
    day, easy 4 days, Hard 1.2, Easy bonus 1.3, lapse multiplier 0), one answer each."""
    student = studying()
    deck = current_deck(student)
    ids = [r[0] for r in student.rows("SELECT id FROM cards WHERE did = ? ORDER BY due", (deck,))]
    now, today = clock.now_ms() // 1000, timing_now(student).days_elapsed

    def after(card_id: int, ease: int) -> dict[str, Any]:
        student.answer_ok(card_id, ease)
        return student.card(card_id)

    # New cards: Again, Hard (halfway to the next step), Good (next step), Easy (4 days)
    again, hard, good, easy = (after(ids[i], ease) for i, ease in enumerate((1, 2, 3, 4)))
    assert (again["queue"], again["left"], again["due"]) == (1, 2, now + 60)
    assert (hard["left"], hard["due"]) == (2, now + 330)
    assert (good["left"], good["due"]) == (1, now + 600)
    assert (easy["type"], easy["ivl"], easy["factor"], easy["due"]) == (2, 4, 2500, today + 4)
    # Good on the last step graduates with the graduating interval
    graduated = after(ids[2], 3)
    assert (graduated["type"], graduated["ivl"], graduated["due"]) == (2, 1, today + 1)

    # Review cards, ivl 10, factor 2500, two days late (L = 2)
    for card_id in ids[4:10]:
        make_review(student, card_id, due_in_days=-2, ivl=10)
    make_review(student, ids[10], due_in_days=3, ivl=10)  # early: counts as on time
    assert (after(ids[4], 2)["ivl"], student.card(ids[4])["factor"]) == (12, 2350)  # 10 * 1.2
    assert after(ids[5], 3)["ivl"] == 28  # (10 + 2/2) * 2.5 = 27.5, half away from zero
    assert (after(ids[6], 4)["ivl"], student.card(ids[6])["factor"]) == (39, 2650)
    lapsed = after(ids[7], 1)
    assert (lapsed["type"], lapsed["queue"], lapsed["due"]) == (3, 1, now + 600)
    assert (lapsed["lapses"], lapsed["factor"], lapsed["ivl"]) == (1, 2300, 1)
    early = student.api.post(
        "/api/review", {"cardId": ids[10], "ease": 3, "deckId": deck}, format="json"
    )
    assert early.status_code == 409  # not due yet: not in the queue

    # Relearning (one step of 10 minutes): Again restarts, Hard 1.5 steps, Good, Easy
    relearn = [ids[8], ids[9], ids[11], ids[12]]
    for card_id in relearn:
        make_review(student, card_id, due_in_days=0, ivl=10, factor=1300, lapses=2)
        student.answer_ok(card_id, 1)
    assert student.card(ids[8])["factor"] == 1300  # never below 130%
    assert after(ids[8], 1)["lapses"] == 3  # restarting the steps is not another lapse
    assert student.card(ids[8])["due"] == now + 600
    assert after(ids[9], 2)["due"] == now + 900
    back = after(ids[11], 3)
    assert (back["type"], back["queue"], back["ivl"], back["due"]) == (2, 2, 1, today + 1)
    assert after(ids[12], 4)["ivl"] == 2


def test_a_maximum_interval_caps_every_answer(studying, study_clock, exact):
    student = studying()
    deck = current_deck(student)
    preset_set(student, deck, maximum_interval=20)
    card_id = student.next()["card"]["id"]
    make_review(student, card_id, due_in_days=0, ivl=10)
    assert student.answer_ok(card_id, 4)["answered"]["ivl"] == 20


# Weeks of study
# ---------------------------------------------------------------------------


@dataclass
class Simulation:
    """Study sessions day after day, each answer checked against Anki's scheduler."""

    student: Studying
    deck: int
    rng: random.Random
    stubborn: set[int]
    seen: Counter[str] = field(default_factory=Counter)
    answers: int = 0

    def ease_for(self, card: dict[str, Any]) -> int:
        if card["type"] == 0:  # new cards take each button in turn
            return 1 + sum(self.seen[f"new:{ease}"] for ease in (1, 2, 3, 4)) % 4
        if card["id"] in self.stubborn:
            return self.rng.choices((1, 2, 3), (6, 1, 3))[0]
        return self.rng.choices((1, 2, 3, 4), (2, 2, 5, 2))[0]

    def answer(self, shown: dict[str, Any]) -> dict[str, Any]:
        before = self.student.card(shown["card"]["id"])
        ease = self.ease_for(before)
        taken = self.rng.choice((900, 7000, 75_000))
        expected = expected_answer(self.student, before, ease, taken=taken)
        body = self.student.answer_ok(before["id"], ease, taken=taken)
        after = self.student.card(before["id"])
        assert {f: after[f] for f in SCHED_FIELDS} == {
            f: getattr(expected.card, f) for f in SCHED_FIELDS
        }, (before, ease)
        self.note(before, ease, after, expected)
        self.answers += 1
        return body["next"]

    def note(self, before: dict, ease: int, after: dict, expected: Any) -> None:
        kind = {0: "new", 1: "learning", 2: "review", 3: "relearning"}[before["type"]]
        self.seen[f"{kind}:{ease}"] += 1
        today = timing_now(self.student).days_elapsed
        if before["type"] == 2 and before["due"] < today:
            self.seen["late review"] += 1
        if before["queue"] == 3:
            self.seen["interday learning"] += 1
        if expected.leech:
            self.seen["leech"] += 1
        if after["factor"] == 1300 and before["type"] == 2:
            self.seen["ease floor"] += 1
        if after["ivl"] == 60 and after["type"] == 2:
            self.seen["maximum interval"] += 1

    def day(self) -> None:
        """One session: study until nothing is due now, waiting out learning steps."""
        shown = self.student.next(self.deck)
        while True:
            if shown["card"] is not None:
                clock.advance(seconds=self.rng.randint(3, 40))
                shown = self.answer(shown)
                continue
            rollover = timing_now(self.student).next_day_at * 1000
            if shown["nextDueAt"] is None or shown["nextDueAt"] >= rollover:
                return
            clock.set_ms(shown["nextDueAt"])
            shown = self.student.next(self.deck)


def test_weeks_of_study_apply_ankis_scheduler_to_every_answer(studying, study_clock, exact):
    """Four weeks, some days off, a few cards that are hard to remember and two with a long
    history (one near the ease floor, one near the maximum interval): every answer is
    Anki's, each ANKI.md case comes up, and no day brings more than its new cards."""
    student = studying()
    deck = current_deck(student)
    # The same hour of the learner's day on every run, whenever the suite runs: which
    # cases the month brings depends on where in the day the first answers fall.
    clock.set_ms((timing_now(student).next_day_at - 86_400 + 6 * 3600) * 1000)
    preset_set(
        student, deck, new_per_day=3, maximum_interval=60, leech_threshold=4,
        relearning_steps=[10, 1440], lapse_multiplier=0.5, minimum_interval=2,
    )  # fmt: skip
    cards = [r[0] for r in student.rows("SELECT id FROM cards ORDER BY due")]
    student.write(f"UPDATE cards SET queue = -1 WHERE id IN ({', '.join(map(str, cards[14:]))})")
    make_review(student, cards[12], due_in_days=0, ivl=3, factor=1450, lapses=3)
    make_review(student, cards[13], due_in_days=0, ivl=45, factor=2700)
    rng = random.Random(20261123)
    sim = Simulation(student, deck, rng, stubborn=set(cards[:3]) | {cards[12]})
    for day in range(28):
        # some days off, two of them in a row for sure: reviews come late
        if rng.random() > 0.15 and day not in (9, 10):
            sim.day()
            after = student.next(deck)
            assert after["card"] is None
            assert after["counts"] == {"new": 0, "learning": 0, "review": 0}
        day_start = timing_now(student).next_day_at
        clock.set_ms((day_start + rng.randint(0, 20 * 3600)) * 1000)
    assert student.rows("SELECT COUNT(*) FROM revlog") == [(sim.answers,)]
    wanted = {f"{kind}:{ease}" for kind in ("new", "learning", "review", "relearning")
              for ease in (1, 2, 3, 4)}  # fmt: skip
    wanted |= {"late review", "interday learning", "leech", "ease floor", "maximum interval"}
    assert wanted <= set(sim.seen), sorted(wanted - set(sim.seen))
    crt = student.col("crt")  # a rollover: days are whole 86,400 s for this UTC learner
    new_per_day = Counter(
        (revlog_id // 1000 - crt) // DAY
        for (revlog_id,) in student.rows("SELECT id FROM revlog WHERE type = 0 AND lastIvl = 0")
    )
    assert max(new_per_day.values()) == 3
    assert sum(new_per_day.values()) == 12
