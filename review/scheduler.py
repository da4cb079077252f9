"""SM-2 scheduling exactly as Anki's v3 scheduler computes it with FSRS off.

The review service reads a card row and its deck options from the learner's
collection, calls `answer_card` (or `next_intervals` to label the answer
buttons) and writes back the returned card and revlog row. Nothing here
touches a database or a framework.

The rules follow Anki's Rust scheduler (rslib/src/scheduler/states and
answering): every sum and product is float32 like Anki's `f32`, rounding is
half away from zero, and float-to-integer casts saturate like Rust's `as`.
Review fuzz follows fuzz.rs; Anki's random generator cannot be reproduced, so
the fuzz factor comes from a deterministic generator seeded, like Anki's, by
card id + reps. Anki's optional load balancer is not emulated. With
`fuzz=False` the results equal Anki's with fuzz off.
"""

from __future__ import annotations

import math
import random
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

DAY_SECS = 86_400
TIME_CAP_MS = 60_000
LEARN_AHEAD_SECS = 1_200

TYPE_NEW, TYPE_LEARN, TYPE_REVIEW, TYPE_RELEARN = 0, 1, 2, 3
QUEUE_SUSPENDED, QUEUE_SIBLING_BURIED, QUEUE_MANUALLY_BURIED = -1, -2, -3
QUEUE_NEW, QUEUE_LEARN, QUEUE_REVIEW, QUEUE_DAY_LEARN = 0, 1, 2, 3
REVLOG_LEARN, REVLOG_REVIEW, REVLOG_RELEARN, REVLOG_FILTERED, REVLOG_MANUAL = 0, 1, 2, 3, 4
LEECH_SUSPEND, LEECH_TAG_ONLY = 0, 1

_U32_MAX = 2**32 - 1
_U16_MAX = 2**16 - 1
_I32_MAX = 2**31 - 1
_FLOAT32 = struct.Struct("<f")


class InvalidAnswer(ValueError):
    """The answer cannot be applied to this card."""


class InvalidEase(InvalidAnswer):
    """The button is not one of 1 (Again), 2 (Hard), 3 (Good), 4 (Easy)."""


class CardNotAnswerable(InvalidAnswer):
    """The card is suspended, buried, in a filtered deck or inconsistent."""


# --- float32 arithmetic -------------------------------------------------------


def _f32(value: float) -> float:
    """Round a Python float to the nearest float32, as Rust's `as f32` does."""
    try:
        return float(_FLOAT32.unpack(_FLOAT32.pack(value))[0])
    except OverflowError:
        return math.copysign(math.inf, value)


def _to_u32(value: float, limit: int = _U32_MAX) -> int:
    """Rust's saturating float-to-unsigned cast: truncate, NaN and negatives to 0."""
    if math.isnan(value) or value <= 0:
        return 0
    if value >= limit:
        return limit
    return int(value)


def _round_half_away(value: float) -> float:
    """Rust's `f32::round`; Python's round() would round half to even."""
    if not math.isfinite(value):
        return value
    return math.copysign(math.floor(abs(value) + 0.5), value)


def _round_u32(value: float, limit: int = _U32_MAX) -> int:
    return _to_u32(_round_half_away(value), limit)


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(value, high))


# --- public data ----------------------------------------------------------------


@dataclass(frozen=True)
class CardState:
    """The scheduling columns of a row of Anki's `cards` table."""

    id: int
    note_id: int
    deck_id: int
    ord: int
    type: int
    queue: int
    due: int
    ivl: int
    factor: int
    reps: int
    lapses: int
    left: int
    odue: int = 0
    odid: int = 0
    flags: int = 0


@dataclass(frozen=True)
class DeckOptions:
    """What the scheduler needs from a deck options group (Anki's defaults)."""

    learn_steps: tuple[float, ...] = (1.0, 10.0)
    graduating_interval: int = 1
    easy_interval: int = 4
    initial_ease: int = 2500
    relearn_steps: tuple[float, ...] = (10.0,)
    lapse_multiplier: float = 0.0
    minimum_interval: int = 1
    leech_threshold: int = 8
    leech_action: int = LEECH_TAG_ONLY
    hard_multiplier: float = 1.2
    easy_bonus: float = 1.3
    interval_modifier: float = 1.0
    maximum_interval: int = 36_500
    new_per_day: int = 20
    reviews_per_day: int = 200
    bury_new: bool = False
    bury_reviews: bool = False
    bury_interday_learning: bool = False
    max_answer_secs: int = 60

    @classmethod
    def from_legacy_config(cls, conf: Mapping[str, Any]) -> DeckOptions:
        """Read a schema-11 deck config (`dconf` JSON) as Anki does.

        Missing or out-of-range values take Anki's defaults, exactly where
        Anki's own check would replace them.
        """
        new, rev, lapse = (_section(conf, key) for key in ("new", "rev", "lapse"))
        anki = cls()  # Anki's defaults
        good, easy = _graduating_intervals(new.get("ints"), anki)
        return cls(
            learn_steps=_steps(new.get("delays"), anki.learn_steps),
            graduating_interval=good,
            easy_interval=easy,
            initial_ease=_initial_ease(new.get("initialFactor"), anki.initial_ease),
            relearn_steps=_steps(lapse.get("delays"), anki.relearn_steps),
            lapse_multiplier=_ratio(lapse.get("mult"), anki.lapse_multiplier, 0.0, 1.0),
            minimum_interval=_whole(lapse.get("minInt"), anki.minimum_interval, 1, 36_500),
            leech_threshold=_whole(lapse.get("leechFails"), anki.leech_threshold, 1, 9999),
            leech_action=LEECH_SUSPEND if lapse.get("leechAction") == 0 else LEECH_TAG_ONLY,
            hard_multiplier=_ratio(rev.get("hardFactor"), anki.hard_multiplier, 0.5, 1.3),
            easy_bonus=_ratio(rev.get("ease4"), anki.easy_bonus, 1.0, 5.0),
            interval_modifier=_ratio(rev.get("ivlFct"), anki.interval_modifier, 0.5, 2.0),
            maximum_interval=_whole(rev.get("maxIvl"), anki.maximum_interval, 1, 36_500),
            new_per_day=_whole(new.get("perDay"), anki.new_per_day, 0, 9999),
            reviews_per_day=_whole(rev.get("perDay"), anki.reviews_per_day, 0, 9999),
            bury_new=bool(new.get("bury", False)),
            bury_reviews=bool(rev.get("bury", False)),
            bury_interday_learning=bool(conf.get("buryInterdayLearning", False)),
            max_answer_secs=_whole(conf.get("maxTaken"), anki.max_answer_secs, 1, 9999),
        )


def _section(conf: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    section = conf.get(key)
    return section if isinstance(section, Mapping) else {}


def _steps(value: object, default: tuple[float, ...]) -> tuple[float, ...]:
    # Anki falls back to the default when the stored list is not a list of numbers.
    if not isinstance(value, list):
        return default
    try:
        return tuple(float(step) for step in value)
    except (TypeError, ValueError):
        return default


def _graduating_intervals(value: object, default: DeckOptions) -> tuple[int, int]:
    # AnkiDroid once wrote two-element lists; fewer than two means "use defaults".
    if not isinstance(value, list) or len(value) < 2:
        return default.graduating_interval, default.easy_interval
    return (
        _whole(value[0], default.graduating_interval, 1, 36_500),
        _whole(value[1], default.easy_interval, 1, 36_500),
    )


def _whole(value: object, default: int, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return int(value) if low <= value <= high else default


def _ratio(value: object, default: float, low: float, high: float) -> float:
    # Anki checks the float32 value; NaN fails both comparisons and falls back too.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    number = _f32(value)
    return float(value) if _f32(low) <= number <= _f32(high) else default


def _initial_ease(value: object, default: int) -> int:
    factor = _whole(value, default, 0, _U16_MAX)
    ease = _f32(_f32(factor) / 1000.0)
    return factor if _f32(1.31) <= ease <= _f32(5.0) else default


@dataclass(frozen=True)
class Timing:
    """The clock as the scheduler sees it: now, today's day number, next rollover."""

    now_ms: int
    days_elapsed: int
    next_day_at: int

    @property
    def now_secs(self) -> int:
        return self.now_ms // 1000

    @property
    def secs_until_rollover(self) -> int:
        return max(0, self.next_day_at - self.now_secs)


def timing_for(
    *, collection_created: int, now_ms: int, timezone: str, rollover_hour: int = 4
) -> Timing:
    """Anki's day number: rollovers passed since the collection's creation date.

    Days start at `rollover_hour` wall-clock time in `timezone`, so the count
    and the next rollover stay right across daylight-saving changes. (Anki
    itself projects the next rollover with the UTC offset in force now, so on
    the night the clocks change its rollover is an hour off the wall clock.)
    """
    zone = ZoneInfo(timezone)
    now = datetime.fromtimestamp(now_ms // 1000, zone)
    created = datetime.fromtimestamp(collection_created, zone)
    rollover_today = _wall_clock(now.date(), rollover_hour % 24, zone)
    passed = rollover_today <= now
    next_day = _wall_clock(now.date() + timedelta(days=1), rollover_hour % 24, zone)
    days = (now.date() - created.date()).days - (0 if passed else 1)
    next_day_at = next_day if passed else rollover_today
    return Timing(
        now_ms=now_ms, days_elapsed=max(days, 0), next_day_at=int(next_day_at.timestamp())
    )


def _wall_clock(day: date, hour: int, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, clock_time(hour), tzinfo=zone)


@dataclass(frozen=True)
class RevlogEntry:
    """One row of Anki's `revlog` table."""

    id: int
    cid: int
    usn: int
    ease: int
    ivl: int
    last_ivl: int
    factor: int
    time: int
    type: int


@dataclass(frozen=True)
class AnswerResult:
    """Everything the caller writes back after an answer.

    `suspended` means the leech action suspended the card (its queue is
    already -1). Anki also records `original_position` (the card's new-queue
    position, when it leaves the new queue) as `pos` and `reviewed_at_secs`
    as `lrt` in the card's `data` JSON.
    """

    card: CardState
    revlog: RevlogEntry
    leech: bool
    suspended: bool
    original_position: int | None
    reviewed_at_secs: int

    @property
    def add_leech_tag(self) -> bool:
        # Anki tags every leech, whatever the leech action.
        return self.leech


# --- learning steps ---------------------------------------------------------------


@dataclass(frozen=True)
class _Steps:
    """Learning or relearning steps (minutes); `remaining` counts steps left."""

    minutes: tuple[float, ...]

    def index(self, remaining: int) -> int:
        total = len(self.minutes)
        return min(max(total - remaining, 0), max(total - 1, 0))

    def secs_at(self, index: int) -> int | None:
        if index >= len(self.minutes):
            return None
        return _to_u32(_f32(_f32(self.minutes[index]) * 60.0))

    def again_delay(self) -> int | None:
        return self.secs_at(0)

    def hard_delay(self, remaining: int) -> int | None:
        index = self.index(remaining)
        current = self.secs_at(index)
        if current is None:
            return None
        return self._hard_delay_first_step(current) if index == 0 else current

    def _hard_delay_first_step(self, again_secs: int) -> int:
        # Halfway to the next step; a lone step gets 50% more, at most a day more.
        good_secs = self.secs_at(1)
        if good_secs is not None:
            return _round_to_days(min(again_secs + good_secs, _U32_MAX) // 2)
        longer = min(again_secs * 3, _U32_MAX) // 2
        return _round_to_days(min(longer, min(again_secs + DAY_SECS, _U32_MAX)))

    def good_delay(self, remaining: int) -> int | None:
        return self.secs_at(self.index(remaining) + 1)

    def current_delay(self, remaining: int) -> int:
        return self.secs_at(self.index(remaining)) or 0

    def remaining_after_good(self, remaining: int) -> int:
        return max(len(self.minutes) - (self.index(remaining) + 1), 0)

    def count(self) -> int:
        return len(self.minutes)


def _round_to_days(secs: int) -> int:
    """Delays over a day become whole days, so the time of day does not matter."""
    if secs <= DAY_SECS:
        return secs
    return min(_round_u32(_f32(_f32(secs) / DAY_SECS)) * DAY_SECS, _U32_MAX)


# --- card states ------------------------------------------------------------------


@dataclass(frozen=True)
class _New:
    position: int


@dataclass(frozen=True)
class _Learn:
    remaining: int
    secs: int


@dataclass(frozen=True)
class _Review:
    days: int
    elapsed: int
    ease: float
    lapses: int
    leeched: bool = False


@dataclass(frozen=True)
class _Relearn:
    learn: _Learn
    review: _Review


_State = _New | _Learn | _Review | _Relearn


class _Interval(NamedTuple):
    """How long until a card is due: seconds while learning, else days."""

    in_days: bool
    amount: int

    def crossing_rollover(self, secs_until_rollover: int) -> _Interval:
        # A learning delay that ends after the next rollover is counted in days.
        if self.in_days or self.amount < secs_until_rollover:
            return self
        return _Interval(True, (self.amount - secs_until_rollover) // DAY_SECS + 1)

    def seconds(self) -> int:
        return min(self.amount * DAY_SECS, _U32_MAX) if self.in_days else self.amount

    def revlog_value(self) -> int:
        return self.amount if self.in_days else -min(self.amount, _I32_MAX)


def _interval_of(state: _State) -> _Interval:
    if isinstance(state, _New):
        return _Interval(False, 0)
    if isinstance(state, _Learn):
        return _Interval(False, state.secs)
    if isinstance(state, _Review):
        return _Interval(True, state.days)
    return _Interval(False, state.learn.secs)


@dataclass(frozen=True)
class _Context:
    """Deck options as Anki's f32 arithmetic sees them, plus the fuzz factor."""

    steps: _Steps
    relearn_steps: _Steps
    graduating_interval: int
    easy_interval: int
    initial_ease: float
    hard_multiplier: float
    easy_bonus: float
    interval_modifier: float
    maximum_interval: int
    lapse_multiplier: float
    minimum_interval: int
    leech_threshold: int
    fuzz_factor: float | None

    @classmethod
    def build(cls, options: DeckOptions, fuzz_factor: float | None) -> _Context:
        return cls(
            steps=_Steps(options.learn_steps),
            relearn_steps=_Steps(options.relearn_steps),
            graduating_interval=options.graduating_interval,
            easy_interval=options.easy_interval,
            initial_ease=_f32(_f32(options.initial_ease) / 1000.0),
            hard_multiplier=_f32(options.hard_multiplier),
            easy_bonus=_f32(options.easy_bonus),
            interval_modifier=_f32(options.interval_modifier),
            maximum_interval=options.maximum_interval,
            lapse_multiplier=_f32(options.lapse_multiplier),
            minimum_interval=options.minimum_interval,
            leech_threshold=options.leech_threshold,
            fuzz_factor=fuzz_factor,
        )

    def interval_bounds(self, minimum: int) -> tuple[int, int]:
        maximum = max(self.maximum_interval, 1)
        return _clamp(minimum, 1, maximum), maximum


def _current_state(card: CardState, ctx: _Context, timing: Timing) -> _State:
    if card.type == TYPE_NEW:
        return _New(position=max(card.due, 0))
    # Older clients kept "steps left today" in the thousands of `left`; Anki drops it.
    remaining = card.left % 1000
    if card.type == TYPE_LEARN:
        return _Learn(remaining=remaining, secs=ctx.steps.current_delay(remaining))
    ease = _f32(_f32(card.factor) / 1000.0)
    if card.type == TYPE_REVIEW:
        # Anki treats a review answered before its due day as answered on time.
        due = min(card.due, timing.days_elapsed)
        elapsed = max(card.ivl - (due - timing.days_elapsed), 0)
        return _Review(days=card.ivl, elapsed=elapsed, ease=ease, lapses=card.lapses)
    learn = _Learn(remaining=remaining, secs=ctx.relearn_steps.current_delay(remaining))
    review = _Review(days=card.ivl, elapsed=card.ivl, ease=ease, lapses=card.lapses)
    return _Relearn(learn=learn, review=review)


def _next_state(state: _State, ease: int, ctx: _Context) -> _State:
    if isinstance(state, _New):
        # A new card is answered like a learning card on its first step.
        state = _Learn(remaining=ctx.steps.count(), secs=0)
    if isinstance(state, _Learn):
        return _learn_next(state, ease, ctx)
    if isinstance(state, _Review):
        return _review_next(state, ease, ctx)
    return _relearn_next(state, ease, ctx)


# --- learning -----------------------------------------------------------------------


def _learn_next(state: _Learn, ease: int, ctx: _Context) -> _State:
    steps, graduating = ctx.steps, ctx.graduating_interval
    if ease == 1:
        delay = steps.again_delay()
        return _graduated(ctx, graduating) if delay is None else _Learn(steps.count(), delay)
    if ease == 2:
        delay = steps.hard_delay(state.remaining)
        return _graduated(ctx, graduating) if delay is None else _Learn(state.remaining, delay)
    if ease == 3:
        delay = steps.good_delay(state.remaining)
        if delay is None:
            return _graduated(ctx, graduating)
        return _Learn(steps.remaining_after_good(state.remaining), delay)
    return _graduated(ctx, ctx.easy_interval)


def _graduated(ctx: _Context, days: int) -> _Review:
    """A learning card becomes a review card, without steps left to run through."""
    minimum, maximum = ctx.interval_bounds(1)
    fuzzed = _fuzzed_days(ctx.fuzz_factor, _f32(max(days, 1)), minimum, maximum)
    return _Review(days=fuzzed, elapsed=0, ease=ctx.initial_ease, lapses=0)


# --- review -------------------------------------------------------------------------

_EASE_MINIMUM = _f32(1.3)
_EASE_AGAIN_DELTA = _f32(-0.2)
_EASE_HARD_DELTA = _f32(-0.15)
_EASE_EASY_DELTA = _f32(0.15)


def _review_next(state: _Review, ease: int, ctx: _Context) -> _State:
    if ease == 1:
        return _lapse(state, ctx)
    hard, good, easy = _passing_days(state, ctx)
    if ease == 2:
        lowered = max(_f32(state.ease + _EASE_HARD_DELTA), _EASE_MINIMUM)
        return replace(state, days=hard, elapsed=0, ease=lowered)
    if ease == 3:
        return replace(state, days=good, elapsed=0)
    return replace(state, days=easy, elapsed=0, ease=_f32(state.ease + _EASE_EASY_DELTA))


def _passing_days(state: _Review, ctx: _Context) -> tuple[int, int, int]:
    """Hard, Good and Easy intervals; each must beat the one before it."""
    current = _f32(max(state.days, 1))
    late = _f32(max(state.elapsed - state.days, 0))
    hard_factor = ctx.hard_multiplier
    # A hard multiplier of 1 or less may keep or shrink the interval.
    hard_minimum = 0 if hard_factor <= 1.0 else state.days + 1
    hard = _review_days(ctx, _f32(current * hard_factor), hard_minimum)
    good_minimum = state.days + 1 if hard_factor <= 1.0 else hard + 1
    good_raw = _f32(_f32(current + _f32(late / 2.0)) * state.ease)
    good = _review_days(ctx, good_raw, good_minimum)
    easy_raw = _f32(_f32(_f32(current + late) * state.ease) * ctx.easy_bonus)
    easy = _review_days(ctx, easy_raw, good + 1)
    return hard, good, easy


def _review_days(ctx: _Context, interval: float, minimum: int) -> int:
    interval = _f32(interval * ctx.interval_modifier)
    low, high = ctx.interval_bounds(minimum)
    return _fuzzed_days(ctx.fuzz_factor, interval, low, high)


def _lapse(state: _Review, ctx: _Context) -> _State:
    lapses = state.lapses + 1
    review = _Review(
        days=_lapsed_days(state, ctx),
        elapsed=0,
        ease=max(_f32(state.ease + _EASE_AGAIN_DELTA), _EASE_MINIMUM),
        lapses=lapses,
        leeched=_leech_threshold_met(lapses, ctx.leech_threshold),
    )
    delay = ctx.relearn_steps.again_delay()
    if delay is None:
        return review
    return _Relearn(learn=_Learn(ctx.relearn_steps.count(), delay), review=review)


def _lapsed_days(state: _Review, ctx: _Context) -> int:
    # The interval modifier does not apply to lapses; the maximum interval does.
    shrunk = _round_u32(_f32(_f32(state.days) * ctx.lapse_multiplier))
    minimum, maximum = ctx.interval_bounds(ctx.minimum_interval)
    return _clamp(shrunk, minimum, maximum)


def _leech_threshold_met(lapses: int, threshold: int) -> bool:
    """At the threshold, then every half threshold (rounded up) after it."""
    if threshold <= 0:
        return False
    half = max(math.ceil(_f32(_f32(threshold) / 2.0)), 1)
    return lapses >= threshold and (lapses - threshold) % half == 0


# --- relearning ---------------------------------------------------------------------


def _relearn_next(state: _Relearn, ease: int, ctx: _Context) -> _State:
    steps, review = ctx.relearn_steps, replace(state.review, elapsed=0)
    if ease == 1:
        delay = steps.again_delay()
        if delay is None:
            return state.review
        shrunk = replace(review, days=_lapsed_days(state.review, ctx))
        return _Relearn(learn=_Learn(steps.count(), delay), review=shrunk)
    if ease == 2:
        delay = steps.hard_delay(state.learn.remaining)
        if delay is None:
            return state.review
        return _Relearn(learn=_Learn(state.learn.remaining, delay), review=review)
    if ease == 3:
        delay = steps.good_delay(state.learn.remaining)
        if delay is None:
            return state.review
        remaining = steps.remaining_after_good(state.learn.remaining)
        return _Relearn(learn=_Learn(remaining, delay), review=review)
    return replace(review, days=state.review.days + 1)


# --- fuzz ---------------------------------------------------------------------------

# (start, end, factor): each day of the interval inside a range adds factor days.
_FUZZ_RANGES = (
    (_f32(2.5), _f32(7.0), _f32(0.15)),
    (_f32(7.0), _f32(20.0), _f32(0.1)),
    (_f32(20.0), math.inf, _f32(0.05)),
)


def _fuzzed_days(fuzz_factor: float | None, interval: float, minimum: int, maximum: int) -> int:
    if fuzz_factor is None:
        return _clamp(_round_u32(interval), minimum, maximum)
    lower, upper = _fuzz_bounds(interval, minimum, maximum)
    picked = _f32(_f32(lower) + _f32(fuzz_factor * _f32(1 + upper - lower)))
    return _to_u32(math.floor(picked))


def _fuzz_bounds(interval: float, minimum: int, maximum: int) -> tuple[int, int]:
    """Fuzz range within [minimum, maximum], at least two days wide when allowed."""
    minimum = min(minimum, maximum)
    interval = min(max(interval, _f32(minimum)), _f32(maximum))
    delta = _fuzz_delta(interval)
    lower = _clamp(_round_u32(_f32(interval - delta)), minimum, maximum)
    upper = _clamp(_round_u32(_f32(interval + delta)), minimum, maximum)
    if upper == lower and 2 < upper < maximum:
        upper = lower + 1
    return lower, upper


def _fuzz_delta(interval: float) -> float:
    if interval < 2.5:
        return 0.0
    delta = 1.0
    for start, end, factor in _FUZZ_RANGES:
        days_in_range = max(_f32(min(interval, end) - start), 0.0)
        delta = _f32(delta + _f32(factor * days_in_range))
    return delta


def _fuzz_seed(card: CardState) -> int:
    return (card.id + card.reps) % 2**64


def _fuzz_factor(seed: int) -> float:
    # 24 random bits: exactly representable in float32 and always below 1.0.
    return math.floor(random.Random(seed).random() * 2**24) / 2**24


def _learning_fuzz(seed: int | None, secs: int) -> int:
    """Up to 25% (at most 5 minutes) later, so learning cards do not clump."""
    if seed is None:
        return secs
    extra = math.floor(min(_f32(_f32(secs) * 0.25), 300.0))
    if extra <= 0:
        return secs
    return random.Random(seed).randrange(secs, secs + extra)


# --- applying an answer -------------------------------------------------------------


def _validated(card: CardState, ease: int | None = None) -> None:
    if ease is not None and ease not in (1, 2, 3, 4):
        raise InvalidEase(f"ease must be 1, 2, 3 or 4, not {ease!r}")
    if card.queue in (QUEUE_SUSPENDED, QUEUE_SIBLING_BURIED, QUEUE_MANUALLY_BURIED):
        raise CardNotAnswerable(f"card {card.id} is suspended or buried")
    if card.odid != 0:
        raise CardNotAnswerable(f"card {card.id} is in a filtered deck")
    if card.queue not in _QUEUES_FOR_TYPE.get(card.type, ()):
        raise CardNotAnswerable(f"card {card.id} has type {card.type} in queue {card.queue}")


_QUEUES_FOR_TYPE: dict[int, tuple[int, ...]] = {
    TYPE_NEW: (QUEUE_NEW,),
    TYPE_LEARN: (QUEUE_LEARN, QUEUE_DAY_LEARN),
    TYPE_REVIEW: (QUEUE_REVIEW,),
    TYPE_RELEARN: (QUEUE_LEARN, QUEUE_DAY_LEARN),
}


def _learning_due(learn: _Learn, timing: Timing, seed: int | None) -> tuple[int, int]:
    """Queue and due of a (re)learning step: epoch seconds today, else a day number."""
    interval = _Interval(False, learn.secs).crossing_rollover(timing.secs_until_rollover)
    if interval.in_days:
        return QUEUE_DAY_LEARN, timing.days_elapsed + interval.amount
    return QUEUE_LEARN, timing.now_secs + _learning_fuzz(seed, learn.secs)


def _applied(card: CardState, state: _State, timing: Timing, seed: int | None) -> CardState:
    card = replace(card, reps=card.reps + 1, odue=0)
    if isinstance(state, _Learn):
        queue, due = _learning_due(state, timing, seed)
        return replace(card, type=TYPE_LEARN, queue=queue, due=due, left=state.remaining)
    if isinstance(state, _Relearn):
        queue, due = _learning_due(state.learn, timing, seed)
        return replace(
            card,
            type=TYPE_RELEARN,
            queue=queue,
            due=due,
            ivl=state.review.days,
            factor=_ease_thousands(state.review.ease, _U16_MAX),
            lapses=state.review.lapses,
            left=state.learn.remaining,
        )
    assert isinstance(state, _Review)
    return replace(
        card,
        type=TYPE_REVIEW,
        queue=QUEUE_REVIEW,
        due=timing.days_elapsed + state.days,
        ivl=state.days,
        factor=_ease_thousands(state.ease, _U16_MAX),
        lapses=state.lapses,
        left=0,
    )


def _ease_thousands(ease: float, limit: int = _U32_MAX) -> int:
    return _round_u32(_f32(ease * 1000.0), limit)


def _revlog_type(state: _State) -> int:
    if isinstance(state, _Review):
        return REVLOG_REVIEW
    if isinstance(state, _Relearn):
        return REVLOG_RELEARN
    return REVLOG_LEARN


def _revlog_factor(state: _State) -> int:
    if isinstance(state, _Review):
        return _ease_thousands(state.ease)
    if isinstance(state, _Relearn):
        return _ease_thousands(state.review.ease)
    return 0


def _leeched(state: _State) -> bool:
    if isinstance(state, _Relearn):
        return state.review.leeched
    return isinstance(state, _Review) and state.leeched


def _planned(
    card: CardState, options: DeckOptions, timing: Timing, fuzz: bool
) -> tuple[_State, _Context]:
    factor = _fuzz_factor(_fuzz_seed(card)) if fuzz else None
    ctx = _Context.build(options, factor)
    return _current_state(card, ctx, timing), ctx


def answer_card(
    card: CardState,
    options: DeckOptions,
    *,
    ease: int,
    timing: Timing,
    time_taken_ms: int,
    fuzz: bool,
    time_cap_ms: int = TIME_CAP_MS,
) -> AnswerResult:
    """The card and revlog row after pressing `ease` (1 Again .. 4 Easy), as Anki does.

    The revlog id is `timing.now_ms`; the caller bumps it on a collision.
    """
    _validated(card, ease)
    current, ctx = _planned(card, options, timing, fuzz)
    following = _next_state(current, ease, ctx)
    seed = _fuzz_seed(card) if fuzz else None
    updated = _applied(card, following, timing, seed)
    leech = _leeched(following)
    suspend = leech and options.leech_action == LEECH_SUSPEND
    if suspend:
        updated = replace(updated, queue=QUEUE_SUSPENDED)
    rollover = timing.secs_until_rollover
    revlog = RevlogEntry(
        id=timing.now_ms,
        cid=card.id,
        usn=-1,
        ease=ease,
        ivl=_interval_of(following).crossing_rollover(rollover).revlog_value(),
        last_ivl=_interval_of(current).crossing_rollover(rollover).revlog_value(),
        factor=_revlog_factor(following),
        time=max(0, min(time_taken_ms, time_cap_ms)),
        type=_revlog_type(current),
    )
    position = current.position if isinstance(current, _New) else None
    return AnswerResult(updated, revlog, leech, suspend, position, timing.now_secs)


def next_intervals(
    card: CardState, options: DeckOptions, *, timing: Timing, fuzz: bool
) -> dict[int, int]:
    """Seconds until the card is due again after each button (1..4), as Anki shows them.

    Learning delays are shown without their fuzz, as in Anki.
    """
    _validated(card)
    current, ctx = _planned(card, options, timing, fuzz)
    rollover = timing.secs_until_rollover
    return {
        ease: _interval_of(_next_state(current, ease, ctx)).crossing_rollover(rollover).seconds()
        for ease in (1, 2, 3, 4)
    }


# --- answer button labels -----------------------------------------------------------

_MINUTE = 60.0
_HOUR = 3600.0
_DAY = 86_400.0
_MONTH = _f32(_f32(30.417) * _DAY)
_YEAR = 365.0 * _DAY
# (upper bound, unit length, suffix, whole numbers only)
_LABEL_UNITS: Sequence[tuple[float, float, str, bool]] = (
    (_MINUTE, 1.0, "s", True),
    (_HOUR, _MINUTE, "m", True),
    (_DAY, _HOUR, "h", False),
    (_MONTH, _DAY, "d", True),
    (_YEAR, _MONTH, "mo", False),
    (math.inf, _YEAR, "y", False),
)


def interval_label(seconds: int, *, learn_ahead_secs: int = LEARN_AHEAD_SECS) -> str:
    """Anki's answer-button label: `<1m`, `10m`, `1.5h`, `4d`, `3.2mo`, `1.5y`.

    Delays shorter than the learn-ahead limit (Anki's default is 20 minutes)
    get a `<` prefix; zero is "(end)".
    """
    if seconds < 0:
        raise ValueError("seconds must not be negative")
    if seconds == 0:
        return "(end)"
    label = _span_text(_f32(seconds))
    return f"<{label}" if seconds < learn_ahead_secs else label


def _span_text(secs: float) -> str:
    unit, suffix, whole = next((u, s, w) for upper, u, s, w in _LABEL_UNITS if secs < upper)
    amount = _f32(secs / unit)
    if whole:
        amount = _round_half_away(amount)
    else:
        amount = _f32(_round_half_away(_f32(amount * 10.0)) / 10.0)
    return f"{_shortest_f32_text(amount)}{suffix}"


def _shortest_f32_text(value: float) -> str:
    """Shortest decimal that reads back as the same float32, without a trailing .0."""
    text = repr(value)
    for digits in range(1, 10):
        candidate = f"{value:.{digits}g}"
        if _f32(float(candidate)) == value:
            text = candidate
            break
    if "e" in text:
        text = f"{float(text):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text
