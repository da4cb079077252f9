"""Output shapes of the session endpoints."""

from __future__ import annotations

from rest_framework import serializers


class SessionSerializer(serializers.Serializer):
    session_id = serializers.CharField()
    active = serializers.BooleanField()
    expires_at = serializers.IntegerField(help_text="epoch milliseconds")


class SessionStatusSerializer(SessionSerializer):
    pending_changes = serializers.IntegerField()
    snapshot_seq = serializers.IntegerField()
    head_seq = serializers.IntegerField()


class FlushSerializer(serializers.Serializer):
    flushed = serializers.BooleanField()
    snapshot_seq = serializers.IntegerField()
    folded_changes = serializers.IntegerField()
