"""The client's home: each job's progress through the six stages, when to expect the master
(the plan's prediction, never later than the promise) and what the job needs from the client."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client

from jobs.models import Job, JobStatus, Role, User, Verdict
from jobs.portal import client_ask, expected_delivery, home_cards
from jobs.services import job_deliver
from tests.factories import make_job, make_user
from tests.jobs.helpers import accepted_job, upload_master, work_through

pytestmark = pytest.mark.django_db


def test_progress_and_the_stage_in_words(frozen: time_machine.Traveller) -> None:
    owner = make_user(Role.CLIENT)
    engineer = make_user(Role.ENGINEER)
    job = accepted_job(owner)
    work_through(job, engineer, upto=2)
    [card] = home_cards([job])
    assert (card.done, card.total) == (2, 6)
    assert card.current == "Level balancing (stage 3 of 6)"
    assert card.ask is None and card.shows_progress


def test_expected_delivery_is_the_prediction_within_the_promise(
    frozen: time_machine.Traveller,
) -> None:
    job = accepted_job(make_user(Role.CLIENT))
    assert job.due_at is not None
    job.predicted_finish_at = job.due_at - timedelta(days=1)
    assert expected_delivery(job) == job.predicted_finish_at
    job.predicted_finish_at = job.due_at + timedelta(hours=5)  # late: the promise stands
    assert expected_delivery(job) == job.due_at
    job.predicted_finish_at = None
    assert expected_delivery(job) == job.due_at
    # Once the promised date has passed it cannot stand: the plan's finish if still ahead.
    past_due = job.due_at + timedelta(minutes=1)
    job.predicted_finish_at = job.due_at + timedelta(hours=5)
    assert expected_delivery(job, past_due) == job.predicted_finish_at
    job.predicted_finish_at = job.due_at
    assert expected_delivery(job, past_due) is None
    job.status = JobStatus.APPROVED
    assert expected_delivery(job) is None


def test_one_clear_ask_where_the_job_waits_on_the_client(
    frozen: time_machine.Traveller, client_user: User, engineer: User
) -> None:
    draft = make_job(client=client_user)
    assert client_ask(draft).action == "Add files"  # type: ignore[union-attr]
    reexport = make_job(
        client=client_user, status=JobStatus.AWAITING_CLIENT, verdict=Verdict.REEXPORT_REQUESTED
    )
    ask = client_ask(reexport)
    assert ask is not None and ask.url == f"/jobs/{reexport.pk}/intake/"
    warned = make_job(
        client=client_user,
        status=JobStatus.AWAITING_CLIENT,
        verdict=Verdict.ACCEPTED_WITH_WARNINGS,
    )
    assert client_ask(warned).action == "Review the warnings"  # type: ignore[union-attr]
    delivered = accepted_job(client_user)
    work_through(delivered, engineer)
    upload_master(delivered, engineer)
    job_deliver(job=delivered, by=engineer)
    delivered.refresh_from_db()
    assert client_ask(delivered).url.endswith("#review-room")  # type: ignore[union-attr]
    assert home_cards([delivered])[0].done == 6
    running = accepted_job(client_user)
    assert client_ask(running) is None
    # Waiting on the client comes first on the page.
    order = [
        c.job for c in home_cards(list(Job.objects.filter(organisation=client_user.organisation)))
    ]
    assert order.index(running) > max(order.index(j) for j in (draft, reexport, warned, delivered))


def test_the_home_page_shows_cards_to_clients_and_the_table_to_the_studio(
    frozen: time_machine.Traveller, client: Client, client_user: User, manager: User
) -> None:
    job = accepted_job(client_user)
    client.force_login(client_user)
    page = client.get("/").content.decode()
    assert 'class="job-cards"' in page and "0 of 6 stages done" in page
    assert "Expected by <strong><time" in page and job.track_title in page
    client.force_login(manager)
    page = client.get("/jobs/all/").content.decode()
    assert 'class="jobs cards"' in page and 'data-label="Deadline"' in page


def test_a_late_job_says_so_on_the_client_home_with_the_plans_new_date(
    frozen: time_machine.Traveller,
) -> None:
    job = accepted_job(make_user(Role.CLIENT))
    assert job.due_at is not None
    job.predicted_finish_at = job.due_at + timedelta(hours=5)
    job.save(update_fields=["predicted_finish_at"])
    frozen.move_to(job.due_at + timedelta(hours=1))
    [card] = home_cards([job])
    assert card.late and card.expected == job.predicted_finish_at
    c = Client()
    c.force_login(job.created_by)
    page = c.get("/").content.decode()
    assert "Running late: now expected by" in page and "Expected by" not in page
