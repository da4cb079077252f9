"""The web client's pages: every client-side route (/decks, /study...) answers the built
client's index.html, so a reload or a shared link opens the app at that route.

WhiteNoise serves the client's other files (settings.WHITENOISE_ROOT); the API, the
admin and static files never reach this view (javumbo/urls.py routes them first).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

NOT_BUILT = "The web client is not built. Run `make client-build`, then reload.\n"


@require_safe
def client_index(request: HttpRequest, path: str = "") -> HttpResponse:
    try:
        page = (settings.JAVUMBO_CLIENT_DIST / "index.html").read_bytes()
    except FileNotFoundError:
        return HttpResponse(NOT_BUILT, status=404, content_type="text/plain; charset=utf-8")
    response = HttpResponse(page, content_type="text/html; charset=utf-8")
    # The index names the current hashed assets: browsers must ask again after a release.
    response["Cache-Control"] = "no-cache"
    return response
