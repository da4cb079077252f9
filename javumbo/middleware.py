"""Project-wide middleware: per-request accounting and logging, and the error envelope
for exceptions that escape views (also when DEBUG is on)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

from javumbo.accounting import Cost, measuring
from javumbo.errors import error_response

log = logging.getLogger("javumbo.requests")
Handler = Callable[[HttpRequest], HttpResponse]


def server_timing(cost: Cost, total_ms: float) -> str:
    parts = [
        f's3;dur={cost.s3_ms:.1f};desc="{cost.s3_requests} requests"',
        f'ddb;dur={cost.ddb_ms:.1f};desc="{cost.ddb_requests} requests"',
        f"sqlite;dur={cost.sqlite_ms:.1f}",
        f"total;dur={total_ms:.1f}",
    ]
    if cost.cache:
        parts.append(f"cache;desc={cost.cache}")
    return ", ".join(parts)


class RequestLogMiddleware:
    """Counts each request's AWS calls and emits them as Server-Timing and one JSON log line."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        with measuring() as cost:
            response = self.get_response(request)
        total_ms = (time.perf_counter() - started) * 1000
        response["Server-Timing"] = server_timing(cost, total_ms)
        line = {
            "user": getattr(getattr(request, "user", None), "username", None) or None,
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "ms": round(total_ms, 2),
            **cost.as_log(),
        }
        log.info(json.dumps(line, sort_keys=True))
        return response


class ErrorEnvelopeMiddleware:
    """Unexpected exceptions outside DRF's handler still answer in the JSON envelope."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, Http404):
            if request.path.startswith("/api/"):
                return error_response(404, "Not found.", "not_found")
            return None
        if isinstance(exception, PermissionDenied):
            return error_response(403, "You may not do that.", "forbidden")
        logging.getLogger("javumbo").exception("unexpected error", exc_info=exception)
        return error_response(500, "Internal server error.", "server_error")
