"""The OpenAPI schema (served at /api/schema/) generates, validates, and documents the routes."""

from __future__ import annotations

import yaml
from django.core.management import call_command


def test_the_schema_validates_without_warnings(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    paths = yaml.safe_load(target.read_text())["paths"]
    for route in ("/api/health", "/api/auth/login", "/api/session/status", "/api/decks"):
        assert route in paths


def test_the_schema_and_swagger_ui_are_served(client):
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content
