"""Statistics, export and import endpoints (docs/contracts.md fixes the answers' shapes).

Views only validate, call one service and serialize. The export answers the
.apkg itself when it is small enough for one Lambda response, else a JSON
presigned link; clients tell the two apart by Content-Type.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, cast
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from decks import exchange, stats
from decks.selectors import (
    CollectionState,
    collection_load,
    collection_timing,
    deck_ids_with_children,
    deck_require,
)
from decks.services import learner_timezone
from javumbo.auth import learner_of
from javumbo.errors import error_response
from sessions_cache.access import current_access

PACKAGE_TYPE = "application/octet-stream"


class RequestSizeLimitMiddleware:
    """Answer 413 (in the error envelope) for an API request that declares a body larger
    than Django will read. It sits before the storage engine, which reads every mutating
    request's body; Django would refuse it there with a plain 400."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and request.path.startswith("/api/"):
            try:
                declared = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                declared = 0
            if declared > limit:
                message = f"The request is larger than the {limit} bytes allowed."
                return error_response(413, message, "too_large")
        return self.get_response(request)


# --- input -------------------------------------------------------------------------------


class FlagField(serializers.BooleanField):
    """A boolean that keeps its default when a form or query string leaves it out
    (DRF's BooleanField reads a missing form value as false, like an unticked box)."""

    default_empty_html = empty


class StatsQuerySerializer(serializers.Serializer[Any]):
    deck = serializers.IntegerField(required=False)
    days = serializers.IntegerField(min_value=1, max_value=stats.MAX_DAYS, default=stats.MAX_DAYS)


class ExportQuerySerializer(serializers.Serializer[Any]):
    deck = serializers.IntegerField(required=False, help_text="a deck, exported with its subdecks")
    scheduling = FlagField(default=True, help_text="false: cards new again, no review history")
    inline = FlagField(default=True, help_text="false: always answer a presigned link")


class ImportInputSerializer(serializers.Serializer[Any]):
    file = serializers.FileField(required=False, help_text="the .apkg or .colpkg")
    upload_key = serializers.CharField(
        required=False, help_text="instead of `file`: a package uploaded with /import/uploads"
    )
    scheduling = FlagField(default=True, help_text="false: import as new cards, no history")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("file" in attrs) == ("upload_key" in attrs):
            message = "Send the package as `file`, or name an uploaded one with `uploadKey`."
            raise serializers.ValidationError({"file": [message]})
        return attrs


# --- output ------------------------------------------------------------------------------


class CardCountsSerializer(serializers.Serializer[Any]):
    total = serializers.IntegerField()
    new = serializers.IntegerField()
    learning = serializers.IntegerField()
    relearning = serializers.IntegerField()
    young = serializers.IntegerField(help_text="review cards with an interval under 21 days")
    mature = serializers.IntegerField()
    suspended = serializers.IntegerField()
    buried = serializers.IntegerField()
    due_today = serializers.IntegerField()


class DayReviewsSerializer(serializers.Serializer[Any]):
    date = serializers.DateField()
    count = serializers.IntegerField()
    time_ms = serializers.IntegerField()


class DayDueSerializer(serializers.Serializer[Any]):
    date = serializers.DateField()
    count = serializers.IntegerField()


class RetentionSerializer(serializers.Serializer[Any]):
    passed = serializers.IntegerField()
    total = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True)


class RetentionPairSerializer(serializers.Serializer[Any]):
    young = RetentionSerializer()
    mature = RetentionSerializer()


class ButtonsSerializer(serializers.Serializer[Any]):
    learning = serializers.DictField(child=serializers.IntegerField())
    young = serializers.DictField(child=serializers.IntegerField())
    mature = serializers.DictField(child=serializers.IntegerField())


class TodaySerializer(serializers.Serializer[Any]):
    reviews = serializers.IntegerField()
    time_ms = serializers.IntegerField()


class StatsSerializer(serializers.Serializer[Any]):
    days = serializers.IntegerField()
    reviews_per_day = DayReviewsSerializer(many=True)
    forecast = DayDueSerializer(many=True)
    retention = RetentionPairSerializer()
    buttons = ButtonsSerializer()
    card_counts = CardCountsSerializer()
    streak = serializers.IntegerField()
    today = TodaySerializer()


class PublishedExportSerializer(serializers.Serializer[Any]):
    download_url = serializers.URLField()
    expires_at = serializers.IntegerField(help_text="epoch ms")
    filename = serializers.CharField()
    bytes = serializers.IntegerField()


class UploadTicketSerializer(serializers.Serializer[Any]):
    upload_url = serializers.URLField()
    form_fields = serializers.DictField(
        child=serializers.CharField(), help_text="send these with the file in a multipart POST"
    )
    upload_key = serializers.CharField()
    expires_at = serializers.IntegerField(help_text="epoch ms")
    max_bytes = serializers.IntegerField()


class ImportChangesSerializer(serializers.Serializer[Any]):
    added = serializers.IntegerField()
    updated = serializers.IntegerField()
    skipped = serializers.IntegerField()


class ImportAddedSerializer(serializers.Serializer[Any]):
    added = serializers.IntegerField()


class ImportNotetypesSerializer(serializers.Serializer[Any]):
    added = serializers.IntegerField()
    matched = serializers.IntegerField()


class ImportMediaSerializer(serializers.Serializer[Any]):
    added = serializers.IntegerField()
    skipped = serializers.IntegerField(help_text="already stored, or used by no note")


class SkippedNoteSerializer(serializers.Serializer[Any]):
    guid = serializers.CharField()
    reason = serializers.CharField()


class ImportResultSerializer(serializers.Serializer[Any]):
    notes = ImportChangesSerializer()
    cards = ImportChangesSerializer()
    revlog = ImportAddedSerializer()
    decks = ImportAddedSerializer()
    notetypes = ImportNotetypesSerializer()
    media = ImportMediaSerializer()
    skipped = SkippedNoteSerializer(many=True, help_text="the first 100 skipped notes, and why")


class PackageRenderer(BaseRenderer):
    """Lets a client ask for the package with `Accept: application/octet-stream`."""

    media_type = PACKAGE_TYPE
    format = "apkg"
    charset = None
    render_style = "binary"

    def render(
        self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None
    ) -> Any:
        return data


# --- helpers ---------------------------------------------------------------------------


def _study_day(username: str) -> tuple[CollectionState, stats.StudyDay]:
    timezone = learner_timezone(username=username)
    state = collection_load()
    timing = collection_timing(state, timezone=timezone)
    return state, stats.StudyDay.from_timing(timing, timezone)


def _connection() -> Any:
    """The request's sqlite3 connection on the learner's collection."""
    wrapper = connections["userdb"]
    wrapper.ensure_connection()
    return wrapper.connection


def _collection_path() -> Path:
    """The learner's current file: the cache file this request has open and caught up."""
    _connection()
    opened = current_access().opened
    assert opened is not None
    return opened.path


def _deck_ids(state: CollectionState, deck_id: int | None) -> list[int] | None:
    if deck_id is None:
        return None
    return deck_ids_with_children(state, deck_require(state, deck_id))


# --- views ---------------------------------------------------------------------------------


class DeckStatsView(APIView):
    @extend_schema(responses=CardCountsSerializer, summary="Card counts of a deck and subdecks")
    def get(self, request: Request, deck_id: int) -> Response:
        state, day = _study_day(learner_of(request).username)
        deck_ids = _deck_ids(state, deck_id)
        counts = stats.card_counts(_connection(), day=day, deck_ids=deck_ids)
        return Response(CardCountsSerializer(asdict(counts)).data)


class StatsView(APIView):
    @extend_schema(
        parameters=[StatsQuerySerializer],
        responses=StatsSerializer,
        summary="Review statistics (whole collection, or a deck and its subdecks)",
    )
    def get(self, request: Request) -> Response:
        query = StatsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        state, day = _study_day(learner_of(request).username)
        report = stats.stats_report(
            _connection(),
            day=day,
            days=query.validated_data["days"],
            deck_ids=_deck_ids(state, query.validated_data.get("deck")),
        )
        return Response(StatsSerializer(report.as_dict()).data)


class ExportView(APIView):
    renderer_classes = [*APIView.renderer_classes, PackageRenderer]

    @extend_schema(
        parameters=[ExportQuerySerializer],
        responses={
            (200, PACKAGE_TYPE): OpenApiResponse(
                response=OpenApiTypes.BINARY, description="the .apkg itself (small collections)"
            ),
            (200, "application/json"): OpenApiResponse(
                response=PublishedExportSerializer,
                description="a presigned link (above JAVUMBO_EXPORT_INLINE_MAX_BYTES)",
            ),
        },
        summary="Export as an Anki package (.apkg)",
    )
    def get(self, request: Request) -> HttpResponse:
        query = ExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        options = query.validated_data
        username = learner_of(request).username
        deck_ids = _deck_ids(collection_load(), options.get("deck"))
        with tempfile.TemporaryDirectory(prefix="javumbo-export-") as scratch:
            package = Path(scratch) / "export.apkg"
            with package.open("wb") as out:
                summary = exchange.collection_export(
                    username=username,
                    collection_path=_collection_path(),
                    out=out,
                    deck_ids=None if deck_ids is None else set(deck_ids),
                    include_scheduling=options["scheduling"],
                )
            filename = _export_filename(username)
            if options["inline"] and summary.bytes <= settings.JAVUMBO_EXPORT_INLINE_MAX_BYTES:
                return _package_response(package, filename)
            published = exchange.export_publish(
                username=username, package=package, filename=filename
            )
        return Response(PublishedExportSerializer(asdict(published)).data)


def _export_filename(username: str) -> str:
    # After the export: the first look-up of the timezone may record it in the collection.
    today = datetime.now(ZoneInfo(learner_timezone(username=username))).date()
    return f"javumbo-{username}-{today.isoformat()}.apkg"


def _package_response(package: Path, filename: str) -> HttpResponse:
    response = HttpResponse(package.read_bytes(), content_type=PACKAGE_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class ImportView(APIView):
    @extend_schema(
        request={
            "multipart/form-data": ImportInputSerializer,
            "application/json": ImportInputSerializer,
        },
        responses=ImportResultSerializer,
        summary="Import an Anki package (.apkg or .colpkg) into the collection",
    )
    def post(self, request: Request) -> Response:
        given = ImportInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        username = learner_of(request).username
        timezone = learner_timezone(username=username)
        with _uploaded_package(username, given.validated_data) as upload:
            summary = exchange.collection_import(
                username=username,
                upload=upload,
                timezone=timezone,
                include_scheduling=given.validated_data["scheduling"],
            )
        return Response(ImportResultSerializer(summary.as_dict()).data)


@contextlib.contextmanager
def _uploaded_package(username: str, given: dict[str, Any]) -> Iterator[BinaryIO | Path]:
    uploaded = given.get("file")
    if uploaded is not None:
        if hasattr(uploaded, "temporary_file_path"):
            yield Path(uploaded.temporary_file_path())
            return
        uploaded.seek(0)
        yield cast(BinaryIO, uploaded.file)
        return
    with tempfile.TemporaryFile(prefix="javumbo-staged-") as staged:
        exchange.staged_upload_fetch(username=username, key=given["upload_key"], target=staged)
        staged.seek(0)
        yield cast(BinaryIO, staged)


class ImportUploadView(APIView):
    @extend_schema(
        request=None,
        responses=UploadTicketSerializer,
        summary="A presigned form to upload a large package straight to S3",
    )
    def post(self, request: Request) -> Response:
        ticket = exchange.upload_ticket(username=learner_of(request).username)
        return Response(UploadTicketSerializer(asdict(ticket)).data, status=201)
