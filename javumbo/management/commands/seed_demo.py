"""``manage.py seed_demo``: a demo learner and an operator for the local run; prints both."""

from __future__ import annotations

import os
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

DEMO_OPERATOR = ("operator", "operator-password")


class Command(BaseCommand):
    help = "Create (or reset) the local run's demo learner and operator, and print credentials."

    def handle(self, *args: Any, **options: Any) -> None:
        username, password = DEMO_OPERATOR
        operator, _ = get_user_model().objects.get_or_create(
            username=username, defaults={"is_staff": True, "is_superuser": True}
        )
        operator.is_staff = operator.is_superuser = True
        operator.set_password(os.environ.get("JAVUMBO_DEMO_OPERATOR_PASSWORD", password))
        operator.save()
        self.stdout.write(f"Operator for /admin/:  {username} / {password}")
        self._seed_learner()

    def _seed_learner(self) -> None:
        try:
            from javumbo.accounts import demo_learner_seed
        except ImportError:
            self.stdout.write("Demo learner: accounts are not built yet.")
            return
        username, password = demo_learner_seed()
        self.stdout.write(f"Demo learner for /api/auth/login:  {username} / {password}")
