"""Suite-wide fixtures: the provisioned local AWS endpoint and API clients."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from javumbo import aws
from sessions_cache.provisioning import provision


@pytest.fixture(scope="session", autouse=True)
def provisioned() -> Iterator[None]:
    provision(
        aws.s3(),
        aws.dynamodb(),
        bucket=settings.JAVUMBO_BUCKET,
        tables=settings.JAVUMBO_TABLES,
        region=settings.AWS_REGION,
    )
    yield


@pytest.fixture
def client() -> APIClient:
    return APIClient()
