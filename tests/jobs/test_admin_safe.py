"""The admin cannot put a job in a state the workflow would not: status, verdict and clock are
read-only there, and a stage goes only to the studio's people, through stage_assign."""

from __future__ import annotations

import pytest
from django.test import Client

from jobs.models import STAGE_ORDER, JobEvent, JobStatus, Role, Stage, Verdict
from tests.factories import make_job, make_user

pytestmark = pytest.mark.django_db


# The job form's inline lists (files, stages, events), posted with no rows.
NO_INLINE_ROWS = {
    f"{p}-{count}": "0"
    for p in ("files", "stages", "events")
    for count in ("TOTAL_FORMS", "INITIAL_FORMS")
}


def _admin() -> Client:
    c = Client()
    c.force_login(make_user(Role.MANAGER, is_staff=True, is_superuser=True))
    return c


def test_the_job_form_cannot_change_status_verdict_or_clock() -> None:
    job = make_job(status=JobStatus.AWAITING_CLIENT, verdict=Verdict.REEXPORT_REQUESTED)
    admin = _admin()
    page = admin.get(f"/admin/jobs/job/{job.pk}/change/").content.decode()
    assert 'name="status"' not in page and 'name="verdict"' not in page
    assert 'name="due_at_0"' not in page
    assert f"/jobs/{job.pk}/#manage" in page

    admin.post(
        f"/admin/jobs/job/{job.pk}/change/",
        {
            "track_title": "Renamed",
            "artist": job.artist,
            "status": "accepted",
            "verdict": "accepted",
            **NO_INLINE_ROWS,
        },
    )
    job.refresh_from_db()
    assert job.track_title == "Renamed"
    assert (job.status, job.verdict, job.due_at) == (
        JobStatus.AWAITING_CLIENT,
        Verdict.REEXPORT_REQUESTED,
        None,
    )


def test_a_cloud_link_typed_without_its_scheme_is_an_https_one() -> None:
    job = make_job(status=JobStatus.AWAITING_CLIENT)
    _admin().post(
        f"/admin/jobs/job/{job.pk}/change/",
        {
            "track_title": job.track_title,
            "artist": job.artist,
            "cloud_link": "www.dropbox.com/s/abc/stems.zip",
            **NO_INLINE_ROWS,
        },
    )
    job.refresh_from_db()
    assert job.cloud_link == "https://www.dropbox.com/s/abc/stems.zip"


def test_a_stage_goes_to_the_studio_only_and_through_the_service() -> None:
    job = make_job(status=JobStatus.IN_PROGRESS)
    stage = Stage.objects.create(job=job, kind=STAGE_ORDER[0], position=0)
    engineer = make_user(Role.ENGINEER, first_name="Ada")
    admin = _admin()

    page = admin.get(f"/admin/jobs/stage/{stage.pk}/change/").content.decode()
    assert f'value="{engineer.pk}"' in page
    assert f'value="{job.created_by.pk}"' not in page

    refused = admin.post(
        f"/admin/jobs/stage/{stage.pk}/change/", {"assignee": job.created_by.pk, "notes": ""}
    )
    assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()
    admin.post(f"/admin/jobs/stage/{stage.pk}/change/", {"assignee": engineer.pk, "notes": "hi"})
    stage.refresh_from_db()
    assert stage.assignee == engineer and stage.notes == "hi"
    assert JobEvent.objects.filter(job=job, kind="assignee", to_value=engineer.username).exists()
