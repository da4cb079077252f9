"""Reads of the learner's collection: the `col` JSON, the deck tree with its counts, note
types, notes, cards (searched, paged, rendered) and tags.

Everything here runs on the `userdb` connection of the current request and changes
nothing. The services (decks.services) write through the same `CollectionState`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connections

from decks import anki, search
from decks.models import Collection
from javumbo.errors import InvalidInput, NotFound
from review.scheduler import Timing, timing_for

JsonDict = dict[str, Any]
DEFAULT_DECK_ID = 1
DEFAULT_PRESET_ID = 1
QUEUE_NEW, QUEUE_LEARN, QUEUE_REVIEW, QUEUE_DAY_LEARN = 0, 1, 2, 3
CLOZE_KIND = 1

CARD_COLUMNS = (
    "id",
    "nid",
    "did",
    "ord",
    "mod",
    "usn",
    "type",
    "queue",
    "due",
    "ivl",
    "factor",
    "reps",
    "lapses",
    "left",
    "odue",
    "odid",
    "flags",
    "data",
)
NOTE_COLUMNS = ("id", "guid", "mid", "mod", "usn", "tags", "flds", "sfld", "csum", "flags", "data")


def cursor() -> Any:
    """A cursor on the learner's collection, with the search functions registered."""
    connection = connections["userdb"]
    connection.ensure_connection()
    # once per SQLite connection: SQLite refuses to redefine a function mid-query
    if getattr(connection, "javumbo_search_ready", None) is not connection.connection:
        search.register_functions(connection.connection)
        connection.javumbo_search_ready = connection.connection  # type: ignore[attr-defined]
    return connection.cursor()


# The col row
# ---------------------------------------------------------------------------


@dataclass
class CollectionState:
    """The `col` row with its JSON parsed; services change it and save it back."""

    crt: int
    conf: JsonDict
    decks: dict[str, JsonDict]
    notetypes: dict[str, JsonDict]
    dconf: dict[str, JsonDict]
    tags: dict[str, int]

    def deck(self, deck_id: int) -> JsonDict | None:
        return self.decks.get(str(deck_id))

    def notetype(self, notetype_id: int) -> JsonDict | None:
        return self.notetypes.get(str(notetype_id))

    def preset(self, preset_id: int) -> JsonDict | None:
        return self.dconf.get(str(preset_id))

    def current_deck_id(self) -> int:
        current = self.conf.get("curDeck")
        if isinstance(current, int) and self.deck(current) is not None:
            return current
        return DEFAULT_DECK_ID


def collection_load() -> CollectionState:
    crt, conf, decks, notetypes, dconf, tags = Collection.objects.values_list(
        "crt", "conf", "decks", "notetypes", "dconf", "tags"
    ).get()
    return CollectionState(
        crt=crt,
        conf=json.loads(conf),
        decks=json.loads(decks),
        notetypes=json.loads(notetypes),
        dconf=json.loads(dconf),
        tags=json.loads(tags) if tags else {},
    )


def collection_timing(
    state: CollectionState, *, timezone: str, now_ms: int | None = None
) -> Timing:
    """Today's day number and the next rollover, in the learner's timezone."""
    rollover = state.conf.get("rollover", 4)
    return timing_for(
        collection_created=state.crt,
        now_ms=time.time_ns() // 1_000_000 if now_ms is None else now_ms,
        timezone=timezone,
        rollover_hour=rollover if isinstance(rollover, int) else 4,
    )


# Decks
# ---------------------------------------------------------------------------


def deck_require(state: CollectionState, deck_id: int) -> JsonDict:
    deck = state.deck(deck_id)
    if deck is None:
        raise NotFound(f"There is no deck {deck_id}.")
    return deck


def deck_children(state: CollectionState, deck: JsonDict) -> list[JsonDict]:
    """Every deck below this one (children, grandchildren...)."""
    prefix = str(deck["name"]).casefold() + "::"
    return [d for d in state.decks.values() if str(d["name"]).casefold().startswith(prefix)]


def deck_ids_with_children(state: CollectionState, deck: JsonDict) -> list[int]:
    return [int(deck["id"]), *(int(child["id"]) for child in deck_children(state, deck))]


def deck_ids_matching(state: CollectionState, pattern: str) -> list[int]:
    """What `deck:pattern` selects: matching decks and their subdecks."""
    if pattern.lower() == "current":
        matched = [deck_require(state, state.current_deck_id())]
    else:
        matched = [d for d in state.decks.values() if search.name_matches(d["name"], pattern)]
    ids: set[int] = set()
    for deck in matched:
        ids.update(deck_ids_with_children(state, deck))
    return sorted(ids)


def deck_is_filtered(deck: JsonDict) -> bool:
    return bool(deck.get("dyn"))


@dataclass(frozen=True)
class DeckCounts:
    new: int = 0
    learning: int = 0
    review: int = 0
    cards: int = 0

    def __add__(self, other: DeckCounts) -> DeckCounts:
        return DeckCounts(
            self.new + other.new,
            self.learning + other.learning,
            self.review + other.review,
            self.cards + other.cards,
        )


def deck_counts(timing: Timing) -> dict[int, DeckCounts]:
    """Per deck (its own cards only): new cards, learning cards due today, reviews due today,
    and all its cards. Suspended and buried cards count only in `cards`."""
    rows = cursor().execute(
        "SELECT did, SUM(queue = 0),"
        " SUM((queue = 1 AND due < %s) OR (queue = 3 AND due <= %s)),"
        " SUM(queue = 2 AND due <= %s), COUNT(*) FROM cards GROUP BY did",
        [timing.next_day_at, timing.days_elapsed, timing.days_elapsed],
    )
    return {did: DeckCounts(new, learn, review, total) for did, new, learn, review, total in rows}


def _deck_sort_key(deck: JsonDict) -> list[str]:
    return [part.casefold() for part in str(deck["name"]).split("::")]


def deck_tree(state: CollectionState, timing: Timing) -> list[JsonDict]:
    """The decks as a tree (`::` nesting), each node with its counts including subdecks."""
    counts = deck_counts(timing)
    nodes: dict[str, JsonDict] = {}
    roots: list[JsonDict] = []
    for deck in sorted(state.decks.values(), key=_deck_sort_key):
        node = deck_node(deck)
        nodes[str(deck["name"]).casefold()] = node
        parent = _nearest_parent(nodes, str(deck["name"]))
        (parent["children"] if parent else roots).append(node)
        node["parent_id"] = parent["id"] if parent else None
    for root in roots:
        _add_counts(root, counts)
    return roots


def _nearest_parent(nodes: dict[str, JsonDict], name: str) -> JsonDict | None:
    parts = name.casefold().split("::")
    for length in range(len(parts) - 1, 0, -1):
        parent = nodes.get("::".join(parts[:length]))
        if parent is not None:
            return parent
    return None


def _add_counts(node: JsonDict, counts: dict[int, DeckCounts]) -> DeckCounts:
    total = counts.get(node["id"], DeckCounts())
    for child in node["children"]:
        total += _add_counts(child, counts)
    node.update(
        new_count=total.new,
        learn_count=total.learning,
        review_count=total.review,
        card_count=total.cards,
    )
    return total


def deck_node(deck: JsonDict) -> JsonDict:
    """A deck as the API shows it (counts and children filled in by `deck_tree`)."""
    name = str(deck["name"])
    return {
        "id": int(deck["id"]),
        "name": name,
        "short_name": name.rsplit("::", 1)[-1],
        "filtered": deck_is_filtered(deck),
        "preset_id": None if deck_is_filtered(deck) else deck.get("conf", DEFAULT_PRESET_ID),
        # shared decks bring their own descriptions: shown like card HTML, never raw
        "description": anki.sanitize_html(str(deck.get("desc", ""))),
        "collapsed": bool(deck.get("collapsed", False)),
        "children": [],
    }


def deck_detail(state: CollectionState, timing: Timing, deck_id: int) -> JsonDict:
    deck_require(state, deck_id)
    return _find_node(deck_tree(state, timing), deck_id)


def _find_node(nodes: list[JsonDict], deck_id: int) -> JsonDict:
    pending = list(nodes)
    while pending:
        node = pending.pop()
        if node["id"] == deck_id:
            return node
        pending.extend(node["children"])
    raise NotFound(f"There is no deck {deck_id}.")


# Deck options presets
# ---------------------------------------------------------------------------


def preset_require(state: CollectionState, preset_id: int) -> JsonDict:
    preset = state.preset(preset_id)
    if preset is None:
        raise NotFound(f"There are no deck options {preset_id}.")
    return preset


def preset_of_deck(state: CollectionState, deck_id: int) -> JsonDict:
    """The preset a normal deck uses (Anki falls back to the default one if it is gone)."""
    deck = deck_require(state, deck_id)
    if deck_is_filtered(deck):
        raise InvalidInput(
            "A filtered deck has no options preset.",
            details={"deckId": ["This is a filtered deck."]},
        )
    return state.preset(int(deck.get("conf", DEFAULT_PRESET_ID))) or preset_require(
        state, DEFAULT_PRESET_ID
    )


def preset_view(state: CollectionState, preset: JsonDict) -> JsonDict:
    new, rev, lapse = (preset.get(key) or {} for key in ("new", "rev", "lapse"))
    ints = new.get("ints") or [1, 4]
    return {
        "id": int(preset["id"]),
        "name": preset.get("name", ""),
        "deck_ids": sorted(
            int(d["id"])
            for d in state.decks.values()
            if not deck_is_filtered(d) and d.get("conf") == preset["id"]
        ),
        "new_per_day": new.get("perDay"),
        "reviews_per_day": rev.get("perDay"),
        "learning_steps": new.get("delays"),
        "graduating_interval": ints[0],
        "easy_interval": ints[1] if len(ints) > 1 else 4,
        "starting_ease": (new.get("initialFactor") or 2500) / 1000,
        "relearning_steps": lapse.get("delays"),
        "lapse_multiplier": lapse.get("mult"),
        "minimum_interval": lapse.get("minInt"),
        "leech_threshold": lapse.get("leechFails"),
        "leech_action": "suspend" if lapse.get("leechAction") == 0 else "tagOnly",
        "hard_multiplier": rev.get("hardFactor"),
        "easy_bonus": rev.get("ease4"),
        "interval_modifier": rev.get("ivlFct"),
        "maximum_interval": rev.get("maxIvl"),
        "bury_new": bool(new.get("bury", False)),
        "bury_reviews": bool(rev.get("bury", False)),
        "bury_interday_learning": bool(preset.get("buryInterdayLearning", False)),
        "max_answer_seconds": preset.get("maxTaken"),
    }


def presets_list(state: CollectionState) -> list[JsonDict]:
    presets = sorted(state.dconf.values(), key=lambda p: (p["id"] != 1, str(p.get("name", ""))))
    return [preset_view(state, preset) for preset in presets]


# Note types
# ---------------------------------------------------------------------------


def notetype_require(state: CollectionState, notetype_id: int) -> JsonDict:
    notetype = state.notetype(notetype_id)
    if notetype is None:
        raise NotFound(f"There is no note type {notetype_id}.")
    return notetype


def notetype_kind(notetype: JsonDict) -> str:
    return "cloze" if notetype.get("type") == CLOZE_KIND else "standard"


def notetype_field_names(notetype: JsonDict) -> list[str]:
    return [str(field["name"]) for field in notetype.get("flds", [])]


def notetype_view(notetype: JsonDict) -> JsonDict:
    return {
        "id": int(notetype["id"]),
        "name": notetype.get("name", ""),
        "kind": notetype_kind(notetype),
        "fields": [{"name": f["name"], "ord": f["ord"]} for f in notetype.get("flds", [])],
        "templates": [
            {"name": t["name"], "ord": t["ord"], "front": t["qfmt"], "back": t["afmt"]}
            for t in notetype.get("tmpls", [])
        ],
        "sort_field": notetype.get("sortf", 0),
        "css": notetype.get("css", ""),
    }


def notetypes_list(state: CollectionState) -> list[JsonDict]:
    ordered = sorted(state.notetypes.values(), key=lambda nt: str(nt.get("name", "")).casefold())
    return [notetype_view(notetype) for notetype in ordered]


# Notes
# ---------------------------------------------------------------------------


def note_row(note_id: int) -> JsonDict | None:
    row = (
        cursor()
        .execute(f"SELECT {', '.join(NOTE_COLUMNS)} FROM notes WHERE id = %s", [note_id])
        .fetchone()
    )
    return None if row is None else dict(zip(NOTE_COLUMNS, row, strict=True))


def note_require(note_id: int) -> JsonDict:
    note = note_row(note_id)
    if note is None:
        raise NotFound(f"There is no note {note_id}.")
    return note


def cards_of_note(note_id: int) -> list[JsonDict]:
    rows = cursor().execute(
        f"SELECT {', '.join(CARD_COLUMNS)} FROM cards WHERE nid = %s ORDER BY ord, id", [note_id]
    )
    return [dict(zip(CARD_COLUMNS, row, strict=True)) for row in rows]


def note_fields(notetype: JsonDict | None, flds: str) -> dict[str, str]:
    """Field values by name (unnamed extras, which Check Database would drop, are left out)."""
    names = notetype_field_names(notetype) if notetype else []
    return dict(zip(names, anki.split_fields(flds), strict=False))


def note_detail(state: CollectionState, note_id: int) -> JsonDict:
    note = note_require(note_id)
    notetype = state.notetype(note["mid"])
    return {
        "id": note["id"],
        "guid": note["guid"],
        "notetype_id": note["mid"],
        "notetype": notetype.get("name", "") if notetype else "",
        "kind": notetype_kind(notetype) if notetype else "standard",
        "fields": note_fields(notetype, note["flds"]),
        "tags": anki.tags_from_text(note["tags"]),
        "sort_field": str(note["sfld"]),
        "mod": note["mod"],
        "cards": [card_summary(state, card) for card in cards_of_note(note_id)],
    }


# Cards
# ---------------------------------------------------------------------------


def card_summary(state: CollectionState, card: JsonDict) -> JsonDict:
    """A card's own columns (Anki's names), with its deck's name."""
    summary = {column: card[column] for column in CARD_COLUMNS if column not in ("nid", "did")}
    deck = state.deck(card["did"])
    summary.update(note_id=card["nid"], deck_id=card["did"], deck_name=deck["name"] if deck else "")
    del summary["data"]
    return summary


def card_require(card_id: int) -> JsonDict:
    row = (
        cursor()
        .execute(f"SELECT {', '.join(CARD_COLUMNS)} FROM cards WHERE id = %s", [card_id])
        .fetchone()
    )
    if row is None:
        raise NotFound(f"There is no card {card_id}.")
    return dict(zip(CARD_COLUMNS, row, strict=True))


def card_detail(state: CollectionState, card_id: int, *, with_css: bool = True) -> JsonDict:
    card = card_require(card_id)
    return card_view(state, card, note_require(card["nid"]), with_css=with_css)


def card_view(
    state: CollectionState, card: JsonDict, note: JsonDict, *, with_css: bool = True
) -> JsonDict:
    """Everything about a card: its note's fields and tags, its rendered (sanitized) sides,
    and every scheduling column."""
    notetype = state.notetype(note["mid"])
    view = card_summary(state, card)
    front, back = _rendered_sides(state, card, note, notetype)
    view.update(
        notetype_id=note["mid"],
        notetype=notetype.get("name", "") if notetype else "",
        template=_template_name(notetype, card["ord"]),
        fields=note_fields(notetype, note["flds"]),
        tags=anki.tags_from_text(note["tags"]),
        front=front,
        back=back,
    )
    if with_css:
        view["css"] = notetype.get("css", "") if notetype else ""
    return view


def _template_name(notetype: JsonDict | None, ord: int) -> str:
    if notetype is None:
        return ""
    templates = notetype.get("tmpls", [])
    if notetype.get("type") == CLOZE_KIND:
        return f"Cloze {ord + 1}"
    return str(templates[ord]["name"]) if ord < len(templates) else ""


def _rendered_sides(
    state: CollectionState, card: JsonDict, note: JsonDict, notetype: JsonDict | None
) -> tuple[str, str]:
    if notetype is None or not notetype.get("tmpls"):
        return "", ""
    if notetype.get("type") != CLOZE_KIND and card["ord"] >= len(notetype["tmpls"]):
        return "", ""
    home = state.deck(card["odid"] or card["did"])
    question, answer = anki.render_card(
        notetype,
        anki.split_fields(note["flds"]),
        card["ord"],
        tags=anki.tags_from_text(note["tags"]),
        deck_name=str(home["name"]) if home else "",
        card_flag=card["flags"] & 7,
        card_id=card["id"],
    )
    return anki.sanitize_html(question), anki.sanitize_html(answer)


# Search
# ---------------------------------------------------------------------------


class SearchResults:
    """Rows matching a search, counted and fetched a page at a time (what Django's
    Paginator asks of a list: `count()` and slicing)."""

    def __init__(
        self,
        *,
        select: str,
        where: str,
        params: list[object],
        order: str,
        build: Callable[[Iterable[Any]], list[JsonDict]],
    ) -> None:
        self._from = f"FROM cards c JOIN notes n ON n.id = c.nid WHERE {where}"
        self._select, self._params, self._order, self._build = select, params, order, build

    def count(self) -> int:
        sql = f"SELECT COUNT(*) FROM (SELECT {self._select} {self._from})"
        return int(cursor().execute(sql, self._params).fetchone()[0])

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, window: slice) -> list[JsonDict]:
        start = window.start or 0
        limit = -1 if window.stop is None else max(0, window.stop - start)
        sql = f"SELECT {self._select} {self._from} ORDER BY {self._order} LIMIT %s OFFSET %s"
        return self._build(cursor().execute(sql, [*self._params, limit, start]).fetchall())


def search_context(state: CollectionState, timing: Timing) -> search.SearchContext:
    return search.SearchContext(
        deck_ids=lambda pattern: deck_ids_matching(state, pattern),
        notetype_ids=lambda pattern: [
            int(nt["id"])
            for nt in state.notetypes.values()
            if search.name_matches(str(nt.get("name", "")), pattern)
        ],
        today=timing.days_elapsed,
        day_ends_at=timing.next_day_at,
    )


def _where(state: CollectionState, timing: Timing, q: str) -> tuple[str, list[object]]:
    try:
        terms = search.parse(q)
    except search.SearchError as error:
        raise InvalidInput("The search is not valid.", details={"q": [str(error)]}) from None
    return search.where_sql(terms, search_context(state, timing))


def cards_search(
    state: CollectionState, timing: Timing, *, q: str = "", deck_id: int | None = None
) -> SearchResults:
    """Cards matching `q` (and in deck `deck_id` or its subdecks), by note then card."""
    where, params = _where(state, timing, q)
    if deck_id is not None:
        ids = ", ".join(map(str, deck_ids_with_children(state, deck_require(state, deck_id))))
        where = f"({where}) AND (c.did IN ({ids}) OR c.odid IN ({ids}))"
    select = (
        ", ".join(f"c.{column}" for column in CARD_COLUMNS)
        + ", "
        + ", ".join(f"n.{column}" for column in NOTE_COLUMNS)
    )

    def build(rows: Iterable[Any]) -> list[JsonDict]:
        views = []
        for row in rows:
            card = dict(zip(CARD_COLUMNS, row[: len(CARD_COLUMNS)], strict=True))
            note = dict(zip(NOTE_COLUMNS, row[len(CARD_COLUMNS) :], strict=True))
            views.append(card_view(state, card, note, with_css=False))
        return views

    return SearchResults(
        select=select, where=where, params=params, order="c.nid, c.ord, c.id", build=build
    )


def notes_search(state: CollectionState, timing: Timing, *, q: str = "") -> SearchResults:
    """Notes with at least one card matching `q`, oldest first."""
    where, params = _where(state, timing, q)
    return SearchResults(
        select="DISTINCT n.id",
        where=where,
        params=params,
        order="n.id",
        build=lambda rows: [note_detail(state, note_id) for (note_id,) in rows],
    )


# Tags
# ---------------------------------------------------------------------------


def tags_list(state: CollectionState) -> list[JsonDict]:
    """Every tag in use or registered, with how many notes carry it, sorted ignoring case."""
    counts: dict[str, int] = {}
    spelling: dict[str, str] = {}
    for (tags,) in cursor().execute("SELECT tags FROM notes WHERE tags != ''"):
        for tag in anki.tags_from_text(tags):
            key = tag.casefold()
            spelling.setdefault(key, tag)
            counts[key] = counts.get(key, 0) + 1
    for tag in state.tags:
        spelling.setdefault(tag.casefold(), tag)
    return [{"name": spelling[key], "note_count": counts.get(key, 0)} for key in sorted(spelling)]
