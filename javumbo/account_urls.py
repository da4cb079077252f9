"""Routes of the account endpoints, included under /api/auth/."""

from __future__ import annotations

from django.urls import path

from javumbo import account_views

urlpatterns = [
    path("register", account_views.RegisterView.as_view(), name="auth-register"),
    path("login", account_views.LoginView.as_view(), name="auth-login"),
    path("refresh", account_views.RefreshView.as_view(), name="auth-refresh"),
    path("me", account_views.MeView.as_view(), name="auth-me"),
    path("password", account_views.PasswordView.as_view(), name="auth-password"),
    path("logout-all", account_views.LogoutAllView.as_view(), name="auth-logout-all"),
]
