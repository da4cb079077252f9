"""Small views over a learner's collection (raw SQL on ``userdb``), for the engine's tests.

They exercise the request protocol exactly as the real API does, without
depending on the decks and review apps.
"""

from __future__ import annotations

import secrets

from django.db import connections
from django.urls import include, path
from rest_framework.response import Response
from rest_framework.views import APIView

from javumbo import urls
from javumbo.auth import learner_of
from sessions_cache import journal, store
from sessions_cache.access import current_access


def cursor():
    return connections["userdb"].cursor()


def revlog_insert(ids: list[int]) -> None:
    for rid in ids:
        cursor().execute(
            "INSERT INTO revlog (id, cid, usn, ease, ivl, lastIvl, factor, time, type) "
            "VALUES (%s, 1, -1, 3, 1, 0, 2500, 1000, 0)",
            [rid],
        )
    cursor().execute("UPDATE col SET mod = mod + 1")


class RevlogView(APIView):
    """POST {ids, status?, crash?}: add revlog rows; optionally fail afterwards."""

    def post(self, request):
        ids = [int(i) for i in request.data.get("ids", [])]
        revlog_insert(ids)
        if request.data.get("crash"):
            raise RuntimeError("the view failed after writing")
        status = int(request.data.get("status", 201))
        return Response({"ids": ids}, status=status)

    def get(self, request):
        rows = cursor().execute("SELECT id FROM revlog ORDER BY id").fetchall()
        mod = cursor().execute("SELECT mod FROM col").fetchone()[0]
        return Response({"ids": [r[0] for r in rows], "mod": mod})


class NoteView(APIView):
    """POST {size}: one note with a field of ``size`` random characters (spill tests)."""

    def post(self, request):
        size = int(request.data["size"])
        text = secrets.token_urlsafe(size)[:size]
        cursor().execute(
            "INSERT INTO notes (id, guid, mid, mod, usn, tags, flds, sfld, csum, flags, data) "
            "VALUES (%s, 'spill', 1, 1, -1, '', %s, 'x', 0, 0, '')",
            [int(request.data["id"]), text],
        )
        return Response({"size": size}, status=201)


class CompetitorView(APIView):
    """POST {ids, rival}: write, while another container appends the next entry first.

    The rival entry inserts revlog row ``rival``; it is appended once per attempt
    while ``rivals`` > attempts so far, so the test controls how many conflicts occur.
    """

    attempts: dict[str, int] = {}

    def post(self, request):
        ids = [int(i) for i in request.data["ids"]]
        revlog_insert(ids)
        key = request.data["key"]
        seen = self.attempts.get(key, 0)
        self.attempts[key] = seen + 1
        if seen < int(request.data["rivals"]):
            opened = current_access().opened
            assert opened is not None
            rival = int(request.data["rival"]) + seen
            ops = [["i", "revlog", rival, rival_row(rival)]]
            store.journal_append(
                opened.username,
                opened.seq + 1,
                journal.entry_encode(ops),
                collection_id=opened.state.collection_id,
            )
        return Response({"ids": ids, "attempt": seen + 1}, status=201)


def rival_row(rid: int) -> dict:
    return {
        "id": rid,
        "cid": 2,
        "usn": -1,
        "ease": 1,
        "ivl": 0,
        "lastIvl": 0,
        "factor": 0,
        "time": 500,
        "type": 0,
    }


class WhoAmIView(APIView):
    def get(self, request):
        return Response({"username": learner_of(request).username})


urlpatterns = [
    path("api/test/revlog", RevlogView.as_view()),
    path("api/test/note", NoteView.as_view()),
    path("api/test/competitor", CompetitorView.as_view()),
    path("api/test/whoami", WhoAmIView.as_view()),
    path("", include(urls.urlpatterns)),
]
handler404 = urls.handler404
handler500 = urls.handler500
