"""Django's PostgreSQL backend, reading timestamps with psycopg's C loader.

Django (5.2, psycopg 3) loads every `timestamptz` through a subclass of psycopg's pure-Python
loader, so that it can set the zone; psycopg's C loader cannot be subclassed. That costs about
9 us a value (Django ticket #36960, psycopg issue #1273): a board page reads over a thousand.
This loader is Django's own class (the same zone, so Django's cursors see what they expect), but
what it makes is psycopg's C loader itself whenever that gives Django's zone already (Django
sets the connection's TimeZone to its own, so it does): psycopg then loads every value in C,
without a Python call, about 0.3 us a value. Otherwise it parses with that loader and sets the
zone (the pure-Python one again when psycopg has no C implementation).

Whether a kept connection is still usable (Django asks before a request reuses it, with
CONN_HEALTH_CHECKS, and after a statement failed) is asked of PostgreSQL only when the
connection is not plainly well: Django's `SELECT 1` every time cost each request a round trip,
some 60 us of CPU here and 36 us of PostgreSQL's."""

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

    def is_usable(self) -> bool:
        """Django's `SELECT 1`, asked only of a connection that is not plainly well: one that
        is idle and that the server has said nothing on is usable. A server restarting, or
        ending the connection, writes its reason and closes the socket, so the socket has
        something to read; then `SELECT 1` finds the connection dead and it is replaced before
        the request's first statement."""
        conn = self.connection
        if conn is None or conn.closed or conn.broken:
            return False
        if conn.info.transaction_status == pq.TransactionStatus.IDLE:
            waiting = select.poll()
            try:
                waiting.register(conn.fileno(), select.POLLIN)
                if not waiting.poll(0):
                    return True
            except (OSError, ValueError):
                return False
        return bool(super().is_usable())
