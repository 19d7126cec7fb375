"""Calendar feeds: the secret URL, an engineer's blocks and breaks, a manager's due dates."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from jobs.feeds import _fold, calendar_text
from jobs.models import User
from jobs.services import stage_assign
from tests.jobs.helpers import accepted_job, stages_of

pytestmark = pytest.mark.django_db


def feed(user_or_token: User | str):
    token = user_or_token if isinstance(user_or_token, str) else user_or_token.calendar_token
    return Client().get(reverse("calendar_feed", args=[token]))


def test_an_engineer_gets_planned_blocks_and_breaks(
    client_user: User, engineer: User, manager: User, frozen
) -> None:
    job = accepted_job(client_user)
    eq = stages_of(job)[3]
    stage_assign(stage=eq, by=manager, engineer=engineer)
    eq.refresh_from_db()
    response = feed(engineer)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    body = response.content.decode()
    assert body.startswith("BEGIN:VCALENDAR\r\n")
    assert body.endswith("END:VCALENDAR\r\n")
    assert "SUMMARY:EQ and enhancement: Billie Jean (The Demo Band)" in body
    assert "SUMMARY:Ear break (short)" in body
    assert "DTSTART:20260302T" in body
    assert body.count("BEGIN:VEVENT") == body.count("END:VEVENT") >= 2
    assert all(len(line.encode()) <= 75 for line in body.split("\r\n"))


def test_a_manager_also_gets_the_studios_due_dates(
    client_user: User, manager: User, frozen
) -> None:
    job = accepted_job(client_user)
    body = feed(manager).content.decode()
    assert f"DTSTART:{job.due_at:%Y%m%dT%H%M%SZ}" in body
    assert "SUMMARY:Due: Billie Jean (The Demo Band)" in body


def test_an_engineer_sees_no_due_date_list(client_user: User, engineer: User, frozen) -> None:
    accepted_job(client_user)
    assert "Due:" not in feed(engineer).content.decode()


def test_a_bad_token_or_a_client_is_a_404(client_user: User, engineer: User) -> None:
    assert feed("not-a-real-token").status_code == 404
    assert feed(engineer.calendar_token[:-1]).status_code == 404
    assert feed(client_user).status_code == 404
    engineer.is_active = False
    engineer.save()
    assert feed(engineer).status_code == 404


def test_tokens_are_long_and_distinct(engineer: User, manager: User) -> None:
    assert len(engineer.calendar_token) >= 32
    assert engineer.calendar_token != manager.calendar_token


def test_text_is_escaped_and_folded() -> None:
    body = calendar_text("A; B, C\nD", [])
    assert "X-WR-CALNAME:A\\; B\\, C\\nD\r\n" in body
    folded = _fold("SUMMARY:" + "é" * 80)
    assert all(len(part.encode()) <= 75 for part in folded.split("\r\n"))
    assert folded.replace("\r\n ", "") == "SUMMARY:" + "é" * 80


def test_delivered_jobs_leave_the_due_date_feed(
    client_user: User, engineer: User, manager: User, frozen
) -> None:
    from jobs.services import job_deliver
    from tests.jobs.helpers import upload_master, work_through

    job = accepted_job(client_user)
    work_through(job, engineer)
    upload_master(job, engineer)
    assert "SUMMARY:Due:" in feed(manager).content.decode()
    job_deliver(job=job, by=engineer)
    assert "SUMMARY:Due:" not in feed(manager).content.decode()
