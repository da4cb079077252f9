"""Session endpoints: start, status, flush (API.md)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from javumbo.auth import learner_of
from sessions_cache import engine, sessions
from sessions_cache.serializers import FlushSerializer, SessionSerializer, SessionStatusSerializer


def _session_out(session: sessions.Session) -> dict[str, object]:
    return {
        "session_id": session.session_id,
        "active": session.active,
        "expires_at": session.expires_at * 1000,
    }


class SessionStartView(APIView):
    @extend_schema(request=None, responses=SessionSerializer, summary="Start (or resume) a session")
    def post(self, request: Request) -> Response:
        session = sessions.session_start(learner_of(request).username)
        return Response(SessionSerializer(_session_out(session)).data)


class SessionStatusView(APIView):
    @extend_schema(responses=SessionStatusSerializer, summary="Session and journal status")
    def get(self, request: Request) -> Response:
        user = learner_of(request)
        with engine.collection_locked(user.username, user.collection_id) as opened:
            seq, meta = opened.seq, opened.meta
        # Every authenticated answer belongs to a session (the middleware names it in
        # X-Session-ID), so the status describes that one.
        session = sessions.session_touch(user.username, request.headers.get("X-Session-ID"))
        body = {
            "session_id": session.session_id,
            "active": session.active,
            "expires_at": session.expires_at * 1000,
            "pending_changes": max(0, seq - meta.snapshot_seq),
            "snapshot_seq": meta.snapshot_seq,
            "head_seq": seq,
        }
        return Response(SessionStatusSerializer(body).data)


class SessionFlushView(APIView):
    @extend_schema(
        request=None, responses=FlushSerializer, summary="Compact now and end the session"
    )
    def post(self, request: Request) -> Response:
        user = learner_of(request)
        with engine.collection_locked(user.username, user.collection_id) as opened:
            result = engine.compact(opened)
        header = request.headers.get("X-Session-ID")
        session = (
            sessions.session_get(header) if header else sessions.session_live_for(user.username)
        )
        if session is not None and session.username == user.username:
            sessions.session_end(session)
        body = {
            "flushed": True,
            "snapshot_seq": result.snapshot_seq,
            "folded_changes": result.folded,
        }
        return Response(FlushSerializer(body).data)
