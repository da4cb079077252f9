"""The operators' pages under /admin/operators/, each behind the admin site's staff check."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.urls import URLPattern, path

from javumbo.admin import views

app_name = "operators"


def _staff(view: Callable[..., Any]) -> Callable[..., Any]:
    return admin.site.admin_view(view)


urlpatterns: list[URLPattern] = [
    path("learners/", _staff(views.learner_list), name="learners"),
    path("learners/<str:username>/", _staff(views.learner_detail), name="learner"),
    path(
        "learners/<str:username>/deactivate",
        _staff(views.learner_deactivate),
        name="learner-deactivate",
    ),
    path(
        "learners/<str:username>/reactivate",
        _staff(views.learner_reactivate),
        name="learner-reactivate",
    ),
    path("learners/<str:username>/logout", _staff(views.learner_logout), name="learner-logout"),
    path(
        "learners/<str:username>/delete",
        _staff(views.LearnerDeleteView.as_view()),
        name="learner-delete",
    ),
    path("sessions/", _staff(views.session_list), name="sessions"),
    path(
        "sessions/<str:username>/<str:session_id>/end",
        _staff(views.session_end),
        name="session-end",
    ),
    path(
        "sessions/<str:username>/<str:session_id>/flush",
        _staff(views.session_flush),
        name="session-flush",
    ),
    path("storage/", _staff(views.storage), name="storage"),
    path("storage/<str:username>/compact", _staff(views.collection_compact), name="compact"),
]
