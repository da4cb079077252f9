"""Input and output shapes of the review endpoints (camelCase on the wire; docs/contracts.md)."""

from __future__ import annotations

from rest_framework import serializers

# The most a client may report; the answer is capped at the deck's maximum answer time anyway.
TIME_TAKEN_MAX_MS = 24 * 3600 * 1000


class DeckQuery(serializers.Serializer):
    deck = serializers.IntegerField(required=False, min_value=1)


class AnswerInput(serializers.Serializer):
    card_id = serializers.IntegerField(min_value=1)
    ease = serializers.IntegerField(
        min_value=1,
        max_value=4,
        error_messages={
            "min_value": "Use 1 (Again), 2 (Hard), 3 (Good) or 4 (Easy).",
            "max_value": "Use 1 (Again), 2 (Hard), 3 (Good) or 4 (Easy).",
        },
    )
    time_taken = serializers.IntegerField(
        required=False, default=0, min_value=0, max_value=TIME_TAKEN_MAX_MS, help_text="ms"
    )
    deck_id = serializers.IntegerField(
        required=False, min_value=1, help_text="the deck being studied (default: current deck)"
    )


class UndoInput(serializers.Serializer):
    deck_id = serializers.IntegerField(
        required=False, min_value=1, help_text="the deck being studied (default: current deck)"
    )


class StudyCardOutput(serializers.Serializer):
    id = serializers.IntegerField()
    note_id = serializers.IntegerField()
    deck_id = serializers.IntegerField()
    ord = serializers.IntegerField()
    front = serializers.CharField(help_text="sanitized HTML")
    back = serializers.CharField(help_text="sanitized HTML")
    css = serializers.CharField()
    type = serializers.IntegerField()
    queue = serializers.IntegerField()
    due = serializers.IntegerField()
    ivl = serializers.IntegerField()
    factor = serializers.IntegerField()
    reps = serializers.IntegerField()
    lapses = serializers.IntegerField()
    left = serializers.IntegerField()


class CountsOutput(serializers.Serializer):
    new = serializers.IntegerField()
    learning = serializers.IntegerField()
    review = serializers.IntegerField()


class IntervalOutput(serializers.Serializer):
    # `label` would shadow Field.label as a class attribute, so the fields are built here.
    def get_fields(self) -> dict[str, serializers.Field]:
        return {"seconds": serializers.IntegerField(), "label": serializers.CharField()}


class IntervalsOutput(serializers.Serializer):
    """One interval per answer button, keyed "1" (Again) to "4" (Easy)."""

    def get_fields(self) -> dict[str, serializers.Field]:
        return {str(ease): IntervalOutput() for ease in (1, 2, 3, 4)}


class StudyOutput(serializers.Serializer):
    deck_id = serializers.IntegerField()
    card = StudyCardOutput(allow_null=True)
    counts = CountsOutput()
    intervals = IntervalsOutput(allow_null=True)
    next_due_at = serializers.IntegerField(
        allow_null=True, help_text="epoch ms; set only when there is no card"
    )


class AnsweredCardOutput(serializers.Serializer):
    id = serializers.IntegerField()
    type = serializers.IntegerField()
    queue = serializers.IntegerField()
    due = serializers.IntegerField()
    ivl = serializers.IntegerField()
    factor = serializers.IntegerField()
    reps = serializers.IntegerField()
    lapses = serializers.IntegerField()
    left = serializers.IntegerField()


class AnswerOutput(serializers.Serializer):
    answered = AnsweredCardOutput()
    next = StudyOutput()


class UndoneOutput(serializers.Serializer):
    card_id = serializers.IntegerField()


class UndoOutput(serializers.Serializer):
    undone = UndoneOutput()
    next = StudyOutput()
