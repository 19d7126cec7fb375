"""studio.postgresql reads timestamps with psycopg's C loader and gives the datetimes Django's
own loader gives (the same instants, the same zone object): psycopg's loader itself when the
connection's zone is Django's (as Django sets it), Django's way of setting the zone otherwise;
its health check asks PostgreSQL only about a connection that is not plainly well."""

from __future__ import annotations

import select
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.backends.postgresql import base as django_s
from django.db.backends.postgresql.psycopg_any import register_tzloader
from psycopg.adapt import Transformer

from jobs.models import JobEvent
from studio.postgresql.base import _PARSER, _TzLoader
from tests.factories import make_job

pytestmark = pytest.mark.django_db

MOMENTS = [
    datetime(2026, 12, 1, 15, 0, 0, 1, tzinfo=UTC),
    datetime(1970, 1, 1, tzinfo=UTC),
    datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2026, 3, 29, 1, 30, tzinfo=UTC) - timedelta(microseconds=7),
]


def _read(sql: str, params: list[object]) -> list[datetime]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def test_timestamps_read_as_django_s_loader_reads_them() -> None:
    if connection.vendor != "postgresql":
        assert connection.vendor == "sqlite"  # the embedded default: Django's backend as it is
        return
    assert connection.settings_dict["ENGINE"] == "studio.postgresql"
    sql = "SELECT m FROM unnest(%s::timestamptz[]) AS m"
    ours = _read(sql, [MOMENTS])
    loader = connection.connection.adapters.get_loader(1184, 0)
    assert issubclass(loader, _TzLoader) and loader.timezone is connection.timezone
    # What it makes for a query is psycopg's own loader (in C, as psycopg is installed here).
    assert type(Transformer(connection.connection).get_loader(1184, 0)) is _PARSER
    register_tzloader(connection.timezone, connection.connection)  # Django's, for the reference
    try:
        django_s = _read(sql, [MOMENTS])
    finally:
        connection.close()  # the next query opens a connection with ours again
    assert ours == django_s == MOMENTS
    assert [m.tzinfo for m in ours] == [m.tzinfo for m in django_s]
    assert [m.isoformat() for m in ours] == [m.isoformat() for m in django_s]


def test_a_zone_other_than_the_connection_s_is_set_on_each_value_as_django_sets_it() -> None:
    if connection.vendor != "postgresql":
        return
    connection.ensure_connection()
    paris = ZoneInfo("Europe/Paris")
    loader = type("Paris", (_TzLoader,), {"timezone": paris})(1184, connection.connection)
    assert isinstance(loader, _TzLoader)  # not psycopg's: its zone would be the connection's
    read = loader.load(b"2026-12-01 15:00:00.000001+00")
    assert read == datetime(2026, 12, 1, 15, 0, 0, 1, tzinfo=paris) and read.tzinfo is paris


def test_the_orm_reads_moments_back_as_written() -> None:
    job = make_job()
    for at in MOMENTS:
        JobEvent.objects.create(job=job, at=at, kind="note", subject="t")
    read = list(JobEvent.objects.filter(job=job).order_by("id").values_list("at", flat=True))
    assert read == MOMENTS
    assert all(m.utcoffset() == timedelta(0) for m in read)


def test_a_statement_run_again_is_prepared_on_the_connection() -> None:
    """PostgreSQL parses and plans a page's statements once per connection (studio/env.py)."""
    if connection.vendor != "postgresql":
        return
    job = make_job()
    for _ in range(6):  # psycopg prepares a statement on its fifth run
        assert JobEvent.objects.filter(job=job).count() == 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ['%COUNT(*)%"jobs_jobevent"%'],
        )
        assert cursor.fetchone()[0] == 1


def test_a_connection_the_server_ended_is_replaced_before_the_next_request_uses_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """CONN_HEALTH_CHECKS: a well connection is reused without asking PostgreSQL; one the
    server ended (as a restart ends every connection) is found dead and replaced, so the
    request's statements run on a new one instead of failing."""
    if connection.vendor != "postgresql":
        return
    asked: list[bool] = []
    original = django_s.DatabaseWrapper.is_usable  # Django's: it sends SELECT 1

    def is_usable(self: django_s.DatabaseWrapper) -> bool:
        asked.append(usable := original(self))
        return usable

    monkeypatch.setattr(django_s.DatabaseWrapper, "is_usable", is_usable)
    other = connection.copy()  # its own connection, outside the test's transaction
    try:
        other.ensure_connection()
        first = other.connection
        other.health_check_done = False  # as each request starts (close_old_connections)
        other.close_if_health_check_failed()
        assert other.connection is first and asked == []
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [first.info.backend_pid])
        assert select.select([first.fileno()], [], [], 10)[0]  # the server's notice arrived
        other.health_check_done = False
        other.close_if_health_check_failed()
        assert asked == [False] and other.connection is None
        with other.cursor() as cursor:
            cursor.execute("SELECT 1")
            assert cursor.fetchone() == (1,)
        assert other.connection is not first
    finally:
        other.close()
