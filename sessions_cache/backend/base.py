"""The ``userdb`` database backend: Django's SQLite backend on the current learner's file.

The file to open comes from the request's CollectionAccess (which locks it and
catches it up from the journal first). The connection runs in one transaction
for the whole request with the capture triggers installed; only the storage
engine commits it, after the journal append.
"""

from __future__ import annotations

from typing import Any

from django.db import DatabaseError
from django.db.backends.sqlite3 import base as sqlite_base
from django.db.backends.sqlite3.creation import DatabaseCreation as SQLiteCreation

from sessions_cache.access import current_access


class DatabaseCreation(SQLiteCreation):
    """There is no test database to create: every learner has their own file."""

    def create_test_db(self, *args: Any, **kwargs: Any) -> str:
        return str(self.connection.settings_dict["NAME"])

    def destroy_test_db(self, *args: Any, **kwargs: Any) -> None:
        return None


class DatabaseWrapper(sqlite_base.DatabaseWrapper):
    creation_class = DatabaseCreation

    def get_connection_params(self) -> dict[str, Any]:
        params: dict[str, Any] = super().get_connection_params()
        params["database"] = str(current_access().open())
        params["uri"] = False
        params["isolation_level"] = "DEFERRED"
        return params

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        conn = super().get_new_connection(conn_params)
        conn.execute("PRAGMA foreign_keys = OFF")  # Anki's schema has no foreign keys
        current_access().attach(conn)
        return conn

    def init_connection_state(self) -> None:
        super().init_connection_state()
        # One transaction for the whole request, so that no savepoint release can
        # ever commit to the file behind the journal's back.
        self.connection.execute("BEGIN IMMEDIATE")

    def ensure_connection(self) -> None:
        # The collection is not a test database: tests reach it only through a
        # request (or collection_session), exactly as production does.
        if self.connection is None:
            with self.wrap_database_errors:
                self.connect()

    def _commit(self) -> None:
        raise DatabaseError("Only the storage engine commits a learner's collection.")

    def _set_autocommit(self, autocommit: bool) -> None:
        if autocommit:
            raise DatabaseError("A learner's collection never runs in autocommit mode.")
        super()._set_autocommit(autocommit)  # type: ignore[misc]
