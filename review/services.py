"""Studying a deck: the next card, answering it, and undoing answers.

Everything runs inside the request's transaction on the learner's collection
(`userdb`); an error answer rolls back all of it. The queue itself is
`review.queue`, the arithmetic `review.scheduler`; this module reads and
writes the rows the way Anki does:

- An answer updates the card (`mod` now, `usn` -1, `pos`/`lrt` in its
  `data`), adds a revlog row (id = answer time in ms, bumped past any taken
  id), tags a leech `leech` (and suspends it when the preset says so),
  buries the card's new / review / interday-learning siblings until the next
  day (queue -2, Anki's "buried by the scheduler") as the preset says, and
  bumps `col.mod`.
- On the first request of a new day, cards buried on earlier days come back
  (Anki's unbury on rollover, which leaves their `mod` alone), and the undo
  history of earlier days is dropped, as Anki drops its undo at the rollover.
- Undo: each answer pushes what it changed, as it was before, onto a stack
  kept in `col.conf` under `javumboReview` (Anki ignores and keeps unknown
  `conf` keys; exports strip every `javumbo*` key): the revlog id, the card's
  columns, the siblings it buried and the note's tags if it added `leech`,
  plus a digest of the card as the answer left it. Undo restores them
  exactly and deletes the revlog row. An entry whose card changed since
  (moved, suspended, forgotten, deleted...) cannot be undone exactly, so
  it is skipped and dropped. The stack holds the last 30 answers (Anki's own
  undo depth). The undone card is shown first until the next answer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connections

from decks import anki
from decks.selectors import (
    CollectionState,
    card_detail,
    card_require,
    collection_load,
    collection_timing,
    cursor,
    deck_is_filtered,
    deck_require,
    note_require,
    preset_of_deck,
)
from decks.services import collection_save, learner_timezone
from javumbo.errors import Conflict, InvalidInput
from review import clock, queue
from review.scheduler import (
    QUEUE_DAY_LEARN,
    QUEUE_LEARN,
    QUEUE_NEW,
    QUEUE_REVIEW,
    QUEUE_SIBLING_BURIED,
    AnswerResult,
    CardNotAnswerable,
    CardState,
    DeckOptions,
    Timing,
    answer_card,
    interval_label,
    next_intervals,
)

STATE_KEY = "javumboReview"
UNDO_DEPTH = 30
LEECH_TAG = "leech"
# Every column an answer may change, restored as a whole by undo.
RESTORED_COLUMNS = (
    "did", "mod", "usn", "type", "queue", "due", "ivl", "factor",
    "reps", "lapses", "left", "odue", "odid", "flags", "data",
)  # fmt: skip
# What an answer changes on the card (besides mod, usn, data) and what the API shows of it.
_ANSWERED_COLUMNS = ("type", "queue", "due", "ivl", "factor", "reps", "lapses", "left", "odue")
_SHOWN_COLUMNS = ("type", "queue", "due", "ivl", "factor", "reps", "lapses", "left")
_DATA_KEY_ORDER = ("pos", "s", "d", "dr", "decay", "lrt", "cd")
_EPOCH_SECONDS_FROM = 1_000_000_000  # Anki: a learning `due` above this is a timestamp


class NotInQueue(Conflict):
    default_code = "not_in_queue"
    default_detail = "That card is not in the study queue now."


class NothingToUndo(Conflict):
    default_code = "nothing_to_undo"
    default_detail = "There is no answer left to undo."


class FilteredDeckNotStudied(InvalidInput):
    default_code = "filtered_deck"
    default_detail = "Filtered decks cannot be studied here; study a normal deck."


@dataclass(frozen=True)
class Interval:
    seconds: int
    label: str


@dataclass(frozen=True)
class StudyView:
    """What the learner sees: the deck's next card with its button intervals, the counts."""

    deck_id: int
    card: dict[str, Any] | None
    counts: queue.Counts
    intervals: dict[str, Interval] | None
    next_due_at: int | None  # epoch ms, only when there is no card


@dataclass(frozen=True)
class Answered:
    answered: dict[str, Any]  # the card's scheduling fields after the answer
    next: StudyView


@dataclass(frozen=True)
class Undone:
    card_id: int
    next: StudyView


# --- the collection as this request sees it ------------------------------------------


@dataclass(frozen=True)
class _Study:
    state: CollectionState
    timing: Timing

    def json(self) -> queue.CollectionJson:
        return queue.CollectionJson(self.state.conf, self.state.decks, self.state.dconf)

    def review_state(self) -> dict[str, Any]:
        """Javumbo's own part of `col.conf` (undo history, undone card), created on demand."""
        found = self.state.conf.get(STATE_KEY)
        if not isinstance(found, dict):
            found = self.state.conf[STATE_KEY] = {}
        return found

    def undone_card(self) -> int | None:
        found = self.state.conf.get(STATE_KEY)
        first = found.get("first") if isinstance(found, dict) else None
        return first if isinstance(first, int) else None


def _study(username: str) -> _Study:
    state = collection_load()
    timezone = learner_timezone(username=username, state=state)
    study = _Study(state, collection_timing(state, timezone=timezone, now_ms=clock.now_ms()))
    _unbury_if_new_day(study)
    return study


def _rows() -> queue.Rows:
    """The raw sqlite3 connection under `userdb`: the queue speaks plain DB-API."""
    connection = connections["userdb"]
    connection.ensure_connection()
    rows: queue.Rows = connection.connection
    return rows


def _unbury_if_new_day(study: _Study) -> None:
    today = study.timing.days_elapsed
    last = study.state.conf.get("lastUnburied", 0)
    last = last if isinstance(last, int) else 0
    if not (last < today or today + 7 < last):
        return
    cursor().execute(
        "UPDATE cards SET queue = CASE type WHEN 0 THEN %s WHEN 2 THEN %s ELSE"
        " (CASE WHEN (CASE WHEN odue > 0 THEN odue ELSE due END) > %s THEN %s ELSE %s END)"
        " END WHERE queue IN (-2, -3)",
        [QUEUE_NEW, QUEUE_REVIEW, _EPOCH_SECONDS_FROM, QUEUE_LEARN, QUEUE_DAY_LEARN],
    )
    study.state.conf["lastUnburied"] = today
    study.state.conf.pop(STATE_KEY, None)
    collection_save(study.state, conf=True, touch=False)  # Anki's own unbury marks nothing


# --- the next card ------------------------------------------------------------------


def _deck_to_study(state: CollectionState, deck_id: int | None) -> int:
    chosen = state.current_deck_id() if deck_id is None else deck_id
    if deck_is_filtered(deck_require(state, chosen)):
        raise FilteredDeckNotStudied(details={"deck": [FilteredDeckNotStudied.default_detail]})
    return chosen


def _queue_of(study: _Study, deck_id: int) -> queue.StudyQueue:
    built = queue.study_queue(_rows(), study.json(), deck_id=deck_id, timing=study.timing)
    return built.promoted(study.undone_card())


def _view(study: _Study, deck_id: int) -> StudyView:
    studied = _queue_of(study, deck_id)
    entry = studied.first()
    if entry is None:
        due = queue.next_due_secs(_rows(), study.json(), deck_id=deck_id, timing=study.timing)
        return StudyView(deck_id, None, studied.counts, None, None if due is None else due * 1000)
    row = card_require(entry.card_id)
    detail = card_detail(study.state, entry.card_id)
    card = {key: detail[key] for key in ("id", "note_id", "deck_id", "front", "back", "css")}
    card.update({key: row[key] for key in ("ord", *_SHOWN_COLUMNS)})
    return StudyView(deck_id, card, studied.counts, _intervals(study, row), None)


def _card_state(row: dict[str, Any]) -> CardState:
    return CardState(
        id=row["id"], note_id=row["nid"], deck_id=row["did"], ord=row["ord"], type=row["type"],
        queue=row["queue"], due=row["due"], ivl=row["ivl"], factor=row["factor"],
        reps=row["reps"], lapses=row["lapses"], left=row["left"], odue=row["odue"],
        odid=row["odid"], flags=row["flags"],
    )  # fmt: skip


def _options(state: CollectionState, row: dict[str, Any]) -> DeckOptions:
    return DeckOptions.from_legacy_config(preset_of_deck(state, row["odid"] or row["did"]))


def _intervals(study: _Study, row: dict[str, Any]) -> dict[str, Interval]:
    seconds = next_intervals(
        _card_state(row),
        _options(study.state, row),
        timing=study.timing,
        fuzz=settings.JAVUMBO_FUZZ,
    )
    # The web client shows the label as is: no "<" for delays inside the learn-ahead limit.
    return {
        str(ease): Interval(secs, interval_label(secs, learn_ahead_secs=0))
        for ease, secs in seconds.items()
    }


def study_next(*, username: str, deck_id: int | None = None) -> StudyView:
    """The next card of `deck_id` (default: the current deck), subdecks included."""
    study = _study(username)
    return _view(study, _deck_to_study(study.state, deck_id))


# --- answering ------------------------------------------------------------------------


def card_answer(
    *, username: str, card_id: int, ease: int, time_taken_ms: int, deck_id: int | None = None
) -> Answered:
    """Answer a card of the study queue of `deck_id` (default: the current deck)."""
    study = _study(username)
    studied_deck = _deck_to_study(study.state, deck_id)
    row = card_require(card_id)
    if card_id not in _queue_of(study, studied_deck):
        raise NotInQueue(details={"cardId": [NotInQueue.default_detail]})
    options = _options(study.state, row)
    try:
        result = answer_card(
            _card_state(row),
            options,
            ease=ease,
            timing=study.timing,
            time_taken_ms=time_taken_ms,
            fuzz=settings.JAVUMBO_FUZZ,
            time_cap_ms=options.max_answer_secs * 1000,
        )
    except CardNotAnswerable as error:  # the queue never holds one; a corrupt row might
        raise NotInQueue(str(error)) from None
    record = _answer_apply(study, row, result, options)
    _undo_push(study, record)
    collection_save(study.state, conf=True, tags=record.leech_note is not None)
    answered = {key: getattr(result.card, key) for key in ("id", *_SHOWN_COLUMNS)}
    return Answered(answered, _view(study, studied_deck))


@dataclass(frozen=True)
class _UndoRecord:
    revlog_id: int
    card_id: int
    digest: str
    before: list[Any]
    siblings: list[list[int]]
    leech_note: list[Any] | None

    def as_json(self) -> list[Any]:
        return [
            self.revlog_id, self.card_id, self.digest, self.before, self.siblings,
            self.leech_note,
        ]  # fmt: skip

    @classmethod
    def from_json(cls, value: object) -> _UndoRecord | None:
        if not isinstance(value, list) or len(value) != 6:
            return None
        revlog_id, card_id, digest, before, siblings, note = value
        if not (isinstance(revlog_id, int) and isinstance(card_id, int)):
            return None
        if not (isinstance(before, list) and len(before) == len(RESTORED_COLUMNS)):
            return None
        return cls(revlog_id, card_id, str(digest), before, list(siblings or []), note)


def _answer_apply(
    study: _Study, row: dict[str, Any], result: AnswerResult, options: DeckOptions
) -> _UndoRecord:
    now_secs = study.timing.now_secs
    before = [row[column] for column in RESTORED_COLUMNS]
    updated = dict(row)
    updated.update({key: getattr(result.card, key) for key in _ANSWERED_COLUMNS})
    updated.update(mod=now_secs, usn=-1, data=_card_data(row["data"], result))
    _card_write(updated)
    revlog_id = _revlog_insert(result)
    siblings = _siblings_bury(row, options, now_secs)
    leech_note = _leech_tag(study.state, row["nid"], now_secs) if result.add_leech_tag else None
    digest = _digest([updated[column] for column in RESTORED_COLUMNS])
    return _UndoRecord(revlog_id, row["id"], digest, before, siblings, leech_note)


def _card_data(data: str, result: AnswerResult) -> str:
    """The card's `data` JSON with Anki's `pos` (when it leaves the new queue) and `lrt`."""
    try:
        parsed = json.loads(data) if data else {}
    except ValueError:
        parsed = {}
    values: dict[str, Any] = parsed if isinstance(parsed, dict) else {}
    if result.original_position is not None:
        values["pos"] = result.original_position
    values["lrt"] = result.reviewed_at_secs
    ordered = {key: values[key] for key in _DATA_KEY_ORDER if key in values}
    ordered.update(values)
    return json.dumps(ordered, separators=(",", ":"), ensure_ascii=False)


def _card_write(card: dict[str, Any]) -> None:
    assignments = ", ".join(f"{column} = %s" for column in RESTORED_COLUMNS)
    cursor().execute(
        f"UPDATE cards SET {assignments} WHERE id = %s",
        [*(card[column] for column in RESTORED_COLUMNS), card["id"]],
    )


def _revlog_insert(result: AnswerResult) -> int:
    """Insert the answer's revlog row; its id is the answer time, bumped past any taken id."""
    rows = cursor()
    revlog_id = result.revlog.id
    while rows.execute("SELECT 1 FROM revlog WHERE id = %s", [revlog_id]).fetchone():
        revlog_id += 1
    entry = result.revlog
    rows.execute(
        "INSERT INTO revlog (id, cid, usn, ease, ivl, lastIvl, factor, time, type)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        [revlog_id, entry.cid, entry.usn, entry.ease, entry.ivl, entry.last_ivl, entry.factor,
         entry.time, entry.type],
    )  # fmt: skip
    return revlog_id


def _siblings_bury(row: dict[str, Any], options: DeckOptions, now_secs: int) -> list[list[int]]:
    """Bury the answered card's siblings as the preset says; returns them as they were."""
    queues = [
        wanted
        for wanted, on in (
            (QUEUE_NEW, options.bury_new),
            (QUEUE_REVIEW, options.bury_reviews),
            (QUEUE_DAY_LEARN, options.bury_interday_learning),
        )
        if on
    ]
    if not queues:
        return []
    rows = cursor()
    found = rows.execute(
        f"SELECT id, queue, mod, usn FROM cards WHERE nid = %s AND id != %s"
        f" AND queue IN ({', '.join(str(q) for q in queues)}) ORDER BY id",
        [row["nid"], row["id"]],
    ).fetchall()
    for sibling_id, *_ in found:
        rows.execute(
            "UPDATE cards SET queue = %s, mod = %s, usn = -1 WHERE id = %s",
            [QUEUE_SIBLING_BURIED, now_secs, sibling_id],
        )
    return [list(sibling) for sibling in found]


def _leech_tag(state: CollectionState, note_id: int, now_secs: int) -> list[Any] | None:
    """Tag the note `leech` (as Anki does for every leech); returns the note as it was."""
    note = note_require(note_id)
    tags = anki.tags_from_text(note["tags"])
    if any(tag.casefold() == LEECH_TAG for tag in tags):
        return None
    cursor().execute(
        "UPDATE notes SET tags = %s, mod = %s, usn = -1 WHERE id = %s",
        [anki.tags_to_text([*tags, LEECH_TAG]), now_secs, note_id],
    )
    if not any(name.casefold() == LEECH_TAG for name in state.tags):
        state.tags[LEECH_TAG] = -1
    return [note_id, note["tags"], note["mod"], note["usn"]]


def _digest(values: Sequence[Any]) -> str:
    return hashlib.sha1(json.dumps(list(values)).encode(), usedforsecurity=False).hexdigest()[:12]


def _undo_push(study: _Study, record: _UndoRecord) -> None:
    review = study.review_state()
    stack = review.get("undo")
    stack = stack if isinstance(stack, list) else []
    review["undo"] = [*stack, record.as_json()][-UNDO_DEPTH:]
    review.pop("first", None)


# --- undo -----------------------------------------------------------------------------


def answer_undo(*, username: str, deck_id: int | None = None) -> Undone:
    """Revert the most recent answer that can still be reverted exactly; show its card next."""
    study = _study(username)
    studied_deck = _deck_to_study(study.state, deck_id)
    review = study.review_state()
    stack = review.get("undo")
    stack = list(stack) if isinstance(stack, list) else []
    while stack:
        record = _UndoRecord.from_json(stack.pop())
        if record is not None and _undoable(record):
            _undo_apply(record)
            review["undo"] = stack
            review["first"] = record.card_id
            collection_save(study.state, conf=True)
            return Undone(record.card_id, _view(study, studied_deck))
    raise NothingToUndo()


def _undoable(record: _UndoRecord) -> bool:
    """True if the card is exactly as the answer left it and its revlog row is there."""
    rows = cursor()
    columns = ", ".join(RESTORED_COLUMNS)
    found = rows.execute(f"SELECT {columns} FROM cards WHERE id = %s", [record.card_id]).fetchone()
    if found is None or _digest(list(found)) != record.digest:
        return False
    logged = rows.execute("SELECT 1 FROM revlog WHERE id = %s", [record.revlog_id]).fetchone()
    return logged is not None


def _undo_apply(record: _UndoRecord) -> None:
    rows = cursor()
    assignments = ", ".join(f"{column} = %s" for column in RESTORED_COLUMNS)
    rows.execute(f"UPDATE cards SET {assignments} WHERE id = %s", [*record.before, record.card_id])
    for sibling_id, sibling_queue, mod, usn in record.siblings:
        rows.execute(
            "UPDATE cards SET queue = %s, mod = %s, usn = %s WHERE id = %s",
            [sibling_queue, mod, usn, sibling_id],
        )
    if record.leech_note is not None:
        note_id, tags, mod, usn = record.leech_note
        rows.execute(
            "UPDATE notes SET tags = %s, mod = %s, usn = %s WHERE id = %s",
            [tags, mod, usn, note_id],
        )
    rows.execute("DELETE FROM revlog WHERE id = %s", [record.revlog_id])
