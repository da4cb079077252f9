"""Statistics, with the real Anki as oracle: Anki's own statistics (the `graphs` call behind
its Stats screen) on the same file give the same card counts, reviews per day, forecast,
true retention and answer buttons; plus the streak, `days`, the deck filter and the
routes' errors.

Anki upgrades a file it opens to schema 18 and works in the process's local time (UTC
here, as the learners in these tests), so it always opens a copy.
"""

from __future__ import annotations

import contextlib
import itertools
import random
import shutil
import sqlite3
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from decks import anki, stats
from review.scheduler import timing_for
from tests.test_import import (
    col_json,
    collection_path,
    fixture_collection,
    legacy_package,
    upload,
    writing,
)

Collection = pytest.importorskip("anki.collection").Collection


# --- what Anki says ----------------------------------------------------------------------


def anki_graphs(path: Path, workdir: Path, search: str = "", days: int = 365) -> tuple[Any, Any]:
    """Anki's statistics of a copy of the collection, and its (today, next rollover)."""
    copy = workdir / f"anki-{time.monotonic_ns()}.anki2"
    shutil.copy(path, copy)
    col = Collection(str(copy))
    try:
        return col._backend.graphs(search=search, days=days), (
            col.sched.today,
            col.sched.day_cutoff,
        )
    finally:
        col.close()


def anki_card_counts(graphs: Any) -> dict[str, int]:
    counts = graphs.card_counts.excluding_inactive
    due_today = sum(n for day, n in graphs.future_due.future_due.items() if day <= 0)
    states = {
        "new": counts.newCards,
        "learning": counts.learn,
        "relearning": counts.relearn,
        "young": counts.young,
        "mature": counts.mature,
        "suspended": counts.suspended,
        "buried": counts.buried,
    }
    return {"total": sum(states.values()), **states, "due_today": due_today}


def anki_forecast(graphs: Any) -> list[int]:
    days = [0] * stats.FORECAST_DAYS
    for day, count in graphs.future_due.future_due.items():
        if day < stats.FORECAST_DAYS:
            days[max(0, day)] += count
    return days


def anki_reviews_per_day(graphs: Any, days: int) -> dict[int, tuple[int, int]]:
    """{days ago: (answers, ms)}; Anki keys days from the next rollover, -1 = yesterday."""
    per_day = {}
    for key, count in graphs.reviews.count.items():
        time_ms = graphs.reviews.time[key]
        total = sum(getattr(count, k) for k in ("learn", "relearn", "young", "mature", "filtered"))
        ms = sum(getattr(time_ms, k) for k in ("learn", "relearn", "young", "mature", "filtered"))
        if total and 0 <= -key < days:
            per_day[-key] = (total, ms)
    return per_day


def anki_buttons(graphs: Any, period: str) -> dict[str, dict[str, int]]:
    counts = getattr(graphs.buttons, period)
    return {
        kind: dict(zip(stats.BUTTONS, getattr(counts, kind), strict=True))
        for kind in ("learning", "young", "mature")
    }


def anki_retention(graphs: Any) -> dict[str, tuple[int, int]]:
    month = graphs.true_retention.month
    return {
        "young": (month.young_passed, month.young_passed + month.young_failed),
        "mature": (month.mature_passed, month.mature_passed + month.mature_failed),
    }


# --- a varied collection, built with Anki ------------------------------------------------


def varied_collection(path: Path, seed: int) -> None:
    """Cards in every state and queue, filtered ones, and a year of review history of
    every kind (manual rescheduling and cramming included), relative to now."""
    col = Collection(str(path))
    rng = random.Random(seed)
    try:
        today, cutoff = col.sched.today, col.sched.day_cutoff
        deck = col.decks.id("Languages::French")
        basic = col.models.by_name("Basic")
        for i in range(300):
            note = col.new_note(basic)
            note["Front"], note["Back"] = f"word {i}", f"mot {i}"
            col.add_note(note, deck)
        for card_id in col.db.list("SELECT id FROM cards"):
            col.db.execute(
                "UPDATE cards SET type = ?, queue = ?, due = ?, ivl = ?, odid = ?, odue = ?"
                " WHERE id = ?",
                *random_state(rng, today, cutoff),
                card_id,
            )
        add_history(col, rng, card_ids=col.db.list("SELECT id FROM cards"))
    finally:
        col.close()


def random_state(rng: random.Random, today: int, cutoff: int) -> tuple[int, ...]:
    kind = rng.choice([0, 1, 2, 2, 2, 3])
    queue = {0: 0, 1: 1, 2: 2, 3: 1}[kind]
    if kind in (1, 3) and rng.random() < 0.3:
        queue = 3
    queue = rng.choice([queue, queue, queue, -1, -2, -3])
    if queue == 1 or (queue < 0 and kind in (1, 3)):
        due = cutoff + rng.randint(-3 * 86_400, 2 * 86_400)
    elif kind == 0:
        due = rng.randint(0, 500)
    else:
        due = today + rng.randint(-40, 40)
    filtered = kind == 2 and queue == 2 and rng.random() < 0.1
    odid, odue = (1, due) if filtered else (0, 0)
    return (
        kind,
        queue,
        -100_000 if filtered else due,
        rng.randint(1, 60) if kind == 2 else 0,
        odid,
        odue,
    )


def add_history(col: Any, rng: random.Random, card_ids: list[int]) -> None:
    now_ms = int(time.time() * 1000)
    review_id = now_ms - 400 * 86_400_000
    while True:
        review_id += rng.randint(1, 2 * 400 * 86_400_000 // 3000)
        if review_id > now_ms:
            break
        kind = rng.choice([0, 1, 1, 1, 2, 3, 4, 5])
        ease = 0 if kind in (4, 5) else rng.randint(1, 4)
        last = rng.choice([-600, -86_400, -172_800, 0, 1, 5, 20, 21, 60])
        col.db.execute(
            "INSERT INTO revlog VALUES (?, ?, -1, ?, 3, ?, ?, ?, ?)",
            review_id,
            rng.choice(card_ids),
            ease,
            last,
            rng.choice([0, 2500]),
            rng.randint(1000, 20000),
            kind,
        )


@pytest.mark.parametrize("seed", [1, 2])
def test_every_figure_equals_ankis_own_statistics(seed, tmp_path):
    path = tmp_path / "varied.anki2"
    varied_collection(path, seed)
    graphs, (today, cutoff) = anki_graphs(path, tmp_path)
    day = stats.StudyDay(today, cutoff, date.today())
    with contextlib.closing(sqlite3.connect(path)) as conn:
        counts = stats.card_counts(conn, day=day)
        assert counts.__dict__ == anki_card_counts(graphs)
        assert stats.due_forecast(conn, day=day) == anki_forecast(graphs)
        activity = stats.review_activity(conn, day=day, days=365)
        assert activity.per_day == anki_reviews_per_day(graphs, 365)
        retention = stats.true_retention(conn, day=day)
        assert {k: (r.passed, r.total) for k, r in retention.items()} == anki_retention(graphs)
        for days, period in ((30, "one_month"), (90, "three_months"), (365, "one_year")):
            buttons = stats.review_activity(conn, day=day, days=days).buttons
            assert buttons == anki_buttons(graphs, period)
        today_answers = stats.review_activity(conn, day=day, days=1).per_day.get(0, (0, 0))
        assert today_answers == (graphs.today.answer_count, graphs.today.answer_millis)


def test_a_deck_counts_with_its_subdecks_as_ankis_deck_search(tmp_path):
    path = tmp_path / "varied.anki2"
    varied_collection(path, 3)
    with contextlib.closing(sqlite3.connect(path)) as conn:
        decks = dict(conn.execute("SELECT name, id FROM decks").fetchall())
    graphs, (today, cutoff) = anki_graphs(path, tmp_path, search='deck:"Languages"')
    day = stats.StudyDay(today, cutoff, date.today())
    ids = [decks["Languages"], decks["Languages\x1fFrench"]]
    with contextlib.closing(sqlite3.connect(path)) as conn:
        counts = stats.card_counts(conn, day=day, deck_ids=ids)
        assert counts.__dict__ == anki_card_counts(graphs)
        assert stats.due_forecast(conn, day=day, deck_ids=ids) == anki_forecast(graphs)
        activity = stats.review_activity(conn, day=day, days=365, deck_ids=ids)
        assert activity.per_day == anki_reviews_per_day(graphs, 365)
        assert activity.buttons == anki_buttons(graphs, "one_year")


# --- the streak ----------------------------------------------------------------------------


def history_at(tmp_path: Path, days_ago: list[int]) -> tuple[Path, stats.StudyDay]:
    path = tmp_path / "streak.anki2"
    anki.collection_create(path)
    with contextlib.closing(sqlite3.connect(path)) as conn:
        crt = conn.execute("SELECT crt FROM col").fetchone()[0]
    now_ms = int(time.time() * 1000)
    timing = timing_for(collection_created=crt, now_ms=now_ms, timezone="UTC", rollover_hour=4)
    start_of_today = timing.next_day_at - 86_400
    with writing(path) as conn:
        for ago in days_ago:
            # the middle of that study day, or just now for today
            at_ms = (
                now_ms - 1000 if ago == 0 else (start_of_today - (ago - 1) * 86_400 - 3600) * 1000
            )
            conn.execute("INSERT INTO revlog VALUES (?, 1, -1, 3, 1, 0, 2500, 1000, 1)", (at_ms,))
    return path, stats.StudyDay.from_timing(timing, "UTC")


@pytest.mark.parametrize(
    ("days_ago", "window", "streak"),
    [
        ([0, 1, 2, 4], 365, 3),
        ([1, 2, 3], 365, 3),  # not studied yet today: the streak ends yesterday
        ([0, 2, 3], 365, 1),
        ([2, 3], 365, 0),
        ([], 365, 0),
        (list(range(0, 400)), 365, 400),  # longer than the window
        ([0, 1, 2, 3], 2, 4),
        ([1, 2], 1, 2),
    ],
)
def test_the_streak_counts_consecutive_study_days(days_ago, window, streak, tmp_path):
    path, day = history_at(tmp_path, days_ago)
    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert stats.stats_report(conn, day=day, days=window).streak == streak


def test_days_must_be_between_one_and_a_year(tmp_path):
    path, day = history_at(tmp_path, [])
    with contextlib.closing(sqlite3.connect(path)) as conn, pytest.raises(ValueError):
        stats.stats_report(conn, day=day, days=366)


# --- the routes --------------------------------------------------------------------------


@pytest.fixture
def studied(alice: Any, api_as: Any, tmp_path: Path) -> Any:
    """Alice with the fixture's collection plus answers today, yesterday and 3 days ago."""
    path, media = fixture_collection(tmp_path / "package")
    now_ms = int(time.time() * 1000)
    timing = timing_for(collection_created=0, now_ms=now_ms, timezone="UTC", rollover_hour=4)
    start_of_today = (timing.next_day_at - 86_400) * 1000
    with writing(path) as conn:
        card_id = conn.execute("SELECT id FROM cards WHERE queue = 2 LIMIT 1").fetchone()[0]
        for at_ms, ease in (
            (now_ms - 1000, 3),
            (start_of_today - 3_600_000, 1),
            (start_of_today - 2 * 86_400_000 - 60_000, 4),
        ):
            conn.execute(
                "INSERT INTO revlog VALUES (?, ?, -1, ?, 9, 30, 2500, 7000, 1)",
                (at_ms, card_id, ease),
            )
    api = api_as(alice)
    assert upload(api, legacy_package(path, media)).status_code == 200
    return api


def test_the_stats_route_answers_what_anki_computes_on_the_learners_file(alice, studied, tmp_path):
    body = studied.get("/api/stats").json()
    graphs, _ = anki_graphs(collection_path(alice.username), tmp_path)
    assert body["days"] == 365
    assert body["cardCounts"] == {camel(k): v for k, v in anki_card_counts(graphs).items()}
    assert [entry["count"] for entry in body["forecast"]] == anki_forecast(graphs)
    per_day = anki_reviews_per_day(graphs, 365)
    assert [(e["count"], e["timeMs"]) for e in body["reviewsPerDay"]] == [
        per_day[k] for k in sorted(per_day, reverse=True)
    ]
    assert body["buttons"] == anki_buttons(graphs, "one_year")
    retention = anki_retention(graphs)
    assert {k: (v["passed"], v["total"]) for k, v in body["retention"].items()} == retention
    assert body["today"] == {
        "reviews": graphs.today.answer_count,
        "timeMs": graphs.today.answer_millis,
    }
    assert body["today"]["reviews"] == 1
    assert body["streak"] == 2  # today and yesterday; not the day before


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def test_the_shape_dates_and_windows_follow_the_contract(studied):
    body = studied.get("/api/stats?days=30").json()
    assert body["days"] == 30
    assert len(body["forecast"]) == 30
    dates = [date.fromisoformat(entry["date"]) for entry in body["forecast"]]
    assert [(b - a).days for a, b in itertools.pairwise(dates)] == [1] * 29
    reviewed = [date.fromisoformat(entry["date"]) for entry in body["reviewsPerDay"]]
    assert reviewed == sorted(reviewed) and len(reviewed) == 3
    assert reviewed[-1] == dates[0]  # the last day with answers is today, the forecast's first
    assert (dates[0] - reviewed[0]).days == 3
    assert all(entry["count"] > 0 for entry in body["reviewsPerDay"])
    assert set(body["retention"]["young"]) == {"passed", "total", "rate"}
    assert set(body["buttons"]["learning"]) == {"1", "2", "3", "4"}


def test_deck_stats_include_the_subdecks(alice, studied, tmp_path):
    decks = {
        d["name"]: d["id"] for d in col_json(collection_path(alice.username), "decks").values()
    }
    for name in ("Spanish", "Spanish::Verbs", "Geography", "Default"):
        body = studied.get(f"/api/decks/{decks[name]}/stats").json()
        graphs, _ = anki_graphs(collection_path(alice.username), tmp_path, search=f'deck:"{name}"')
        assert body == {camel(k): v for k, v in anki_card_counts(graphs).items()}, name
    assert studied.get(f"/api/decks/{decks['Spanish']}/stats").json()["total"] > 0


def test_stats_of_a_deck_are_the_deck_stats_with_history(alice, studied):
    decks = {
        d["name"]: d["id"] for d in col_json(collection_path(alice.username), "decks").values()
    }
    body = studied.get(f"/api/stats?deck={decks['Geography']}").json()
    assert body["cardCounts"] == studied.get(f"/api/decks/{decks['Geography']}/stats").json()
    assert body["cardCounts"]["total"] < studied.get("/api/stats").json()["cardCounts"]["total"]


@pytest.mark.parametrize("query", ["days=0", "days=366", "days=many", "deck=x"])
def test_bad_parameters_are_400(query, studied):
    response = studied.get(f"/api/stats?{query}")
    assert (response.status_code, response.json()["code"]) == (400, "invalid_input")


def test_unknown_decks_are_404(studied):
    assert studied.get("/api/decks/999/stats").status_code == 404
    assert studied.get("/api/stats?deck=999").status_code == 404


def test_stats_change_nothing(alice, studied):
    studied.get("/api/stats")  # the first call may record the learner's timezone
    before = collection_path(alice.username).read_bytes()
    studied.get("/api/stats")
    studied.get("/api/decks/1/stats")
    assert collection_path(alice.username).read_bytes() == before


def test_a_fresh_learner_has_empty_statistics(learner_make, api_as):
    body = api_as(learner_make("dora")).get("/api/stats").json()
    assert body["reviewsPerDay"] == [] and body["streak"] == 0
    assert body["cardCounts"]["total"] == 0 and sum(e["count"] for e in body["forecast"]) == 0
    assert body["retention"]["young"] == {"passed": 0, "total": 0, "rate": None}


def test_stats_need_a_learner(client):
    assert client.get("/api/stats").status_code == 401
