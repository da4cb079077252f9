"""The study queue of a deck, built the way Anki's v3 scheduler builds it (FSRS off).

`study_queue` reads a schema-11 collection through any DB-API connection
(the request's `userdb` connection, or a plain `sqlite3` one in tests) and
returns the cards in the order they are shown, with the counts left:

1. intraday learning cards (queue 1) due now;
2. the main queue: interday learning cards (queue 3) and reviews due today,
   then new cards, merged as the deck's preset says (Anki's default mixes
   them evenly);
3. intraday learning cards due within the learn-ahead limit (20 minutes).

Reviews and interday learning share the review limit, new cards have the new
limit, each limit applied per deck and capped by its ancestors up to the
studied deck, as Anki does, minus what was studied today. Anki keeps
"studied today" in per-deck counters; Javumbo counts it from today's revlog:
a new card is a learning row with `lastIvl = 0`; a review is a review row,
or a (re)learning row whose card the previous answer had scheduled in days
(an interday learning card). Siblings are buried inside the queue as Anki
does: once a card of a note is taken, later cards of that note are skipped
when the first card's preset buries them. Cards in filtered decks are not
studied here.

Anki keeps its queue in memory between answers; Javumbo rebuilds it for
each request, which is what Anki shows whenever it rebuilds (opening a deck,
after an undo or an edit). Orders that Anki randomizes use Anki's own
stable hash (FNV-1a), so they match it; the SM-2 "retrievability" orders use
Anki's formula. Nothing here writes. tests/test_review.py compares whole
queues with the `anki` package's.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from review.scheduler import DAY_SECS, LEARN_AHEAD_SECS, Timing

JsonDict = Mapping[str, Any]

KIND_LEARNING, KIND_DAY_LEARNING, KIND_REVIEW, KIND_NEW = "learning", "dayLearning", "review", "new"
NO_LIMIT = 9999
# Deck options (Anki's DeckConfig enums, as stored in the legacy JSON)
MIX_WITH_REVIEWS, MIX_AFTER_REVIEWS, MIX_BEFORE_REVIEWS = 0, 1, 2
GATHER_DECK, GATHER_LOWEST, GATHER_HIGHEST = 0, 1, 2
GATHER_RANDOM_NOTES, GATHER_RANDOM_CARDS, GATHER_DECK_RANDOM_NOTES = 3, 4, 5
SORT_TEMPLATE, SORT_NONE, SORT_TEMPLATE_RANDOM, SORT_RANDOM_NOTE, SORT_RANDOM_CARD = 0, 1, 2, 3, 4
_F32 = struct.Struct("<f")
_U64 = 2**64


class Rows(Protocol):
    """What the queue needs of a database connection: `?`-style queries."""

    def execute(self, sql: str, parameters: Sequence[Any], /) -> Iterable[Sequence[Any]]: ...


@dataclass(frozen=True)
class CollectionJson:
    """The parsed JSON columns of the `col` row that the queue reads."""

    conf: JsonDict
    decks: Mapping[str, JsonDict]
    presets: Mapping[str, JsonDict]

    def deck(self, deck_id: int) -> JsonDict | None:
        return self.decks.get(str(deck_id))

    def preset_of(self, deck_id: int) -> JsonDict:
        """A normal deck's preset (Anki falls back to the default one); {} for filtered decks."""
        deck = self.deck(deck_id)
        if deck is None or deck.get("dyn"):
            return {}
        found = self.presets.get(str(deck.get("conf", 1)))
        return found if found is not None else self.presets.get("1", {})

    def flag(self, key: str) -> bool:
        return bool(self.conf.get(key, False))

    def learn_ahead_secs(self) -> int:
        value = self.conf.get("collapseTime", LEARN_AHEAD_SECS)
        return value if isinstance(value, int) and value >= 0 else LEARN_AHEAD_SECS


@dataclass(frozen=True)
class QueueEntry:
    card_id: int
    kind: str


@dataclass(frozen=True)
class Counts:
    new: int = 0
    learning: int = 0
    review: int = 0


@dataclass(frozen=True)
class StudyQueue:
    """A deck's cards in the order Anki would show them, and the counts left."""

    entries: tuple[QueueEntry, ...]
    counts: Counts

    def first(self) -> QueueEntry | None:
        return self.entries[0] if self.entries else None

    def card_ids(self) -> list[int]:
        return [entry.card_id for entry in self.entries]

    def __contains__(self, card_id: object) -> bool:
        return any(entry.card_id == card_id for entry in self.entries)

    def promoted(self, card_id: int | None) -> StudyQueue:
        """The same queue with `card_id` moved to the front (an undone card comes back first)."""
        found = next((e for e in self.entries if e.card_id == card_id), None)
        if found is None:
            return self
        rest = tuple(e for e in self.entries if e is not found)
        return StudyQueue((found, *rest), self.counts)


# --- Anki's stable hash and float32 ------------------------------------------------


def fnv_hash(*values: int) -> int:
    """Anki's `fnvhash()`: FNV-1a 64 over each value as 8 little-endian bytes (unsigned)."""
    digest = 0xCBF29CE484222325
    for value in values:
        for byte in (value % _U64).to_bytes(8, "little"):
            digest = ((digest ^ byte) * 0x100000001B3) % _U64
    return digest


def _signed(value: int) -> int:
    return value - _U64 if value >= 2**63 else value


def _f32(value: float) -> float:
    return float(_F32.unpack(_F32.pack(value))[0])


# --- decks and limits ----------------------------------------------------------------


def _name_key(deck: JsonDict) -> tuple[str, ...]:
    return tuple(part.casefold() for part in str(deck.get("name", "")).split("::"))


def decks_in_scope(collection: CollectionJson, deck_id: int) -> list[JsonDict]:
    """The deck and its subdecks, sorted by name (Anki's active decks)."""
    root = collection.deck(deck_id)
    if root is None:
        return []
    prefix = _name_key(root)
    inside = [d for d in collection.decks.values() if _name_key(d)[: len(prefix)] == prefix]
    return sorted(inside, key=_name_key)


def _ancestors(collection: CollectionJson, deck: JsonDict) -> list[JsonDict]:
    key = _name_key(deck)
    by_name = {_name_key(d): d for d in collection.decks.values()}
    found = (by_name.get(key[:depth]) for depth in range(1, len(key)))
    return [d for d in found if d is not None]


@dataclass
class _Limits:
    review: int = NO_LIMIT
    new: int = NO_LIMIT
    cap_new_to_review: bool = False

    def cap_to(self, other: _Limits) -> None:
        self.review = min(self.review, other.review)
        self.new = min(self.new, other.new)

    def decrement(self, kind: str) -> bool:
        """Use one card of the limit; True if a limit just reached zero."""
        before = (self.review, self.new)
        if kind == KIND_REVIEW:
            self.review = max(self.review - 1, 0)
            if self.cap_new_to_review:
                self.new = min(self.new, self.review)
        else:
            self.new = max(self.new - 1, 0)
        return (before[0] > 0 and self.review == 0) or (before[1] > 0 and self.new == 0)

    def get(self, kind: str) -> int:
        return self.review if kind == KIND_REVIEW else self.new


def _day_limit(deck: JsonDict, key: str, today: int) -> int | None:
    """A deck's own limit: today's override if it is for today, else its standing one."""
    today_limit = deck.get(f"{key}Today")
    if isinstance(today_limit, Mapping) and today_limit.get("today") == today:
        value = today_limit.get("limit")
        if isinstance(value, int):
            return value
    standing = deck.get(key)
    return standing if isinstance(standing, int) else None


def _deck_limits(
    collection: CollectionJson, deck: JsonDict, studied: Counts, today: int
) -> _Limits:
    preset = collection.preset_of(int(deck["id"]))
    if not preset:
        return _Limits()
    review = _day_limit(deck, "reviewLimit", today)
    new = _day_limit(deck, "newLimit", today)
    review = int(preset.get("rev", {}).get("perDay", 200)) if review is None else review
    new = int(preset.get("new", {}).get("perDay", 20)) if new is None else new
    review -= studied.review
    new -= studied.new
    capped = not collection.flag("newCardsIgnoreReviewLimit")
    if capped:
        review -= studied.new
        new = min(new, review)
    return _Limits(review=max(review, 0), new=max(new, 0), cap_new_to_review=capped)


@dataclass
class _LimitTree:
    """Remaining limits per deck; taking a card uses up its deck's and every ancestor's."""

    limits: dict[int, _Limits]
    parent: dict[int, int | None]
    root: int

    def reached(self, deck_id: int, kind: str) -> bool:
        limits = self.limits.get(deck_id)
        return limits is None or limits.get(kind) == 0

    def root_reached(self, kind: str) -> bool:
        return self.limits[self.root].get(kind) == 0

    def take(self, deck_id: int, kind: str) -> None:
        current: int | None = deck_id
        while current is not None:
            if self.limits[current].decrement(kind):
                self._cap_below(current, self.limits[current])
            current = self.parent[current]

    def _cap_below(self, deck_id: int, cap: _Limits) -> None:
        for child, parent in self.parent.items():
            if parent == deck_id:
                self.limits[child].cap_to(cap)
                self._cap_below(child, cap)


def _limit_tree(
    collection: CollectionJson, decks: list[JsonDict], studied: dict[int, Counts], today: int
) -> _LimitTree:
    limits: dict[int, _Limits] = {}
    parent: dict[int, int | None] = {}
    for deck in decks:  # parents come before their children
        deck_id = int(deck["id"])
        studied_here = _studied_below(collection, deck, studied)
        limits[deck_id] = _deck_limits(collection, deck, studied_here, today)
        above = next(
            (a for a in reversed(_ancestors(collection, deck)) if int(a["id"]) in limits), None
        )
        parent[deck_id] = int(above["id"]) if above is not None else None
        if above is not None:
            limits[deck_id].cap_to(limits[int(above["id"])])
    return _LimitTree(limits, parent, int(decks[0]["id"]))


# --- what was studied today -------------------------------------------------------------


def studied_today(rows: Rows, timing: Timing) -> dict[int, Counts]:
    """New cards and reviews answered today, per deck (its own cards, not its subdecks')."""
    day_start_ms = (timing.next_day_at - DAY_SECS) * 1000
    # A (re)learning card came from the interday queue when the answer before it
    # scheduled it in days (a positive revlog ivl).
    found = rows.execute(
        "SELECT c.did, SUM(r.type = 0 AND r.lastIvl = 0), SUM(r.type = 1 OR (r.type IN (0, 2)"
        " AND (SELECT p.ivl FROM revlog p WHERE p.cid = r.cid AND p.id < r.id AND p.type < 4"
        " ORDER BY p.id DESC LIMIT 1) > 0))"
        " FROM revlog r JOIN cards c ON c.id = r.cid"
        " WHERE r.id >= ? AND r.ease BETWEEN 1 AND 4 AND r.type IN (0, 1, 2) GROUP BY c.did",
        [day_start_ms],
    )
    return {int(did): Counts(new=int(new or 0), review=int(rev or 0)) for did, new, rev in found}


def _studied_below(collection: CollectionJson, deck: JsonDict, own: dict[int, Counts]) -> Counts:
    """What Anki's counters of `deck` hold: studies in the deck and all its subdecks."""
    parts = [
        own[i]
        for i in (int(d["id"]) for d in decks_in_scope(collection, int(deck["id"])))
        if i in own
    ]
    return Counts(new=sum(p.new for p in parts), review=sum(p.review for p in parts))


# --- gathering ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Card:
    id: int
    nid: int
    did: int
    due: int
    ord: int = 0
    mod: int = 0
    ivl: int = 0
    factor: int = 0
    reps: int = 0


@dataclass(frozen=True)
class _BuryMode:
    new: bool = False
    reviews: bool = False
    interday: bool = False

    def merged(self, other: _BuryMode) -> _BuryMode:
        return _BuryMode(
            self.new or other.new, self.reviews or other.reviews, self.interday or other.interday
        )


@dataclass
class _Builder:
    collection: CollectionJson
    timing: Timing
    limits: _LimitTree
    deck_ids: list[int]
    options: JsonDict
    seen_notes: dict[int, _BuryMode] = field(default_factory=dict)
    learning: list[_Card] = field(default_factory=list)
    day_learning: list[_Card] = field(default_factory=list)
    review: list[_Card] = field(default_factory=list)
    new: list[_Card] = field(default_factory=list)

    def bury_mode_before(self, card: _Card) -> _BuryMode | None:
        """The note's bury mode before this card (None if first of its note), then updated."""
        preset = self.collection.preset_of(card.did)
        mode = _BuryMode(
            bool(preset.get("new", {}).get("bury", False)),
            bool(preset.get("rev", {}).get("bury", False)),
            bool(preset.get("buryInterdayLearning", False)),
        )
        previous = self.seen_notes.get(card.nid)
        self.seen_notes[card.nid] = mode if previous is None else previous.merged(mode)
        return previous

    def add_due(self, card: _Card, kind: str) -> bool:
        """Queue a review or interday learning card unless a sibling buries it."""
        previous = self.bury_mode_before(card)
        if previous is not None and (
            previous.reviews if kind == KIND_REVIEW else previous.interday
        ):
            return False
        (self.review if kind == KIND_REVIEW else self.day_learning).append(card)
        return True

    def add_new(self, card: _Card) -> bool:
        previous = self.bury_mode_before(card)
        if previous is not None and previous.new:
            return False
        self.new.append(card)
        return True


def _in_decks(deck_ids: list[int]) -> str:
    return ", ".join(str(int(deck_id)) for deck_id in deck_ids)


_CARD_SQL = "SELECT id, nid, did, due, ord, CAST(mod AS INTEGER), ivl, factor, reps FROM cards"


def _cards(rows: Rows, where: str, params: Sequence[Any]) -> Iterator[_Card]:
    for row in rows.execute(f"{_CARD_SQL} WHERE {where}", params):
        yield _Card(*(int(value or 0) for value in row))


def _gather_intraday(rows: Rows, builder: _Builder) -> None:
    where = f"did IN ({_in_decks(builder.deck_ids)}) AND odid = 0 AND queue = 1 AND due <= ?"
    for card in _cards(rows, where, [builder.timing.next_day_at]):
        builder.bury_mode_before(card)
        builder.learning.append(card)
    # As Anki 26.9: by due, except that never-answered cards not yet due wait behind the
    # others; ties keep Anki's read order (deck, then due, then id).
    now = builder.timing.now_secs
    builder.learning.sort(key=lambda c: (c.reps == 0 and c.due > now, c.due, c.did, c.id))


def _gather_due(rows: Rows, builder: _Builder, queue: int, kind: str) -> None:
    if builder.limits.root_reached(KIND_REVIEW):
        return
    where = f"did IN ({_in_decks(builder.deck_ids)}) AND odid = 0 AND queue = ? AND due <= ?"
    found = list(_cards(rows, where, [queue, builder.timing.days_elapsed]))
    for card in sorted(found, key=_review_order(builder)):
        if builder.limits.root_reached(KIND_REVIEW):
            return
        if not builder.limits.reached(card.did, KIND_REVIEW) and builder.add_due(card, kind):
            builder.limits.take(card.did, KIND_REVIEW)


def _review_order(builder: _Builder) -> Callable[[_Card], tuple[Any, ...]]:
    order = builder.options.get("reviewOrder", 0)
    today = builder.timing.days_elapsed
    position = {deck_id: index for index, deck_id in enumerate(builder.deck_ids)}
    keys: dict[int, Callable[[_Card], tuple[Any, ...]]] = {
        0: lambda c: (c.due,),
        1: lambda c: (c.due, position.get(c.did, 0)),
        2: lambda c: (position.get(c.did, 0), c.due),
        3: lambda c: (c.ivl,),
        4: lambda c: (-c.ivl,),
        5: lambda c: (c.factor,),
        6: lambda c: (-c.factor,),
        7: lambda c: _overdueness(c, today, descending=False),
        11: lambda c: _overdueness(c, today, descending=True),
        12: lambda c: _overdueness(c, today, descending=False),
        8: lambda c: (),
        9: lambda c: (c.nid, c.ord),
        10: lambda c: (-c.nid, c.ord),
    }
    primary = keys.get(order, keys[0]) if isinstance(order, int) else keys[0]
    return lambda card: (*primary(card), _signed(fnv_hash(card.id, card.mod)))


def _overdueness(card: _Card, today: int, *, descending: bool) -> tuple[Any, ...]:
    """Anki's SM-2 retrievability key, `-1 - (today - due + 0.001) / ivl` (NULL when ivl is 0)."""
    if card.ivl == 0:
        return (1,) if descending else (0,)
    value = -1 - (today - card.due + 0.001) / card.ivl
    return (0, -value) if descending else (1, value)


def _gather_new(rows: Rows, builder: _Builder) -> None:
    priority = builder.options.get("newGatherPriority", GATHER_DECK)
    salt = (builder.timing.days_elapsed * 2654435761) % 2**32
    if priority not in (GATHER_DECK, GATHER_DECK_RANDOM_NOTES):
        _take_new(builder, _new_cards(rows, builder.deck_ids, priority, salt), one_deck=False)
        return
    for deck_id in builder.deck_ids:  # deck by deck, in name order
        if builder.limits.root_reached(KIND_NEW):
            return
        if not builder.limits.reached(deck_id, KIND_NEW):
            _take_new(builder, _new_cards(rows, [deck_id], priority, salt), one_deck=True)


def _new_cards(rows: Rows, deck_ids: list[int], priority: object, salt: int) -> Iterable[_Card]:
    """New cards in gather order: by position straight from SQL (read only as far as the
    limits go), or by Anki's salted hash (read whole, then sorted)."""
    where = f"did IN ({_in_decks(deck_ids)}) AND odid = 0 AND queue = 0"
    hashed: dict[object, Callable[[_Card], tuple[int, ...]]] = {
        GATHER_RANDOM_NOTES: lambda c: (_signed(fnv_hash(c.nid, salt)), c.ord),
        GATHER_DECK_RANDOM_NOTES: lambda c: (_signed(fnv_hash(c.nid, salt)), c.ord),
        GATHER_RANDOM_CARDS: lambda c: (_signed(fnv_hash(c.id, salt)),),
    }
    if priority in hashed:
        return sorted(_cards(rows, where, []), key=hashed[priority])
    order = "due DESC, ord, id" if priority == GATHER_HIGHEST else "due, ord, id"
    return _cards(rows, f"{where} ORDER BY {order}", [])


def _take_new(builder: _Builder, cards: Iterable[_Card], *, one_deck: bool) -> None:
    """Take new cards in order within the limits; a single deck stops at its own limit."""
    for card in cards:
        if builder.limits.root_reached(KIND_NEW):
            return
        if builder.limits.reached(card.did, KIND_NEW):
            if one_deck:
                return
            continue
        if builder.add_new(card):
            builder.limits.take(card.did, KIND_NEW)


def _sorted_new(builder: _Builder) -> list[_Card]:
    order = builder.options.get("newSortOrder", SORT_TEMPLATE)
    days = builder.timing.days_elapsed
    cards = builder.new
    if order == SORT_NONE:
        return cards
    if order == SORT_TEMPLATE_RANDOM:
        return sorted(cards, key=lambda c: (c.ord, fnv_hash(c.id, days)))
    if order == SORT_RANDOM_NOTE:
        return sorted(cards, key=lambda c: (fnv_hash(c.nid, days), c.ord))
    if order == SORT_RANDOM_CARD:
        return sorted(cards, key=lambda c: (fnv_hash(c.id, days),))
    return sorted(cards, key=lambda c: c.ord)  # stable: gather order within a template


# --- merging --------------------------------------------------------------------------------


def intersperse(one: Sequence[QueueEntry], two: Sequence[QueueEntry]) -> list[QueueEntry]:
    """Anki's Intersperser: spread `two` evenly through `one` (float32 ratio, as Anki)."""
    ratio = _f32(_f32(len(one) + 1) / _f32(len(two) + 1))
    merged: list[QueueEntry] = []
    i = j = 0
    while i < len(one) or j < len(two):
        take_two = j < len(two) and (i >= len(one) or _f32(_f32(j + 1) * ratio) < _f32(i + 1))
        if take_two:
            merged.append(two[j])
            j += 1
        else:
            merged.append(one[i])
            i += 1
    return merged


def _mixed(first: list[QueueEntry], second: list[QueueEntry], mode: object) -> list[QueueEntry]:
    """`first` are the reviews side, `second` the cards mixed in, per Anki's ReviewMix."""
    if mode == MIX_AFTER_REVIEWS:
        return first + second
    if mode == MIX_BEFORE_REVIEWS:
        return second + first
    return intersperse(first, second)


def _entries(cards: list[_Card], kind: str) -> list[QueueEntry]:
    return [QueueEntry(card.id, kind) for card in cards]


def _built(builder: _Builder) -> StudyQueue:
    now = builder.timing.now_secs
    ahead = now + builder.collection.learn_ahead_secs()
    options = builder.options
    reviews = _mixed(
        _entries(builder.review, KIND_REVIEW),
        _entries(builder.day_learning, KIND_DAY_LEARNING),
        options.get("interdayLearningMix", MIX_WITH_REVIEWS),
    )
    main = _mixed(reviews, _entries(_sorted_new(builder), KIND_NEW), options.get("newMix", 0))
    due_now = [c for c in builder.learning if c.due <= now]
    due_soon = [c for c in builder.learning if now < c.due <= ahead]
    counts = Counts(
        new=len(builder.new),
        learning=len(due_now) + len(due_soon) + len(builder.day_learning),
        review=len(builder.review),
    )
    entries = _entries(due_now, KIND_LEARNING) + main + _entries(due_soon, KIND_LEARNING)
    return StudyQueue(tuple(entries), counts)


# --- the public functions ------------------------------------------------------------------


def study_queue(
    rows: Rows, collection: CollectionJson, *, deck_id: int, timing: Timing
) -> StudyQueue:
    """The queue of `deck_id` and its subdecks at `timing.now_ms`, as Anki v3 would build it."""
    decks = decks_in_scope(collection, deck_id)
    if not decks:
        return StudyQueue((), Counts())
    limited = decks
    if collection.flag("applyAllParentLimits"):
        limited = [*_ancestors(collection, decks[0]), *decks]
    studied = studied_today(rows, timing)
    builder = _Builder(
        collection=collection,
        timing=timing,
        limits=_limit_tree(collection, limited, studied, timing.days_elapsed),
        deck_ids=[int(d["id"]) for d in decks],
        options=collection.preset_of(deck_id),
    )
    _gather_intraday(rows, builder)
    _gather_due(rows, builder, 3, KIND_DAY_LEARNING)
    _gather_due(rows, builder, 2, KIND_REVIEW)
    _gather_new(rows, builder)
    return _built(builder)


def next_due_secs(
    rows: Rows, collection: CollectionJson, *, deck_id: int, timing: Timing
) -> int | None:
    """When the deck next has something to study, once its queue is empty (epoch seconds).

    The earliest intraday learning card; else the start of the day when a
    review or interday learning card falls due; cards held back today (by a
    limit or a bury) and new cards come back at the next rollover. None if
    nothing in the deck can ever come up (empty, or all suspended).
    """
    ids = _in_decks([int(d["id"]) for d in decks_in_scope(collection, deck_id)])
    if not ids:
        return None
    learning, day, waiting = next(
        iter(
            rows.execute(
                "SELECT MIN(CASE WHEN queue = 1 THEN due END),"
                " MIN(CASE WHEN queue IN (2, 3) THEN due END),"
                " COUNT(CASE WHEN queue IN (0, -2, -3) THEN 1 END)"
                f" FROM cards WHERE did IN ({ids}) AND odid = 0",
                [],
            )
        )
    )
    candidates = [int(learning)] if learning is not None else []
    if day is not None:
        candidates.append(day_starts_at(timing, max(int(day), timing.days_elapsed + 1)))
    if waiting:
        candidates.append(timing.next_day_at)
    return min(candidates) if candidates else None


def day_starts_at(timing: Timing, day: int) -> int:
    """Epoch seconds at which day number `day` starts (whole days after the next rollover)."""
    return timing.next_day_at + (day - timing.days_elapsed - 1) * DAY_SECS
