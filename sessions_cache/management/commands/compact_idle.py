"""``manage.py compact_idle``: fold idle learners' journals into snapshots (scheduled)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from sessions_cache.engine import compact_idle


class Command(BaseCommand):
    help = "Compact every learner whose newest journal entry is older than the idle time."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--idle-seconds", type=int, default=None)

    def handle(self, *args: Any, idle_seconds: int | None = None, **options: Any) -> None:
        results = compact_idle(idle_seconds=idle_seconds)
        for result in results:
            self.stdout.write(
                f"  {result.username}: snapshot at seq {result.snapshot_seq}, "
                f"{result.folded} entries folded"
            )
        self.stdout.write(f"Compacted {len(results)} idle collection(s).")
