"""Input and output shapes of the account endpoints (camelCase on the wire).

Inputs check each field against the learner rules in ``javumbo.learners`` so a
bad request gets every field's problem at once, as ``details``.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from javumbo import learners


def _validated(problems: list[str], value: str) -> str:
    if problems:
        raise serializers.ValidationError(problems)
    return value


class UsernameField(serializers.CharField):
    """A username as typed: trimmed, lowercased, then held to the rules."""

    def to_internal_value(self, data: Any) -> str:
        username = super().to_internal_value(data).lower()
        return _validated(learners.username_problems(username), username)


class NewPasswordField(serializers.CharField):
    """A new password, taken exactly as typed (spaces count) and held to the rules."""

    def to_internal_value(self, data: Any) -> str:
        password = super().to_internal_value(data)
        return _validated(learners.password_problems(password), password)


class TimezoneField(serializers.CharField):
    def to_internal_value(self, data: Any) -> str:
        timezone = super().to_internal_value(data)
        return _validated(learners.timezone_problems(timezone), timezone)


class RegisterInput(serializers.Serializer):
    username = UsernameField()
    name = serializers.CharField(
        max_length=learners.NAME_MAX_CHARS, required=False, allow_blank=True, default=""
    )
    password = NewPasswordField(trim_whitespace=False)
    timezone = TimezoneField(required=False, default="UTC")
    starter_deck = serializers.BooleanField(required=False, default=True)


class LoginInput(serializers.Serializer):
    username = serializers.CharField(max_length=200)
    password = serializers.CharField(max_length=1000, trim_whitespace=False)


class RefreshInput(serializers.Serializer):
    refresh_token = serializers.CharField(max_length=4000)


class LearnerUpdateInput(serializers.Serializer):
    name = serializers.CharField(
        max_length=learners.NAME_MAX_CHARS, required=False, allow_blank=True
    )
    timezone = TimezoneField(required=False)


class PasswordChangeInput(serializers.Serializer):
    current_password = serializers.CharField(max_length=1000, trim_whitespace=False)
    new_password = NewPasswordField(trim_whitespace=False)


class LearnerDeleteInput(serializers.Serializer):
    password = serializers.CharField(max_length=1000, trim_whitespace=False)


class LearnerOutput(serializers.Serializer):
    username = serializers.CharField()
    name = serializers.CharField()
    timezone = serializers.CharField()
    active = serializers.BooleanField()
    created_at = serializers.CharField(help_text="ISO 8601, UTC")
    updated_at = serializers.CharField(help_text="ISO 8601, UTC")


class RegisteredOutput(serializers.Serializer):
    user = LearnerOutput()


class SignedInOutput(serializers.Serializer):
    access_token = serializers.CharField()
    refresh_token = serializers.CharField()
    token_type = serializers.CharField(help_text='Always "Bearer".')
    expires_in = serializers.IntegerField(help_text="Seconds the access token stays valid.")
    user = LearnerOutput()
