"""Send the Anki collection models to the learner's database, everything else to ``default``."""

from __future__ import annotations

from typing import Any

COLLECTION_APPS = {"decks", "review"}


class CollectionRouter:
    def db_for_read(self, model: type[Any], **hints: Any) -> str | None:
        return "userdb" if model._meta.app_label in COLLECTION_APPS else None

    db_for_write = db_for_read

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == "default" and app_label not in COLLECTION_APPS
