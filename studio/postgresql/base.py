"""Django's PostgreSQL backend, reading timestamps with psycopg's C loader.

Django (5.2, psycopg 3) loads every `timestamptz` through a subclass of psycopg's pure-Python
loader, so that it can set the zone; psycopg's C loader cannot be subclassed. That costs about
9 us a value (Django ticket #36960, psycopg issue #1273): a board page reads over a thousand.
This loader is Django's own (the same class, the same zone, so Django's cursors see what they
expect) but parses with the C loader registered in psycopg (the pure-Python one again when
psycopg has no C implementation): the same datetimes, in well under a microsecond."""

from __future__ import annotations

from typing import Any

from django.db.backends.postgresql import base
from django.db.backends.postgresql.psycopg_any import BaseTzLoader
from psycopg import adapters, pq
from psycopg.postgres import types

_TIMESTAMPTZ = types["timestamptz"].oid
_PARSER = adapters.get_loader(_TIMESTAMPTZ, pq.Format.TEXT)  # psycopg's, C when it has it


class _TzLoader(BaseTzLoader):
    def __init__(self, oid: int, context: Any = None) -> None:
        super().__init__(oid, context)
        assert _PARSER is not None
        self._parse = _PARSER(oid, context).load

    def load(self, data: Any) -> Any:
        return self._parse(data).replace(tzinfo=self.timezone)


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        connection = super().get_new_connection(conn_params)
        # In place of Django's loader, registered on the connection with the same zone.
        loader = type("TzLoader", (_TzLoader,), {"timezone": self.timezone})
        connection.adapters.register_loader(_TIMESTAMPTZ, loader)
        return connection
