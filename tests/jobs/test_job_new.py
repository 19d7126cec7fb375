"""A client opens a job for a track; nobody else can."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.test import Client

from jobs.models import Job, JobEvent, JobStatus, Role
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_a_client_opens_a_draft_job_and_lands_on_its_page() -> None:
    owner = make_user(Role.CLIENT)
    client = Client()
    client.force_login(owner)
    assert client.get("/jobs/new/").status_code == 200
    response = client.post(
        "/jobs/new/",
        {"track_title": "  Billie Jean ", "artist": "MJ", "reference_notes": "Thriller's low end"},
    )
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.pk}/"
    assert (job.track_title, job.status, job.organisation_id) == (
        "Billie Jean",
        JobStatus.DRAFT,
        owner.organisation_id,
    )
    assert JobEvent.objects.filter(job=job, to_value=JobStatus.DRAFT, actor=owner).exists()
    assert b"Billie Jean" in client.get(response["Location"]).content


def test_it_refuses_a_blank_title_and_keeps_what_was_typed() -> None:
    client = Client()
    client.force_login(make_user(Role.CLIENT))
    response = client.post("/jobs/new/", {"track_title": "   ", "artist": "Kept Artist"})
    assert response.status_code == 400
    assert b"Give the track" in response.content and b"Kept Artist" in response.content
    assert not Job.objects.exists()


@pytest.mark.parametrize("role", [Role.ENGINEER, Role.MANAGER])
def test_studio_roles_do_not_open_jobs(role: str) -> None:
    client = Client()
    client.force_login(make_user(role))
    assert client.get("/jobs/new/").status_code == 403
    assert client.post("/jobs/new/", {"track_title": "X"}).status_code == 403
    assert not Job.objects.exists()


def test_anonymous_visitors_are_sent_to_log_in() -> None:
    response = Client().get("/jobs/new/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_a_nul_character_pasted_into_a_title_is_dropped_not_a_server_error() -> None:
    # PostgreSQL cannot store NUL in text; the form's text arrives without it.
    owner = make_user(Role.CLIENT)
    client = Client(raise_request_exception=False)
    client.force_login(owner)
    response = client.post(  # as a browser sends the form
        "/jobs/new/",
        urlencode({"track_title": "Night\x00 Drive", "notes": "a\x00b"}),
        content_type="application/x-www-form-urlencoded",
    )
    job = Job.objects.get()
    assert response.status_code == 302
    assert (job.track_title, job.notes) == ("Night Drive", "ab")


def test_a_nul_character_in_a_search_is_dropped() -> None:
    manager = make_user(Role.MANAGER)
    client = Client(raise_request_exception=False)
    client.force_login(manager)
    assert client.get("/board/", {"q": "Night\x00"}).status_code == 200
