"""Input and output shapes of the collection endpoints (camelCase on the wire).

Inputs check types and shapes; the rules that need the collection (field counts, name
clashes, option ranges...) are the services' and come back as the same 400 envelope.
Outputs describe the dictionaries the selectors build. Note field names are the
learner's own (`"Back Extra"`, `"myField"`): they travel as keys of `fields` and are never
case-converted (see FIELD_NAMES_KEPT in decks.views).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from decks.services import LEECH_ACTIONS, PRESET_OPTIONS, OptionRule


def _text(**kwargs: Any) -> serializers.CharField:
    """Text taken exactly as sent (the services trim and judge it)."""
    return serializers.CharField(trim_whitespace=False, allow_blank=True, **kwargs)


class WithFieldsEntry(serializers.Serializer):
    """A serializer with an entry called `fields` (declaring an attribute of that name
    would hide DRF's own `Serializer.fields`)."""

    def fields_entry(self) -> serializers.Field:
        raise NotImplementedError

    def get_fields(self) -> dict[str, serializers.Field]:
        fields: dict[str, serializers.Field] = super().get_fields()
        fields["fields"] = self.fields_entry()
        return fields


def _field_values_output() -> serializers.Field:
    return serializers.DictField(child=serializers.CharField(), help_text="name -> HTML")


# Decks
# ---------------------------------------------------------------------------


class DeckNameInput(serializers.Serializer):
    name = _text(max_length=10_000)


class DeckUpdateInput(serializers.Serializer):
    name = _text(max_length=10_000, required=False)
    description = _text(required=False)


class CurrentDeckInput(serializers.Serializer):
    deck_id = serializers.IntegerField()


class DeckOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    short_name = serializers.CharField()
    parent_id = serializers.IntegerField(allow_null=True)
    filtered = serializers.BooleanField()
    preset_id = serializers.IntegerField(allow_null=True)
    description = serializers.CharField()
    collapsed = serializers.BooleanField()
    new_count = serializers.IntegerField(help_text="new cards, this deck and its subdecks")
    learn_count = serializers.IntegerField(help_text="learning cards due today")
    review_count = serializers.IntegerField(help_text="review cards due today")
    card_count = serializers.IntegerField(help_text="all cards, suspended and buried too")
    children = serializers.ListField(child=serializers.DictField(), help_text="DeckOutput each")


class CurrentDeckOutput(serializers.Serializer):
    current_deck_id = serializers.IntegerField()


# Deck options presets
# ---------------------------------------------------------------------------


def _option_field(rule: OptionRule) -> serializers.Field:
    if rule.kind == "bool":
        return serializers.BooleanField(required=False)
    if rule.kind == "leech_action":
        return serializers.ChoiceField(choices=list(LEECH_ACTIONS), required=False)
    if rule.kind == "steps":
        return serializers.ListField(child=serializers.FloatField(), required=False)
    if rule.kind == "int":
        return serializers.IntegerField(
            min_value=int(rule.low), max_value=int(rule.high), required=False
        )
    return serializers.FloatField(min_value=rule.low, max_value=rule.high, required=False)


class PresetOptionsInput(serializers.Serializer):
    """Any of the options, each optional; what is left out keeps its value."""

    new_per_day = _option_field(PRESET_OPTIONS["new_per_day"])
    reviews_per_day = _option_field(PRESET_OPTIONS["reviews_per_day"])
    learning_steps = _option_field(PRESET_OPTIONS["learning_steps"])
    graduating_interval = _option_field(PRESET_OPTIONS["graduating_interval"])
    easy_interval = _option_field(PRESET_OPTIONS["easy_interval"])
    starting_ease = _option_field(PRESET_OPTIONS["starting_ease"])
    relearning_steps = _option_field(PRESET_OPTIONS["relearning_steps"])
    lapse_multiplier = _option_field(PRESET_OPTIONS["lapse_multiplier"])
    minimum_interval = _option_field(PRESET_OPTIONS["minimum_interval"])
    leech_threshold = _option_field(PRESET_OPTIONS["leech_threshold"])
    leech_action = _option_field(PRESET_OPTIONS["leech_action"])
    hard_multiplier = _option_field(PRESET_OPTIONS["hard_multiplier"])
    easy_bonus = _option_field(PRESET_OPTIONS["easy_bonus"])
    interval_modifier = _option_field(PRESET_OPTIONS["interval_modifier"])
    maximum_interval = _option_field(PRESET_OPTIONS["maximum_interval"])
    bury_new = _option_field(PRESET_OPTIONS["bury_new"])
    bury_reviews = _option_field(PRESET_OPTIONS["bury_reviews"])
    bury_interday_learning = _option_field(PRESET_OPTIONS["bury_interday_learning"])
    max_answer_seconds = _option_field(PRESET_OPTIONS["max_answer_seconds"])

    def options(self) -> dict[str, Any]:
        """The options given (validated), by name."""
        return {k: v for k, v in self.validated_data.items() if k in PRESET_OPTIONS}


class DeckOptionsInput(PresetOptionsInput):
    preset_id = serializers.IntegerField(required=False, help_text="switch the deck to it")


class PresetCreateInput(PresetOptionsInput):
    name = _text(max_length=1000)
    clone_from = serializers.IntegerField(required=False, help_text="copy this preset")


class PresetUpdateInput(PresetOptionsInput):
    name = _text(max_length=1000, required=False)


class PresetOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    deck_ids = serializers.ListField(child=serializers.IntegerField())
    new_per_day = serializers.IntegerField()
    reviews_per_day = serializers.IntegerField()
    learning_steps = serializers.ListField(child=serializers.FloatField(), help_text="minutes")
    graduating_interval = serializers.IntegerField(help_text="days")
    easy_interval = serializers.IntegerField(help_text="days")
    starting_ease = serializers.FloatField(help_text="e.g. 2.5")
    relearning_steps = serializers.ListField(child=serializers.FloatField(), help_text="minutes")
    lapse_multiplier = serializers.FloatField(help_text="new interval after a lapse")
    minimum_interval = serializers.IntegerField()
    leech_threshold = serializers.IntegerField()
    leech_action = serializers.ChoiceField(choices=list(LEECH_ACTIONS))
    hard_multiplier = serializers.FloatField()
    easy_bonus = serializers.FloatField()
    interval_modifier = serializers.FloatField()
    maximum_interval = serializers.IntegerField()
    bury_new = serializers.BooleanField()
    bury_reviews = serializers.BooleanField()
    bury_interday_learning = serializers.BooleanField()
    max_answer_seconds = serializers.IntegerField()


# Note types
# ---------------------------------------------------------------------------


class NotetypeFieldOutput(serializers.Serializer):
    name = serializers.CharField()
    ord = serializers.IntegerField()


class NotetypeTemplateOutput(serializers.Serializer):
    name = serializers.CharField()
    ord = serializers.IntegerField()
    front = serializers.CharField()
    back = serializers.CharField()


class NotetypeOutput(WithFieldsEntry):
    def fields_entry(self) -> serializers.Field:
        return NotetypeFieldOutput(many=True)

    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=["standard", "cloze"])
    templates = NotetypeTemplateOutput(many=True)
    sort_field = serializers.IntegerField()
    css = serializers.CharField()


# Notes
# ---------------------------------------------------------------------------


@extend_schema_field(
    {
        "oneOf": [
            {"type": "array", "items": {"type": "string"}},
            {"type": "object", "additionalProperties": {"type": "string"}},
        ]
    }
)
class NoteFieldsField(serializers.Field):
    """A note's fields: every value in order (a list), or some of them by name (an object)."""

    default_error_messages = {
        "invalid": "Send a list of field values, or an object of field name -> value.",
    }

    def to_internal_value(self, data: Any) -> list[str] | dict[str, str]:
        if isinstance(data, list) and all(isinstance(value, str) for value in data):
            return list(data)
        if isinstance(data, dict) and all(
            isinstance(name, str) and isinstance(value, str) for name, value in data.items()
        ):
            return dict(data)
        self.fail("invalid")

    def to_representation(self, value: Any) -> Any:
        return value


def _tags_field(**kwargs: Any) -> serializers.ListField:
    return serializers.ListField(child=_text(max_length=10_000), max_length=10_000, **kwargs)


class NoteCreateInput(WithFieldsEntry):
    def fields_entry(self) -> serializers.Field:
        return NoteFieldsField()

    notetype_id = serializers.IntegerField(required=False)
    notetype = serializers.CharField(required=False, help_text="note type name, instead of id")
    deck_id = serializers.IntegerField(
        required=False, allow_null=True, help_text="default: the current deck"
    )
    tags = _tags_field(required=False, default=list)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "notetype_id" not in attrs and "notetype" not in attrs:
            raise serializers.ValidationError({"notetype_id": ["Name the note type."]})
        return attrs


class NoteUpdateInput(WithFieldsEntry):
    def fields_entry(self) -> serializers.Field:
        return NoteFieldsField(required=False)

    tags = _tags_field(required=False)


class NoteListQuery(serializers.Serializer):
    q = _text(required=False, default="", max_length=10_000)


class CardSummaryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    note_id = serializers.IntegerField()
    deck_id = serializers.IntegerField()
    deck_name = serializers.CharField()
    ord = serializers.IntegerField()
    mod = serializers.IntegerField(help_text="epoch seconds")
    usn = serializers.IntegerField()
    type = serializers.IntegerField(help_text="0 new, 1 learning, 2 review, 3 relearning")
    queue = serializers.IntegerField(
        help_text="0 new, 1 learning, 2 review, 3 day learning, -1 suspended, "
        "-2 buried with a sibling, -3 buried by hand"
    )
    due = serializers.IntegerField(
        help_text="new: queue position; review and day learning: day number; "
        "learning: epoch seconds"
    )
    ivl = serializers.IntegerField(help_text="days (negative: seconds)")
    factor = serializers.IntegerField(help_text="ease in thousandths")
    reps = serializers.IntegerField()
    lapses = serializers.IntegerField()
    left = serializers.IntegerField(help_text="learning steps left")
    odue = serializers.IntegerField()
    odid = serializers.IntegerField()
    flags = serializers.IntegerField()


class NoteOutput(WithFieldsEntry):
    def fields_entry(self) -> serializers.Field:
        return _field_values_output()

    id = serializers.IntegerField()
    guid = serializers.CharField()
    notetype_id = serializers.IntegerField()
    notetype = serializers.CharField()
    kind = serializers.ChoiceField(choices=["standard", "cloze"])
    tags = serializers.ListField(child=serializers.CharField())
    sort_field = serializers.CharField()
    mod = serializers.IntegerField()
    cards = CardSummaryOutput(many=True)


# Tags
# ---------------------------------------------------------------------------


class TagOutput(serializers.Serializer):
    name = serializers.CharField()
    note_count = serializers.IntegerField()


class TagRenameInput(serializers.Serializer):
    old = _text(max_length=10_000)
    new = _text(max_length=10_000)


class TagRenamedOutput(serializers.Serializer):
    renamed = serializers.IntegerField(help_text="notes changed")


# Cards
# ---------------------------------------------------------------------------


class CardOutput(CardSummaryOutput, WithFieldsEntry):
    def fields_entry(self) -> serializers.Field:
        return _field_values_output()

    notetype_id = serializers.IntegerField()
    notetype = serializers.CharField()
    template = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    front = serializers.CharField(help_text="rendered question, scripts removed")
    back = serializers.CharField(help_text="rendered answer, scripts removed")
    css = serializers.CharField(required=False, help_text="the note type's CSS (one card only)")


class CardListQuery(serializers.Serializer):
    q = _text(required=False, default="", max_length=10_000)
    deck = serializers.IntegerField(required=False, help_text="deck id (subdecks included)")


class CardCreateInput(serializers.Serializer):
    front = _text()
    back = _text(required=False, default="")
    deck_id = serializers.IntegerField(
        required=False, allow_null=True, help_text="default: the current deck"
    )
    tags = _tags_field(required=False, default=list)


class CardUpdateInput(serializers.Serializer):
    front = _text(required=False)
    back = _text(required=False)
    deck_id = serializers.IntegerField(required=False)
    flags = serializers.IntegerField(required=False, min_value=0, max_value=7)


class CardMoveInput(serializers.Serializer):
    deck_id = serializers.IntegerField()


class CardForgetInput(serializers.Serializer):
    restore_position = serializers.BooleanField(required=False, default=False)
    reset_counts = serializers.BooleanField(required=False, default=False)
