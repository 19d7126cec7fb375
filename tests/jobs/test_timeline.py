"""The job's timeline: words and the studio's local time, rounds counted from 1, and a client's
view without staffing, plan internals or a master before its delivery."""

from __future__ import annotations

import pytest
import time_machine
from django.test import Client

from jobs.models import JobEvent, Role, User
from jobs.selectors import job_history
from jobs.services import job_deliver, job_request_revision
from jobs.timeline import job_timeline
from tests.factories import make_user
from tests.jobs.helpers import accepted_job, upload_master, work_through

pytestmark = pytest.mark.django_db


def _titles(job: object, viewer: User) -> list[str]:
    return [e.title for e in job_timeline(job, job_history(job), viewer=viewer)]  # type: ignore[arg-type]


def test_a_clients_timeline_reads_as_words_without_staffing(
    frozen: time_machine.Traveller,
) -> None:
    client = make_user(Role.CLIENT)
    engineer = make_user(Role.ENGINEER)
    manager = make_user(Role.MANAGER)
    job = accepted_job(client)
    work_through(job, engineer, upto=5)
    upload_master(job, engineer)
    # What the upload path records for a master (the factory stores the file only).
    JobEvent.objects.create(job=job, actor=engineer, kind="file", subject="Master.wav",
                            to_value="v1 master")  # fmt: skip
    client_view = job_timeline(job, job_history(job), viewer=client)
    titles = [e.title for e in client_view]
    # Newest first; the due date in words at the studio's time (London, 10:00 on Monday + 3 days).
    assert titles[-1] == "Files submitted for intake", titles
    assert "Due date set: Thu 5 Mar, 10:00" in titles
    assert "Listening done" in titles and "Glue and final level done" in titles
    text = " ".join(f"{e.title} {e.detail} {e.by}" for e in client_view)
    assert "assigned" not in text and engineer.username not in text
    assert "T10:00:00" not in text and "+00:00" not in text and "→" not in text
    assert not any(t.startswith("Master ") for t in titles), titles  # not delivered yet
    studio = _titles(job, manager)
    assert "Listening assigned to " + engineer.username in studio
    assert any(t.startswith("Master added") for t in studio)
    due = next(e for e in client_view if e.title.startswith("Due date set"))
    assert due.detail == "Round 1: 3-day promise"


def test_rounds_are_counted_from_one_on_the_page_and_in_the_history(
    frozen: time_machine.Traveller, client: Client
) -> None:
    owner = make_user(Role.CLIENT)
    engineer = make_user(Role.ENGINEER)
    job = accepted_job(owner)
    work_through(job, engineer)
    upload_master(job, engineer)
    job_deliver(job=job, by=engineer)
    job_request_revision(job=job, by=owner, note="Vocal up 1 dB in the chorus")
    job.refresh_from_db()
    assert job.round_number == 2
    entries = job_timeline(job, job_history(job), viewer=owner)
    moved = next(e for e in entries if e.title.startswith("Due date moved"))
    assert moved.detail.startswith("Round 2: ") and "(was Thu 5 Mar, 10:00)" in moved.detail
    assert entries[1].title == "Revision requested"
    assert entries[1].detail == "Vocal up 1 dB in the chorus"
    # The delivery event is the first time the client hears of the master.
    assert "Master delivered" in [e.title for e in entries]
    client.force_login(owner)
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "Due date moved: " in page and "round 0" not in page.lower()


def test_old_notes_count_rounds_from_one_too(frozen: time_machine.Traveller) -> None:
    owner = make_user(Role.CLIENT)
    job = accepted_job(owner)
    JobEvent.objects.create(
        job=job, kind="deadline", subject="due_at", to_value="2026-03-06T09:30:00+00:00",
        from_value="2026-03-05T10:00:00+00:00", note="round 0: 3-day promise",
    )  # fmt: skip
    entry = job_timeline(job, job_history(job), viewer=owner)[0]
    assert entry.title == "Due date moved: Fri 6 Mar, 09:30"
    assert entry.detail == "Round 1: 3-day promise (was Thu 5 Mar, 10:00)"


def test_files_handed_in_together_are_one_line(frozen: time_machine.Traveller) -> None:
    from tests.factories import make_job

    owner = make_user(Role.CLIENT)
    job = make_job(client=owner)
    for name in ("Bass - Billie Jean.wav", "Drums - Billie Jean.wav"):
        JobEvent.objects.create(job=job, actor=owner, kind="file", subject=name, to_value="v1 stem")
    entry = job_timeline(job, job_history(job), viewer=owner)[0]
    assert entry.title == "2 files added"
    assert entry.detail == "Bass - Billie Jean.wav, Drums - Billie Jean.wav"


def test_closed_jobs_carry_no_deadline_state(
    frozen: time_machine.Traveller, client: Client
) -> None:
    from jobs.services import job_approve

    owner = make_user(Role.CLIENT)
    engineer = make_user(Role.ENGINEER)
    job = accepted_job(owner)
    client.force_login(owner)
    assert "(On track)" in client.get(f"/jobs/{job.pk}/").content.decode()
    work_through(job, engineer)
    upload_master(job, engineer)
    job_deliver(job=job, by=engineer)
    job_approve(job=job, by=owner)
    job.refresh_from_db()
    assert not job.has_deadline_state
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "On track" not in page and "Master approved" in page


def test_a_fresh_ears_override_is_the_studios_and_says_whose_ears(
    frozen: time_machine.Traveller,
) -> None:
    client = make_user(Role.CLIENT)
    manager = make_user(Role.MANAGER)
    job = accepted_job(client)
    JobEvent.objects.create(job=job, actor=manager, kind="stage", subject="glue_final_level",
                            from_value="fresh ears", to_value="overridden for ada",
                            note="session booked at 11")  # fmt: skip
    studio = job_timeline(job, job_history(job), viewer=manager)
    override = next(e for e in studio if "fresh ears" in e.title)
    assert override.title == "Glue and final level: fresh ears overridden for ada"
    assert override.detail == "session booked at 11" and override.studio_only
    assert not any("fresh ears" in t for t in _titles(job, client))
