"""Javumbo's errors and the one exception handler that renders them.

Every error leaves the API as ``{"error": message, "code": machine_code,
"details": {...}}``: application errors, DRF's own (validation, auth,
throttling, 404, 405...), and unexpected exceptions (500, no traceback).
"""

from __future__ import annotations

import logging
import math
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

log = logging.getLogger("javumbo")


class JavumboError(exceptions.APIException):
    """An application error: a status, a machine code and a human message."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    default_code = "error"
    default_detail = "The request could not be completed."

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None):
        super().__init__(message or self.default_detail, self.default_code)
        self.message = message or str(self.default_detail)
        self.details = details


class InvalidInput(JavumboError):
    default_code = "invalid_input"
    default_detail = "The request is not valid."


class NotFound(JavumboError):
    status_code = status.HTTP_404_NOT_FOUND
    default_code = "not_found"
    default_detail = "Not found."


class Forbidden(JavumboError):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "forbidden"
    default_detail = "You may not do that."


class AccountGone(JavumboError):
    """The token names an account that no longer exists (or a deleted earlier one)."""

    status_code = 401
    default_code = "account_gone"
    default_detail = "This account no longer exists; sign in again."


class AccountInactive(Forbidden):
    default_code = "account_inactive"
    default_detail = "This account is deactivated."


class Conflict(JavumboError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "The request conflicts with the current state; try again."


class PayloadTooLarge(JavumboError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"
    default_detail = "The request is too large."


class UnsupportedFile(JavumboError):
    status_code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    default_code = "unsupported_file"
    default_detail = "That file is not supported."


class Unavailable(JavumboError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "unavailable"
    default_detail = "A service Javumbo depends on is unreachable; nothing was changed."


def envelope(message: str, code: str, details: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": message, "code": code}
    if details:
        body["details"] = details
    return body


_DRF_CODES = {
    exceptions.ValidationError: ("invalid_input", "The request is not valid."),
    exceptions.ParseError: ("malformed_request", None),
    exceptions.NotAuthenticated: ("not_authenticated", None),
    exceptions.AuthenticationFailed: ("authentication_failed", None),
    exceptions.PermissionDenied: ("forbidden", None),
    exceptions.NotFound: ("not_found", None),
    exceptions.MethodNotAllowed: ("method_not_allowed", None),
    exceptions.NotAcceptable: ("not_acceptable", None),
    exceptions.UnsupportedMediaType: ("unsupported_media_type", None),
    exceptions.Throttled: ("throttled", None),
}


def _drf_body(exc: exceptions.APIException) -> dict[str, Any]:
    if isinstance(exc, JavumboError):
        return envelope(exc.message, exc.default_code, exc.details)
    code, message = _DRF_CODES.get(type(exc), (str(exc.default_code), None))
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"nonFieldErrors": exc.detail}
        return envelope(message or "The request is not valid.", code, fields)
    detail = exc.detail
    text = str(detail) if not isinstance(detail, list | dict) else str(exc.default_detail)
    return envelope(text, code)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's EXCEPTION_HANDLER: every exception becomes the JSON envelope."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        log.exception("unexpected error", exc_info=exc)
        return Response(envelope("Internal server error.", "server_error"), status=500)
    headers: dict[str, str] = {}
    wait = getattr(exc, "wait", None)
    if isinstance(exc, exceptions.Throttled) and wait is not None:
        headers["Retry-After"] = str(max(1, math.ceil(wait)))
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = str(exc.auth_header)  # type: ignore[attr-defined]
    return Response(_drf_body(exc), status=exc.status_code, headers=headers)


def error_response(status_code: int, message: str, code: str, **headers: str) -> JsonResponse:
    """An envelope outside DRF (middleware, Django's own handlers)."""
    response = JsonResponse(envelope(message, code), status=status_code)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return error_response(404, "No such route.", "not_found")


def server_error(request: HttpRequest) -> JsonResponse:
    return error_response(500, "Internal server error.", "server_error")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return error_response(400, "Bad request.", "bad_request")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return error_response(403, "You may not do that.", "forbidden")
