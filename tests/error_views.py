"""Views that fail on purpose, so the tests can see every kind of error answer."""

from __future__ import annotations

from django.urls import include, path
from rest_framework import exceptions, serializers
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from javumbo import errors, urls


class Echo(serializers.Serializer):
    card_id = serializers.IntegerField(min_value=1)
    ease = serializers.IntegerField(min_value=1, max_value=4)


class PublicView(APIView):
    permission_classes = [AllowAny]


class ValidatingView(PublicView):
    def post(self, request):
        serializer = Echo(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(serializer.validated_data)


class ConflictView(PublicView):
    def get(self, request):
        raise errors.Conflict("Someone else changed this card.", details={"cardId": 7})


class CrashView(PublicView):
    def get(self, request):
        raise RuntimeError("secret internals")


class OneAnonRequest(AnonRateThrottle):
    rate = "1/hour"
    cache_format = "test-throttle-%(scope)s-%(ident)s"


class ThrottledView(PublicView):
    throttle_classes = [OneAnonRequest]

    def get(self, request):
        return Response({"ok": True})


class PrivateView(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request):
        return Response({"ok": True})


class ForbiddenView(PublicView):
    def get(self, request):
        raise exceptions.PermissionDenied()


def plain_django_crash(request):
    raise RuntimeError("secret internals outside DRF")


urlpatterns: list = [
    path("api/test/validate", ValidatingView.as_view()),
    path("api/test/conflict", ConflictView.as_view()),
    path("api/test/crash", CrashView.as_view()),
    path("api/test/throttled", ThrottledView.as_view()),
    path("api/test/private", PrivateView.as_view()),
    path("api/test/plain-crash", plain_django_crash),
    path("api/test/forbidden", ForbiddenView.as_view()),
    path("", include(urls.urlpatterns)),
]
handler404 = urls.handler404
handler500 = urls.handler500
