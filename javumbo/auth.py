"""Who is calling: learners are not Django users, they are carried by their JWT.

Access tokens are verified without a database read: the token user holds the
claims ``username`` and ``cid`` (the learner's collection id, new for every
account, so a token of a deleted account can never open a later account of
the same name). Refresh, revocation and the active flag are the accounts
module's business.
"""

from __future__ import annotations

from functools import cached_property

from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request
from rest_framework_simplejwt.models import TokenUser


def learner_of(request: Request) -> LearnerTokenUser:
    """The learner behind an authenticated API request."""
    user = request.user
    if not isinstance(user, LearnerTokenUser):
        raise NotAuthenticated()
    return user


class LearnerTokenUser(TokenUser):
    """The authenticated learner, as the access token describes them."""

    is_learner = True

    @cached_property
    def username(self) -> str:
        return str(self.token.get("username", ""))

    @cached_property
    def collection_id(self) -> str:
        return str(self.token.get("cid", ""))

    def __str__(self) -> str:
        return f"learner {self.username}"
