"""My plan's kept days (jobs.fragments): the plan is always what one rendered from nothing
shows, after every change to what a day shows: its work and breaks, due dates, days off, the
engineer's hours and cap, and the clock (which day is today)."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from django.test import Client

from jobs.models import (
    EngineerDayOff,
    EngineerProfile,
    Job,
    Stage,
    StageStatus,
    StudioDayOff,
    StudioPolicy,
    User,
)
from jobs.plan_store import forget_stored_plan
from jobs.services import stage_take
from tests.jobs.fragment_checks import masked, same_as_from_nothing
from tests.jobs.helpers import accepted_job, stages_of

pytestmark = pytest.mark.django_db


def _same_as_from_nothing(c: Client) -> str:
    return same_as_from_nothing(lambda: masked(c.get("/plan/")))


@pytest.fixture
def plan(client_user: User, engineer: User, frozen: object) -> tuple[Client, Job, list[Stage]]:
    """A job whose six stages are the engineer's, planned from Monday 2 March."""
    StudioPolicy.current()
    job = accepted_job(client_user, track_title="Glasshouse")
    stages = stages_of(job)
    for stage in stages:
        stage_take(stage=stage, by=engineer)
    c = Client()
    c.force_login(engineer)
    return c, job, stages


def test_the_days_follow_their_work_and_due_dates(plan: tuple[Client, Job, list[Stage]]) -> None:
    c, job, stages = plan
    page = _same_as_from_nothing(c)
    assert "Glasshouse · Listening" in page

    Job.objects.filter(pk=job.pk).update(track_title="Hothouse")
    page = _same_as_from_nothing(c)
    assert "Glasshouse" not in page and "Hothouse · Listening" in page

    assert job.due_at is not None
    Job.objects.filter(pk=job.pk).update(due_at=job.due_at + timedelta(minutes=1))
    page = _same_as_from_nothing(c)
    assert (job.due_at + timedelta(minutes=1)).strftime("Due %H:%M") in page

    Job.objects.filter(pk=job.pk).update(due_at=job.created_at + timedelta(minutes=1))
    page = _same_as_from_nothing(c)  # due before the work ends
    assert "after the due date" in page

    Stage.objects.filter(pk=stages[1].pk).update(status=StageStatus.SKIPPED, skip_reason="x")
    forget_stored_plan()  # re-planned: another set of blocks
    page = _same_as_from_nothing(c)
    assert "Cleanup" not in page


def test_the_days_follow_days_off_hours_the_cap_and_the_clock(
    plan: tuple[Client, Job, list[Stage]], engineer: User, frozen
) -> None:
    c, _, _ = plan
    _same_as_from_nothing(c)

    off = EngineerDayOff.objects.create(engineer=engineer, date=date(2026, 3, 4), reason="dentist")
    page = _same_as_from_nothing(c)
    assert "Day off: dentist." in page
    EngineerDayOff.objects.filter(pk=off.pk).update(reason="doctor")
    page = _same_as_from_nothing(c)
    assert "Day off: doctor." in page

    closed = StudioDayOff.objects.create(date=date(2026, 3, 5), reason="studio party")
    page = _same_as_from_nothing(c)
    assert "Day off: studio party." in page
    StudioDayOff.objects.filter(pk=closed.pk).update(reason="")
    page = _same_as_from_nothing(c)
    assert "studio party" not in page

    profile = EngineerProfile.objects.create(user=engineer, daily_listening_cap_min=200)
    page = _same_as_from_nothing(c)
    assert "of 200 min" in page
    EngineerProfile.objects.filter(pk=profile.pk).update(workday_start=time(8, 30))
    page = _same_as_from_nothing(c)
    assert "Hours 08:30" in page

    EngineerProfile.objects.filter(pk=profile.pk).update(timezone="Europe/Paris")
    page = _same_as_from_nothing(c)  # the same plan an hour later on the clock
    assert "Hours 08:30" in page and "Europe/Paris" in page

    # Tuesday, a day off, looks the same from Monday and as today but for "today".
    EngineerDayOff.objects.create(engineer=engineer, date=date(2026, 3, 3), reason="moving")
    _same_as_from_nothing(c)
    frozen.shift(timedelta(days=1))
    page = _same_as_from_nothing(c)
    assert "Tuesday 3 March <span" in page and "Monday 2 March" not in page
