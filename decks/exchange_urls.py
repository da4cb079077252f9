"""Routes of statistics, export and import (included in javumbo/urls.py's api_patterns)."""

from __future__ import annotations

from django.urls import URLPattern, path

from decks import exchange_views

urlpatterns: list[URLPattern] = [
    path("decks/<int:deck_id>/stats", exchange_views.DeckStatsView.as_view(), name="deck-stats"),
    path("stats", exchange_views.StatsView.as_view(), name="stats"),
    path("export", exchange_views.ExportView.as_view(), name="export"),
    path("import", exchange_views.ImportView.as_view(), name="import"),
    path("import/uploads", exchange_views.ImportUploadView.as_view(), name="import-uploads"),
]
