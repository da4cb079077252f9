"""The operators' admin: Javumbo's own pages in Django's admin site (learners, sessions,
storage), linked from the admin index.

Learners live in DynamoDB and collections in S3 + DynamoDB, so these are plain
views (``javumbo.admin.views``) behind ``admin.site.admin_view`` (active staff
only, CSRF-protected, never cached), not ModelAdmins over a copy in SQL.

Django imports this module at start-up for every entry point (admin
autodiscovery), which also makes it the place that wires the operators'
database durability into Django when it is switched on.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin

from javumbo import operators_db

admin.site.index_template = "admin/javumbo/index.html"
admin.site.site_header = "Javumbo operators"
admin.site.site_title = "Javumbo operators"

if settings.JAVUMBO_OPERATORS_DB_SYNC:
    operators_db.sync_connect()
