"""Helpers for the storage-engine tests: learners made directly through the engine."""

from __future__ import annotations

import re
import secrets
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from sessions_cache import engine

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "anki" / "collection.anki2"


@dataclass
class TestLearner:
    username: str
    collection_id: str
    token: str

    def client(self) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {self.token}")
        return client


def access_token(username: str, collection_id: str) -> str:
    token = AccessToken()
    token["username"] = username
    token["cid"] = collection_id
    return str(token)


def learner_create(name: str = "alice") -> TestLearner:
    """A learner whose collection is a copy of a real Anki collection."""
    username = f"{name}-{secrets.token_hex(3)}"
    collection_id = uuid.uuid4().hex
    engine.collection_create(
        username=username,
        collection_id=collection_id,
        build=lambda path: shutil.copy(FIXTURE, path),
    )
    return TestLearner(username, collection_id, access_token(username, collection_id))


def requests_made(response) -> dict[str, int]:
    """S3 and DynamoDB request counts from the response's Server-Timing header."""
    timing = response["Server-Timing"]
    counts = dict(re.findall(r'(s3|ddb);dur=[\d.]+;desc="(\d+) requests"', timing))
    return {service: int(count) for service, count in counts.items()}


def cache_state(response) -> str | None:
    found = re.search(r"cache;desc=(\w+)", response["Server-Timing"])
    return found.group(1) if found else None
