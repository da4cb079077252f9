"""The process's boto3 clients for S3 and DynamoDB, with every call accounted for.

One client per service per process (boto3 clients are thread-safe). They talk
to real AWS, or to the local endpoint when ``AWS_ENDPOINT_URL`` is set.
"""

from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from django.conf import settings

from javumbo.accounting import current_cost

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

_CONFIG = Config(
    retries={"max_attempts": 3, "mode": "standard"},
    connect_timeout=3,
    read_timeout=10,
    max_pool_connections=32,
)


def _client(service: str) -> Any:
    session = boto3.session.Session()
    client = session.client(
        service,  # type: ignore[call-overload]
        region_name=settings.AWS_REGION,
        endpoint_url=settings.AWS_ENDPOINT_URLS[service],
        config=_CONFIG,
    )
    client.meta.events.register("before-call", _started)
    client.meta.events.register("before-send", _sending)
    client.meta.events.register("after-call", functools.partial(_finished, service))
    client.meta.events.register("after-call-error", functools.partial(_finished, service))
    return client


def _started(context: dict[str, Any], **_: Any) -> None:
    context["javumbo_started"] = time.perf_counter()
    context["javumbo_sent"] = 0


def _sending(request: Any, **_: Any) -> None:
    # Retries send again: count every attempt's bytes.
    context = getattr(request, "context", None)
    if context is not None:
        context["javumbo_sent"] = context.get("javumbo_sent", 0) + int(
            request.headers.get("Content-Length") or 0
        )


def _finished(service: str, context: dict[str, Any], model: Any, **kwargs: Any) -> None:
    cost = current_cost()
    if cost is None or "javumbo_started" not in context:
        return
    ms = (time.perf_counter() - context.pop("javumbo_started")) * 1000
    response = kwargs.get("http_response")
    received = int(response.headers.get("content-length", 0)) if response is not None else 0
    cost.record(service, model.name, ms, context.pop("javumbo_sent", 0), received)


@functools.cache
def s3() -> S3Client:
    return _client("s3")


@functools.cache
def dynamodb() -> DynamoDBClient:
    return _client("dynamodb")
