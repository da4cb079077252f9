"""Change capture and replay: entry N applied to a copy at N-1 gives exactly the writer's file."""

from __future__ import annotations

import random
import shutil
import sqlite3
from pathlib import Path

import pytest

from sessions_cache import journal

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "anki" / "collection.anki2"


def dump(conn: sqlite3.Connection) -> dict[str, list[tuple]]:
    return {
        table: conn.execute(f"SELECT rowid, * FROM {table} ORDER BY rowid").fetchall()
        for table in journal.CAPTURED_TABLES
    }


@pytest.fixture
def pair(tmp_path):
    writer_path, reader_path = tmp_path / "writer.anki2", tmp_path / "reader.anki2"
    shutil.copy(FIXTURE, writer_path)
    shutil.copy(FIXTURE, reader_path)
    writer = sqlite3.connect(writer_path)
    reader = sqlite3.connect(reader_path)
    shapes = journal.capture_install(writer)
    yield writer, reader, shapes
    writer.close()
    reader.close()


def commit_entry(writer, shapes) -> bytes:
    ops = journal.changes_collect(writer, shapes)
    writer.commit()
    journal.capture_reset(writer, shapes)
    return journal.entry_encode(ops)


def replay(reader, payload: bytes) -> None:
    journal.changes_apply(reader, journal.entry_decode(payload))
    reader.commit()


def test_an_update_records_only_the_columns_it_changed(pair):
    writer, _, shapes = pair
    writer.execute("UPDATE col SET mod = mod + 1")
    ops = journal.changes_collect(writer, shapes)
    assert len(ops) == 1
    kind, table, _, columns = ops[0]
    assert (kind, table, set(columns)) == ("u", "col", {"mod"})


def test_a_request_that_changes_nothing_has_no_operations(pair):
    writer, _, shapes = pair
    writer.execute("UPDATE cards SET ivl = ivl")
    writer.execute("INSERT INTO graves VALUES (-1, 5, 0)")
    writer.execute("DELETE FROM graves WHERE oid = 5")
    assert journal.changes_collect(writer, shapes) == []


def test_inserts_updates_and_deletes_replay_exactly(pair):
    writer, reader, shapes = pair
    nid, cid = writer.execute("SELECT nid, id FROM cards LIMIT 1").fetchone()
    writer.execute("UPDATE cards SET ivl = 33, factor = 2650, due = due + 3 WHERE id = ?", (cid,))
    writer.execute(
        "INSERT INTO revlog VALUES (1767600000000, ?, -1, 3, 33, 10, 2650, 4000, 1)", (cid,)
    )
    writer.execute("DELETE FROM cards WHERE nid = ?", (nid,))
    writer.execute("DELETE FROM notes WHERE id = ?", (nid,))
    writer.execute("INSERT INTO graves VALUES (-1, ?, 1)", (nid,))
    writer.execute("UPDATE col SET decks = decks || ' ', mod = 1767600000001")
    payload = commit_entry(writer, shapes)
    replay(reader, payload)
    assert dump(reader) == dump(writer)


def test_replay_is_idempotent(pair):
    writer, reader, shapes = pair
    writer.execute("UPDATE notes SET flds = 'changed' || char(31) || 'back', mod = 5")
    writer.execute("DELETE FROM revlog WHERE id IN (SELECT id FROM revlog LIMIT 3)")
    payload = commit_entry(writer, shapes)
    replay(reader, payload)
    replay(reader, payload)
    assert dump(reader) == dump(writer)


def test_replace_and_rowid_changes_replay_exactly(pair):
    writer, reader, shapes = pair
    note = writer.execute("SELECT * FROM notes LIMIT 1").fetchone()
    writer.execute(
        "INSERT OR REPLACE INTO notes VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (*note[:6], "replaced\x1fnote", *note[7:]),
    )
    writer.execute("UPDATE revlog SET id = id + 1000000 WHERE id = (SELECT max(id) FROM revlog)")
    replay(reader, commit_entry(writer, shapes))
    assert dump(reader) == dump(writer)


def test_values_of_every_sqlite_type_survive_encoding():
    ops = [
        ["i", "graves", 7, {"usn": -1, "oid": 2**62, "type": 0}],
        ["u", "col", 1, {"conf": "ünïcode \x1f", "dty": 1.5, "tags": None, "x": b"\x00\xff"}],
    ]
    assert journal.entry_decode(journal.entry_encode(ops)) == ops


def test_random_sequences_of_requests_replay_exactly(pair):
    writer, reader, shapes = pair
    rng = random.Random(20261123)
    card_ids = [row[0] for row in writer.execute("SELECT id FROM cards")]
    for request in range(40):
        for _ in range(rng.randint(1, 6)):
            action = rng.choice(["answer", "edit", "grave", "col", "delete_revlog"])
            cid = rng.choice(card_ids)
            if action == "answer":
                rid = 1767700000000 + request * 100 + rng.randint(0, 99)
                writer.execute(
                    "INSERT OR REPLACE INTO revlog VALUES (?, ?, -1, ?, ?, 1, 2500, 3000, 1)",
                    (rid, cid, rng.randint(1, 4), rng.randint(1, 100)),
                )
                writer.execute(
                    "UPDATE cards SET reps = reps + 1, ivl = ? WHERE id = ?",
                    (rng.randint(1, 300), cid),
                )
            elif action == "edit":
                writer.execute(
                    "UPDATE notes SET flds = ?, mod = ? WHERE id = "
                    "(SELECT nid FROM cards WHERE id = ?)",
                    (f"front {request}\x1fback", request, cid),
                )
            elif action == "grave":
                writer.execute("INSERT INTO graves VALUES (-1, ?, 0)", (cid + request,))
            elif action == "col":
                writer.execute(
                    "UPDATE col SET mod = ?, conf = json_set(conf, '$.n', ?)", (request, request)
                )
            else:
                writer.execute("DELETE FROM revlog WHERE id = (SELECT min(id) FROM revlog)")
        replay(reader, commit_entry(writer, shapes))
        assert dump(reader) == dump(writer)


def test_it_refuses_entries_touching_unknown_tables(tmp_path):
    conn = sqlite3.connect(tmp_path / "x.db")
    with pytest.raises(ValueError, match="unknown table"):
        journal.changes_apply(conn, [["d", "sqlite_master", 1]])
