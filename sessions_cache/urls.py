from __future__ import annotations

from django.urls import path

from sessions_cache import views

urlpatterns = [
    path("start", views.SessionStartView.as_view(), name="session-start"),
    path("status", views.SessionStatusView.as_view(), name="session-status"),
    path("flush", views.SessionFlushView.as_view(), name="session-flush"),
]
