"""``python -m bench stats``: statistics latency on a large collection, and a large import.

Starts its own local AWS endpoint (moto, serialized) and, through the real request
path (middleware, JWT, storage engine, views) in process:

1. a learner with 40,000 cards (new, learning, review, suspended, buried; in a deck
   tree) and 200,000 review-log rows spread over the last year: GET /api/stats,
   GET /api/stats?deck=<a parent deck> and GET /api/decks/<id>/stats, warm, p50/p95;
2. a learner importing a 20,000-note package (20,000 reviewed cards, 100,000 review-log
   rows): the request's time, its journal entry (compressed, spilled to S3), a cold
   container catching up from it, and the compaction that folds it into the snapshot.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import random
import secrets
import shutil
import sqlite3
import statistics
import tempfile
import time
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.storage import environment

CARDS = 40_000
REVIEWS = 200_000
IMPORT_NOTES = 20_000
IMPORT_REVIEWS_PER_NOTE = 5
DAY_MS = 86_400_000
DECKS = ("Languages", "Languages::French", "Languages::Spanish", "Geography")
DECK_IDS = {name: 1_700_000_000_001 + offset for offset, name in enumerate(DECKS)}


def new_collection(path: Path) -> tuple[int, dict[str, int]]:
    """A fresh collection with a small deck tree; returns the Basic type id and the decks."""
    from decks import anki

    anki.collection_create(path)
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        models, decks = (
            json.loads(v) for v in conn.execute("SELECT models, decks FROM col").fetchone()
        )
        basic = next(int(k) for k, m in models.items() if m["name"] == "Basic")
        ids = {"Default": 1, **DECK_IDS}
        for name, deck_id in DECK_IDS.items():
            decks[str(deck_id)] = {**decks["1"], "id": deck_id, "name": name}
        conn.execute("UPDATE col SET decks = ?", (json.dumps(decks),))
    return basic, ids


def card_state(rng: random.Random, today: int) -> tuple[int, int, int, int]:
    """(type, queue, due, ivl) in a realistic mix."""
    roll = rng.random()
    if roll < 0.30:
        return 0, 0, rng.randint(1, 20_000), 0
    if roll < 0.35:
        return 1, 1, int(time.time()) + rng.randint(-600, 3600), 0
    if roll < 0.95:
        return 2, 2, today + rng.randint(-10, 60), rng.randint(1, 400)
    if roll < 0.98:
        return 2, -1, today + rng.randint(-10, 60), rng.randint(1, 400)
    return 2, -3, today + rng.randint(1, 60), rng.randint(1, 400)


def build_studied(path: Path) -> dict[str, int]:
    """40,000 cards and 200,000 review-log rows over the last 365 days."""
    basic, decks = new_collection(path)
    rng = random.Random(7)
    base = 1_600_000_000_000
    now_ms = int(time.time() * 1000)
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        crt = conn.execute("SELECT crt FROM col").fetchone()[0]
        today = (now_ms // 1000 - crt) // 86_400
        deck_ids = list(decks.values())
        notes, cards = [], []
        for i in range(CARDS):
            kind, queue, due, ivl = card_state(rng, today)
            notes.append(
                (
                    base + i,
                    f"s{i:x}",
                    basic,
                    1,
                    -1,
                    "",
                    f"word {i}\x1fmeaning {i}",
                    f"word {i}",
                    i,
                    0,
                    "",
                )
            )
            cards.append(
                (
                    base + i,
                    base + i,
                    rng.choice(deck_ids),
                    0,
                    1,
                    -1,
                    kind,
                    queue,
                    due,
                    ivl,
                    2500,
                    5,
                    0,
                    0,
                    0,
                    0,
                    0,
                    "",
                )
            )
        conn.executemany("INSERT INTO notes VALUES (?,?,?,?,?,?,?,?,?,?,?)", notes)
        conn.executemany("INSERT INTO cards VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", cards)
        start = now_ms - 365 * DAY_MS
        reviews = sorted(rng.randrange(start, now_ms) for _ in range(REVIEWS))
        conn.executemany(
            "INSERT OR IGNORE INTO revlog VALUES (?, ?, -1, ?, ?, ?, 2500, ?, ?)",
            (
                (
                    at,
                    base + rng.randrange(CARDS),
                    rng.choice((1, 3, 3, 3, 2, 4)),
                    10,
                    rng.choice((1, 5, 30)),
                    rng.randint(2000, 20000),
                    rng.choice((0, 1, 1, 1, 2)),
                )
                for at in reviews
            ),
        )
    return decks


def import_package(workdir: Path) -> bytes:
    """A legacy .apkg of 20,000 Basic notes, each card reviewed five times."""
    path = workdir / "to-import.anki2"
    basic, decks = new_collection(path)
    base = 1_650_000_000_000
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.executemany(
            "INSERT INTO notes VALUES (?, ?, ?, 1, -1, ' bulk ', ?, ?, 0, 0, '')",
            (
                (base + i, f"bulk{i}", basic, f"palabra {i}\x1fword {i}", f"palabra {i}")
                for i in range(IMPORT_NOTES)
            ),
        )
        conn.executemany(
            "INSERT INTO cards VALUES (?, ?, ?, 0, 1, -1, 2, 2, 5, 30, 2500, 5, 0, 0, 0, 0, 0, '')",
            ((base + i, base + i, decks["Languages::Spanish"]) for i in range(IMPORT_NOTES)),
        )
        conn.executemany(
            "INSERT INTO revlog VALUES (?, ?, -1, 3, 30, 10, 2500, 6000, 1)",
            (
                (base + i * IMPORT_REVIEWS_PER_NOTE + r, base + i)
                for i in range(IMPORT_NOTES)
                for r in range(IMPORT_REVIEWS_PER_NOTE)
            ),
        )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(path, "collection.anki2")
        archive.writestr("media", "{}")
    return buffer.getvalue()


class BenchLearner:
    """A learner made directly through the engine, with an access token."""

    def __init__(self, name: str, build: Callable[[Path], Any]) -> None:
        from rest_framework_simplejwt.tokens import AccessToken

        from sessions_cache import engine

        self.username = f"{name}-{secrets.token_hex(3)}"
        collection_id = uuid.uuid4().hex
        engine.collection_create(username=self.username, collection_id=collection_id, build=build)
        token = AccessToken()
        token["username"] = self.username
        token["cid"] = collection_id
        self.auth = f"Bearer {token}"

    def get(self, url: str) -> Any:
        from django.test import Client

        response = Client(HTTP_AUTHORIZATION=self.auth).get(url)
        assert response.status_code == 200, response.content[:300]
        return response

    def post_file(self, url: str, name: str, data: bytes) -> Any:
        from django.core.files.uploadedfile import SimpleUploadedFile
        from django.test import Client

        upload = SimpleUploadedFile(name, data, "application/octet-stream")
        response = Client(HTTP_AUTHORIZATION=self.auth).post(url, {"file": upload})
        assert response.status_code == 200, response.content[:300]
        return response


def timed(action: Callable[[], Any], times: int) -> list[float]:
    runs = []
    for _ in range(times):
        started = time.perf_counter()
        action()
        runs.append((time.perf_counter() - started) * 1000)
    return runs


def line(label: str, runs: list[float]) -> str:
    p50 = statistics.median(runs)
    p95 = sorted(runs)[max(0, round(0.95 * len(runs)) - 1)]
    return f"  {label:<38} p50 {p50:8.1f} ms   p95 {p95:8.1f} ms   ({len(runs)} runs)"


def elapsed_ms(started: float) -> str:
    return f"{(time.perf_counter() - started) * 1000:,.0f} ms"


def stats_latency(workdir: Path, reps: int) -> None:
    learner = BenchLearner("studied", build_studied)
    size = (workdir / "cache" / learner.username / "collection.anki2").stat().st_size / 2**20
    print(f"\nStatistics: {CARDS:,} cards, {REVIEWS:,} review-log rows, file {size:.1f} MiB")
    parent = DECK_IDS["Languages"]
    learner.get("/api/stats")  # warm: the file is cached, the timezone recorded
    body = json.loads(learner.get("/api/stats").content)
    days = len(body["reviewsPerDay"])
    print(f"  (answer: {body['cardCounts']['total']:,} cards, {days} days with reviews)")
    urls = {
        "GET /api/stats (warm)": "/api/stats",
        "GET /api/stats?deck=<parent> (warm)": f"/api/stats?deck={parent}",
        "GET /api/stats?days=30 (warm)": "/api/stats?days=30",
        "GET /api/decks/<parent>/stats (warm)": f"/api/decks/{parent}/stats",
    }
    for label, url in urls.items():
        print(line(label, timed(functools.partial(learner.get, url), reps)))


def large_import(workdir: Path) -> None:
    from django.conf import settings

    from decks import anki
    from javumbo import aws
    from sessions_cache import engine, store
    from sessions_cache.cache import CachedCollection

    learner = BenchLearner("importer", lambda path: anki.collection_create(path))
    package = import_package(workdir)
    reviews = IMPORT_NOTES * IMPORT_REVIEWS_PER_NOTE
    print(
        f"\nImport: {IMPORT_NOTES:,} notes, {reviews:,} review-log rows,"
        f" package {len(package) / 2**20:.1f} MiB"
    )
    started = time.perf_counter()
    answer = json.loads(learner.post_file("/api/import", "big.apkg", package).content)
    print(f"  POST /api/import answered after {elapsed_ms(started)}: notes {answer['notes']}")
    entries, _ = store.journal_read(learner.username, 0)
    entry = entries[-1]
    if entry.spill:
        head = aws.s3().head_object(Bucket=settings.JAVUMBO_BUCKET, Key=entry.spill)
        where, size = "spilled to S3", head["ContentLength"]
    else:
        where, size = "in DynamoDB", len(entry.data or b"")
    print(f"  one journal entry, {size / 2**20:.2f} MiB compressed, {where}")
    CachedCollection(learner.username).discard()
    started = time.perf_counter()
    learner.get("/api/stats")
    print(f"  a cold container's first GET /api/stats (snapshot + entry): {elapsed_ms(started)}")
    started = time.perf_counter()
    engine.collection_compact(username=learner.username)
    print(f"  compaction folding the entry into the snapshot: {elapsed_ms(started)}")


def main(args: list[str]) -> None:
    from devtools.local_aws import LocalAWS

    quick = "--quick" in args
    endpoint = LocalAWS().start()
    workdir = Path(tempfile.mkdtemp(prefix="javumbo-bench-stats-"))
    environment(endpoint.url, workdir)
    # Requests go through Django's test client (host "testserver"), signed with a real key.
    os.environ.update(ALLOWED_HOSTS="testserver", SECRET_KEY=f"bench-{secrets.token_hex(16)}")
    import django

    django.setup()
    from django.conf import settings

    from javumbo import aws
    from sessions_cache.provisioning import provision

    provision(
        aws.s3(),
        aws.dynamodb(),
        bucket=settings.JAVUMBO_BUCKET,
        tables=settings.JAVUMBO_TABLES,
        region=settings.AWS_REGION,
    )
    print("Javumbo statistics and import benchmark (local moto endpoint; python -m bench stats)")
    stats_latency(workdir, 10 if quick else 40)
    large_import(workdir)
    endpoint.stop()
    shutil.rmtree(workdir, ignore_errors=True)
