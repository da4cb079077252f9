"""Javumbo's routes: the API under /api/, the operators' admin under /admin/."""

from __future__ import annotations

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from javumbo import account_views, errors, spa
from javumbo.health import HealthView
from javumbo.views import ApiRootView

api_patterns: list[URLPattern | URLResolver] = [
    path("", ApiRootView.as_view(), name="api-root"),
    path("health", HealthView.as_view(), name="health"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("session/", include("sessions_cache.urls")),
    path("auth/", include("javumbo.account_urls")),
    path("", include("decks.urls")),
    path("review", include("review.urls")),
    path("", include("decks.exchange_urls")),
]

urlpatterns: list[URLPattern | URLResolver] = [
    path("api/", include(api_patterns)),
    path("admin/operators/", include("javumbo.admin.urls")),
    path("admin/", admin.site.urls),
    # The existing React client's paths, aliases of /api/auth/register and /api/auth/login.
    path("register", account_views.RegisterView.as_view(), name="register"),
    path("login", account_views.LoginView.as_view(), name="login"),
    re_path(r"^api/.*$", errors.not_found),
    # The web client's own routes: anything not under api/, admin/, static/ or assets/.
    re_path(r"^(?!(?:api|admin|static|assets)(?:/|$))(?P<path>.*)$", spa.client_index),
]

handler400 = errors.bad_request
handler403 = errors.permission_denied
handler404 = errors.not_found
handler500 = errors.server_error
