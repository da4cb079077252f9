"""Functions Zappa's scheduled events call (see ``events`` in zappa_settings.json)."""

from __future__ import annotations

import logging
from typing import Any

from django.core.management import call_command

log = logging.getLogger("javumbo")


def compact_idle_collections(event: dict[str, Any] | None = None, context: Any = None) -> None:
    """Fold the journals of learners idle for a while into new snapshots."""
    call_command("compact_idle")


def clean_container_cache(event: dict[str, Any] | None = None, context: Any = None) -> None:
    """Drop cached collections by idle age and total size."""
    call_command("clean_cache")
