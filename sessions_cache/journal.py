"""Row-level change capture and replay for a learner's SQLite collection (framework-free).

A request's changes are captured by TEMP triggers: connection-local, so nothing
extra is ever written into the learner's file. The triggers note which rows
were touched and keep each touched row's image from before its first change.
At commit the net change is computed against the rows as they are now: rows
that appeared are recorded whole, rows that changed record only the columns
that changed (the ``col`` row carries tens of KB of JSON most requests leave
alone), rows that vanished are recorded as deletions.

Entries hold absolute row values, never deltas, so applying an entry twice
gives the same file as applying it once; the container cache relies on this
when it cannot tell whether its last local commit happened.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from dataclasses import dataclass
from typing import Any

import zstandard

CAPTURED_TABLES = ("col", "notes", "cards", "revlog", "graves")
ENTRY_FORMAT = 1

Value = int | float | str | bytes | None
Op = list[Any]  # ["i", table, rowid, {column: value}] | ["u", ...] | ["d", table, rowid]


@dataclass(frozen=True)
class TableShape:
    name: str
    columns: tuple[str, ...]
    rowid_alias: str | None  # the INTEGER PRIMARY KEY column, if the table has one


def table_shape(conn: sqlite3.Connection, table: str) -> TableShape:
    info = conn.execute(f"PRAGMA main.table_info({table})").fetchall()
    columns = tuple(row[1] for row in info)
    keys = [row for row in info if row[5]]
    alias = keys[0][1] if len(keys) == 1 and keys[0][2].upper() == "INTEGER" else None
    return TableShape(table, columns, alias)


def capture_install(
    conn: sqlite3.Connection, tables: tuple[str, ...] = CAPTURED_TABLES
) -> dict[str, TableShape]:
    """Create this connection's TEMP capture tables and triggers; returns the tables' shapes."""
    shapes = {table: table_shape(conn, table) for table in tables}
    statements = [
        "CREATE TEMP TABLE IF NOT EXISTS jv_touched "
        "(tbl TEXT NOT NULL, rid INTEGER NOT NULL, PRIMARY KEY (tbl, rid))"
    ]
    for shape in shapes.values():
        statements += _capture_sql(shape)
    for statement in statements:
        conn.execute(statement)
    return shapes


def _capture_sql(shape: TableShape) -> list[str]:
    name = shape.name
    old = ", ".join(f"OLD.{_quote(column)}" for column in shape.columns)
    remember_old = (
        f"INSERT INTO jv_before_{name} SELECT OLD.rowid, {old} "
        f"WHERE NOT EXISTS (SELECT 1 FROM jv_touched WHERE tbl = '{name}' "
        f"AND rid = OLD.rowid);"
    )
    # Inside a TEMP trigger, unqualified names resolve to the temp schema first.
    touch_old = f"INSERT OR IGNORE INTO jv_touched VALUES ('{name}', OLD.rowid);"
    touch_new = f"INSERT OR IGNORE INTO jv_touched VALUES ('{name}', NEW.rowid);"
    return [
        f"CREATE TEMP TABLE IF NOT EXISTS jv_before_{name} AS "
        f"SELECT rowid AS jv_rid, * FROM main.{name} WHERE 0",
        f"CREATE TEMP TRIGGER IF NOT EXISTS jv_{name}_insert AFTER INSERT ON main.{name} "
        f"BEGIN {touch_new} END",
        f"CREATE TEMP TRIGGER IF NOT EXISTS jv_{name}_update AFTER UPDATE ON main.{name} "
        f"BEGIN {remember_old} {touch_old} {touch_new} END",
        f"CREATE TEMP TRIGGER IF NOT EXISTS jv_{name}_delete AFTER DELETE ON main.{name} "
        f"BEGIN {remember_old} {touch_old} END",
    ]


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def capture_reset(conn: sqlite3.Connection, shapes: dict[str, TableShape]) -> None:
    """Forget what was captured (after a commit or a rollback)."""
    conn.execute("DELETE FROM temp.jv_touched")
    for name in shapes:
        conn.execute(f"DELETE FROM temp.jv_before_{name}")


def changes_collect(conn: sqlite3.Connection, shapes: dict[str, TableShape]) -> list[Op]:
    """The net row changes made since the capture was last reset, in a stable order."""
    ops: list[Op] = []
    touched = conn.execute("SELECT tbl, rid FROM temp.jv_touched ORDER BY tbl, rid").fetchall()
    for table, rowid in touched:
        shape = shapes[table]
        op = _net_change(conn, shape, rowid)
        if op is not None:
            ops.append(op)
    return ops


def _net_change(conn: sqlite3.Connection, shape: TableShape, rowid: int) -> Op | None:
    columns = ", ".join(_quote(c) for c in shape.columns)
    now = conn.execute(
        f"SELECT {columns} FROM main.{shape.name} WHERE rowid = ?", (rowid,)
    ).fetchone()
    before = conn.execute(
        f"SELECT {columns} FROM temp.jv_before_{shape.name} WHERE jv_rid = ?", (rowid,)
    ).fetchone()
    if now is None:
        return None if before is None else ["d", shape.name, rowid]
    if before is None:
        return ["i", shape.name, rowid, dict(zip(shape.columns, now, strict=True))]
    changed = {
        column: value
        for column, value, old in zip(shape.columns, now, before, strict=True)
        if not _same(value, old)
    }
    return ["u", shape.name, rowid, changed] if changed else None


def _same(a: Value, b: Value) -> bool:
    return type(a) is type(b) and a == b


def changes_apply(conn: sqlite3.Connection, ops: list[Op]) -> None:
    """Apply an entry's operations (inside the caller's transaction)."""
    shapes: dict[str, TableShape] = {}
    for op in ops:
        kind, table, rowid = op[0], op[1], op[2]
        if table not in CAPTURED_TABLES:
            raise ValueError(f"journal entry touches an unknown table {table!r}")
        shape = shapes.get(table) or shapes.setdefault(table, table_shape(conn, table))
        if kind == "d":
            conn.execute(f"DELETE FROM main.{table} WHERE rowid = ?", (rowid,))
        elif kind == "i":
            _apply_insert(conn, shape, rowid, op[3])
        elif kind == "u":
            values: dict[str, Value] = op[3]
            assignments = ", ".join(f"{_quote(c)} = ?" for c in values)
            conn.execute(
                f"UPDATE main.{table} SET {assignments} WHERE rowid = ?", (*values.values(), rowid)
            )
        else:
            raise ValueError(f"unknown journal operation {kind!r}")


def _apply_insert(
    conn: sqlite3.Connection, shape: TableShape, rowid: int, row: dict[str, Value]
) -> None:
    columns = list(row)
    values = list(row.values())
    if shape.rowid_alias is None:
        columns.insert(0, "rowid")
        values.insert(0, rowid)
    names = ", ".join("rowid" if c == "rowid" else _quote(c) for c in columns)
    marks = ", ".join("?" for _ in columns)
    conn.execute(f"INSERT OR REPLACE INTO main.{shape.name} ({names}) VALUES ({marks})", values)


# --- Encoding -------------------------------------------------------------------


def _encode_value(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"$b": base64.b64encode(value).decode()}
    if isinstance(value, dict):
        return {k: _encode_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode_value(v) for v in value]
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$b"}:
            return base64.b64decode(value["$b"])
        return {k: _decode_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode_value(v) for v in value]
    return value


def entry_encode(ops: list[Op]) -> bytes:
    """Compress an entry's operations (zstd over compact JSON; bytes survive as base64)."""
    payload = {"format": ENTRY_FORMAT, "ops": _encode_value(ops)}
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return zstandard.ZstdCompressor(level=6).compress(text.encode())


def entry_decode(data: bytes) -> list[Op]:
    payload = json.loads(zstandard.ZstdDecompressor().decompress(data))
    if payload.get("format") != ENTRY_FORMAT:
        raise ValueError(f"unknown journal entry format {payload.get('format')!r}")
    ops: list[Op] = _decode_value(payload["ops"])
    return ops
