"""Writes to the learner's collection: decks, deck options presets, notes, tags and cards,
made the way Anki makes them so that Anki opens, checks and syncs the result unchanged.

Every service works inside the request's transaction on `userdb` (the storage engine
commits it through the journal on a 2xx answer, and rolls everything back otherwise),
so a service may raise `InvalidInput`/`NotFound`/`Conflict` at any point and nothing
it did stays. What Anki records on every change is kept here: the changed object's
`mod` (epoch seconds) and `usn = -1` ("not yet synced"), `col.mod` (epoch ms) bumped,
deletions as `graves` rows (0 card, 1 note, 2 deck). `col.usn` itself is the last
synced server usn, which Anki never sets to -1, so it is left alone.
"""

from __future__ import annotations

import copy
import json
import time
import unicodedata
import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from decks import anki
from decks.models import Collection
from decks.selectors import (
    DEFAULT_DECK_ID,
    DEFAULT_PRESET_ID,
    CollectionState,
    JsonDict,
    card_require,
    cards_of_note,
    collection_load,
    cursor,
    deck_children,
    deck_ids_with_children,
    deck_is_filtered,
    deck_require,
    note_require,
    notetype_field_names,
    preset_of_deck,
    preset_require,
)
from decks.templates import RUST_WHITESPACE
from javumbo import learners
from javumbo.errors import Conflict, InvalidInput, NotFound
from review.scheduler import DeckOptions

# Limits (docs/collections.md lists them)
FIELD_MAX_BYTES = 100_000
NOTE_MAX_BYTES = 500_000
TAGS_PER_NOTE_MAX = 100
TAG_MAX_CHARS = 100
DECK_NAME_MAX_CHARS = 200
DECK_NAME_MAX_PARTS = 20
DECK_DESCRIPTION_MAX_CHARS = 10_000
PRESET_NAME_MAX_CHARS = 100

# The learner's IANA timezone, kept in col.conf beside Anki's own keys (Anki ignores
# and preserves keys it does not know) so that "today" needs no users-table read.
TIMEZONE_KEY = "javumboTimezone"

GRAVE_CARD, GRAVE_NOTE, GRAVE_DECK = 0, 1, 2
TYPE_NEW, TYPE_LEARN, TYPE_REVIEW, TYPE_RELEARN = 0, 1, 2, 3
QUEUE_SUSPENDED, QUEUE_SIBLING_BURIED, QUEUE_MANUALLY_BURIED = -1, -2, -3
QUEUE_NEW, QUEUE_LEARN, QUEUE_REVIEW, QUEUE_DAY_LEARN = 0, 1, 2, 3
REVLOG_MANUAL = 4
_EPOCH_SECONDS_FROM = 1_000_000_000  # Anki: a `due` above this is a timestamp, not a day
_FSRS_CARD_DATA = ("s", "d", "dr", "decay")


class DeckExists(Conflict):
    default_code = "deck_exists"
    default_detail = "A deck with that name exists already."


class DefaultDeckProtected(InvalidInput):
    default_code = "default_deck"
    default_detail = "The Default deck cannot be deleted."


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, details={field: [message]})


# Saving the col row: the one place its JSON is written back
# ---------------------------------------------------------------------------


def collection_save(
    state: CollectionState,
    *,
    conf: bool = False,
    decks: bool = False,
    notetypes: bool = False,
    dconf: bool = False,
    tags: bool = False,
    schema_changed: bool = False,
    touch: bool = True,
) -> None:
    """Write back the parts of `col` that changed (only those: the journal records only
    changed columns) and, unless `touch` is false, bump `col.mod`."""
    now = _now_ms()
    parts = {"conf": conf, "decks": decks, "notetypes": notetypes, "dconf": dconf, "tags": tags}
    changes: dict[str, Any] = {"mod": now} if touch else {}
    for name, changed in parts.items():
        if changed:
            changes[name] = _compact_json(getattr(state, name))
    if schema_changed:
        changes["scm"] = now  # Anki then asks for a full sync, as it does itself
    Collection.objects.update(**changes)


def collection_touch() -> None:
    """Record that the collection changed (notes or cards only)."""
    Collection.objects.update(mod=_now_ms())


# The learner's timezone
# ---------------------------------------------------------------------------


def learner_timezone(*, username: str, state: CollectionState | None = None) -> str:
    """The learner's IANA timezone: from the collection, else from the users table (then
    kept in the collection), else the fixed offset Anki's own config records."""
    state = state or collection_load()
    stored = state.conf.get(TIMEZONE_KEY)
    if isinstance(stored, str) and _is_timezone(stored):
        return stored
    learner = learners.learner_get(username)
    if learner is None or not _is_timezone(learner.timezone):
        return _timezone_from_offset(state.conf)
    state.conf[TIMEZONE_KEY] = learner.timezone
    # a copy of the learner's setting, not a change Anki should sync: col.mod stays
    collection_save(state, conf=True, touch=False)
    return learner.timezone


def collection_timezone_set(*, timezone: str) -> None:
    """Keep the collection's copy of the learner's timezone in step (call it when the
    learner changes their timezone)."""
    if not _is_timezone(timezone):
        raise _invalid("timezone", f"{timezone!r} is not an IANA time zone name.")
    state = collection_load()
    if state.conf.get(TIMEZONE_KEY) != timezone:
        state.conf[TIMEZONE_KEY] = timezone
        collection_save(state, conf=True)


def _is_timezone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        return False
    return True


def _timezone_from_offset(conf: Mapping[str, Any]) -> str:
    # Etc/GMT+N is N hours *west* of UTC, the sign Anki's localOffset uses
    offset = conf.get("localOffset", conf.get("creationOffset", 0))
    if not isinstance(offset, int) or offset % 60 or abs(offset) > 12 * 60:
        return "UTC"
    hours = offset // 60
    return "UTC" if hours == 0 else f"Etc/GMT{hours:+d}"


# Rows: ids, graves, removal
# ---------------------------------------------------------------------------


def _row_id(table: str, *, after: int = 0) -> int:
    """A new epoch-ms id for `table` (notes, cards or revlog), later than `after`."""
    query = f"SELECT 1 FROM {table} WHERE id = %s"  # table is ours, never input
    rows = cursor()
    return anki.new_id(
        lambda candidate: rows.execute(query, [candidate]).fetchone() is not None,
        now_ms=max(_now_ms(), after + 1),
    )


def _graves_add(oids: Iterable[int], kind: int) -> None:
    rows = cursor()
    for oid in oids:
        rows.execute("INSERT INTO graves (usn, oid, type) VALUES (-1, %s, %s)", [oid, kind])


def _cards_remove(card_ids: list[int]) -> int:
    """Delete cards (with graves), then every note left without a card (with graves);
    returns how many notes went. Review history stays, as in Anki."""
    if not card_ids:
        return 0
    rows = cursor()
    note_ids: set[int] = set()
    removed: list[int] = []
    for card_id in card_ids:
        found = rows.execute("SELECT nid FROM cards WHERE id = %s", [card_id]).fetchone()
        if found is not None:
            note_ids.add(found[0])
            removed.append(card_id)
            rows.execute("DELETE FROM cards WHERE id = %s", [card_id])
    _graves_add(removed, GRAVE_CARD)
    orphans = [
        nid
        for nid in sorted(note_ids)
        if rows.execute("SELECT 1 FROM cards WHERE nid = %s", [nid]).fetchone() is None
    ]
    for nid in orphans:
        rows.execute("DELETE FROM notes WHERE id = %s", [nid])
    _graves_add(orphans, GRAVE_NOTE)
    return len(orphans)


# Decks
# ---------------------------------------------------------------------------


def deck_name_normalize(name: str) -> str:
    """A deck name as Anki stores it (each `::` part NFC, without control characters or
    double quotes, trimmed), held to our rules: no empty part, limited length and depth."""
    parts = [_deck_name_part(part) for part in name.split("::")]
    if not any(parts):
        raise _invalid("name", "Give the deck a name.")
    if not all(parts):
        raise _invalid("name", "A deck name cannot have an empty part (nothing around '::').")
    if len(parts) > DECK_NAME_MAX_PARTS:
        raise _invalid("name", f"Decks nest at most {DECK_NAME_MAX_PARTS} levels deep.")
    normalized = "::".join(parts)
    if len(normalized) > DECK_NAME_MAX_CHARS:
        raise _invalid("name", f"Use at most {DECK_NAME_MAX_CHARS} characters.")
    return normalized


def _deck_name_part(part: str) -> str:
    nfc = unicodedata.normalize("NFC", part)
    kept = "".join(c for c in nfc if c != '"' and not (ord(c) < 32 or c == "\x7f"))
    return kept.strip(RUST_WHITESPACE)


def _deck_named(state: CollectionState, name: str) -> JsonDict | None:
    wanted = name.casefold()
    return next((d for d in state.decks.values() if str(d["name"]).casefold() == wanted), None)


def _deck_add(state: CollectionState, name: str) -> JsonDict:
    # Default carries any key a newer Anki wrote; a new deck's own values win.
    deck = copy.deepcopy(state.deck(DEFAULT_DECK_ID) or {})
    deck_id = anki.new_id(lambda candidate: str(candidate) in state.decks)
    deck.update(anki.deck_new(id=deck_id, name=name, mod=_now_ms() // 1000))
    state.decks[str(deck_id)] = deck
    return deck


def _deck_modified(deck: JsonDict) -> None:
    deck.update(mod=_now_ms() // 1000, usn=-1)


def _with_parents(state: CollectionState, name: str) -> str:
    """The name with existing parents' spelling, creating the missing parents (as Anki)."""
    parts = name.split("::")
    for depth in range(1, len(parts)):
        prefix = "::".join(parts[:depth])
        parent = _deck_named(state, prefix)
        if parent is None:
            parent = _deck_add(state, prefix)
        elif deck_is_filtered(parent):
            message = f"{parent['name']!r} is a filtered deck: it cannot have subdecks."
            raise _invalid("name", message)
        parts[:depth] = str(parent["name"]).split("::")
    return "::".join(parts)


def deck_create(*, name: str) -> int:
    """A new, empty normal deck (its missing parents too); returns its id."""
    state = collection_load()
    normalized = deck_name_normalize(name)
    if _deck_named(state, normalized) is not None:
        raise DeckExists(details={"name": [DeckExists.default_detail]})
    deck = _deck_add(state, _with_parents(state, normalized))
    collection_save(state, decks=True)
    return int(deck["id"])


def deck_rename(*, deck_id: int, name: str) -> None:
    """Rename a deck; its subdecks follow, missing parents are created."""
    deck_update(deck_id=deck_id, name=name)


def deck_update(*, deck_id: int, name: str | None = None, description: str | None = None) -> None:
    state = collection_load()
    deck = deck_require(state, deck_id)
    changed = False
    if name is not None:
        changed |= _deck_renamed(state, deck, deck_name_normalize(name))
    if description is not None and description != deck.get("desc", ""):
        if len(description) > DECK_DESCRIPTION_MAX_CHARS:
            raise _invalid("description", f"Use at most {DECK_DESCRIPTION_MAX_CHARS} characters.")
        deck["desc"] = description
        _deck_modified(deck)
        changed = True
    if changed:
        collection_save(state, decks=True)


def _deck_renamed(state: CollectionState, deck: JsonDict, new_name: str) -> bool:
    old_name = str(deck["name"])
    if new_name == old_name:
        return False
    if new_name.casefold().startswith(old_name.casefold() + "::"):
        raise _invalid("name", "A deck cannot be moved inside itself.")
    other = _deck_named(state, new_name)
    if other is not None and other["id"] != deck["id"]:
        raise DeckExists(details={"name": [DeckExists.default_detail]})
    children = deck_children(state, deck)
    new_name = _with_parents(state, new_name)
    for child in children:
        child["name"] = new_name + str(child["name"])[len(old_name) :]
        _deck_modified(child)
    deck["name"] = new_name
    _deck_modified(deck)
    return True


def deck_delete(*, deck_id: int) -> None:
    """Delete a deck and its subdecks with all their cards (and notes left without cards);
    a filtered deck's cards go back home instead, as in Anki."""
    if deck_id == DEFAULT_DECK_ID:
        raise DefaultDeckProtected()
    state = collection_load()
    deck = deck_require(state, deck_id)
    doomed = [deck, *deck_children(state, deck)]
    normal_ids = [int(d["id"]) for d in doomed if not deck_is_filtered(d)]
    for filtered in (d for d in doomed if deck_is_filtered(d)):
        _filtered_deck_empty(int(filtered["id"]))
    _cards_remove(_cards_in_decks(normal_ids))
    for gone in doomed:
        del state.decks[str(gone["id"])]
        _deck_config_forget(state, int(gone["id"]))
    _graves_add((int(d["id"]) for d in doomed), GRAVE_DECK)
    collection_save(state, decks=True, conf=True)


def _cards_in_decks(deck_ids: list[int]) -> list[int]:
    if not deck_ids:
        return []
    ids = ", ".join(str(int(i)) for i in deck_ids)
    rows = cursor().execute(
        f"SELECT id FROM cards WHERE did IN ({ids}) OR odid IN ({ids}) ORDER BY id"
    )
    return [card_id for (card_id,) in rows]


def _deck_config_forget(state: CollectionState, deck_id: int) -> None:
    # Anki drops a removed deck's per-deck config keys and moves "current" to Default
    for key in [k for k in state.conf if k.startswith(f"_deck_{deck_id}_")]:
        del state.conf[key]
    if state.conf.get("curDeck") == deck_id:
        state.conf["curDeck"] = DEFAULT_DECK_ID
        state.conf["activeDecks"] = [DEFAULT_DECK_ID]


def _filtered_deck_empty(deck_id: int) -> None:
    found = cursor().execute("SELECT id FROM cards WHERE did = %s", [deck_id]).fetchall()
    for (card_id,) in found:
        card = card_require(card_id)
        _leave_filtered_deck(card)
        _card_save(card)


def _queue_for(card_type: int, due: int) -> int:
    """The queue a card of this type belongs in when it is neither suspended nor buried."""
    if card_type in (TYPE_LEARN, TYPE_RELEARN):
        return QUEUE_LEARN if due > _EPOCH_SECONDS_FROM else QUEUE_DAY_LEARN
    return QUEUE_REVIEW if card_type == TYPE_REVIEW else QUEUE_NEW


def deck_set_current(*, deck_id: int) -> None:
    """Make a deck the current one (where new cards go and study starts)."""
    state = collection_load()
    deck = state.deck(deck_id)
    if deck is None:
        raise _invalid("deck_id", f"There is no deck {deck_id}.")
    state.conf["curDeck"] = deck_id
    state.conf["activeDecks"] = deck_ids_with_children(state, deck)
    collection_save(state, conf=True)


# Deck options presets
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class OptionRule:
    """Where an option lives in the preset JSON, and what values Anki accepts for it."""

    path: tuple[str, ...]
    kind: str  # "int", "float", "bool", "steps" or "leech_action"
    low: float = 0
    high: float = 0


STEP_MAX_MINUTES = 365 * 24 * 60
STEPS_MAX = 20
# Ranges are the ones Anki enforces (review.scheduler.DeckOptions.from_legacy_config)
PRESET_OPTIONS: dict[str, OptionRule] = {
    "new_per_day": OptionRule(("new", "perDay"), "int", 0, 9999),
    "reviews_per_day": OptionRule(("rev", "perDay"), "int", 0, 9999),
    "learning_steps": OptionRule(("new", "delays"), "steps"),
    "graduating_interval": OptionRule(("new", "ints", "0"), "int", 1, 36500),
    "easy_interval": OptionRule(("new", "ints", "1"), "int", 1, 36500),
    "starting_ease": OptionRule(("new", "initialFactor"), "float", 1.31, 5.0),
    "relearning_steps": OptionRule(("lapse", "delays"), "steps"),
    "lapse_multiplier": OptionRule(("lapse", "mult"), "float", 0.0, 1.0),
    "minimum_interval": OptionRule(("lapse", "minInt"), "int", 1, 36500),
    "leech_threshold": OptionRule(("lapse", "leechFails"), "int", 1, 9999),
    "leech_action": OptionRule(("lapse", "leechAction"), "leech_action"),
    "hard_multiplier": OptionRule(("rev", "hardFactor"), "float", 0.5, 1.3),
    "easy_bonus": OptionRule(("rev", "ease4"), "float", 1.0, 5.0),
    "interval_modifier": OptionRule(("rev", "ivlFct"), "float", 0.5, 2.0),
    "maximum_interval": OptionRule(("rev", "maxIvl"), "int", 1, 36500),
    "bury_new": OptionRule(("new", "bury"), "bool"),
    "bury_reviews": OptionRule(("rev", "bury"), "bool"),
    "bury_interday_learning": OptionRule(("buryInterdayLearning",), "bool"),
    "max_answer_seconds": OptionRule(("maxTaken",), "int", 1, 9999),
}
LEECH_ACTIONS = {"suspend": 0, "tagOnly": 1}


def _option_value(name: str, rule: OptionRule, value: object) -> object:
    """The JSON value for an option, or InvalidInput naming the option."""
    if rule.kind == "bool":
        if not isinstance(value, bool):
            raise _invalid(name, "Use true or false.")
        return value
    if rule.kind == "leech_action":
        if value not in LEECH_ACTIONS:
            raise _invalid(name, f"Use one of {', '.join(LEECH_ACTIONS)}.")
        return LEECH_ACTIONS[str(value)]
    if rule.kind == "steps":
        return _steps_value(name, value)
    return _number_value(name, rule, value)


def _number_value(name: str, rule: OptionRule, value: object) -> object:
    whole = rule.kind == "int"
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (whole and not float(value).is_integer())
    ):
        raise _invalid(name, "Use a whole number." if whole else "Use a number.")
    if not rule.low <= value <= rule.high:
        raise _invalid(name, f"Use a value from {rule.low:g} to {rule.high:g}.")
    if name == "starting_ease":
        return round(float(value) * 1000)  # Anki stores the ease in thousandths
    return int(value) if whole else float(value)


def _steps_value(name: str, value: object) -> list[float]:
    if not isinstance(value, list) or len(value) > STEPS_MAX:
        raise _invalid(name, f"Use a list of at most {STEPS_MAX} steps, in minutes.")
    steps = []
    for step in value:
        if isinstance(step, bool) or not isinstance(step, int | float):
            raise _invalid(name, "Each step is a number of minutes.")
        if not 0 < step <= STEP_MAX_MINUTES:
            raise _invalid(name, f"Each step is over 0 and at most {STEP_MAX_MINUTES} minutes.")
        steps.append(float(step))
    return steps


def _options_apply(preset: JsonDict, options: Mapping[str, object]) -> bool:
    """Set the given options on a preset; True if anything changed."""
    unknown = sorted(set(options) - set(PRESET_OPTIONS))
    if unknown:
        details = {name: ["Unknown option."] for name in unknown}
        raise InvalidInput("Unknown options.", details=details)
    before = copy.deepcopy(preset)
    for name, value in options.items():
        rule = PRESET_OPTIONS[name]
        _json_set(preset, rule.path, _option_value(name, rule, value))
    if preset == before:
        return False
    preset.update(mod=_now_ms() // 1000, usn=-1)
    return True


def _json_set(target: JsonDict, path: tuple[str, ...], value: object) -> None:
    *parents, last = path
    node: Any = target
    for key in parents:
        node = node.setdefault(key, [] if key == "ints" else {})
    if isinstance(node, list):
        index = int(last)
        defaults = [DeckOptions().graduating_interval, DeckOptions().easy_interval, 0]
        while len(node) <= index:
            node.append(defaults[len(node)])
        node[index] = value
    else:
        node[last] = value


def _preset_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned:
        raise _invalid("name", "Give the preset a name.")
    if len(cleaned) > PRESET_NAME_MAX_CHARS:
        raise _invalid("name", f"Use at most {PRESET_NAME_MAX_CHARS} characters.")
    return cleaned


def deck_options_put(
    *, deck_id: int, preset_id: int | None = None, options: Mapping[str, object] | None = None
) -> int:
    """Switch a deck to another preset, and/or change the options of the preset it uses
    (every deck sharing that preset sees the change, as in Anki); returns the preset id."""
    state = collection_load()
    preset = preset_of_deck(state, deck_id)
    deck = deck_require(state, deck_id)
    decks_changed = False
    if preset_id is not None and preset_id != deck.get("conf"):
        preset = _preset_named_in_input(state, preset_id, field="preset_id")
        deck["conf"] = preset_id
        _deck_modified(deck)
        decks_changed = True
    dconf_changed = _options_apply(preset, options or {})
    if decks_changed or dconf_changed:
        collection_save(state, decks=decks_changed, dconf=dconf_changed)
    return int(preset["id"])


def _preset_named_in_input(state: CollectionState, preset_id: int, *, field: str) -> JsonDict:
    preset = state.preset(preset_id)
    if preset is None:
        raise _invalid(field, f"There are no deck options {preset_id}.")
    return preset


def preset_create(
    *, name: str, clone_from: int | None = None, options: Mapping[str, object] | None = None
) -> int:
    """A new preset with Anki's default options (or a copy of another preset's)."""
    state = collection_load()
    preset_id = anki.new_id(lambda candidate: str(candidate) in state.dconf)
    now = _now_ms() // 1000
    if clone_from is None:
        preset = anki.deck_config_new(id=preset_id, name=_preset_name(name), now=now)
    else:
        preset = copy.deepcopy(_preset_named_in_input(state, clone_from, field="clone_from"))
        preset.update(id=preset_id, name=_preset_name(name), mod=now, usn=-1)
    _options_apply(preset, options or {})
    state.dconf[str(preset_id)] = preset
    collection_save(state, dconf=True)
    return preset_id


def preset_update(
    *, preset_id: int, name: str | None = None, options: Mapping[str, object] | None = None
) -> None:
    state = collection_load()
    preset = preset_require(state, preset_id)
    changed = _options_apply(preset, options or {})
    if name is not None and _preset_name(name) != preset.get("name"):
        preset.update(name=_preset_name(name), mod=_now_ms() // 1000, usn=-1)
        changed = True
    if changed:
        collection_save(state, dconf=True)


def preset_delete(*, preset_id: int) -> None:
    """Remove a preset; decks that used it go back to the default preset. Like Anki, this
    marks the schema changed (the next sync is a full one)."""
    if preset_id == DEFAULT_PRESET_ID:
        raise _invalid("preset_id", "The default preset cannot be deleted.")
    state = collection_load()
    preset_require(state, preset_id)
    del state.dconf[str(preset_id)]
    for deck in state.decks.values():
        if not deck_is_filtered(deck) and deck.get("conf") == preset_id:
            deck["conf"] = DEFAULT_PRESET_ID
            _deck_modified(deck)
    collection_save(state, decks=True, dconf=True, schema_changed=True)


# Tags
# ---------------------------------------------------------------------------


def tag_normalize(tag: str, *, field: str = "tags") -> str:
    """One tag as Anki stores it, held to our rules (no spaces, not blank, not too long)."""
    if not tag.strip(RUST_WHITESPACE):
        raise _invalid(field, "A tag cannot be blank.")
    if any(char in tag.strip(RUST_WHITESPACE) for char in " \u3000\t\n"):
        raise _invalid(field, f"A tag cannot contain spaces: {tag!r}.")
    normalized = anki.tags_to_text([tag]).strip(" ")
    if len(normalized) > TAG_MAX_CHARS:
        raise _invalid(field, f"A tag has at most {TAG_MAX_CHARS} characters.")
    return normalized


def _tag_canonical(state: CollectionState, tag: str) -> str:
    """Anki's spelling rule: a registered tag keeps its registered case; otherwise the
    nearest registered parent's case is used for that part of the name."""
    registered = {name.casefold(): name for name in state.tags}
    if tag.casefold() in registered:
        return registered[tag.casefold()]
    parts = tag.split("::")
    for depth in range(len(parts) - 1, 0, -1):
        parent = registered.get("::".join(parts[:depth]).casefold())
        if parent is not None:
            return "::".join([parent, *parts[depth:]])
    return tag


def _tags_register(state: CollectionState, tags: Iterable[str]) -> bool:
    registered = {name.casefold() for name in state.tags}
    added = False
    for tag in tags:
        if tag.casefold() not in registered:
            state.tags[tag] = -1
            registered.add(tag.casefold())
            added = True
    return added


def _note_tags(state: CollectionState, tags: Iterable[str]) -> str:
    """`notes.tags` for the given tags, spelled as registered; registers new ones."""
    wanted = list(tags)
    if len(wanted) > TAGS_PER_NOTE_MAX:
        raise _invalid("tags", f"A note has at most {TAGS_PER_NOTE_MAX} tags.")
    canonical = [_tag_canonical(state, tag_normalize(tag)) for tag in wanted]
    text = anki.tags_to_text(canonical)
    if len(anki.tags_from_text(text)) > TAGS_PER_NOTE_MAX:
        raise _invalid("tags", f"A note has at most {TAGS_PER_NOTE_MAX} tags.")
    _tags_register(state, anki.tags_from_text(text))
    return text


def _tag_is_under(tag: str, prefix: str) -> bool:
    folded, wanted = tag.casefold(), prefix.casefold()
    return folded == wanted or folded.startswith(wanted + "::")


def tag_rename(*, old: str, new: str) -> int:
    """Rename a tag and its `::` children on every note; returns how many notes changed."""
    old_name = tag_normalize(old, field="old")
    state = collection_load()
    new_name = _tag_canonical(state, tag_normalize(new, field="new"))
    rows = cursor()
    found = rows.execute("SELECT id, tags FROM notes WHERE tags != ''").fetchall()
    matched = 0
    renamed: list[str] = []
    for note_id, text in found:
        tags = anki.tags_from_text(text)
        if not any(_tag_is_under(tag, old_name) for tag in tags):
            continue
        matched += 1
        moved = [new_name + tag[len(old_name) :] for tag in tags if _tag_is_under(tag, old_name)]
        renamed += moved
        new_text = anki.tags_to_text([t for t in tags if not _tag_is_under(t, old_name)] + moved)
        if new_text != text:
            rows.execute(
                "UPDATE notes SET tags = %s, mod = %s, usn = -1 WHERE id = %s",
                [new_text, _now_ms() // 1000, note_id],
            )
    if not matched:
        raise NotFound(f"No note has the tag {old_name!r}.")
    for tag in [t for t in state.tags if _tag_is_under(t, old_name)]:
        del state.tags[tag]
    _tags_register(state, renamed)
    collection_save(state, tags=True)
    return matched


# Notes
# ---------------------------------------------------------------------------


def _notetype_resolve(state: CollectionState, notetype: int | str) -> JsonDict:
    if isinstance(notetype, int):
        found = state.notetype(notetype)
    else:
        found = next((nt for nt in state.notetypes.values() if nt.get("name") == notetype), None)
    if found is None:
        raise _invalid("notetype_id", f"There is no note type {notetype!r}.")
    return found


def _field_values(
    notetype: JsonDict, fields: list[str] | Mapping[str, str], current: list[str] | None = None
) -> list[str]:
    """The note's field values in order: a list gives all of them, a mapping some by name
    (the others keep `current`, or are empty)."""
    names = notetype_field_names(notetype)
    if isinstance(fields, list):
        if len(fields) != len(names):
            raise _invalid(
                "fields", f"This note type has {len(names)} fields ({', '.join(names)})."
            )
        values = list(fields)
    else:
        unknown = [name for name in fields if name not in names]
        if unknown:
            raise InvalidInput(
                "Unknown fields.",
                details={"fields": {n: [f"Not a field of {notetype['name']}."] for n in unknown}},
            )
        values = list(current or [])[: len(names)]
        values += [""] * (len(names) - len(values))
        for index, name in enumerate(names):
            values[index] = fields.get(name, values[index])
    return [anki.field_normalize(value) for value in values]


def _fields_check(notetype: JsonDict, values: list[str]) -> None:
    names = notetype_field_names(notetype)
    too_big = {
        name: [f"Use at most {FIELD_MAX_BYTES} bytes."]
        for name, value in zip(names, values, strict=False)
        if len(value.encode()) > FIELD_MAX_BYTES
    }
    if too_big:
        raise InvalidInput("A field is too large.", details={"fields": too_big})
    if len(anki.join_fields(values).encode()) > NOTE_MAX_BYTES:
        raise _invalid("fields", f"A note's fields hold at most {NOTE_MAX_BYTES} bytes in all.")
    if not anki.strip_html_preserving_media_filenames(values[0]).strip(RUST_WHITESPACE):
        raise InvalidInput(
            "The first field is empty.", details={"fields": {names[0]: ["This field is empty."]}}
        )
    if notetype.get("type") == 1 and not anki.cloze_numbers(values):
        raise _invalid("fields", "A cloze note needs at least one cloze, like {{c1::text}}.")


def _next_position(state: CollectionState) -> int:
    position = state.conf.get("nextPos", 1)
    position = position if isinstance(position, int) else 1
    state.conf["nextPos"] = position + 1
    return position


def _normal_deck_or_none(state: CollectionState, deck_id: object) -> int | None:
    deck = state.deck(deck_id) if isinstance(deck_id, int) else None
    return None if deck is None or deck_is_filtered(deck) else int(deck["id"])


def _deck_for_new_cards(state: CollectionState, deck_id: int | None) -> int:
    chosen = state.current_deck_id() if deck_id is None else deck_id
    deck = state.deck(chosen)
    if deck is None:
        raise _invalid("deck_id", f"There is no deck {chosen}.")
    if deck_is_filtered(deck):
        raise _invalid("deck_id", "Cards cannot be added to a filtered deck.")
    return chosen


def note_create(
    *,
    notetype: int | str,
    fields: list[str] | Mapping[str, str],
    tags: Iterable[str] = (),
    deck_id: int | None = None,
) -> int:
    """Add a note (by note type id or name) and the cards Anki would generate for it, in
    `deck_id` or the current deck; returns the note id."""
    state = collection_load()
    model = _notetype_resolve(state, notetype)
    values = _field_values(model, fields)
    _fields_check(model, values)
    tags_text = _note_tags(state, tags)
    target = _deck_for_new_cards(state, deck_id)
    note_id = _row_id("notes")
    _note_insert(note_id, model, values, tags_text)
    ords = anki.card_ordinals(model, values, tags=anki.tags_from_text(tags_text))
    _cards_add(state, model, note_id, ords, deck_id=target, position=_next_position(state))
    state.conf.update(
        {
            "curModel": model["id"],
            f"_nt_{model['id']}_lastDeck": target,
            f"_deck_{target}_lastNotetype": model["id"],
        }
    )
    collection_save(state, conf=True, tags=True)
    return note_id


def _note_insert(note_id: int, notetype: JsonDict, values: list[str], tags_text: str) -> None:
    cursor().execute(
        "INSERT INTO notes (id, guid, mid, mod, usn, tags, flds, sfld, csum, flags, data)"
        " VALUES (%s, %s, %s, %s, -1, %s, %s, %s, %s, 0, '')",
        [
            note_id,
            anki.guid_new(),
            notetype["id"],
            _now_ms() // 1000,
            tags_text,
            anki.join_fields(values),
            anki.sort_field(values, int(notetype.get("sortf", 0))),
            anki.field_checksum(values[0]),
        ],
    )


def _cards_add(
    state: CollectionState,
    notetype: JsonDict,
    note_id: int,
    ords: list[int],
    *,
    deck_id: int,
    position: int,
) -> list[int]:
    """New cards for a note: a standard template may send its card to its own deck."""
    card_ids: list[int] = []
    templates = notetype.get("tmpls", [])
    for ord in ords:
        override = None
        if notetype.get("type") != 1 and ord < len(templates):
            override = _normal_deck_or_none(state, templates[ord].get("did"))
        card_id = _row_id("cards", after=card_ids[-1] if card_ids else 0)
        cursor().execute(
            "INSERT INTO cards (id, nid, did, ord, mod, usn, type, queue, due, ivl, factor,"
            " reps, lapses, left, odue, odid, flags, data)"
            " VALUES (%s, %s, %s, %s, %s, -1, 0, 0, %s, 0, 0, 0, 0, 0, 0, 0, 0, '{}')",
            [card_id, note_id, override or deck_id, ord, _now_ms() // 1000, position],
        )
        card_ids.append(card_id)
    return card_ids


def note_update(
    *,
    note_id: int,
    fields: list[str] | Mapping[str, str] | None = None,
    tags: Iterable[str] | None = None,
) -> None:
    """Change a note's fields and/or tags. New templates or cloze numbers get new cards;
    cards of cloze numbers no longer in the text are deleted (Anki would leave them
    empty until its Empty Cards tool runs)."""
    state = collection_load()
    note = note_require(note_id)
    model = state.notetype(note["mid"])
    if model is None:
        raise _invalid("note_id", "This note's note type is missing; run Check Database in Anki.")
    old_values = anki.split_fields(note["flds"])
    values = old_values if fields is None else _field_values(model, fields, old_values)
    _fields_check(model, values)
    tags_text = note["tags"] if tags is None else _note_tags(state, tags)
    if values == old_values and tags_text == note["tags"]:
        return
    cursor().execute(
        "UPDATE notes SET flds = %s, sfld = %s, csum = %s, tags = %s, mod = %s, usn = -1"
        " WHERE id = %s",
        [
            anki.join_fields(values),
            anki.sort_field(values, int(model.get("sortf", 0))),
            anki.field_checksum(values[0]),
            tags_text,
            _now_ms() // 1000,
            note_id,
        ],
    )
    _cards_regenerate(state, model, note_id, values, anki.tags_from_text(tags_text))
    collection_save(state, conf=True, tags=True)


def _cards_regenerate(
    state: CollectionState, model: JsonDict, note_id: int, values: list[str], tags: list[str]
) -> None:
    existing = cards_of_note(note_id)
    wanted = anki.card_ordinals(model, values, tags=tags, ensure_card=False)
    if model.get("type") == 1:
        stale = [card["id"] for card in existing if card["ord"] not in wanted]
        _cards_remove(stale)
        existing = [card for card in existing if card["ord"] in wanted]
    have = {card["ord"] for card in existing}
    missing = [ord for ord in wanted if ord not in have]
    if missing:
        deck_id, position = _placement_for_more_cards(state, model, existing)
        _cards_add(state, model, note_id, missing, deck_id=deck_id, position=position)


def _placement_for_more_cards(
    state: CollectionState, model: JsonDict, existing: list[JsonDict]
) -> tuple[int, int]:
    """Where Anki puts cards added to an existing note: the deck all its cards share (else
    the note type's last deck, else Default), at a new sibling's queue position (else the
    next one)."""
    homes = {card["odid"] or card["did"] for card in existing}
    deck_id = _normal_deck_or_none(state, homes.pop()) if len(homes) == 1 else None
    deck_id = deck_id or _normal_deck_or_none(state, state.conf.get(f"_nt_{model['id']}_lastDeck"))
    new_sibling = next((c for c in existing if c["type"] == TYPE_NEW), None)
    if new_sibling is not None:
        position = int(new_sibling["odue"] if new_sibling["odid"] else new_sibling["due"])
    else:
        position = _next_position(state)
    return deck_id or DEFAULT_DECK_ID, position


def note_delete(*, note_id: int) -> None:
    """Delete a note and its cards (recorded in graves)."""
    note_require(note_id)
    _cards_remove([card["id"] for card in cards_of_note(note_id)])
    rows = cursor()
    if rows.execute("SELECT 1 FROM notes WHERE id = %s", [note_id]).fetchone() is not None:
        rows.execute("DELETE FROM notes WHERE id = %s", [note_id])  # a note without cards
        _graves_add([note_id], GRAVE_NOTE)
    collection_touch()


# Cards
# ---------------------------------------------------------------------------


_CARD_SAVED_COLUMNS = (
    *("did", "type", "queue", "due", "ivl", "factor", "reps"),
    *("lapses", "left", "odue", "odid", "flags", "data"),
)


def _card_save(card: JsonDict, *, touch_mod: bool = True) -> None:
    """Write a changed card back, marked for sync (the caller bumps `col.mod`)."""
    columns = _CARD_SAVED_COLUMNS
    if touch_mod:
        card["mod"] = _now_ms() // 1000
    assignments = ", ".join(f"{column} = %s" for column in (*columns, "mod"))
    cursor().execute(
        f"UPDATE cards SET {assignments}, usn = -1 WHERE id = %s",
        [*(card[column] for column in columns), card["mod"], card["id"]],
    )


def _card_changed(card: JsonDict, *, touch_mod: bool = True) -> None:
    _card_save(card, touch_mod=touch_mod)
    collection_touch()


def _restore_queue(card: JsonDict) -> None:
    card["queue"] = _queue_for(card["type"], card["due"])


def _card_data_without(card: JsonDict, keys: Iterable[str]) -> None:
    try:
        data = json.loads(card["data"]) if card["data"] else {}
    except ValueError:
        return
    if isinstance(data, dict) and any(key in data for key in keys):
        for key in keys:
            data.pop(key, None)
        card["data"] = _compact_json(data)


def _leave_filtered_deck(card: JsonDict) -> None:
    if not card["odid"]:
        return
    card["did"], card["odid"] = card["odid"], 0
    if card["odue"]:
        card["due"] = card["odue"]
    if card["queue"] >= 0:
        _restore_queue(card)
    card["odue"] = 0


def card_move(*, card_id: int, deck_id: int) -> None:
    """Move a card to another normal deck (out of a filtered deck too), adjusting the steps
    a learning card has left to the new deck's preset, as Anki does."""
    card = card_require(card_id)
    state = collection_load()
    target = state.deck(deck_id)
    if target is None:
        raise _invalid("deck_id", f"There is no deck {deck_id}.")
    if deck_is_filtered(target):
        raise _invalid("deck_id", "Cards cannot be moved into a filtered deck.")
    if card["did"] == deck_id:
        return
    _steps_adjust(state, card, deck_id)
    _leave_filtered_deck(card)
    _card_data_without(card, _FSRS_CARD_DATA)
    card["did"] = deck_id
    _card_changed(card)


def _steps_adjust(state: CollectionState, card: JsonDict, deck_id: int) -> None:
    if card["type"] not in (TYPE_LEARN, TYPE_RELEARN):
        return
    key = "new" if card["type"] == TYPE_LEARN else "lapse"
    old = _steps_of(state, card["odid"] or card["did"], key)
    new = _steps_of(state, deck_id, key)
    remaining = card["left"] % 1000
    adjusted = _remaining_steps(remaining, new, old)
    if adjusted != remaining:
        card["left"] = adjusted


def _steps_of(state: CollectionState, deck_id: int, key: str) -> list[float]:
    """A deck's learning ("new") or relearning ("lapse") steps (Default's if unknown)."""
    deck = state.deck(deck_id)
    preset_id = deck.get("conf", DEFAULT_PRESET_ID) if deck and not deck_is_filtered(deck) else 1
    preset = state.preset(preset_id) or state.preset(DEFAULT_PRESET_ID) or {}
    steps = (preset.get(key) or {}).get("delays")
    return [float(s) for s in steps] if isinstance(steps, list) else []


def _remaining_steps(remaining: int, new: list[float], old: list[float]) -> int:
    """Anki's rule: a step counts as remaining unless one at least as long was passed."""
    if not old:
        return remaining
    last_index = len(old) - remaining - 1
    if last_index < 0:
        return max(len(new), 1)
    passed = old[last_index]
    later = next((i for i, step in enumerate(reversed(new)) if step <= passed), len(new))
    return max(later, 1)


def card_suspend(*, card_id: int) -> None:
    card = card_require(card_id)
    if card["queue"] != QUEUE_SUSPENDED:
        card["queue"] = QUEUE_SUSPENDED
        _card_changed(card)


def card_unsuspend(*, card_id: int) -> None:
    card = card_require(card_id)
    if card["queue"] == QUEUE_SUSPENDED:
        _restore_queue(card)
        _card_changed(card)


def card_bury(*, card_id: int) -> None:
    """Bury until tomorrow (Anki's manual bury); a suspended card stays suspended."""
    card = card_require(card_id)
    if card["queue"] not in (QUEUE_SUSPENDED, QUEUE_MANUALLY_BURIED):
        card["queue"] = QUEUE_MANUALLY_BURIED
        _card_changed(card)


def card_unbury(*, card_id: int) -> None:
    card = card_require(card_id)
    if card["queue"] in (QUEUE_SIBLING_BURIED, QUEUE_MANUALLY_BURIED):
        _restore_queue(card)
        _card_changed(card)


def card_forget(
    *, card_id: int, restore_position: bool = False, reset_counts: bool = False
) -> None:
    """Anki's Forget: the card becomes new, at the end of the new queue (or back at its
    original position), logged in revlog as a manual entry."""
    card = card_require(card_id)
    state = collection_load()
    original_ivl = card["ivl"]
    position = _original_position(card) if restore_position else None
    if card["odid"]:
        card.update(did=card["odid"], odid=0, odue=0)
    if position is None:
        position = _next_position(state)
    card.update(due=position, type=TYPE_NEW, queue=QUEUE_NEW)
    card.update(ivl=0, factor=0)
    if reset_counts:
        card.update(reps=0, lapses=0)
    _card_data_without(card, ("pos", *_FSRS_CARD_DATA))
    _card_save(card)
    _revlog_manual(card["id"], last_ivl=original_ivl)
    collection_save(state, conf=True)


def _original_position(card: JsonDict) -> int | None:
    if card["type"] == TYPE_NEW:
        return int(card["odue"] if card["odid"] else card["due"])
    try:
        position = json.loads(card["data"] or "{}").get("pos")
    except (ValueError, AttributeError):
        return None
    return position if isinstance(position, int) else None


def _revlog_manual(card_id: int, *, last_ivl: int) -> None:
    cursor().execute(
        "INSERT INTO revlog (id, cid, usn, ease, ivl, lastIvl, factor, time, type)"
        " VALUES (%s, %s, -1, 0, 0, %s, 0, 0, %s)",
        [_row_id("revlog"), card_id, last_ivl, REVLOG_MANUAL],
    )


def card_flag_set(*, card_id: int, flag: int) -> None:
    """Set the user flag (0 none, 1-7 colours); like Anki, mod stays and usn says "sync"."""
    if not 0 <= flag <= 7:
        raise _invalid("flags", "Use a flag from 0 to 7.")
    card = card_require(card_id)
    flags = (card["flags"] & ~7) | flag
    if flags != card["flags"]:
        card["flags"] = flags
        _card_changed(card, touch_mod=False)


def card_update(
    *,
    card_id: int,
    front: str | None = None,
    back: str | None = None,
    deck_id: int | None = None,
    flags: int | None = None,
) -> None:
    """The old client's card edit: Front/Back of its note, its deck, its flag."""
    card = card_require(card_id)
    if front is not None or back is not None:
        state = collection_load()
        model = state.notetype(note_require(card["nid"])["mid"]) or {}
        if not {"Front", "Back"} <= set(notetype_field_names(model)):
            raise _invalid("front", "This card's note has no Front and Back fields; edit the note.")
        changes = {name: v for name, v in (("Front", front), ("Back", back)) if v is not None}
        note_update(note_id=card["nid"], fields=changes)
    if deck_id is not None:
        card_move(card_id=card_id, deck_id=deck_id)
    if flags is not None:
        card_flag_set(card_id=card_id, flag=flags)


def card_delete(*, card_id: int) -> None:
    """Delete a card (and its note, if that was its last card)."""
    card_require(card_id)
    _cards_remove([card_id])
    collection_touch()


def _basic_notetype(state: CollectionState) -> JsonDict:
    candidates = [
        nt
        for nt in state.notetypes.values()
        if nt.get("type") == 0 and notetype_field_names(nt)[:2] == ["Front", "Back"]
    ]
    named = [nt for nt in candidates if nt.get("name") == "Basic"]
    stock = [nt for nt in candidates if nt.get("originalStockKind") == 1]
    if named or stock:
        return (named or stock)[0]
    raise _invalid("front", "This collection has no Basic note type.")


def card_create(
    *, front: str, back: str, deck_id: int | None = None, tags: Iterable[str] = ()
) -> int:
    """The old client's "add card": a Basic note in the current deck; returns its card's id."""
    model = _basic_notetype(collection_load())
    names = notetype_field_names(model)
    values = {names[0]: front, names[1]: back}
    note_id = note_create(notetype=int(model["id"]), fields=values, tags=tags, deck_id=deck_id)
    return int(cards_of_note(note_id)[0]["id"])
