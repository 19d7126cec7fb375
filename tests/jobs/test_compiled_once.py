"""rows_compiled_once: a query compiled once per process gives the rows the ORM gives, for any
values, and builds afresh what it cannot compile once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from jobs.models import Role, Stage
from jobs.selectors import _COMPILED, instance_from, rows_compiled_once
from tests.factories import make_job, make_user

pytestmark = pytest.mark.django_db


def _stages(owner_id: int, since: object) -> object:
    return (
        Stage.objects.filter(job__created_by_id=owner_id, job__created_at__gte=since)
        .order_by("pk")
        .values("id", "job_id", "kind", "checklist", "started_at")
    )


def test_the_rows_are_the_orms_for_each_call_s_values() -> None:
    a, b = make_user(Role.CLIENT), make_user(Role.CLIENT)
    for owner in (a, a, b):
        job = make_job(client=owner)
        Stage.objects.create(job=job, kind="listening", position=0, checklist=[{"item": "x"}])
    long_ago, now = timezone.now() - timedelta(days=1), timezone.now() + timedelta(days=1)
    for owner, since in ((a, long_ago), (b, long_ago), (a, now)):
        got = [
            instance_from(Stage, row)
            for row in rows_compiled_once("test-stages", _stages, owner.pk, since)
        ]
        want = list(_stages(owner.pk, since))
        assert [(s.id, s.job_id, s.checklist, s.started_at) for s in got] == [
            (r["id"], r["job_id"], r["checklist"], r["started_at"]) for r in want
        ]
        assert len(want) == (0 if since == now else 2 if owner == a else 1)


def test_a_value_the_sql_holds_in_another_form_is_built_afresh() -> None:
    job = make_job(track_title="12345")
    Stage.objects.create(job=job, kind="listening", position=0)

    def by_title(number: int) -> object:
        return Stage.objects.filter(job__track_title=str(number)).values("id", "checklist")

    for number, found in ((12345, 1), (999, 0), (12345, 1)):
        rows = rows_compiled_once("test-by-title", by_title, number)
        assert len(rows) == found
        assert [instance_from(Stage, row).checklist for row in rows] == [[]] * found


def test_a_query_of_no_values_is_compiled_once_and_gives_the_orms_rows() -> None:
    job = make_job()
    Stage.objects.create(job=job, kind="listening", position=0)
    built = []

    def every_stage() -> object:
        built.append(1)
        return Stage.objects.order_by("pk").values("id", "kind")

    for _ in range(3):
        rows = rows_compiled_once("test-no-values", every_stage)
        assert [(r["id"], r["kind"]) for r in rows] == [
            (s.pk, s.kind) for s in Stage.objects.order_by("pk")
        ]
    # Compiled once on PostgreSQL; elsewhere the ORM reads it each time (its converters).
    assert len(built) == (1 if connection.vendor == "postgresql" else 3)


def test_the_desk_s_lists_are_compiled_once() -> None:
    """Each list the desk reads is compiled on its first call only (up for grabs has no value
    of the viewer's: a placeholder the SQL did not hold made it built on every call)."""
    from jobs.desk_selectors import desk_grabs, desk_next, desk_now

    engineer = make_user(Role.ENGINEER)
    _COMPILED.clear()
    for _ in range(2):
        desk_now(engineer), desk_next(engineer, limit=31), desk_grabs(limit=31)
    if connection.vendor == "postgresql":
        assert {key for _, key in _COMPILED} == {"desk_now", "desk_next:31", "desk_grabs:31"}
    else:
        assert not _COMPILED
