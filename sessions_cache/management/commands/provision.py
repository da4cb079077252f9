"""``manage.py provision``: create the bucket and tables (idempotent)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from sessions_cache.provisioning import provision_configured


class Command(BaseCommand):
    help = "Create the S3 bucket and DynamoDB tables Javumbo needs; a second run changes nothing."

    def handle(self, *args: Any, **options: Any) -> None:
        changes = provision_configured()
        target = settings.AWS_ENDPOINT_URL or f"AWS {settings.AWS_REGION}"
        for change in changes:
            self.stdout.write(f"  {change}")
        if changes:
            summary = f"Provisioned {len(changes)} change(s) on {target}."
            self.stdout.write(self.style.SUCCESS(summary))
        else:
            self.stdout.write(f"Everything was already provisioned on {target}; nothing changed.")
