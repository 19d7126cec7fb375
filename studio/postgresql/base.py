"""Django's PostgreSQL backend, reading timestamps with psycopg's C loader.

Django (5.2, psycopg 3) loads every `timestamptz` through a subclass of psycopg's pure-Python
loader, so that it can set the zone; psycopg's C loader cannot be subclassed. That costs about
9 us a value (Django ticket #36960, psycopg issue #1273): a board page reads over a thousand.
This loader is Django's own class (the same zone, so Django's cursors see what they expect), but
what it makes is psycopg's C loader itself whenever that gives Django's zone already (Django
sets the connection's TimeZone to its own, so it does): psycopg then loads every value in C,
without a Python call, about 0.3 us a value. Otherwise it parses with that loader and sets the
zone (the pure-Python one again when psycopg has no C implementation)."""

from __future__ import annotations

import select
from typing import Any

from django.db.backends.postgresql import base
from django.db.backends.postgresql.psycopg_any import BaseTzLoader
from psycopg import adapters, pq
from psycopg.postgres import types

_TIMESTAMPTZ = types["timestamptz"].oid
_PARSER = adapters.get_loader(_TIMESTAMPTZ, pq.Format.TEXT)  # psycopg's, C when it has it


class _TzLoader(BaseTzLoader):
    def __new__(cls, oid: int, context: Any = None) -> Any:
        assert _PARSER is not None
        parser = _PARSER(oid, context)
        if parser.load(b"2000-01-01 00:00:00+00").tzinfo is cls.timezone:
            return parser  # not a _TzLoader, so its __init__ is not run: psycopg's, in C
        loader = super().__new__(cls)
        loader._parse = parser.load
        return loader

    def load(self, data: Any) -> Any:
        return self._parse(data).replace(tzinfo=self.timezone)


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        connection = super().get_new_connection(conn_params)
        # In place of Django's loader, registered on the connection with the same zone.
        loader = type("TzLoader", (_TzLoader,), {"timezone": self.timezone})
        connection.adapters.register_loader(_TIMESTAMPTZ, loader)
        return connection

    def close_if_health_check_failed(self) -> None:
        """Django's check, skipped for an idle connection the server has said nothing on: a
        server restarting, or ending the connection, writes its reason and closes the socket,
        so the socket has something to read; Django's `SELECT 1` then finds the connection
        dead and it is replaced before the request's first statement."""
        wrapper: Any = self  # django-stubs know neither the check's flags nor the pool
        if (
            wrapper.connection is not None
            and wrapper.health_check_enabled
            and not wrapper.health_check_done
            and not wrapper.pool
            and self._quiet()
        ):
            wrapper.health_check_done = True
            return
        super().close_if_health_check_failed()

    def _quiet(self) -> bool:
        conn = self.connection
        if conn.closed or conn.broken or conn.info.transaction_status != pq.TransactionStatus.IDLE:
            return False
        waiting = select.poll()
        try:
            waiting.register(conn.fileno(), select.POLLIN)
            return not waiting.poll(0)
        except (OSError, ValueError):
            return False
