"""``manage.py compact <username>``: fold one learner's journal into a new snapshot now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from sessions_cache.engine import collection_compact


class Command(BaseCommand):
    help = "Compact one learner's collection now."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        result = collection_compact(username=username)
        self.stdout.write(
            f"{result.username}: snapshot at seq {result.snapshot_seq}, {result.folded} folded"
        )
