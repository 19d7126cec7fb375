"""My plan: the planner's blocks and breaks per day, days off, the cap and due dates."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from jobs.models import EngineerDayOff, Role, StudioPolicy, User
from jobs.services import stage_take
from tests.jobs.helpers import accepted_job, stages_of

pytestmark = pytest.mark.django_db


def test_the_plan_lays_out_my_work_breaks_and_days_off(
    client_user: User, engineer: User, frozen
) -> None:
    StudioPolicy.current()
    job = accepted_job(client_user, track_title="Glasshouse")
    for stage in stages_of(job):
        stage_take(stage=stage, by=engineer)
    EngineerDayOff.objects.create(engineer=engineer, date=date(2026, 3, 4), reason="dentist")
    c = Client()
    c.force_login(engineer)
    page = c.get("/plan/").content.decode()
    assert "Monday 2 March" in page and "· today" in page
    assert "Glasshouse · Listening" in page and "Glasshouse · Delivery" in page
    assert "Fresh ears break" in page  # before glue, as the planner plans it
    assert "Day off: dentist." in page
    assert "Day off: not a working day." in page  # the weekend
    assert "Due " in page and "calendar_feed" not in page
    assert f"/calendar/{engineer.calendar_token}.ics" in page


def test_the_plan_is_the_studios(client_user: User) -> None:
    c = Client()
    c.force_login(client_user)
    assert c.get("/plan/").status_code == 403


def test_the_plan_costs_the_same_for_10_and_200_jobs(client_user: User, engineer: User) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import make_job, make_user

    StudioPolicy.current()
    make_user(Role.ENGINEER)
    c = Client()
    c.force_login(engineer)

    def add(n: int) -> None:
        for _ in range(n):
            accepted_job(client_user)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert c.get("/plan/").status_code == 200
        return len(ctx.captured_queries)

    add(10)
    count()  # the first view plans and stores the plan; the next ones read it
    small = count()
    add(190)
    make_job(client=client_user)
    assert count() == small
