"""The `plan` command prints each engineer's timeline; admin actions run the workflow moves."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from jobs.models import JobStatus, StageStatus, User
from jobs.services import stage_assign
from tests.factories import make_user
from tests.jobs.helpers import accepted_job, stages_of

pytestmark = pytest.mark.django_db


def test_plan_prints_each_engineers_timeline(
    client_user: User, engineer: User, manager: User, frozen
) -> None:
    job = accepted_job(client_user)
    stage_assign(stage=stages_of(job)[0], by=manager, engineer=engineer)
    out = StringIO()
    call_command("plan", stdout=out)
    text = out.getvalue()
    assert engineer.username in text
    assert "Mon 02 Mar" in text
    assert "10:00-10:30  Listening · Billie Jean (The Demo Band)" in text
    assert "Cleanup · Billie Jean (The Demo Band) (proposed)" in text
    assert "ear break (short)" in text
    job.refresh_from_db()
    assert job.predicted_finish_at is not None


def test_plan_dry_run_writes_nothing_and_lists_late_jobs(client_user: User, frozen) -> None:
    job = accepted_job(client_user)  # no engineers at all
    out = StringIO()
    call_command("plan", "--dry-run", stdout=out)
    job.refresh_from_db()
    assert job.predicted_finish_at is None
    assert "Unplanned stages: 6" in out.getvalue()


def staff(role: str) -> Client:
    user = make_user(role, is_staff=True, is_superuser=True)
    browser = Client()
    browser.force_login(user)
    return browser


def test_admin_hold_and_resume_go_through_the_services(client_user: User, frozen) -> None:
    job = accepted_job(client_user)
    browser = staff("manager")
    url = "/admin/jobs/job/"
    response = browser.post(url, {"action": "hold_jobs", "_selected_action": [str(job.pk)]})
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == JobStatus.ON_HOLD
    browser.post(url, {"action": "resume_jobs", "_selected_action": [str(job.pk)]})
    job.refresh_from_db()
    assert job.status == JobStatus.ACCEPTED


def test_admin_actions_keep_the_roles(client_user: User, frozen) -> None:
    job = accepted_job(client_user)
    browser = staff("engineer")
    response = browser.post(
        "/admin/jobs/job/",
        {"action": "hold_jobs", "_selected_action": [str(job.pk)]},
        follow=True,
    )
    assert "Only a studio manager" in response.content.decode()
    job.refresh_from_db()
    assert job.status == JobStatus.ACCEPTED


def test_admin_stage_actions(client_user: User, frozen) -> None:
    job = accepted_job(client_user)
    listening = stages_of(job)[0]
    browser = staff("engineer")
    for action in ("take_stages", "start_stages", "finish_stages"):
        browser.post(
            "/admin/jobs/stage/", {"action": action, "_selected_action": [str(listening.pk)]}
        )
    listening.refresh_from_db()
    assert listening.status == StageStatus.DONE
