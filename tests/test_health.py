from __future__ import annotations

from unittest import mock

from botocore.exceptions import EndpointConnectionError
from django.conf import settings

from javumbo import aws


def test_it_reports_every_dependency_up(client):
    response = client.get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["version"] == settings.VERSION
    assert set(body["checks"]) == {"bucket"} | {f"{t}Table" for t in settings.JAVUMBO_TABLES}
    assert all(check["up"] and check["ms"] >= 0 for check in body["checks"].values())


def test_it_answers_503_when_a_table_is_gone(client):
    journal = settings.JAVUMBO_TABLES["journal"]
    with mock.patch.dict(settings.JAVUMBO_TABLES, {"journal": journal + "-missing"}):
        response = client.get("/api/health")
    assert response.status_code == 503
    assert response.json()["checks"]["journalTable"]["up"] is False
    assert response.json()["checks"]["bucket"]["up"] is True


def test_it_answers_503_when_aws_is_unreachable(client):
    error = EndpointConnectionError(endpoint_url="http://127.0.0.1:9")
    with mock.patch.object(aws.s3(), "head_bucket", side_effect=error):
        response = client.get("/api/health")
    assert response.status_code == 503
    assert response.json()["checks"]["bucket"] == {
        "up": False,
        "ms": response.json()["checks"]["bucket"]["ms"],
        "error": "EndpointConnectionError",
    }
