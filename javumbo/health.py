"""``GET /api/health``: is each dependency reachable, and how long did asking take."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from javumbo import aws

# A key no item has: a data-plane read proves the table answers without the
# control-plane rate limits DescribeTable has.
_PROBE_KEYS: dict[str, dict[str, Any]] = {
    "journal": {"username": {"S": "~health"}, "seq": {"N": "0"}},
    "users": {"username": {"S": "~health"}},
    "sessions": {"session_id": {"S": "~health"}},
    "idempotency": {"pk": {"S": "~health"}},
    "throttle": {"pk": {"S": "~health"}},
}


def _timed(check: Callable[[], object]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        check()
        up, error = True, None
    except (BotoCoreError, ClientError) as exc:
        up, error = False, type(exc).__name__
    result: dict[str, Any] = {"up": up, "ms": round((time.perf_counter() - started) * 1000, 2)}
    if error:
        result["error"] = error
    return result


def dependency_checks() -> dict[str, dict[str, Any]]:
    checks = {"bucket": _timed(lambda: aws.s3().head_bucket(Bucket=settings.JAVUMBO_BUCKET))}
    for name, table in settings.JAVUMBO_TABLES.items():
        probe = functools.partial(aws.dynamodb().get_item, TableName=table, Key=_PROBE_KEYS[name])
        checks[f"{name}Table"] = _timed(probe)
    return checks


class HealthView(APIView):
    authentication_classes: list[type] = []
    permission_classes: list[type] = []

    @extend_schema(
        responses=inline_serializer(
            "Health",
            {
                "status": serializers.CharField(),
                "version": serializers.CharField(),
                "checks": serializers.DictField(),
            },
        )
    )
    def get(self, request: Request) -> Response:
        checks = dependency_checks()
        healthy = all(check["up"] for check in checks.values())
        body = {"status": "ok" if healthy else "degraded", "version": settings.VERSION}
        body["checks"] = checks  # type: ignore[assignment]
        return Response(body, status=200 if healthy else 503)
