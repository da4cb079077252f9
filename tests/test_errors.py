"""Every error answers in one JSON envelope: {"error", "code", "details"?}."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import override_settings

pytestmark = pytest.mark.urls("tests.error_views")


@pytest.fixture(params=[False, True], ids=["debug-off", "debug-on"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


def assert_envelope(response, status, code):
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["error"], str) and body["error"]
    return body


def test_it_reports_validation_errors_per_field_in_camel_case(client, debug):
    response = client.post("/api/test/validate", {"cardId": 0, "ease": 9}, format="json")
    body = assert_envelope(response, 400, "invalid_input")
    assert set(body["details"]) == {"cardId", "ease"}


def test_it_accepts_snake_case_input_too(client):
    response = client.post("/api/test/validate", {"card_id": 3, "ease": 2}, format="json")
    assert response.status_code == 200
    assert response.json() == {"cardId": 3, "ease": 2}


def test_it_answers_malformed_json_with_400(client, debug):
    response = client.generic(
        "POST", "/api/test/validate", "{not json", content_type="application/json"
    )
    assert_envelope(response, 400, "malformed_request")


def test_it_answers_unknown_routes_with_404(client, debug):
    assert_envelope(client.get("/api/no/such/route"), 404, "not_found")


def test_it_answers_a_wrong_method_with_405(client, debug):
    assert_envelope(client.delete("/api/health"), 405, "method_not_allowed")


def test_it_answers_missing_credentials_with_401(client, debug):
    assert_envelope(client.get("/api/test/private"), 401, "not_authenticated")


def test_it_answers_a_refusal_with_403(client, debug):
    assert_envelope(client.get("/api/test/forbidden"), 403, "forbidden")


def test_it_carries_application_errors_with_their_details(client, debug):
    body = assert_envelope(client.get("/api/test/conflict"), 409, "conflict")
    assert body["error"] == "Someone else changed this card."
    assert body["details"] == {"cardId": 7}


def test_it_throttles_with_retry_after(client):
    cache.clear()
    assert client.get("/api/test/throttled").status_code == 200
    response = client.get("/api/test/throttled")
    assert_envelope(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0


def test_it_hides_unexpected_errors_behind_a_500(client, debug):
    client.raise_request_exception = False
    for route in ("/api/test/crash", "/api/test/plain-crash"):
        response = client.get(route)
        body = assert_envelope(response, 500, "server_error")
        assert "secret" not in response.content.decode()
        assert "Traceback" not in response.content.decode()
        assert body["error"] == "Internal server error."


@override_settings(DEBUG=False)
def test_it_emits_server_timing_on_every_response(client):
    response = client.get("/api/no/such/route")
    assert "total;dur=" in response["Server-Timing"]
