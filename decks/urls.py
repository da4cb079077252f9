"""Routes of the collection endpoints, under /api/ (API.md)."""

from __future__ import annotations

from django.urls import URLPattern, path

from decks import services, views

urlpatterns: list[URLPattern] = [
    path("decks", views.DeckListView.as_view(), name="decks"),
    path("decks/current", views.CurrentDeckView.as_view(), name="deck-current"),
    path("decks/<int:deck_id>", views.DeckDetailView.as_view(), name="deck"),
    path("decks/<int:deck_id>/rename", views.DeckRenameView.as_view(), name="deck-rename"),
    path("decks/<int:deck_id>/cards", views.DeckCardsView.as_view(), name="deck-cards"),
    path("decks/<int:deck_id>/options", views.DeckOptionsView.as_view(), name="deck-options"),
    path("deck-options", views.PresetListView.as_view(), name="presets"),
    path("deck-options/<int:preset_id>", views.PresetDetailView.as_view(), name="preset"),
    path("notetypes", views.NotetypeListView.as_view(), name="notetypes"),
    path("notetypes/<int:notetype_id>", views.NotetypeDetailView.as_view(), name="notetype"),
    path("notes", views.NoteListView.as_view(), name="notes"),
    path("notes/<int:note_id>", views.NoteDetailView.as_view(), name="note"),
    path("tags", views.TagListView.as_view(), name="tags"),
    path("tags/rename", views.TagRenameView.as_view(), name="tag-rename"),
    path("cards", views.CardListView.as_view(), name="cards"),
    path("cards/<int:card_id>", views.CardDetailView.as_view(), name="card"),
    path("cards/<int:card_id>/move", views.CardMoveView.as_view(), name="card-move"),
    path("cards/<int:card_id>/forget", views.CardForgetView.as_view(), name="card-forget"),
    path(
        "cards/<int:card_id>/suspend",
        views.CardStateView.as_view(change=services.card_suspend),
        name="card-suspend",
    ),
    path(
        "cards/<int:card_id>/unsuspend",
        views.CardStateView.as_view(change=services.card_unsuspend),
        name="card-unsuspend",
    ),
    path(
        "cards/<int:card_id>/bury",
        views.CardStateView.as_view(change=services.card_bury),
        name="card-bury",
    ),
    path(
        "cards/<int:card_id>/unbury",
        views.CardStateView.as_view(change=services.card_unbury),
        name="card-unbury",
    ),
]
