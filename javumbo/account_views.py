"""The account endpoints under /api/auth/ (and the old client's /register and /login).

Each view validates its input, calls one service from ``javumbo.accounts`` and
serializes the answer; the services raise the errors the envelope reports.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from javumbo import accounts
from javumbo.account_serializers import (
    LearnerDeleteInput,
    LearnerOutput,
    LearnerUpdateInput,
    LoginInput,
    PasswordChangeInput,
    RefreshInput,
    RegisteredOutput,
    RegisterInput,
    SignedInOutput,
)
from javumbo.auth import learner_of
from javumbo.throttling import LoginThrottle, RegisterThrottle

TAGS = ["auth"]


def _valid(serializer_class: type[Any], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _caller(request: Request) -> dict[str, str]:
    """Whose account: the username and collection id the access token carries."""
    learner = learner_of(request)
    return {"username": learner.username, "collection_id": learner.collection_id}


def _signed_in(signed: accounts.SignedIn) -> dict[str, Any]:
    return dict(
        SignedInOutput(
            {
                "access_token": signed.tokens.access,
                "refresh_token": signed.tokens.refresh,
                "token_type": "Bearer",
                "expires_in": signed.tokens.expires_in,
                "user": signed.learner,
            }
        ).data
    )


class PublicView(APIView):
    """Reached without a token (a stale Authorization header is ignored, not refused)."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]


class RegisterView(PublicView):
    throttle_classes = [RegisterThrottle]

    @extend_schema(tags=TAGS, request=RegisterInput, responses={201: RegisteredOutput})
    def post(self, request: Request) -> Response:
        """Create a learner and their collection (with the starter deck unless
        `starterDeck` is false). 409 `username_taken`; throttled per address and name."""
        learner = accounts.learner_register(**_valid(RegisterInput, request))
        body = RegisteredOutput({"user": learner}).data
        return Response(body, status=status.HTTP_201_CREATED)


class LoginView(PublicView):
    throttle_classes = [LoginThrottle]

    @extend_schema(tags=TAGS, request=LoginInput, responses={200: SignedInOutput})
    def post(self, request: Request) -> Response:
        """Sign in: 401 `invalid_credentials` for an unknown name or a wrong password alike,
        403 `account_inactive` for a deactivated account; throttled per address and name."""
        return Response(_signed_in(accounts.learner_login(**_valid(LoginInput, request))))


class RefreshView(PublicView):
    @extend_schema(tags=TAGS, request=RefreshInput, responses={200: SignedInOutput})
    def post(self, request: Request) -> Response:
        """New access and refresh tokens. 401 `token_invalid` for a bad or expired token,
        `token_revoked` after a password change, logout-all, deactivation or deletion."""
        return Response(_signed_in(accounts.token_refresh(**_valid(RefreshInput, request))))


class MeView(APIView):
    @extend_schema(tags=TAGS, responses={200: LearnerOutput})
    def get(self, request: Request) -> Response:
        """The caller's account. 401 `account_gone` if it was deleted since the token was
        issued, 403 `account_inactive` if it is deactivated."""
        return Response(LearnerOutput(accounts.learner_current(**_caller(request))).data)

    @extend_schema(tags=TAGS, request=LearnerUpdateInput, responses={200: LearnerOutput})
    def patch(self, request: Request) -> Response:
        """Change the caller's name and/or time zone."""
        changes = _valid(LearnerUpdateInput, request)
        learner = accounts.learner_update(**_caller(request), **changes)
        return Response(LearnerOutput(learner).data)

    @extend_schema(
        tags=TAGS,
        request=LearnerDeleteInput,  # OpenAPI 3.0 cannot show a DELETE body; the docstring does
        responses={204: OpenApiResponse(description="The account and all its data are gone.")},
    )
    def delete(self, request: Request) -> Response:
        """Delete the caller's account: body `{"password": ...}` (403 `wrong_password`, and
        nothing deleted, if it is not theirs). Removes every version of their S3 objects,
        their journal, their sessions and the account itself."""
        accounts.learner_delete(**_caller(request), **_valid(LearnerDeleteInput, request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordView(APIView):
    @extend_schema(tags=TAGS, request=PasswordChangeInput, responses={200: SignedInOutput})
    def post(self, request: Request) -> Response:
        """Change the password (403 `wrong_password` if `currentPassword` is not theirs).
        Revokes every refresh token issued before; answers with fresh tokens."""
        changed = accounts.password_change(
            **_caller(request), **_valid(PasswordChangeInput, request)
        )
        return Response(_signed_in(changed))


class LogoutAllView(APIView):
    @extend_schema(
        tags=TAGS,
        request=None,
        responses={204: OpenApiResponse(description="Every refresh token is revoked.")},
    )
    def post(self, request: Request) -> Response:
        """Revoke every refresh token of the caller's; access tokens run out on their own."""
        accounts.logout_everywhere(**_caller(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
