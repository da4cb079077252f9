"""Routes under /api/review (included from javumbo/urls.py)."""

from __future__ import annotations

from django.urls import path

from review import views

urlpatterns = [
    path("", views.ReviewView.as_view(), name="review"),
    path("/undo", views.ReviewUndoView.as_view(), name="review-undo"),
]
