"""The storage benchmark: what a request costs, on a small and a large collection.

Starts its own local AWS endpoint (moto, serialized), creates two learners (a
~100-card collection and a ~40,000-card one with ~200,000 review-log rows),
and measures through the storage engine's real request protocol:

- open+read, warm (file cached) and cold (empty cache: one snapshot GET);
- a one-row change (an answer: one card updated, one revlog row added), warm and cold;
- compaction (fold the journal into a new snapshot);
- a 20-answer study session;

each with latency p50/p95 and S3 / DynamoDB requests and bytes per operation,
and, in the same run, the same figures for the approach Javumbo's first design
started from: download the whole file, change it, upload the whole file, on
every request.
"""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import shutil
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "anki" / "collection.anki2"


@dataclass
class Figures:
    label: str
    ms: list[float]
    s3: float
    ddb: float
    s3_bytes: float
    ddb_bytes: float

    def row(self) -> str:
        p50 = statistics.median(self.ms)
        p95 = sorted(self.ms)[max(0, round(0.95 * len(self.ms)) - 1)]
        return (
            f"  {self.label:<34} p50 {p50:8.2f} ms  p95 {p95:8.2f} ms  "
            f"S3 {self.s3:5.2f} req {self.s3_bytes / 1024:9.1f} KiB  "
            f"DynamoDB {self.ddb:5.2f} req {self.ddb_bytes / 1024:6.1f} KiB sent"
        )


def environment(endpoint: str, workdir: Path) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "javumbo.settings",
            "SECRET_KEY": "bench",
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_REGION": "us-east-1",
            "JAVUMBO_RESOURCE_PREFIX": f"jvb-{secrets.token_hex(3)}",
            "JAVUMBO_CACHE_DIR": str(workdir / "cache"),
            "JAVUMBO_DEFAULT_DB": str(workdir / "default.sqlite3"),
            "JAVUMBO_COMPACT_THRESHOLD": "1000000",
        }
    )


def build_collection(path: Path, cards: int, reviews_per_card: int) -> None:
    """A copy of a real Anki collection grown to ``cards`` cards with review history."""
    shutil.copy(FIXTURE, path)
    rng = random.Random(cards)
    with contextlib.closing(sqlite3.connect(path)) as conn:
        mid, did = conn.execute(
            "SELECT n.mid, c.did FROM notes n JOIN cards c ON c.nid = n.id"
        ).fetchone()
        base = 1_700_000_000_000
        notes, card_rows, revlog = [], [], []
        for i in range(cards):
            nid = cid = base + i
            front = f"word {i} {secrets.token_hex(6)}"
            notes.append(
                (nid, f"g{i:x}", mid, 1, -1, " bench ", f"{front}\x1fmeaning {i}", front, i, 0, "")
            )
            ivl = rng.randint(1, 400)
            card_rows.append(
                (cid, nid, did, 0, 1, -1, 2, 2, rng.randint(0, 60), ivl, 2500, 5, 0, 0, 0, 0, 0, "")
            )
            for r in range(reviews_per_card):
                revlog.append(
                    (
                        base * 2 + i * 10 + r,
                        cid,
                        -1,
                        rng.randint(1, 4),
                        ivl,
                        ivl // 2,
                        2500,
                        6000,
                        1,
                    )
                )
        conn.executemany("INSERT INTO notes VALUES (?,?,?,?,?,?,?,?,?,?,?)", notes)
        conn.executemany(
            "INSERT INTO cards VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", card_rows
        )
        conn.executemany("INSERT INTO revlog VALUES (?,?,?,?,?,?,?,?,?)", revlog)
        conn.commit()


@contextlib.contextmanager
def measured(results: list[tuple[float, int, int, int, int]]) -> Iterator[None]:
    from javumbo.accounting import measuring

    started = time.perf_counter()
    with measuring() as cost:
        yield
    ms = (time.perf_counter() - started) * 1000
    s3_bytes = cost.s3_bytes_in + cost.s3_bytes_out
    results.append((ms, cost.s3_requests, cost.ddb_requests, s3_bytes, cost.ddb_bytes_out))


def figures(label: str, runs: list[tuple[float, int, int, int, int]]) -> Figures:
    n = len(runs)
    return Figures(
        label,
        [r[0] for r in runs],
        sum(r[1] for r in runs) / n,
        sum(r[2] for r in runs) / n,
        sum(r[3] for r in runs) / n,
        sum(r[4] for r in runs) / n,
    )


class Learner:
    def __init__(self, name: str, cards: int, reviews_per_card: int, workdir: Path) -> None:
        from sessions_cache import engine

        self.username = f"{name}-{secrets.token_hex(3)}"
        self.collection_id = uuid.uuid4().hex
        engine.collection_create(
            username=self.username,
            collection_id=self.collection_id,
            build=lambda path: build_collection(path, cards, reviews_per_card),
        )
        self.card_ids = [1_700_000_000_000 + i for i in range(cards)]
        self.next_revlog = 1_900_000_000_000
        self.size = (workdir / "cache" / self.username / "collection.anki2").stat().st_size

    def read(self) -> None:
        from django.db import connections

        from sessions_cache.access import collection_session

        with collection_session(self.username, self.collection_id):
            connections["userdb"].cursor().execute("SELECT count(*) FROM cards WHERE queue = 2")

    def answer(self) -> None:
        from django.db import connections

        from sessions_cache.access import collection_session

        with collection_session(self.username, self.collection_id):
            self._answer_sql(connections["userdb"].cursor())

    def _answer_sql(self, cursor: Any) -> None:
        cid = random.choice(self.card_ids)
        self.next_revlog += 1
        cursor.execute(
            "UPDATE cards SET ivl = ivl + 1, reps = reps + 1, mod = %s WHERE id = %s",
            [int(time.time()), cid],
        )
        cursor.execute(
            "INSERT INTO revlog VALUES (%s, %s, -1, 3, 10, 5, 2500, 5000, 1)",
            [self.next_revlog, cid],
        )

    def compact(self) -> None:
        from sessions_cache import engine

        engine.collection_compact(username=self.username)

    def naive_answer(self, workdir: Path) -> None:
        """The first design: GET the whole file, change it, PUT the whole file."""
        from django.conf import settings

        from javumbo import aws
        from sessions_cache.store import snapshot_key

        key = snapshot_key(self.username) + ".naive"
        path = workdir / f"naive-{self.username}.anki2"
        body = aws.s3().get_object(Bucket=settings.JAVUMBO_BUCKET, Key=key)["Body"].read()
        path.write_bytes(body)
        with contextlib.closing(sqlite3.connect(path)) as conn:
            self.next_revlog += 1
            cid = random.choice(self.card_ids)
            conn.execute("UPDATE cards SET ivl = ivl + 1, reps = reps + 1 WHERE id = ?", (cid,))
            conn.execute(
                "INSERT INTO revlog VALUES (?, ?, -1, 3, 10, 5, 2500, 5000, 1)",
                (self.next_revlog, cid),
            )
            conn.commit()
        aws.s3().put_object(Bucket=settings.JAVUMBO_BUCKET, Key=key, Body=path.read_bytes())

    def naive_setup(self, workdir: Path) -> None:
        from django.conf import settings

        from javumbo import aws
        from sessions_cache.store import snapshot_key

        body = (workdir / "cache" / self.username / "collection.anki2").read_bytes()
        aws.s3().put_object(
            Bucket=settings.JAVUMBO_BUCKET, Key=snapshot_key(self.username) + ".naive", Body=body
        )


def cold(learner: Learner, action: Callable[[], None]) -> Callable[[], None]:
    def run() -> None:
        from sessions_cache.cache import CachedCollection

        CachedCollection(learner.username).discard()
        action()

    return run


def repeat(action: Callable[[], None], times: int) -> list[tuple[float, int, int, int, int]]:
    runs: list[tuple[float, int, int, int, int]] = []
    for _ in range(times):
        with measured(runs):
            action()
    return runs


def session_totals(
    action: Callable[[], None], answers: int, before: Callable[[], None] | None = None
) -> tuple[int, int]:
    runs: list[tuple[float, int, int, int, int]] = []
    if before:
        with measured(runs):
            before()
    for _ in range(answers):
        with measured(runs):
            action()
    return sum(r[1] for r in runs), sum(r[3] for r in runs)


def report(learner: Learner, label: str, workdir: Path, reps: int) -> dict[str, Figures]:
    learner.read()  # warm
    rows = {
        "open+read warm": figures("open+read, warm", repeat(learner.read, reps)),
        "open+read cold": figures(
            "open+read, cold", repeat(cold(learner, learner.read), max(3, reps // 5))
        ),
        "change warm": figures("one-row change, warm", repeat(learner.answer, reps)),
        "change cold": figures(
            "one-row change, cold", repeat(cold(learner, learner.answer), max(3, reps // 5))
        ),
    }
    compactions: list[tuple[float, int, int, int, int]] = []
    for _ in range(max(3, reps // 10)):
        for _ in range(5):
            learner.answer()
        with measured(compactions):
            learner.compact()
    rows["compaction"] = figures("compaction (after 5 changes)", compactions)
    learner.naive_setup(workdir)
    rows["naive change"] = figures(
        "first design: whole-file change",
        repeat(lambda: learner.naive_answer(workdir), max(3, reps // 5)),
    )
    print(f"\n{label}: {len(learner.card_ids):,} cards, file {learner.size / 1024 / 1024:.1f} MiB")
    for figure in rows.values():
        print(figure.row())
    return rows


def main(args: list[str]) -> None:
    from devtools.local_aws import LocalAWS

    quick = "--quick" in args
    endpoint = LocalAWS().start()
    workdir = Path(tempfile.mkdtemp(prefix="javumbo-bench-"))
    environment(endpoint.url, workdir)
    import django

    django.setup()
    from sessions_cache.provisioning import provision_configured

    provision_configured()
    reps = 10 if quick else 40
    large_cards = 4_000 if quick else 40_000
    print("Javumbo storage benchmark (local moto endpoint, serialized; python -m bench storage)")
    small = Learner("small", 100, 3, workdir)
    large = Learner("large", large_cards, 5, workdir)
    small_rows = report(small, "small collection", workdir, reps)
    large_rows = report(large, "large collection", workdir, reps)
    ratio = statistics.median(large_rows["change warm"].ms) / statistics.median(
        small_rows["change warm"].ms
    )
    print(f"\nwarm one-row change, large / small p50: {ratio:.2f}x (target <= 1.5x)")
    large.compact()
    cold(large, lambda: None)()
    ours = session_totals(large.answer, 20)
    flush = repeat(large.compact, 1)[0]
    with_flush = (ours[0] + flush[1], ours[1] + flush[3])
    naive = session_totals(lambda: large.naive_answer(workdir), 20)
    print("\n20-answer session on the large collection (cold container, then 19 warm answers):")
    print(f"  Javumbo:                {ours[0]:4d} S3 requests {ours[1] / 2**20:9.2f} MiB")
    print(
        f"  Javumbo + final flush:  {with_flush[0]:4d} S3 requests {with_flush[1] / 2**20:9.2f} MiB"
    )
    print(f"  first design:           {naive[0]:4d} S3 requests {naive[1] / 2**20:9.2f} MiB")
    print(
        f"  first design / Javumbo with flush: {naive[0] / max(1, with_flush[0]):.1f}x requests, "
        f"{naive[1] / max(1, with_flush[1]):.1f}x bytes (target >= 10x)"
    )
    endpoint.stop()
    shutil.rmtree(workdir, ignore_errors=True)
