from __future__ import annotations

from django.apps import AppConfig


class SessionsCacheConfig(AppConfig):
    name = "sessions_cache"
    default_auto_field = "django.db.models.BigAutoField"
