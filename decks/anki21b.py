"""Read what Anki 2.1.50+ writes in protobuf, and turn a schema-18 collection's
configuration back into the legacy (schema 11) JSON that the `col` row holds.

Schema 18 keeps note types, decks, deck options and settings in their own
tables, with protobuf blobs where schema 11 had JSON. Anki downgrades them
itself when it exports a legacy package; this module does the same so that an
.apkg/.colpkg in the latest format can become a schema-11 collection. The
field numbers come from Anki's `proto/anki/*.proto`, the legacy key names from
`rslib/src/{notetype,decks,deckconfig}/schema11.rs`.

Only the protobuf wire format is decoded here, by hand: no protobuf runtime is
needed.
"""

from __future__ import annotations

import json
import math
import sqlite3
import struct
from typing import Any

_VARINT = 0
_FIXED64 = 1
_LENGTH_DELIMITED = 2
_FIXED32 = 5

# Anki stores deck names with this separator instead of "::".
_NATIVE_DECK_SEPARATOR = "\x1f"


class ProtoError(ValueError):
    """Raised for bytes that are not a valid protobuf message."""


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = 0
    for shift in range(0, 70, 7):
        if pos >= len(data):
            raise ProtoError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value & 0xFFFFFFFFFFFFFFFF, pos
    raise ProtoError("varint longer than 10 bytes")


def _read_field(data: bytes, pos: int, wire_type: int) -> tuple[int | bytes, int]:
    if wire_type == _VARINT:
        return _read_varint(data, pos)
    if wire_type == _LENGTH_DELIMITED:
        length, pos = _read_varint(data, pos)
        size = length
    elif wire_type == _FIXED64:
        size = 8
    elif wire_type == _FIXED32:
        size = 4
    else:
        raise ProtoError(f"unsupported wire type {wire_type}")
    if pos + size > len(data):
        raise ProtoError("field runs past the end of the message")
    return data[pos : pos + size], pos + size


def _signed64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _signed32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def float32_value(raw: bytes) -> float:
    """The exact value of a little-endian IEEE single."""
    return float(struct.unpack("<f", raw)[0])


def float32_json(raw: bytes) -> float:
    """The shortest decimal that is still the same single, as serde writes an f32.

    Anki writes 1.3, not 1.2999999523162842; comparing our JSON with Anki's
    needs the same digits.
    """
    value = float32_value(raw)
    if not math.isfinite(value):
        # JSON has no NaN/inf; 0 is the value Anki's defaults fall back to.
        return 0.0
    for digits in range(1, 10):
        candidate = float(f"{value:.{digits}g}")
        if struct.pack("<f", candidate) == raw:
            return candidate
    return value


class ProtoMessage:
    """One decoded protobuf message: typed access to fields by number.

    Like protobuf itself, an absent field reads as its default (0, False, "",
    empty list), and for a repeated scalar field the last occurrence wins.
    """

    def __init__(self, data: bytes) -> None:
        self._fields: dict[int, list[tuple[int, int | bytes]]] = {}
        pos = 0
        while pos < len(data):
            tag, pos = _read_varint(data, pos)
            number, wire_type = tag >> 3, tag & 7
            if number == 0:
                raise ProtoError("field number 0")
            value, pos = _read_field(data, pos, wire_type)
            self._fields.setdefault(number, []).append((wire_type, value))

    def has(self, number: int) -> bool:
        return number in self._fields

    def _last(self, number: int, wire_type: int) -> int | bytes | None:
        values = self._fields.get(number)
        if not values:
            return None
        found_type, value = values[-1]
        if found_type != wire_type:
            raise ProtoError(f"field {number} has wire type {found_type}")
        return value

    def uint(self, number: int) -> int:
        value = self._last(number, _VARINT)
        return value if isinstance(value, int) else 0

    def int64(self, number: int) -> int:
        return _signed64(self.uint(number))

    def int32(self, number: int) -> int:
        return _signed32(self.uint(number))

    def flag(self, number: int) -> bool:
        return self.uint(number) != 0

    def blob(self, number: int) -> bytes:
        value = self._last(number, _LENGTH_DELIMITED)
        return value if isinstance(value, bytes) else b""

    def text(self, number: int) -> str:
        try:
            return self.blob(number).decode("utf-8")
        except UnicodeDecodeError as error:
            raise ProtoError(f"field {number} is not UTF-8") from error

    def float32_raw(self, number: int) -> bytes:
        value = self._last(number, _FIXED32)
        return value if isinstance(value, bytes) else b"\x00\x00\x00\x00"

    def float32(self, number: int) -> float:
        return float32_json(self.float32_raw(number))

    def float32s(self, number: int) -> list[float]:
        out: list[float] = []
        for wire_type, value in self._fields.get(number, []):
            if not isinstance(value, bytes) or wire_type not in (_FIXED32, _LENGTH_DELIMITED):
                raise ProtoError(f"field {number} is not a float list")
            if len(value) % 4:
                raise ProtoError(f"packed floats in field {number} are truncated")
            out.extend(float32_json(value[i : i + 4]) for i in range(0, len(value), 4))
        return out

    def uints(self, number: int) -> list[int]:
        out: list[int] = []
        for wire_type, value in self._fields.get(number, []):
            if isinstance(value, int):
                out.append(value)
                continue
            if wire_type != _LENGTH_DELIMITED:
                raise ProtoError(f"field {number} is not an integer list")
            pos = 0
            while pos < len(value):
                item, pos = _read_varint(value, pos)
                out.append(item)
        return out

    def message(self, number: int) -> ProtoMessage:
        return ProtoMessage(self.blob(number))

    def messages(self, number: int) -> list[ProtoMessage]:
        out = []
        for wire_type, value in self._fields.get(number, []):
            if wire_type != _LENGTH_DELIMITED or not isinstance(value, bytes):
                raise ProtoError(f"field {number} is not a message")
            out.append(ProtoMessage(value))
        return out


def _optional_uint(message: ProtoMessage, number: int) -> int | None:
    return message.uint(number) if message.has(number) else None


def _optional_int64(message: ProtoMessage, number: int) -> int | None:
    return message.int64(number) if message.has(number) else None


def _merge_other(known: dict[str, Any], other: bytes, reserved: frozenset[str]) -> dict[str, Any]:
    """Append the keys Anki kept verbatim from older JSON (the `other` field).

    Anki drops reserved keys from it and never lets it override a real field.
    """
    if not other:
        return known
    try:
        extra = json.loads(other)
    except ValueError:
        return known
    if isinstance(extra, dict):
        for key, value in extra.items():
            if key not in reserved and key not in known:
                known[key] = value
    return known


# --- note types --------------------------------------------------------------

# Keys Anki never takes from `other` (rslib's RESERVED_*_KEYS), packed for reading.
# fmt: off
_NOTETYPE_RESERVED = frozenset((
    "latexPost", "flds", "css", "originalStockKind", "originalId", "id", "usn", "mod",
    "req", "latexPre", "name", "did", "tmpls", "type", "sortf", "latexsvg",
    "loadBalancerDisperseSiblings",
))
_FIELD_RESERVED = frozenset((
    "name", "ord", "sticky", "rtl", "plainText", "font", "size", "collapsed",
    "description", "excludeFromSearch", "id", "tag", "preventDeletion",
))
_TEMPLATE_RESERVED = frozenset((
    "name", "ord", "did", "afmt", "bafmt", "qfmt", "bqfmt", "bfont", "bsize", "id",
))
# fmt: on
_REQUIREMENT_KINDS = {0: "none", 1: "any", 2: "all"}


def _field_schema11(ord_: int, name: str, config: bytes) -> dict[str, Any]:
    c = ProtoMessage(config)
    known = {
        "name": name,
        "ord": ord_,
        "sticky": c.flag(1),
        "rtl": c.flag(2),
        "font": c.text(3),
        "size": c.uint(4),
        "description": c.text(5),
        "plainText": c.flag(6),
        "collapsed": c.flag(7),
        "excludeFromSearch": c.flag(8),
        "id": _optional_int64(c, 9),
        "tag": _optional_uint(c, 10),
        "preventDeletion": c.flag(11),
    }
    return _merge_other(known, c.blob(255), _FIELD_RESERVED)


def _template_schema11(ord_: int, name: str, config: bytes) -> dict[str, Any]:
    c = ProtoMessage(config)
    target_deck = c.int64(5)
    known = {
        "name": name,
        "ord": ord_,
        "qfmt": c.text(1),
        "afmt": c.text(2),
        "bqfmt": c.text(3),
        "bafmt": c.text(4),
        "did": target_deck if target_deck > 0 else None,
        "bfont": c.text(6),
        "bsize": c.uint(7) & 0xFF,
        "id": _optional_int64(c, 8),
    }
    return _merge_other(known, c.blob(255), _TEMPLATE_RESERVED)


def _requirement_schema11(requirement: ProtoMessage) -> list[Any]:
    kind = _REQUIREMENT_KINDS.get(requirement.uint(2), "none")
    return [requirement.uint(1), kind, requirement.uints(3)]


def _notetype_schema11(
    row: sqlite3.Row, fields: list[dict[str, Any]], templates: list[dict[str, Any]]
) -> dict[str, Any]:
    c = ProtoMessage(row["config"])
    target_deck = c.int64(4)
    known: dict[str, Any] = {
        "id": row["id"],
        "name": row["name"],
        "type": 1 if c.uint(1) == 1 else 0,
        "mod": row["mtime_secs"],
        "usn": row["usn"],
        "sortf": c.uint(2) & 0xFFFF,
        "did": target_deck or None,
        "tmpls": templates,
        "flds": fields,
        "css": c.text(3),
        "latexPre": c.text(5),
        "latexPost": c.text(6),
        "latexsvg": c.flag(7),
        "req": [_requirement_schema11(r) for r in c.messages(8)],
    }
    if c.int32(9):
        known["originalStockKind"] = c.int32(9)
    if c.has(10):
        known["originalId"] = c.int64(10)
    return _merge_other(known, c.blob(255), _NOTETYPE_RESERVED)


def _notetypes_schema11(conn: sqlite3.Connection) -> dict[str, Any]:
    # Anki's exporter deletes note types with a bare DELETE, leaving their
    # fields and templates behind: only rows of existing note types count.
    fields: dict[int, list[dict[str, Any]]] = {}
    for row in conn.execute("SELECT ntid, ord, name, config FROM fields ORDER BY ntid, ord"):
        fields.setdefault(row["ntid"], []).append(
            _field_schema11(row["ord"], row["name"], row["config"])
        )
    templates: dict[int, list[dict[str, Any]]] = {}
    for row in conn.execute("SELECT ntid, ord, name, config FROM templates ORDER BY ntid, ord"):
        templates.setdefault(row["ntid"], []).append(
            _template_schema11(row["ord"], row["name"], row["config"])
        )
    return {
        str(row["id"]): _notetype_schema11(
            row, fields.get(row["id"], []), templates.get(row["id"], [])
        )
        for row in conn.execute(
            "SELECT id, name, mtime_secs, usn, config FROM notetypes ORDER BY id"
        )
    }


# --- decks -------------------------------------------------------------------

# fmt: off
_DECK_RESERVED = frozenset((
    "usn", "revToday", "newLimit", "dyn", "reviewLimit", "newToday", "timeToday",
    "reviewLimitToday", "extendNew", "mod", "newLimitToday", "desc", "name", "lrnToday",
    "conf", "browserCollapsed", "extendRev", "id", "collapsed",
))
# fmt: on


def _day_limit(message: ProtoMessage, number: int) -> dict[str, int] | None:
    if not message.has(number):
        return None
    limit = message.message(number)
    return {"limit": limit.uint(1), "today": limit.uint(2)}


def _deck_common(row: sqlite3.Row, common: ProtoMessage, dynamic: bool) -> dict[str, Any]:
    day = _signed32(common.uint(3))
    return {
        "id": row["id"],
        "mod": row["mtime_secs"],
        "name": row["name"].replace(_NATIVE_DECK_SEPARATOR, "::"),
        "usn": row["usn"],
        "lrnToday": [day, common.int32(6)],
        "revToday": [day, common.int32(5)],
        "newToday": [day, common.int32(4)],
        "timeToday": [day, common.int32(7)],
        "collapsed": common.flag(1),
        "browserCollapsed": common.flag(2),
        "desc": "",
        "dyn": 1 if dynamic else 0,
    }


def _normal_deck_fields(deck: dict[str, Any], normal: ProtoMessage) -> None:
    deck["desc"] = normal.text(4)
    if normal.flag(5):
        deck["md"] = True
    deck.update(
        {
            "conf": normal.int64(1),
            "extendNew": _signed32(normal.uint(2)),
            "extendRev": _signed32(normal.uint(3)),
            "reviewLimit": _optional_uint(normal, 6),
            "newLimit": _optional_uint(normal, 7),
            "reviewLimitToday": _day_limit(normal, 8),
            "newLimitToday": _day_limit(normal, 9),
            "desiredRetention": normal.float32(10) if normal.has(10) else None,
        }
    )


def _filtered_deck_fields(deck: dict[str, Any], filtered: ProtoMessage) -> None:
    delays = filtered.float32s(3)
    deck.update(
        {
            "resched": filtered.flag(1),
            "terms": [
                [term.text(1), _signed32(term.uint(2)), term.int32(3)]
                for term in filtered.messages(2)
            ],
            "separate": True,
            "delays": delays or None,
            "previewDelay": filtered.uint(4),
            "previewAgainSecs": filtered.uint(7),
            "previewHardSecs": filtered.uint(5),
            "previewGoodSecs": filtered.uint(6),
        }
    )


def _deck_schema11(row: sqlite3.Row) -> dict[str, Any]:
    common = ProtoMessage(row["common"])
    kind = ProtoMessage(row["kind"])
    dynamic = kind.has(2)
    deck = _deck_common(row, common, dynamic)
    if dynamic:
        _filtered_deck_fields(deck, kind.message(2))
    else:
        _normal_deck_fields(deck, kind.message(1))
    return _merge_other(deck, common.blob(255), _DECK_RESERVED)


def _decks_schema11(conn: sqlite3.Connection) -> dict[str, Any]:
    rows = conn.execute("SELECT id, name, mtime_secs, usn, common, kind FROM decks ORDER BY id")
    return {str(row["id"]): _deck_schema11(row) for row in rows}


# --- deck options ------------------------------------------------------------

# fmt: off
_DECK_CONFIG_RESERVED = frozenset((
    "id", "newSortOrder", "replayq", "newPerDayMinimum", "usn", "autoplay", "dyn",
    "maxTaken", "reviewOrder", "buryInterdayLearning", "newMix", "mod", "timer", "name",
    "interdayLearningMix", "newGatherPriority", "fsrsWeights", "fsrsParams5",
    "fsrsParams6", "desiredRetention", "stopTimerOnAnswer", "secondsToShowQuestion",
    "secondsToShowAnswer", "answerAction", "questionAction", "waitForAudio",
    "sm2Retention", "weightSearch", "ignoreRevlogsBeforeDate", "easyDaysPercentages",
    "new", "rev", "lapse",
))
_NEW_RESERVED = frozenset((
    "bury", "delays", "initialFactor", "ints", "order", "perDay",
))
_REV_RESERVED = frozenset((
    "bury", "ease4", "ivlFct", "maxIvl", "perDay", "hardFactor",
))
_LAPSE_RESERVED = frozenset((
    "delays", "leechAction", "leechFails", "minInt", "mult",
))
# fmt: on
_NEW_INSERT_ORDER_RANDOM = 1


def _initial_factor(c: ProtoMessage) -> int:
    # Anki computes `(initial_ease * 1000.0) as u16` in single precision.
    product = float32_value(struct.pack("<f", float32_value(c.float32_raw(11)) * 1000.0))
    return max(0, min(0xFFFF, int(product))) if math.isfinite(product) else 0


def _new_options(c: ProtoMessage) -> dict[str, Any]:
    return {
        "bury": c.flag(27),
        "delays": c.float32s(1),
        "initialFactor": _initial_factor(c),
        "ints": [c.uint(18) & 0xFFFF, c.uint(19) & 0xFFFF, 0],
        "order": 0 if c.uint(20) == _NEW_INSERT_ORDER_RANDOM else 1,
        "perDay": c.uint(9),
    }


def _review_options(c: ProtoMessage) -> dict[str, Any]:
    return {
        "bury": c.flag(28),
        "ease4": c.float32(12),
        "ivlFct": c.float32(15),
        "maxIvl": c.uint(16),
        "perDay": c.uint(10),
        "hardFactor": c.float32(13),
    }


def _lapse_options(c: ProtoMessage) -> dict[str, Any]:
    return {
        "delays": c.float32s(2),
        "leechAction": 1 if c.uint(21) == 1 else 0,
        "leechFails": c.uint(22),
        "minInt": c.uint(17),
        "mult": c.float32(14),
    }


def _answer_action(value: int) -> int:
    # Legacy JSON knows 0-4; Anki maps anything else to "answer good".
    return value if value in (0, 1, 3, 4) else 2


def _scheduler_options(c: ProtoMessage) -> dict[str, Any]:
    return {
        "dyn": False,
        "newMix": c.int32(30),
        "newPerDayMinimum": c.uint(35),
        "interdayLearningMix": c.int32(31),
        "reviewOrder": c.int32(33),
        "newSortOrder": c.int32(32),
        "newGatherPriority": c.int32(34),
        "buryInterdayLearning": c.flag(29),
        "fsrsWeights": c.float32s(3),
        "fsrsParams5": c.float32s(5),
        "fsrsParams6": c.float32s(6),
        "desiredRetention": c.float32(37),
        "ignoreRevlogsBeforeDate": c.text(46),
        "easyDaysPercentages": c.float32s(4),
        "stopTimerOnAnswer": c.flag(38),
        "secondsToShowQuestion": c.float32(41),
        "secondsToShowAnswer": c.float32(42),
        "questionAction": c.int32(36),
        "answerAction": _answer_action(c.int32(43)),
        "waitForAudio": c.flag(44),
        "sm2Retention": c.float32(40),
        "weightSearch": c.text(45),
    }


def _split_other(other: bytes) -> tuple[bytes, dict[str, bytes]]:
    """Extra JSON for new/rev/lapse is kept nested in the top-level `other`."""
    try:
        extra = json.loads(other) if other else {}
    except ValueError:
        extra = {}
    if not isinstance(extra, dict):
        return b"", {}
    nested = {
        key: json.dumps(extra.pop(key)).encode()
        for key in ("new", "rev", "lapse")
        if isinstance(extra.get(key), dict)
    }
    return json.dumps(extra).encode(), nested


def _deck_config_schema11(row: sqlite3.Row) -> dict[str, Any]:
    c = ProtoMessage(row["config"])
    top_other, nested = _split_other(c.blob(255))
    known: dict[str, Any] = {
        "id": row["id"],
        "mod": row["mtime_secs"],
        "name": row["name"],
        "usn": row["usn"],
        "maxTaken": _signed32(c.uint(24)),
        "autoplay": not c.flag(23),
        "timer": 1 if c.flag(25) else 0,
        "replayq": not c.flag(26),
        "new": _merge_other(_new_options(c), nested.get("new", b""), _NEW_RESERVED),
        "rev": _merge_other(_review_options(c), nested.get("rev", b""), _REV_RESERVED),
        "lapse": _merge_other(_lapse_options(c), nested.get("lapse", b""), _LAPSE_RESERVED),
    }
    known.update(_scheduler_options(c))
    return _merge_other(known, top_other, _DECK_CONFIG_RESERVED)


def _deck_configs_schema11(conn: sqlite3.Connection) -> dict[str, Any]:
    rows = conn.execute("SELECT id, name, mtime_secs, usn, config FROM deck_config ORDER BY id")
    return {str(row["id"]): _deck_config_schema11(row) for row in rows}


# --- settings and tags -------------------------------------------------------


def _config_schema11(conn: sqlite3.Connection) -> dict[str, Any]:
    config = {}
    for key, value in conn.execute("SELECT key, val FROM config ORDER BY key"):
        try:
            config[key] = json.loads(value)
        except (TypeError, ValueError) as error:
            raise ProtoError(f"config value {key!r} is not JSON") from error
    return config


def _tags_schema11(conn: sqlite3.Connection) -> dict[str, int]:
    return {tag: usn for tag, usn in conn.execute("SELECT tag, usn FROM tags")}


def _compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def legacy_col_json(conn: sqlite3.Connection) -> dict[str, str]:
    """The `col` row's JSON columns (conf, models, decks, dconf, tags) of a
    schema-18 collection, as Anki writes them when it downgrades to schema 11.

    `conn` must return rows as `sqlite3.Row`. Raises ProtoError (a ValueError)
    for blobs that do not decode, and sqlite3.Error for missing tables.
    """
    return {
        "conf": _compact_json(_config_schema11(conn)),
        "models": _compact_json(_notetypes_schema11(conn)),
        "decks": _compact_json(_decks_schema11(conn)),
        "dconf": _compact_json(_deck_configs_schema11(conn)),
        "tags": _compact_json(_tags_schema11(conn)),
    }


def unicase_collation(left: str, right: str) -> int:
    """A stand-in for Anki's `unicase` collation, which schema-18 tables
    declare; SQLite refuses to read those tables' indexes without it."""
    a, b = left.casefold(), right.casefold()
    return (a > b) - (a < b)
