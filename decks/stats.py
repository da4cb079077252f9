"""Statistics of a learner's collection, computed with SQL aggregates on its SQLite file.

Card counts by state, reviews per day (the heatmap), the due forecast, true
retention, the answer-button distribution, the study streak and today's work.
Each figure is defined as Anki's statistics screen defines it (rslib/src/stats/
graphs/*.rs), so the same collection gives the same numbers in both:

- days are counted back from the next rollover in steps of 86,400 seconds, as
  Anki's graphs do (on a daylight-saving night a review near the rollover may
  fall on the neighbouring day, in Anki too);
- a "review" for the heatmap, the streak and today is any revlog row except
  manual rescheduling (type 4 and up: set due date, forget, reschedule);
- young means an interval under 21 days, mature 21 days or more;
- true retention counts answers on cards whose interval was at least a day
  (review answers, and learning answers after an inter-day step), cramming
  excluded; an answer passes unless it is Again.

No framework is imported: every function takes a DB-API connection (sqlite3)
on a schema-11 collection and plain values.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from review.scheduler import Timing

DAY_SECS = 86_400
MATURE_DAYS = 21
RETENTION_DAYS = 30
FORECAST_DAYS = 30
MAX_DAYS = 365
EPOCH_SECONDS_FROM = 1_000_000_000  # Anki: a `due` above this is a timestamp, not a day
REVIEW_TYPES_BELOW = 4  # revlog types 0-3 are answers; 4 manual, 5 rescheduled
BUTTONS = ("1", "2", "3", "4")


@dataclass(frozen=True)
class StudyDay:
    """Where the learner's study day stands: Anki's day number (days since the
    collection was created), the next rollover (epoch seconds), today's local date."""

    today: int
    next_day_at: int
    date: date

    @classmethod
    def from_timing(cls, timing: Timing, timezone: str) -> StudyDay:
        # The day that ends at the next rollover began on the calendar day before it.
        ends = datetime.fromtimestamp(timing.next_day_at, ZoneInfo(timezone)).date()
        return cls(timing.days_elapsed, timing.next_day_at, ends - timedelta(days=1))

    def date_of(self, offset: int) -> str:
        """ISO date of the study day `offset` days from today (negative: past)."""
        return (self.date + timedelta(days=offset)).isoformat()


@dataclass(frozen=True)
class CardCounts:
    """Cards by state. Suspended and buried cards count only there, so the states
    add up to `total`; `due_today` counts learning and review cards due today."""

    total: int = 0
    new: int = 0
    learning: int = 0
    relearning: int = 0
    young: int = 0
    mature: int = 0
    suspended: int = 0
    buried: int = 0
    due_today: int = 0


@dataclass(frozen=True)
class Retention:
    passed: int
    total: int

    @property
    def rate(self) -> float | None:
        return round(self.passed / self.total, 3) if self.total else None

    def as_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "total": self.total, "rate": self.rate}


@dataclass(frozen=True)
class StatsReport:
    days: int
    reviews_per_day: list[dict[str, Any]]
    forecast: list[dict[str, Any]]
    retention: dict[str, Retention]
    buttons: dict[str, dict[str, int]]
    card_counts: CardCounts
    streak: int
    today: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {
            "days": self.days,
            "reviews_per_day": self.reviews_per_day,
            "forecast": self.forecast,
            "retention": {kind: value.as_dict() for kind, value in self.retention.items()},
            "buttons": self.buttons,
            "card_counts": asdict(self.card_counts),
            "streak": self.streak,
            "today": self.today,
        }


# --- which cards and answers ----------------------------------------------------------

# Days from today until a card is due, as Anki's future-due graph reckons it: a card in
# a filtered deck by its original due; a learning card's timestamp against the next
# rollover, divided with truncation (so up to a day past the rollover still counts 0).
_DUE_AT = "(CASE WHEN odid THEN odue ELSE due END)"
_DUE_OFFSET = f"""(CASE WHEN {_DUE_AT} > {EPOCH_SECONDS_FROM}
    THEN ({_DUE_AT} - :next_day_at) / {DAY_SECS} ELSE {_DUE_AT} - :today END)"""
# Anki's day of an answer: whole days from the answer to the next rollover (0 = today).
_DAYS_AGO = f"(:next_day_at - id / 1000) / {DAY_SECS}"
# A deck holding more than this share of the cards has its answers found by reading the
# review log in order; a smaller one through the log's card index.
_SCAN_SHARE = 0.25


def _cards_where(deck_ids: Sequence[int] | None) -> str:
    """The cards of these decks (a filtered deck's cards also count for their home deck)."""
    if deck_ids is None:
        return "1"
    ids = ", ".join(str(int(deck_id)) for deck_id in deck_ids) or "NULL"
    return f"(did IN ({ids}) OR odid IN ({ids}))"


@dataclass(frozen=True)
class _Answers:
    """Which review-log rows count: all, or those of some decks' cards."""

    deck_ids: Sequence[int] | None = None
    scan: bool = True

    @classmethod
    def of(cls, conn: sqlite3.Connection, deck_ids: Sequence[int] | None) -> _Answers:
        if deck_ids is None:
            return cls()
        share_sql = f"SELECT count(), ifnull(sum({_cards_where(deck_ids)}), 0) FROM cards"
        everything, in_decks = conn.execute(share_sql).fetchone()
        return cls(deck_ids, in_decks > _SCAN_SHARE * everything)

    def where(self) -> str:
        if self.deck_ids is None:
            return "1"
        # "+cid" keeps SQLite from probing the card index once per card of a big deck.
        column = "+cid" if self.scan else "cid"
        return f"{column} IN (SELECT id FROM cards WHERE {_cards_where(self.deck_ids)})"


# --- cards ---------------------------------------------------------------------------


def _card_groups(
    conn: sqlite3.Connection, day: StudyDay, deck_ids: Sequence[int] | None
) -> list[tuple[int, int, int, int | None, int]]:
    """(type, queue, young, days until due or None for new cards, count), in one pass
    grouped by one integer (days until due, type, queue, young), as for answers."""
    rows = conn.execute(
        f"""SELECT (CASE WHEN type = 0 THEN 0 ELSE {_DUE_OFFSET} END) * 256
                   + (type & 7) * 32 + ((queue + 4) & 7) * 2 + (ivl < {MATURE_DAYS}) AS card_group,
                   count()
        FROM cards WHERE {_cards_where(deck_ids)} GROUP BY card_group""",
        {"next_day_at": day.next_day_at, "today": day.today},
    )
    groups = []
    for card_group, count in rows:
        offset, flags = divmod(card_group, 256)
        kind, queue, young = flags // 32, (flags // 2) % 16 - 4, flags & 1
        groups.append((kind, queue, young, None if kind == 0 else offset, count))
    return groups


def _counts_of(groups: list[tuple[int, int, int, int | None, int]]) -> CardCounts:
    tally = dict.fromkeys(CardCounts.__dataclass_fields__, 0)
    for kind, queue, young, offset, count in groups:
        tally["total"] += count
        tally[_card_state(kind, queue, young)] += count
        if queue not in (-1, -2, -3) and offset is not None and offset <= 0:
            tally["due_today"] += count
    return CardCounts(**tally)


def _card_state(kind: int, queue: int, young: int) -> str:
    if queue == -1:
        return "suspended"
    if queue in (-2, -3):
        return "buried"
    if kind == 2:
        return "young" if young else "mature"
    return {0: "new", 1: "learning", 3: "relearning"}.get(kind, "new")


def _forecast_of(groups: list[tuple[int, int, int, int | None, int]]) -> list[int]:
    forecast = [0] * FORECAST_DAYS
    for _, queue, _, offset, count in groups:
        if offset is None or queue == -1 or offset >= FORECAST_DAYS:
            continue
        if queue in (-2, -3) and offset <= 0:
            continue  # buried until tomorrow
        forecast[max(0, offset)] += count
    return forecast


def card_counts(
    conn: sqlite3.Connection, *, day: StudyDay, deck_ids: Sequence[int] | None = None
) -> CardCounts:
    """Cards of the collection (or of these decks) by state, as Anki's card-counts graph
    with inactive cards shown apart; `due_today` is the forecast's first day."""
    return _counts_of(_card_groups(conn, day, deck_ids))


def due_forecast(
    conn: sqlite3.Connection, *, day: StudyDay, deck_ids: Sequence[int] | None = None
) -> list[int]:
    """Cards due on each of the next FORECAST_DAYS days, today first (overdue cards
    count for today). New and suspended cards are not due; buried cards only after
    today, as in Anki's future-due graph."""
    return _forecast_of(_card_groups(conn, day, deck_ids))


# --- answers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewActivity:
    """The answers of the last `days` days: per day {days ago: (answers, ms)} and the
    buttons pressed, for learning (learn, relearn, filtered), young and mature cards."""

    per_day: dict[int, tuple[int, int]]
    buttons: dict[str, dict[str, int]]


def review_activity(
    conn: sqlite3.Connection,
    *,
    day: StudyDay,
    days: int,
    deck_ids: Sequence[int] | None = None,
    answers: _Answers | None = None,
) -> ReviewActivity:
    """One grouped pass over the window's answers. SQLite sorts to group, so the groups
    are one integer (days ago, learning, young, button) rather than four columns, which
    sorts in about half the time. An answer exactly `days` * 24 h back counts for the
    buttons only, and answers timed after the next rollover count for today, as in Anki."""
    answers = answers or _Answers.of(conn, deck_ids)
    rows = conn.execute(
        f"""SELECT {_DAYS_AGO} * 32 + (type != 1) * 16 + (lastIvl < {MATURE_DAYS}) * 8
                   + (CASE WHEN ease BETWEEN 0 AND 4 THEN ease ELSE 7 END) AS answer_group,
                   count(), sum(time)
        FROM revlog WHERE id >= :first_ms AND type < {REVIEW_TYPES_BELOW} AND {answers.where()}
        GROUP BY answer_group""",
        {"next_day_at": day.next_day_at, "first_ms": (day.next_day_at - days * DAY_SECS) * 1000},
    )
    per_day: dict[int, tuple[int, int]] = {}
    buttons = {kind: dict.fromkeys(BUTTONS, 0) for kind in ("learning", "young", "mature")}
    for answer_group, count, time_ms in rows:
        ago, flags = divmod(answer_group, 32)
        learning, young, ease = flags >= 16, flags & 8, flags & 7
        if 1 <= ease <= 4:
            kind = "learning" if learning else "young" if young else "mature"
            buttons[kind][str(ease)] += count
        if 0 <= ago < days:
            answered, spent = per_day.get(ago, (0, 0))
            per_day[ago] = (answered + count, spent + (time_ms or 0))
    return ReviewActivity(per_day, buttons)


def true_retention(
    conn: sqlite3.Connection,
    *,
    day: StudyDay,
    deck_ids: Sequence[int] | None = None,
    answers: _Answers | None = None,
) -> dict[str, Retention]:
    """Passed / all answers on young and mature cards over the last RETENTION_DAYS days."""
    answers = answers or _Answers.of(conn, deck_ids)
    rows = conn.execute(
        f"""SELECT lastIvl < {MATURE_DAYS} AS young, ease > 1 AS passed, count() FROM revlog
        WHERE id >= ? AND id < ? AND ease > 0 AND NOT (type = 3 AND factor = 0)
          AND (type = 1 OR lastIvl <= -{DAY_SECS} OR lastIvl >= 1) AND {answers.where()}
        GROUP BY young, passed""",
        ((day.next_day_at - RETENTION_DAYS * DAY_SECS) * 1000, day.next_day_at * 1000),
    )
    tally = {(young, passed): count for young, passed, count in rows}
    return {
        kind: Retention(
            passed=tally.get((young, 1), 0),
            total=tally.get((young, 1), 0) + tally.get((young, 0), 0),
        )
        for kind, young in (("young", 1), ("mature", 0))
    }


def study_streak(
    conn: sqlite3.Connection,
    *,
    day: StudyDay,
    per_day: dict[int, tuple[int, int]],
    days: int,
    deck_ids: Sequence[int] | None = None,
    answers: _Answers | None = None,
) -> int:
    """Consecutive study days up to today; a day not yet studied does not break it (the
    streak then ends yesterday). `per_day` is the window's answers (review_activity)."""
    studied = set(per_day)
    streak = _run_length(studied)
    if streak < days - (0 if 0 in studied else 1):
        return streak
    # The streak fills the window: the older history decides how far back it goes.
    answers = answers or _Answers.of(conn, deck_ids)
    older = conn.execute(
        f"""SELECT DISTINCT {_DAYS_AGO} FROM revlog
        WHERE id < :window_ms AND type < {REVIEW_TYPES_BELOW} AND {answers.where()}""",
        {"next_day_at": day.next_day_at, "window_ms": (day.next_day_at - days * DAY_SECS) * 1000},
    )
    return _run_length(studied | {int(ago) for (ago,) in older})


def _run_length(studied: set[int]) -> int:
    ago = 0 if 0 in studied else 1
    streak = 0
    while ago in studied:
        streak += 1
        ago += 1
    return streak


# --- the report ------------------------------------------------------------------


def stats_report(
    conn: sqlite3.Connection,
    *,
    day: StudyDay,
    days: int = MAX_DAYS,
    deck_ids: Sequence[int] | None = None,
) -> StatsReport:
    """Everything the statistics screen shows, over the last `days` days (today included)."""
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be between 1 and {MAX_DAYS}")
    groups = _card_groups(conn, day, deck_ids)
    answers = _Answers.of(conn, deck_ids)
    activity = review_activity(conn, day=day, days=days, answers=answers)
    today = activity.per_day.get(0, (0, 0))
    streak = study_streak(conn, day=day, per_day=activity.per_day, days=days, answers=answers)
    return StatsReport(
        days=days,
        reviews_per_day=[
            {"date": day.date_of(-ago), "count": count, "time_ms": time_ms}
            for ago, (count, time_ms) in sorted(activity.per_day.items(), reverse=True)
        ],
        forecast=[
            {"date": day.date_of(offset), "count": count}
            for offset, count in enumerate(_forecast_of(groups))
        ],
        retention=true_retention(conn, day=day, answers=answers),
        buttons=activity.buttons,
        card_counts=_counts_of(groups),
        streak=streak,
        today={"reviews": today[0], "time_ms": today[1]},
    )
