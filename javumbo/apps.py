from __future__ import annotations

from django.apps import AppConfig


class JavumboConfig(AppConfig):
    name = "javumbo"
    default_auto_field = "django.db.models.BigAutoField"
