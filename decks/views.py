"""The collection endpoints: decks, deck options, note types, notes, tags and cards.

Each view validates its input with a serializer, calls one service (writes) or the
selectors (reads) and serializes the answer. Everything runs on the learner's own
collection (`userdb`), so an id from someone else's collection is simply not there:
404. A 4xx answer rolls back whatever the request changed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from djangorestframework_camel_case.parser import (
    CamelCaseFormParser,
    CamelCaseJSONParser,
    CamelCaseMultiPartParser,
)
from djangorestframework_camel_case.render import (
    CamelCaseBrowsableAPIRenderer,
    CamelCaseJSONRenderer,
)
from djangorestframework_camel_case.settings import api_settings as camel_settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from decks import selectors, services
from decks import serializers as shapes
from javumbo.auth import learner_of
from javumbo.pagination import PagePagination
from review.scheduler import Timing

# Note field names are the learner's own words: never case-convert the keys of `fields`.
FIELD_NAMES_KEPT = {**camel_settings.JSON_UNDERSCOREIZE, "ignore_fields": ("fields",)}


class FieldNamesKeptJSONParser(CamelCaseJSONParser):
    json_underscoreize = FIELD_NAMES_KEPT


class FieldNamesKeptJSONRenderer(CamelCaseJSONRenderer):
    json_underscoreize = FIELD_NAMES_KEPT


class CollectionView(APIView):
    parser_classes = [FieldNamesKeptJSONParser, CamelCaseFormParser, CamelCaseMultiPartParser]
    renderer_classes = [FieldNamesKeptJSONRenderer, CamelCaseBrowsableAPIRenderer]


def _valid(serializer_class: type[serializers.Serializer], data: Any) -> serializers.Serializer:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer


def _timing(request: Request) -> tuple[selectors.CollectionState, Timing]:
    """The collection and "today" in the learner's timezone."""
    state = selectors.collection_load()
    timezone = services.learner_timezone(username=learner_of(request).username, state=state)
    return state, selectors.collection_timing(state, timezone=timezone)


def _page(
    request: Request,
    view: APIView,
    items: Sequence[Any] | selectors.SearchResults,
    shape: type[serializers.Serializer],
) -> Response:
    paginator = PagePagination()
    page = paginator.paginate_queryset(items, request, view=view)  # type: ignore[arg-type]
    return paginator.get_paginated_response(shape(page, many=True).data)


def _deck_out(request: Request, deck_id: int) -> dict[str, Any]:
    state, timing = _timing(request)
    return dict(shapes.DeckOutput(selectors.deck_detail(state, timing, deck_id)).data)


def _card_out(card_id: int) -> dict[str, Any]:
    state = selectors.collection_load()
    return dict(shapes.CardOutput(selectors.card_detail(state, card_id)).data)


def _note_out(note_id: int) -> dict[str, Any]:
    state = selectors.collection_load()
    return dict(shapes.NoteOutput(selectors.note_detail(state, note_id)).data)


PAGE_PARAMETERS = [
    OpenApiParameter("page", int, description="1-based page number"),
    OpenApiParameter("perPage", int, description="items per page (default 20, max 200)"),
]

# Decks
# ---------------------------------------------------------------------------


class DeckListView(CollectionView):
    @extend_schema(
        tags=["decks"], parameters=PAGE_PARAMETERS, responses=shapes.DeckOutput(many=True)
    )
    def get(self, request: Request) -> Response:
        """The deck tree: top-level decks (paginated), subdecks nested in `children`, each
        with new, learning and review-due-today counts including subdecks; and the
        current deck's id as `currentDeckId`."""
        state, timing = _timing(request)
        response = _page(request, self, selectors.deck_tree(state, timing), shapes.DeckOutput)
        response.data["current_deck_id"] = state.current_deck_id()
        return response

    @extend_schema(tags=["decks"], request=shapes.DeckNameInput, responses={201: shapes.DeckOutput})
    def post(self, request: Request) -> Response:
        """Create a deck (`A::B` nests; missing parents are created). 409 if it exists."""
        name = _valid(shapes.DeckNameInput, request.data).validated_data["name"]
        deck_id = services.deck_create(name=name)
        return Response(_deck_out(request, deck_id), status=status.HTTP_201_CREATED)


class CurrentDeckView(CollectionView):
    @extend_schema(
        tags=["decks"], request=shapes.CurrentDeckInput, responses=shapes.CurrentDeckOutput
    )
    def put(self, request: Request) -> Response:
        """Make a deck the current one (new cards go there; study starts there)."""
        deck_id = _valid(shapes.CurrentDeckInput, request.data).validated_data["deck_id"]
        services.deck_set_current(deck_id=deck_id)
        return Response({"current_deck_id": deck_id})


class DeckDetailView(CollectionView):
    @extend_schema(tags=["decks"], responses=shapes.DeckOutput)
    def get(self, request: Request, deck_id: int) -> Response:
        return Response(_deck_out(request, deck_id))

    @extend_schema(tags=["decks"], request=shapes.DeckUpdateInput, responses=shapes.DeckOutput)
    def patch(self, request: Request, deck_id: int) -> Response:
        """Rename (subdecks follow) and/or change the description."""
        data = _valid(shapes.DeckUpdateInput, request.data).validated_data
        services.deck_update(deck_id=deck_id, **data)
        return Response(_deck_out(request, deck_id))

    @extend_schema(tags=["decks"], responses={204: None})
    def delete(self, request: Request, deck_id: int) -> Response:
        """Delete the deck, its subdecks and their cards (notes left without cards too).
        The Default deck (id 1) cannot be deleted."""
        services.deck_delete(deck_id=deck_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeckRenameView(CollectionView):
    @extend_schema(tags=["decks"], request=shapes.DeckNameInput, responses=shapes.DeckOutput)
    def put(self, request: Request, deck_id: int) -> Response:
        name = _valid(shapes.DeckNameInput, request.data).validated_data["name"]
        services.deck_rename(deck_id=deck_id, name=name)
        return Response(_deck_out(request, deck_id))


class DeckCardsView(CollectionView):
    @extend_schema(
        tags=["decks"], parameters=PAGE_PARAMETERS, responses=shapes.CardOutput(many=True)
    )
    def get(self, request: Request, deck_id: int) -> Response:
        """The cards of a deck and its subdecks, paginated."""
        state, timing = _timing(request)
        cards = selectors.cards_search(state, timing, deck_id=deck_id)
        return _page(request, self, cards, shapes.CardOutput)


class DeckOptionsView(CollectionView):
    @extend_schema(tags=["deck options"], responses=shapes.PresetOutput)
    def get(self, request: Request, deck_id: int) -> Response:
        """The options preset the deck uses."""
        state = selectors.collection_load()
        preset = selectors.preset_of_deck(state, deck_id)
        return Response(shapes.PresetOutput(selectors.preset_view(state, preset)).data)

    @extend_schema(
        tags=["deck options"], request=shapes.DeckOptionsInput, responses=shapes.PresetOutput
    )
    def put(self, request: Request, deck_id: int) -> Response:
        """`presetId` switches the deck to that preset; option fields change the preset
        the deck uses (and so every deck sharing it, as in Anki)."""
        valid = _valid(shapes.DeckOptionsInput, request.data)
        preset_id = services.deck_options_put(
            deck_id=deck_id,
            preset_id=valid.validated_data.get("preset_id"),
            options=valid.options(),  # type: ignore[attr-defined]
        )
        return Response(_preset_out(preset_id))


def _preset_out(preset_id: int) -> dict[str, Any]:
    state = selectors.collection_load()
    preset = selectors.preset_require(state, preset_id)
    return dict(shapes.PresetOutput(selectors.preset_view(state, preset)).data)


class PresetListView(CollectionView):
    @extend_schema(
        tags=["deck options"], parameters=PAGE_PARAMETERS, responses=shapes.PresetOutput(many=True)
    )
    def get(self, request: Request) -> Response:
        state = selectors.collection_load()
        return _page(request, self, selectors.presets_list(state), shapes.PresetOutput)

    @extend_schema(
        tags=["deck options"],
        request=shapes.PresetCreateInput,
        responses={201: shapes.PresetOutput},
    )
    def post(self, request: Request) -> Response:
        """A new preset with Anki's defaults (or `cloneFrom` another), then any options given."""
        valid = _valid(shapes.PresetCreateInput, request.data)
        preset_id = services.preset_create(
            name=valid.validated_data["name"],
            clone_from=valid.validated_data.get("clone_from"),
            options=valid.options(),  # type: ignore[attr-defined]
        )
        return Response(_preset_out(preset_id), status=status.HTTP_201_CREATED)


class PresetDetailView(CollectionView):
    @extend_schema(tags=["deck options"], responses=shapes.PresetOutput)
    def get(self, request: Request, preset_id: int) -> Response:
        return Response(_preset_out(preset_id))

    @extend_schema(
        tags=["deck options"], request=shapes.PresetUpdateInput, responses=shapes.PresetOutput
    )
    def put(self, request: Request, preset_id: int) -> Response:
        valid = _valid(shapes.PresetUpdateInput, request.data)
        services.preset_update(
            preset_id=preset_id,
            name=valid.validated_data.get("name"),
            options=valid.options(),  # type: ignore[attr-defined]
        )
        return Response(_preset_out(preset_id))

    @extend_schema(tags=["deck options"], responses={204: None})
    def delete(self, request: Request, preset_id: int) -> Response:
        """Decks using it go back to the default preset (id 1, which cannot be deleted)."""
        services.preset_delete(preset_id=preset_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


# Note types
# ---------------------------------------------------------------------------


class NotetypeListView(CollectionView):
    @extend_schema(
        tags=["notes"], parameters=PAGE_PARAMETERS, responses=shapes.NotetypeOutput(many=True)
    )
    def get(self, request: Request) -> Response:
        state = selectors.collection_load()
        return _page(request, self, selectors.notetypes_list(state), shapes.NotetypeOutput)


class NotetypeDetailView(CollectionView):
    @extend_schema(tags=["notes"], responses=shapes.NotetypeOutput)
    def get(self, request: Request, notetype_id: int) -> Response:
        notetype = selectors.notetype_require(selectors.collection_load(), notetype_id)
        return Response(shapes.NotetypeOutput(selectors.notetype_view(notetype)).data)


# Notes and tags
# ---------------------------------------------------------------------------


class NoteListView(CollectionView):
    @extend_schema(
        tags=["notes"],
        parameters=[OpenApiParameter("q", str, description="search"), *PAGE_PARAMETERS],
        responses=shapes.NoteOutput(many=True),
    )
    def get(self, request: Request) -> Response:
        """Notes with a card matching `q` (the card search language), oldest first."""
        q = _valid(shapes.NoteListQuery, request.query_params).validated_data["q"]
        state, timing = _timing(request)
        return _page(request, self, selectors.notes_search(state, timing, q=q), shapes.NoteOutput)

    @extend_schema(
        tags=["notes"], request=shapes.NoteCreateInput, responses={201: shapes.NoteOutput}
    )
    def post(self, request: Request) -> Response:
        """Add a note and the cards its note type generates."""
        data = _valid(shapes.NoteCreateInput, request.data).validated_data
        note_id = services.note_create(
            notetype=data.get("notetype_id", data.get("notetype", "")),
            fields=data["fields"],
            tags=data["tags"],
            deck_id=data.get("deck_id"),
        )
        return Response(_note_out(note_id), status=status.HTTP_201_CREATED)


class NoteDetailView(CollectionView):
    @extend_schema(tags=["notes"], responses=shapes.NoteOutput)
    def get(self, request: Request, note_id: int) -> Response:
        return Response(_note_out(note_id))

    @extend_schema(tags=["notes"], request=shapes.NoteUpdateInput, responses=shapes.NoteOutput)
    def put(self, request: Request, note_id: int) -> Response:
        """Change fields (all as a list, or some by name) and/or tags (replaced)."""
        data = _valid(shapes.NoteUpdateInput, request.data).validated_data
        services.note_update(note_id=note_id, fields=data.get("fields"), tags=data.get("tags"))
        return Response(_note_out(note_id))

    patch = put

    @extend_schema(tags=["notes"], responses={204: None})
    def delete(self, request: Request, note_id: int) -> Response:
        services.note_delete(note_id=note_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TagListView(CollectionView):
    @extend_schema(
        tags=["notes"], parameters=PAGE_PARAMETERS, responses=shapes.TagOutput(many=True)
    )
    def get(self, request: Request) -> Response:
        state = selectors.collection_load()
        return _page(request, self, selectors.tags_list(state), shapes.TagOutput)


class TagRenameView(CollectionView):
    @extend_schema(tags=["notes"], request=shapes.TagRenameInput, responses=shapes.TagRenamedOutput)
    def put(self, request: Request) -> Response:
        """Rename a tag and its `::` children on every note (ignoring case)."""
        data = _valid(shapes.TagRenameInput, request.data).validated_data
        return Response({"renamed": services.tag_rename(old=data["old"], new=data["new"])})


# Cards
# ---------------------------------------------------------------------------


class CardListView(CollectionView):
    @extend_schema(
        tags=["cards"],
        parameters=[
            OpenApiParameter("q", str, description="search, e.g. `tag:verbs is:due -deck:Old`"),
            OpenApiParameter("deck", int, description="deck id (its subdecks included)"),
            *PAGE_PARAMETERS,
        ],
        responses=shapes.CardOutput(many=True),
    )
    def get(self, request: Request) -> Response:
        data = _valid(shapes.CardListQuery, request.query_params).validated_data
        state, timing = _timing(request)
        cards = selectors.cards_search(state, timing, q=data["q"], deck_id=data.get("deck"))
        return _page(request, self, cards, shapes.CardOutput)

    @extend_schema(
        tags=["cards"], request=shapes.CardCreateInput, responses={201: shapes.CardOutput}
    )
    def post(self, request: Request) -> Response:
        """The old client's "add card": a Basic note (Front/Back) in the current deck."""
        data = _valid(shapes.CardCreateInput, request.data).validated_data
        card_id = services.card_create(**data)
        return Response(_card_out(card_id), status=status.HTTP_201_CREATED)


class CardDetailView(CollectionView):
    @extend_schema(tags=["cards"], responses=shapes.CardOutput)
    def get(self, request: Request, card_id: int) -> Response:
        """One card: its note's fields, rendered sides, CSS and every scheduling field."""
        return Response(_card_out(card_id))

    @extend_schema(tags=["cards"], request=shapes.CardUpdateInput, responses=shapes.CardOutput)
    def put(self, request: Request, card_id: int) -> Response:
        """`front`/`back` edit the note's Front/Back fields; `deckId` moves; `flags` flags."""
        data = _valid(shapes.CardUpdateInput, request.data).validated_data
        services.card_update(card_id=card_id, **data)
        return Response(_card_out(card_id))

    @extend_schema(tags=["cards"], responses={204: None})
    def delete(self, request: Request, card_id: int) -> Response:
        """Delete the card, and its note if it has no other card."""
        services.card_delete(card_id=card_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CardMoveView(CollectionView):
    @extend_schema(tags=["cards"], request=shapes.CardMoveInput, responses=shapes.CardOutput)
    def post(self, request: Request, card_id: int) -> Response:
        deck_id = _valid(shapes.CardMoveInput, request.data).validated_data["deck_id"]
        services.card_move(card_id=card_id, deck_id=deck_id)
        return Response(_card_out(card_id))


class CardForgetView(CollectionView):
    @extend_schema(tags=["cards"], request=shapes.CardForgetInput, responses=shapes.CardOutput)
    def post(self, request: Request, card_id: int) -> Response:
        """Reset to new at the end of the new queue (Anki's Forget)."""
        data = _valid(shapes.CardForgetInput, request.data).validated_data
        services.card_forget(card_id=card_id, **data)
        return Response(_card_out(card_id))


class CardStateView(CollectionView):
    """Suspend, unsuspend, bury or unbury (`change`, set in the URLconf)."""

    change: Callable[..., None] = staticmethod(services.card_suspend)

    @extend_schema(tags=["cards"], request=None, responses=shapes.CardOutput)
    def post(self, request: Request, card_id: int) -> Response:
        self.change(card_id=card_id)
        return Response(_card_out(card_id))
