"""``manage.py clean_cache``: trim this container's collection cache (scheduled)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from sessions_cache.cache import cache_clean


class Command(BaseCommand):
    help = "Drop cached collections idle too long, then the oldest until under the size cap."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--max-idle-seconds", type=int, default=None)
        parser.add_argument("--max-bytes", type=int, default=None)

    def handle(
        self, *args: Any, max_idle_seconds: int | None, max_bytes: int | None, **options: Any
    ) -> None:
        report = cache_clean(
            max_idle_seconds=settings.JAVUMBO_CACHE_MAX_IDLE_SECONDS
            if max_idle_seconds is None
            else max_idle_seconds,
            max_bytes=settings.JAVUMBO_CACHE_MAX_BYTES if max_bytes is None else max_bytes,
        )
        self.stdout.write(
            f"Removed {len(report.removed)} cached collection(s); {report.kept_bytes} bytes kept."
        )
