"""Calendar feeds: the secret URL, an engineer's blocks and breaks, a manager's due dates."""

from __future__ import annotations

import pytest
import vobject
from django.test import Client
from django.urls import reverse

from jobs.feeds import calendar_text
from jobs.models import Organisation, User
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


# What a client or a manager can type into a title, an artist, a company or a person's name:
# bare CR and LF (each on its own too), a whole forged event, the text separators, controls
# (not NUL: PostgreSQL text cannot hold it at all).
HOSTILE = (
    "Song\rEND:VEVENT\rBEGIN:VEVENT\rUID:forged\rSUMMARY:Injected\r"
    "DTSTART:20260101T000000Z\nATTENDEE:mailto:evil@example.com\r\n"
    "; a, b\\ c \x07\x1b[31m\x7f \u202e\u2028 é" + "ü" * 60
)


def _expected(text: str) -> str:
    """The text as a calendar app shows it: line breaks kept (as one LF each), controls gone."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(ch for ch in text if ch in "\t\n" or not (ord(ch) < 0x20 or ord(ch) == 0x7F))


def _parse(body: str):
    assert all(len(line.encode()) <= 75 for line in body.split("\r\n"))
    assert "\r" not in body.replace("\r\n", "") and "\n" not in body.replace("\r\n", "")
    calendar = vobject.readOne(body, validate=True)
    assert not list(vobject.readComponents(body))[1:]  # one calendar, nothing after it
    return calendar


def test_hostile_text_in_every_field_stays_text(
    client_user: User, engineer: User, manager: User, frozen
) -> None:
    Organisation.objects.filter(pk=client_user.organisation_id).update(name=HOSTILE)
    job = accepted_job(client_user, track_title=HOSTILE, artist=HOSTILE)
    stage_assign(stage=stages_of(job)[3], by=manager, engineer=engineer)
    for person in (engineer, manager):
        person.first_name, person.last_name = HOSTILE[:150], HOSTILE[:150]
        person.save()

    engineer_cal = _parse(feed(engineer).content.decode())
    summaries = [e.summary.value for e in engineer_cal.vevent_list]
    assert f"EQ and enhancement: {_expected(str(job))}" in summaries
    assert all(e.uid.value != "forged" for e in engineer_cal.vevent_list)
    assert all(not hasattr(e, "attendee") for e in engineer_cal.vevent_list)
    assert engineer_cal.contents["x-wr-calname"][0].value.startswith(
        "Headroom: " + _expected(HOSTILE[:150])
    )

    manager_cal = _parse(feed(manager).content.decode())
    due = [e for e in manager_cal.vevent_list if e.summary.value.startswith("Due:")]
    assert [e.summary.value for e in due] == [f"Due: {_expected(str(job))} ({_expected(HOSTILE)})"]
    assert all(e.uid.value != "forged" for e in manager_cal.vevent_list)


def test_the_feed_text_round_trips_through_another_parser() -> None:
    body = calendar_text("A; B, C\nD\rE", [])
    calendar = _parse(body)
    assert calendar.contents["x-wr-calname"][0].value == "A; B, C\nD\nE"


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
