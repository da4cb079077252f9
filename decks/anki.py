"""Anki's legacy collection format (schema 11): the file, its ids, checksums and note types.

Every learner's collection is one SQLite file that real Anki must open, check and sync
without complaint, so everything here copies what Anki 26.9 writes: the DDL, the `col`
row with its JSON (config, stock note types, the Default deck and options group), note
ids and guids, `csum`/`sfld`, tags, and which cards a note produces. Rendering and HTML
rules live in `decks.templates` and are re-exported here. No framework is imported.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import time
import unicodedata
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from datetime import timezone as fixed_timezone
from hashlib import sha1
from typing import Any
from zoneinfo import ZoneInfo

from decks.templates import (
    RUST_WHITESPACE,
    NotetypeDict,
    TemplateError,
    cloze_numbers,
    field_is_empty,
    field_normalize,
    parse_template,
    render_card,
    renders_with_fields,
    sanitize_html,
    strip_html,
    strip_html_preserving_media_filenames,
)

__all__ = [
    "FIELD_SEPARATOR",
    "SCHEMA_SQL",
    "NotetypeDict",
    "card_ordinals",
    "cloze_numbers",
    "collection_create",
    "creation_day_start",
    "deck_config_new",
    "field_checksum",
    "field_normalize",
    "guid_new",
    "join_fields",
    "new_id",
    "notetype_basic",
    "notetype_basic_reversed",
    "notetype_cloze",
    "render_card",
    "sanitize_html",
    "sort_field",
    "split_fields",
    "strip_html",
    "strip_html_preserving_media_filenames",
    "tags_from_text",
    "tags_to_text",
    "utc_minutes_west",
]

SCHEMA_VERSION = 11

# Exactly the statements Anki leaves in a schema-11 file (rslib/src/storage/schema11.sql as
# Anki 26.9 writes it when downgrading), so sqlite_master matches a file Anki made.
SCHEMA_SQL = """\
CREATE TABLE col (
  id integer PRIMARY KEY,
  crt integer NOT NULL,
  mod integer NOT NULL,
  scm integer NOT NULL,
  ver integer NOT NULL,
  dty integer NOT NULL,
  usn integer NOT NULL,
  ls integer NOT NULL,
  conf text NOT NULL,
  models text NOT NULL,
  decks text NOT NULL,
  dconf text NOT NULL,
  tags text NOT NULL
);
CREATE TABLE notes (
  id integer PRIMARY KEY,
  guid text NOT NULL,
  mid integer NOT NULL,
  mod integer NOT NULL,
  usn integer NOT NULL,
  tags text NOT NULL,
  flds text NOT NULL,
  -- The use of type integer for sfld is deliberate, because it means that integer values in this
  -- field will sort numerically.
  sfld integer NOT NULL,
  csum integer NOT NULL,
  flags integer NOT NULL,
  data text NOT NULL
);
CREATE TABLE cards (
  id integer PRIMARY KEY,
  nid integer NOT NULL,
  did integer NOT NULL,
  ord integer NOT NULL,
  mod integer NOT NULL,
  usn integer NOT NULL,
  type integer NOT NULL,
  queue integer NOT NULL,
  due integer NOT NULL,
  ivl integer NOT NULL,
  factor integer NOT NULL,
  reps integer NOT NULL,
  lapses integer NOT NULL,
  left integer NOT NULL,
  odue integer NOT NULL,
  odid integer NOT NULL,
  flags integer NOT NULL,
  data text NOT NULL
);
CREATE TABLE revlog (
  id integer PRIMARY KEY,
  cid integer NOT NULL,
  usn integer NOT NULL,
  ease integer NOT NULL,
  ivl integer NOT NULL,
  lastIvl integer NOT NULL,
  factor integer NOT NULL,
  time integer NOT NULL,
  type integer NOT NULL
);
CREATE TABLE graves (
  usn integer NOT NULL,
  oid integer NOT NULL,
  type integer NOT NULL
);
CREATE INDEX ix_notes_usn ON notes (usn);
CREATE INDEX ix_cards_usn ON cards (usn);
CREATE INDEX ix_revlog_usn ON revlog (usn);
CREATE INDEX ix_cards_nid ON cards (nid);
CREATE INDEX ix_cards_sched ON cards (did, queue, due);
CREATE INDEX ix_revlog_cid ON revlog (cid);
CREATE INDEX ix_notes_csum ON notes (csum);
"""

# Fields and tags
# ---------------------------------------------------------------------------

FIELD_SEPARATOR = "\x1f"
_TAG_SEPARATORS = (" ", "\u3000")
_CLOZE_CARD_LIMIT = 500  # Anki gives c500 and above the last ordinal, 499


def join_fields(fields: Iterable[str]) -> str:
    """`notes.flds` from a note's field values."""
    return FIELD_SEPARATOR.join(fields)


def split_fields(flds: str) -> list[str]:
    """A note's field values from `notes.flds`."""
    return flds.split(FIELD_SEPARATOR)


def tags_from_text(text: str) -> list[str]:
    """The tags in `notes.tags` (space or ideographic-space separated)."""
    return [tag for tag in text.replace("\u3000", " ").split(" ") if tag]


def tags_to_text(tags: Iterable[str]) -> str:
    """`notes.tags` as Anki stores it: " a b " (or "" for none), each tag normalised,
    duplicates dropped ignoring case (first spelling wins), sorted ignoring case."""
    unique: dict[str, str] = {}
    for raw in tags:
        for tag in tags_from_text(raw):
            normalised = _tag_normalize(tag)
            unique.setdefault(normalised.casefold(), normalised)
    if not unique:
        return ""
    return f" {' '.join(unique[key] for key in sorted(unique))} "


def _tag_normalize(tag: str) -> str:
    # rslib/src/tags/register.rs: each `::` component is NFC'd, stripped of control and
    # separator characters and trimmed; an empty component becomes "blank"
    parts = []
    for part in unicodedata.normalize("NFC", tag).split("::"):
        kept = "".join(c for c in part if c not in _TAG_SEPARATORS and not _is_ascii_control(c))
        parts.append(kept.strip(RUST_WHITESPACE) or "blank")
    return "::".join(parts)


def _is_ascii_control(char: str) -> bool:
    return ord(char) < 32 or char == "\x7f"


# Ids, guids and checksums
# ---------------------------------------------------------------------------

BASE91_ALPHABET = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&()*+,-./:;<=>?@[]^_`{|}~"
)


def new_id(taken: Callable[[int], bool] | None = None, *, now_ms: int | None = None) -> int:
    """An epoch-millisecond id (notes, cards, revlog, decks, note types), bumped by one
    while `taken(id)` says it is already used."""
    candidate = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    while taken is not None and taken(candidate):
        candidate += 1
    return candidate


def base91(number: int) -> str:
    """Anki's base-91 digits of a non-negative number ("" for 0, as Anki)."""
    digits = []
    while number > 0:
        number, remainder = divmod(number, len(BASE91_ALPHABET))
        digits.append(BASE91_ALPHABET[remainder])
    return "".join(reversed(digits))


def guid_new() -> str:
    """A new `notes.guid`: base 91 of a random 64-bit number."""
    return base91(secrets.randbits(64))


def field_checksum(text: str) -> int:
    """`notes.csum` for a note whose first field is `text`: the first 32 bits of the SHA-1
    of the field with HTML stripped (media file names kept)."""
    digest = sha1(strip_html_preserving_media_filenames(text).encode()).digest()
    return int.from_bytes(digest[:4], "big")


def sort_field(fields: list[str], sortf: int) -> str:
    """`notes.sfld`: the sort field with HTML stripped (media file names kept).

    Returned as text; the column's INTEGER affinity makes SQLite store a numeric value
    ("12", " 0123 ", "12.5") as a number, exactly as happens when Anki writes it.
    """
    text = fields[sortf] if 0 <= sortf < len(fields) else ""
    return strip_html_preserving_media_filenames(text)


# Card generation (rslib/src/notetype/cardgen.rs)
# ---------------------------------------------------------------------------


def card_ordinals(
    notetype: NotetypeDict,
    fields: list[str],
    *,
    tags: Iterable[str] = (),
    ensure_card: bool = True,
) -> list[int]:
    """The card ordinals Anki generates for a new note with these fields (and tags).

    Cloze note types: one card per cloze number n (ordinal n-1, capped at 499). Standard
    ones: each template whose front would show a non-empty field. If nothing qualifies,
    Anki still gives a new note card 0, so no note is ever without a card; pass
    `ensure_card=False` for an edited note that has cards already (Anki adds none then).

    One deliberate difference: two cloze numbers of 500 or more both map to ordinal 499,
    and Anki 26.9 then adds two cards with the same ordinal (which its Check Database
    reports and removes); here the ordinal appears once.
    """
    if notetype.get("type") == 1:
        ords = {min(number, _CLOZE_CARD_LIMIT) - 1 for number in cloze_numbers(fields)}
    else:
        ords = set(
            _standard_card_ordinals(
                notetype, fields, has_tags=any(tags_from_text(tag) for tag in tags)
            )
        )
    if not ords and ensure_card:
        return [0]
    return sorted(ords)


def _standard_card_ordinals(notetype: NotetypeDict, fields: list[str], has_tags: bool) -> list[int]:
    names = [field_def["name"] for field_def in notetype["flds"]]
    nonempty = {name for name, text in zip(names, fields, strict=False) if not field_is_empty(text)}
    if has_tags:
        nonempty.add("Tags")
    ords = []
    for ord, template in enumerate(notetype["tmpls"]):
        try:
            nodes = parse_template(template["qfmt"])
        except TemplateError:
            continue  # Anki cannot parse it, so it generates no card from it
        if renders_with_fields(nodes, nonempty):
            ords.append(ord)
    return ords


# Stock note types (what `anki` writes for a new collection, in schema-11 JSON)
# ---------------------------------------------------------------------------

_CARD_CSS = (
    ".card {\n    font-family: arial;\n    font-size: 20px;\n    line-height: 1.5;\n"
    "    text-align: center;\n    color: black;\n    background-color: white;\n}\n"
)
_CLOZE_CSS = (
    _CARD_CSS + ".cloze {\n    font-weight: bold;\n    color: blue;\n}\n"
    ".nightMode .cloze {\n    color: lightblue;\n}\n"
)
_LATEX_PRE = (
    "\\documentclass[12pt]{article}\n\\special{papersize=3in,5in}\n"
    "\\usepackage[utf8]{inputenc}\n\\usepackage{amssymb,amsmath}\n\\pagestyle{empty}\n"
    "\\setlength{\\parindent}{0in}\n\\begin{document}\n"
)
_LATEX_POST = "\\end{document}"
_ANSWER_BELOW_FRONT = "{{FrontSide}}\n\n<hr id=answer>\n\n"
_STOCK_KIND_BASIC, _STOCK_KIND_BASIC_REVERSED, _STOCK_KIND_CLOZE = 1, 2, 5


def _random_i64() -> int:
    # Anki gives each template and field a random signed 64-bit id
    return secrets.randbits(64) - 2**63


def _template(name: str, ord: int, qfmt: str, afmt: str) -> dict[str, Any]:
    return {
        "name": name,
        "ord": ord,
        "qfmt": qfmt,
        "afmt": afmt,
        "bqfmt": "",
        "bafmt": "",
        "did": None,
        "bfont": "",
        "bsize": 0,
        "id": _random_i64(),
    }


def _field(
    name: str, ord: int, *, tag: int | None = None, prevent_deletion: bool = False
) -> dict[str, Any]:
    return {
        "name": name,
        "ord": ord,
        "sticky": False,
        "rtl": False,
        "font": "Arial",
        "size": 20,
        "description": "",
        "plainText": False,
        "collapsed": False,
        "excludeFromSearch": False,
        "id": _random_i64(),
        "tag": tag,
        "preventDeletion": prevent_deletion,
    }


def _notetype(
    *,
    id: int,
    now: int,
    usn: int,
    name: str,
    kind: int,
    stock_kind: int,
    tmpls: list[Any],
    flds: list[Any],
    req: list[Any],
) -> NotetypeDict:
    return {
        "id": id,
        "name": name,
        "type": kind,
        "mod": now,
        "usn": usn,
        "sortf": 0,
        "did": None,
        "tmpls": tmpls,
        "flds": flds,
        "css": _CLOZE_CSS if kind == 1 else _CARD_CSS,
        "latexPre": _LATEX_PRE,
        "latexPost": _LATEX_POST,
        "latexsvg": False,
        "req": req,
        "originalStockKind": stock_kind,
    }


def notetype_basic(*, id: int, now: int, usn: int = -1) -> NotetypeDict:
    """Anki's stock "Basic" note type (Front/Back, one card). `now` is epoch seconds."""
    return _notetype(
        id=id,
        now=now,
        usn=usn,
        name="Basic",
        kind=0,
        stock_kind=_STOCK_KIND_BASIC,
        tmpls=[_template("Card 1", 0, "{{Front}}", _ANSWER_BELOW_FRONT + "{{Back}}")],
        flds=[_field("Front", 0), _field("Back", 1)],
        req=[[0, "any", [0]]],
    )


def notetype_basic_reversed(*, id: int, now: int, usn: int = -1) -> NotetypeDict:
    """Anki's stock "Basic (and reversed card)": Front->Back and Back->Front cards."""
    return _notetype(
        id=id,
        now=now,
        usn=usn,
        name="Basic (and reversed card)",
        kind=0,
        stock_kind=_STOCK_KIND_BASIC_REVERSED,
        tmpls=[
            _template("Card 1", 0, "{{Front}}", _ANSWER_BELOW_FRONT + "{{Back}}"),
            _template("Card 2", 1, "{{Back}}", _ANSWER_BELOW_FRONT + "{{Front}}"),
        ],
        flds=[_field("Front", 0), _field("Back", 1)],
        req=[[0, "any", [0]], [1, "any", [1]]],
    )


def notetype_cloze(*, id: int, now: int, usn: int = -1) -> NotetypeDict:
    """Anki's stock "Cloze" note type (Text/Back Extra, one card per cloze number)."""
    return _notetype(
        id=id,
        now=now,
        usn=usn,
        name="Cloze",
        kind=1,
        stock_kind=_STOCK_KIND_CLOZE,
        tmpls=[_template("Cloze", 0, "{{cloze:Text}}", "{{cloze:Text}}<br>\n{{Back Extra}}")],
        flds=[_field("Text", 0, tag=0, prevent_deletion=True), _field("Back Extra", 1, tag=1)],
        req=[[0, "any", [0]]],
    )


# A new collection
# ---------------------------------------------------------------------------

DEFAULT_DECK_ID = 1
DEFAULT_DECK_CONFIG_ID = 1


def utc_minutes_west(timezone: str, at_seconds: int) -> int:
    """Minutes west of UTC in `timezone` at that instant (Anki's offset convention:
    UTC+10 is -600), DST included."""
    offset = datetime.fromtimestamp(at_seconds, ZoneInfo(timezone)).utcoffset()
    assert offset is not None
    return int(-offset.total_seconds() / 60)  # truncated toward zero, as Rust divides


def creation_day_start(now_seconds: int, minutes_west: int, rollover_hour: int = 4) -> int:
    """`col.crt`: the latest rollover at or before now, in epoch seconds, computed like
    Anki does (with the UTC offset in force now, held fixed)."""
    bounded = max(-23 * 60, min(23 * 60, minutes_west))
    local = datetime.fromtimestamp(now_seconds, fixed_timezone(timedelta(minutes=-bounded)))
    rollover = local.replace(hour=rollover_hour % 24, minute=0, second=0, microsecond=0)
    if rollover > local:
        rollover -= timedelta(days=1)
    return int(rollover.timestamp())


def _default_deck() -> dict[str, Any]:
    return deck_new(id=DEFAULT_DECK_ID, name="Default", mod=0, usn=0)


def deck_new(*, id: int, name: str, mod: int, usn: int = -1) -> dict[str, Any]:
    """A normal deck's legacy JSON, every key as Anki 26.9 writes it for a new deck."""
    return {
        "id": id,
        "mod": mod,
        "name": name,
        "usn": usn,
        "lrnToday": [0, 0],
        "revToday": [0, 0],
        "newToday": [0, 0],
        "timeToday": [0, 0],
        "collapsed": True,
        "browserCollapsed": True,
        "desc": "",
        "dyn": 0,
        "conf": DEFAULT_DECK_CONFIG_ID,
        "extendNew": 0,
        "extendRev": 0,
        "reviewLimit": None,
        "newLimit": None,
        "reviewLimitToday": None,
        "newLimitToday": None,
        "desiredRetention": None,
    }


def _default_deck_config() -> dict[str, Any]:
    return {
        "id": DEFAULT_DECK_CONFIG_ID,
        "mod": 0,
        "name": "Default",
        "usn": 0,
        "maxTaken": 60,
        "autoplay": True,
        "timer": 0,
        "replayq": True,
        "new": {
            "bury": False,
            "delays": [1.0, 10.0],
            "initialFactor": 2500,
            "ints": [1, 4, 0],
            "order": 1,
            "perDay": 20,
        },
        "rev": {
            "bury": False,
            "ease4": 1.3,
            "ivlFct": 1.0,
            "maxIvl": 36500,
            "perDay": 200,
            "hardFactor": 1.2,
        },
        "lapse": {"delays": [10.0], "leechAction": 1, "leechFails": 8, "minInt": 1, "mult": 0.0},
        "dyn": False,
        **_deck_config_v3_defaults(),
    }


def _deck_config_v3_defaults() -> dict[str, Any]:
    # keys Anki 2.1.45+ adds to the legacy options JSON (v3 scheduler, FSRS, display)
    return {
        "newMix": 0,
        "newPerDayMinimum": 0,
        "interdayLearningMix": 0,
        "reviewOrder": 0,
        "newSortOrder": 0,
        "newGatherPriority": 0,
        "buryInterdayLearning": False,
        "fsrsWeights": [],
        "fsrsParams5": [],
        "fsrsParams6": [],
        "desiredRetention": 0.9,
        "ignoreRevlogsBeforeDate": "",
        "easyDaysPercentages": [1.0] * 7,
        "stopTimerOnAnswer": False,
        "secondsToShowQuestion": 0.0,
        "secondsToShowAnswer": 0.0,
        "questionAction": 0,
        "answerAction": 0,
        "waitForAudio": True,
        "sm2Retention": 0.9,
        "weightSearch": "",
    }


def deck_config_new(*, id: int, name: str, now: int, usn: int = -1) -> dict[str, Any]:
    """A new deck options group (preset) as Anki writes one: Anki's default options under
    a new id and name. `now` is epoch seconds."""
    config = _default_deck_config()
    config.update(id=id, name=name, mod=now, usn=usn)
    return config


def _collection_config(
    *, current_notetype_id: int, minutes_west: int, rollover_hour: int
) -> dict[str, Any]:
    return {
        "activeDecks": [DEFAULT_DECK_ID],
        "curDeck": DEFAULT_DECK_ID,
        "newSpread": 0,
        "collapseTime": 1200,
        "timeLim": 0,
        "estTimes": True,
        "dueCounts": True,
        "curModel": current_notetype_id,
        "nextPos": 1,
        "sortType": "noteFld",
        "sortBackwards": False,
        "addToCur": True,
        "dayLearnFirst": False,
        "schedVer": 2,
        "sched2021": True,
        # with creationOffset and rollover set, Anki counts days in the learner's own
        # timezone; localOffset is the zone it should assume for "now"
        "creationOffset": minutes_west,
        "localOffset": minutes_west,
        "rollover": rollover_hour,
    }


def _stock_notetypes(now_ms: int) -> list[NotetypeDict]:
    # ids follow each other from the creation millisecond, as in a collection Anki creates
    now = now_ms // 1000
    return [
        notetype_basic(id=now_ms, now=now, usn=0),
        notetype_basic_reversed(id=now_ms + 1, now=now, usn=0),
        notetype_cloze(id=now_ms + 2, now=now, usn=0),
    ]


def _compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def collection_create(
    path: str | os.PathLike[str],
    *,
    now_ms: int | None = None,
    rollover_hour: int = 4,
    timezone: str = "UTC",
) -> None:
    """Write a brand-new, empty schema-11 collection at `path` (which must not exist):
    the three stock note types, the Default deck and options group, Anki's default
    config. The file keeps SQLite's rollback journal so it stays one self-contained file."""
    now_ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    minutes_west = utc_minutes_west(timezone, now_ms // 1000)
    with open(path, "xb"):
        pass  # claims the name, failing if it exists
    try:
        _write_new_collection(path, now_ms, minutes_west, rollover_hour)
    except BaseException:
        os.remove(path)
        raise


def _write_new_collection(
    path: str | os.PathLike[str], now_ms: int, minutes_west: int, rollover_hour: int
) -> None:
    notetypes = _stock_notetypes(now_ms)
    config = _collection_config(
        current_notetype_id=notetypes[0]["id"],
        minutes_west=minutes_west,
        rollover_hour=rollover_hour,
    )
    row = (
        creation_day_start(now_ms // 1000, minutes_west, rollover_hour),
        now_ms,  # mod
        now_ms,  # scm
        SCHEMA_VERSION,
        _compact_json(config),
        _compact_json({str(nt["id"]): nt for nt in notetypes}),
        _compact_json({str(DEFAULT_DECK_ID): _default_deck()}),
        _compact_json({str(DEFAULT_DECK_CONFIG_ID): _default_deck_config()}),
    )
    connection = sqlite3.connect(path)
    try:
        connection.executescript(SCHEMA_SQL)
        connection.execute(
            "INSERT INTO col (id, crt, mod, scm, ver, dty, usn, ls,"
            " conf, models, decks, dconf, tags)"
            " VALUES (1, ?, ?, ?, ?, 0, 0, 0, ?, ?, ?, ?, '{}')",
            row,
        )
        connection.commit()
    finally:
        connection.close()
