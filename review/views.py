"""The review endpoints: the next card of a deck, answering it, undoing answers.

Each view validates its input, calls one service from `review.services` and
serializes the answer (shapes in docs/contracts.md). The deck studied is
`?deck=<id>` (or `deckId` in a POST body), else the learner's current deck.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from javumbo.auth import learner_of
from review import services
from review.serializers import (
    AnswerInput,
    AnswerOutput,
    DeckQuery,
    StudyOutput,
    UndoInput,
    UndoOutput,
)

TAGS = ["review"]
DECK_PARAMETER = OpenApiParameter(
    "deck", int, description="deck to study, subdecks included (default: the current deck)"
)


def _valid(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _deck_asked(request: Request, body: dict[str, Any] | None = None) -> int | None:
    """The deck to study: the body's `deckId`, else `?deck=`, else None (current deck)."""
    if body is not None and body.get("deck_id") is not None:
        return int(body["deck_id"])
    deck = _valid(DeckQuery, request.query_params).get("deck")
    return None if deck is None else int(deck)


class ReviewView(APIView):
    @extend_schema(tags=TAGS, parameters=[DECK_PARAMETER], responses=StudyOutput)
    def get(self, request: Request) -> Response:
        """The deck's next card with the interval each answer button gives, and the counts
        left. With nothing to study now, `card` is null and `nextDueAt` says when."""
        view = services.study_next(
            username=learner_of(request).username, deck_id=_deck_asked(request)
        )
        return Response(StudyOutput(view).data)

    @extend_schema(
        tags=TAGS, parameters=[DECK_PARAMETER], request=AnswerInput, responses=AnswerOutput
    )
    def post(self, request: Request) -> Response:
        """Answer a card of the queue: 1 Again, 2 Hard, 3 Good, 4 Easy. 409 `not_in_queue`
        if the card is not in the queue now; `Idempotency-Key` makes a retry apply once."""
        body = _valid(AnswerInput, request.data)
        answered = services.card_answer(
            username=learner_of(request).username,
            card_id=body["card_id"],
            ease=body["ease"],
            time_taken_ms=body["time_taken"],
            deck_id=_deck_asked(request, body),
        )
        return Response(AnswerOutput(answered).data)


class ReviewUndoView(APIView):
    @extend_schema(tags=TAGS, parameters=[DECK_PARAMETER], request=UndoInput, responses=UndoOutput)
    def post(self, request: Request) -> Response:
        """Revert the most recent answer exactly; its card is shown next. Repeatable back
        through earlier answers; 409 `nothing_to_undo` when none is left."""
        body = _valid(UndoInput, request.data)
        undone = services.answer_undo(
            username=learner_of(request).username, deck_id=_deck_asked(request, body)
        )
        out = {"undone": {"card_id": undone.card_id}, "next": undone.next}
        return Response(UndoOutput(out).data)
