"""Hold, resume, cancel, deliver, approve and revision rounds, with the clock through each."""

from __future__ import annotations

from datetime import timedelta

import pytest

from jobs.models import ClockMode, JobEvent, JobStatus, Stage, StudioPolicy, User
from jobs.services import (
    NotAllowed,
    WorkflowError,
    WrongState,
    job_approve,
    job_cancel,
    job_deliver,
    job_hold,
    job_request_revision,
    job_resume,
    stage_start,
)
from tests.factories import make_job
from tests.jobs.conftest import MONDAY_10
from tests.jobs.helpers import accepted_job, stages_of, upload_master, work_through

pytestmark = pytest.mark.django_db


def delivered_job(client: User, engineer: User):
    job = accepted_job(client)
    work_through(job, engineer)
    upload_master(job, engineer)
    job_deliver(job=job, by=engineer)
    return job


def test_hold_pauses_the_clock_and_resume_moves_the_due_date(
    client_user: User, manager: User, frozen
) -> None:
    job = accepted_job(client_user)
    due = job.due_at
    frozen.shift(timedelta(hours=2))
    job_hold(job=job, by=manager, reason="waiting on the label")
    assert job.status == JobStatus.ON_HOLD
    assert job.status_before_hold == JobStatus.ACCEPTED
    assert job.paused_at == MONDAY_10 + timedelta(hours=2)
    frozen.shift(timedelta(hours=30))
    job_resume(job=job, by=manager)
    job.refresh_from_db()
    assert job.status == JobStatus.ACCEPTED
    assert job.paused_at is None
    assert job.paused_total == timedelta(hours=30)
    assert job.due_at == due + timedelta(hours=30)
    assert JobEvent.objects.filter(job=job, kind="deadline", to_value=job.due_at.isoformat())


def test_pauses_in_working_days_count_only_working_time(
    client_user: User, manager: User, frozen
) -> None:
    StudioPolicy.objects.update_or_create(
        pk=1, defaults={"clock_mode": ClockMode.WORKING_DAYS, "timezone": "Europe/London"}
    )
    job = accepted_job(client_user)
    # Monday 10:00 + 3 working days of 9 h -> Thursday 10:00.
    assert job.due_at == MONDAY_10 + timedelta(days=3)
    frozen.move_to(MONDAY_10 + timedelta(days=4, hours=6))  # Friday 16:00
    job_hold(job=job, by=manager)
    frozen.move_to(MONDAY_10 + timedelta(days=7, hours=1))  # next Monday 11:00
    job_resume(job=job, by=manager)
    # Paused: Friday 16-18 and Monday 9-11 = 4 working hours; Thursday 10:00 + 4 h = 14:00.
    assert job.paused_total == timedelta(hours=4)
    assert job.due_at == MONDAY_10 + timedelta(days=3, hours=4)


def test_a_hold_before_acceptance_returns_to_where_it_was(
    client_user: User, manager: User, frozen
) -> None:
    job = make_job(client=client_user, status=JobStatus.SUBMITTED)
    job_hold(job=job, by=manager)
    job_resume(job=job, by=manager)
    assert job.status == JobStatus.SUBMITTED
    assert job.due_at is None


def test_it_refuses_hold_and_cancel_by_an_engineer_or_client(
    client_user: User, engineer: User, frozen
) -> None:
    job = accepted_job(client_user)
    for who in (engineer, client_user):
        with pytest.raises(NotAllowed):
            job_hold(job=job, by=who)
        with pytest.raises(NotAllowed):
            job_cancel(job=job, by=who, reason="x")
    job.refresh_from_db()
    assert job.status == JobStatus.ACCEPTED


def test_it_refuses_to_resume_a_job_not_on_hold(client_user: User, manager: User, frozen) -> None:
    with pytest.raises(WrongState):
        job_resume(job=accepted_job(client_user), by=manager)


def test_cancel_closes_the_job_and_needs_a_reason(client_user: User, manager: User, frozen) -> None:
    job = accepted_job(client_user)
    with pytest.raises(WorkflowError):
        job_cancel(job=job, by=manager, reason="")
    job_cancel(job=job, by=manager, reason="the label folded")
    assert job.status == JobStatus.CANCELLED
    assert job.closed_at == MONDAY_10
    with pytest.raises(WrongState):
        job_cancel(job=job, by=manager, reason="again")
    with pytest.raises(WrongState):
        job_hold(job=job, by=manager)


def test_deliver_approve_and_the_client_email(
    client_user: User, engineer: User, frozen, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    job = accepted_job(client_user)
    work_through(job, engineer)
    upload_master(job, engineer)
    with django_capture_on_commit_callbacks(execute=True):
        job_deliver(job=job, by=engineer)
    assert job.status == JobStatus.DELIVERED
    assert job.delivered_at == MONDAY_10
    assert [m.to for m in mailoutbox] == [[client_user.email]]
    assert "ready" in mailoutbox[0].subject
    job_approve(job=job, by=client_user)
    assert job.status == JobStatus.APPROVED
    assert job.closed_at is not None


def test_it_refuses_delivery_before_the_delivery_stage_is_done(
    client_user: User, engineer: User, manager: User, frozen
) -> None:
    job = accepted_job(client_user)
    work_through(job, engineer, upto=5)
    upload_master(job, engineer)
    with pytest.raises(WrongState, match="delivery stage"):
        job_deliver(job=job, by=manager)


def test_it_refuses_delivery_without_a_master_of_this_round(
    client_user: User, engineer: User, frozen
) -> None:
    job = accepted_job(client_user)
    work_through(job, engineer)
    before = JobEvent.objects.count()
    with pytest.raises(WrongState, match="master"):
        job_deliver(job=job, by=engineer)
    assert JobEvent.objects.count() == before
    job.refresh_from_db()
    assert job.status == JobStatus.IN_PROGRESS


def test_it_refuses_delivery_by_someone_else(client_user: User, engineer: User, frozen) -> None:
    from tests.factories import make_user

    job = accepted_job(client_user)
    work_through(job, engineer)
    upload_master(job, engineer)
    for who in (make_user("engineer"), client_user):
        with pytest.raises(NotAllowed):
            job_deliver(job=job, by=who)


def test_it_refuses_approval_by_an_outsider_or_before_delivery(
    client_user: User, outsider: User, engineer: User, frozen
) -> None:
    job = accepted_job(client_user)
    with pytest.raises(WrongState):
        job_approve(job=job, by=client_user)
    work_through(job, engineer)
    upload_master(job, engineer)
    job_deliver(job=job, by=engineer)
    for who in (outsider, engineer):
        with pytest.raises(NotAllowed):
            job_approve(job=job, by=who)


def test_a_revision_is_a_new_round_with_its_own_promise(
    client_user: User, engineer: User, frozen, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    job = delivered_job(client_user, engineer)
    frozen.shift(timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=True):
        job_request_revision(job=job, by=client_user, note="more low end please")
    job.refresh_from_db()
    assert job.status == JobStatus.REVISION_REQUESTED
    assert job.revision_round == 1
    assert job.accepted_at == MONDAY_10 + timedelta(days=1)
    assert job.promise_days == 2
    assert job.due_at == MONDAY_10 + timedelta(days=3)
    assert Stage.objects.filter(job=job, revision_round=1, status="pending").count() == 6
    assert Stage.objects.filter(job=job, revision_round=0, status="done").count() == 6
    assert "revision" in mailoutbox[-1].subject
    assert "more low end" in mailoutbox[-1].body
    # The old round's stages are history; the new round starts from listening again.
    with pytest.raises(WrongState):
        stage_start(stage=Stage.objects.get(job=job, revision_round=0, kind="cleanup"), by=engineer)
    # A revision round needs its own master before it can be delivered again.
    work_through(job, engineer)
    with pytest.raises(WrongState, match="master"):
        job_deliver(job=job, by=engineer)
    upload_master(job, engineer)
    job_deliver(job=job, by=engineer)
    assert job.status == JobStatus.DELIVERED
    assert stages_of(job)[0].revision_round == 1


def test_it_refuses_a_revision_without_a_note_or_by_the_studio(
    client_user: User, engineer: User, manager: User, frozen
) -> None:
    job = delivered_job(client_user, engineer)
    with pytest.raises(WorkflowError):
        job_request_revision(job=job, by=client_user, note="  ")
    with pytest.raises(NotAllowed):
        job_request_revision(job=job, by=manager, note="louder")
    job.refresh_from_db()
    assert job.revision_round == 0


def test_a_revision_round_in_working_days_skips_the_weekend(
    client_user: User, engineer: User, frozen
) -> None:
    StudioPolicy.objects.update_or_create(
        pk=1, defaults={"clock_mode": ClockMode.WORKING_DAYS, "timezone": "UTC"}
    )
    job = delivered_job(client_user, engineer)
    frozen.move_to(MONDAY_10 + timedelta(days=4))  # Friday 10:00
    job_request_revision(job=job, by=client_user, note="vocal up 1 dB")
    # Two working days of 9 h from Friday 10:00: Fri 8 h, Mon 9 h, Tue 1 h -> Tuesday 10:00.
    assert job.due_at == MONDAY_10 + timedelta(days=8)
    assert job.paused_total == timedelta(0)


def test_a_delivered_job_can_be_held_and_resumed(
    client_user: User, engineer: User, manager: User, frozen
) -> None:
    job = delivered_job(client_user, engineer)
    job_hold(job=job, by=manager)
    with pytest.raises(WrongState):
        job_approve(job=job, by=client_user)
    job_resume(job=job, by=manager)
    assert job.status == JobStatus.DELIVERED
    job_approve(job=job, by=client_user)
    assert job.status == JobStatus.APPROVED
    with pytest.raises(WrongState):
        job_hold(job=job, by=manager)


def test_a_held_job_can_be_cancelled(client_user: User, manager: User, frozen) -> None:
    job = accepted_job(client_user)
    job_hold(job=job, by=manager)
    job_cancel(job=job, by=manager, reason="artist left the label")
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert job.status_before_hold == ""


def test_history_records_who_and_when_for_a_hold(client_user: User, manager: User, frozen) -> None:
    job = accepted_job(client_user)
    job_hold(job=job, by=manager, reason="mix changes coming")
    event = JobEvent.objects.filter(job=job, kind="status").order_by("-id").first()
    assert event is not None
    assert (event.actor, event.from_value, event.to_value, event.note, event.at) == (
        manager,
        "accepted",
        "on_hold",
        "mix changes coming",
        MONDAY_10,
    )


def test_a_verdict_landing_during_a_hold_waits_for_the_resume(
    client_user: User, manager: User, frozen
) -> None:
    from jobs.models import Verdict
    from jobs.services import job_record_verdict
    from tests.jobs.test_job_intake import analysing_job

    job = analysing_job(client_user)
    job_hold(job=job, by=manager, reason="label call first")
    job_record_verdict(job=job, verdict=Verdict.ACCEPTED)
    job.refresh_from_db()
    assert job.status == JobStatus.ON_HOLD
    assert job.status_before_hold == JobStatus.ACCEPTED
    assert job.paused_at == MONDAY_10
    assert job.due_at == MONDAY_10 + timedelta(days=3)
    frozen.shift(timedelta(hours=6))
    job_resume(job=job, by=manager)
    job.refresh_from_db()
    assert job.status == JobStatus.ACCEPTED
    assert job.due_at == MONDAY_10 + timedelta(days=3, hours=6)
    assert Stage.objects.filter(job=job).count() == 6


def test_a_reexport_landing_during_a_hold_resumes_to_the_client(
    client_user: User, manager: User, frozen
) -> None:
    from jobs.models import Verdict
    from jobs.services import job_record_verdict
    from tests.jobs.test_job_intake import analysing_job

    job = analysing_job(client_user)
    job_hold(job=job, by=manager)
    job_record_verdict(job=job, verdict=Verdict.REEXPORT_REQUESTED)
    job_resume(job=job, by=manager)
    assert job.status == JobStatus.AWAITING_CLIENT
    assert job.due_at is None


def test_a_policy_change_during_a_hold_does_not_move_the_given_date(
    client_user: User, manager: User, frozen
) -> None:
    job = accepted_job(client_user)
    due = job.due_at
    job_hold(job=job, by=manager)
    StudioPolicy.objects.update_or_create(pk=1, defaults={"promise_days": 5})
    frozen.shift(timedelta(hours=1))
    job_resume(job=job, by=manager)
    assert job.due_at == due + timedelta(hours=1)
