"""Intake moves: submit, start analysis, record the verdict, acknowledge, override, decline."""

from __future__ import annotations

from datetime import timedelta

import pytest

from analysis.models import IntakeFinding, IntakeReport
from jobs.models import STAGE_ORDER, JobEvent, JobStatus, Stage, User, Verdict
from jobs.services import (
    NotAllowed,
    WorkflowError,
    WrongState,
    job_accept,
    job_acknowledge,
    job_decline,
    job_override_verdict,
    job_record_verdict,
    job_start_analysis,
    job_submit,
)
from tests.factories import make_audio_file, make_job
from tests.jobs.conftest import MONDAY_10

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]


def analysing_job(client: User):
    job = make_job(client=client)
    make_audio_file(job)
    job_submit(job=job, by=client)
    job_start_analysis(job=job)
    return job


def test_it_submits_a_draft_with_files(client_user: User) -> None:
    job = make_job(client=client_user)
    make_audio_file(job)
    job_submit(job=job, by=client_user)
    job.refresh_from_db()
    assert job.status == JobStatus.SUBMITTED
    assert job.submitted_at == MONDAY_10
    event = JobEvent.objects.get(job=job)
    assert (event.from_value, event.to_value, event.actor) == ("draft", "submitted", client_user)


def test_it_refuses_to_submit_without_files(client_user: User) -> None:
    job = make_job(client=client_user)
    with pytest.raises(WrongState):
        job_submit(job=job, by=client_user)
    assert not JobEvent.objects.exists()
    job.refresh_from_db()
    assert job.status == JobStatus.DRAFT


def test_it_refuses_a_submit_by_an_outsider_or_engineer(
    client_user: User, outsider: User, engineer: User
) -> None:
    job = make_job(client=client_user)
    make_audio_file(job)
    for who in (outsider, engineer):
        with pytest.raises(NotAllowed):
            job_submit(job=job, by=who)
    assert not JobEvent.objects.exists()


def test_a_manager_may_submit(client_user: User, manager: User) -> None:
    job = make_job(client=client_user)
    make_audio_file(job)
    assert job_submit(job=job, by=manager).status == JobStatus.SUBMITTED


def test_it_refuses_to_submit_twice(client_user: User) -> None:
    job = make_job(client=client_user)
    make_audio_file(job)
    job_submit(job=job, by=client_user)
    with pytest.raises(WrongState):
        job_submit(job=job, by=client_user)


def test_it_refuses_analysis_of_a_draft(client_user: User) -> None:
    with pytest.raises(WrongState):
        job_start_analysis(job=make_job(client=client_user))


def test_an_accepted_verdict_starts_the_clock_and_the_stages(
    client_user: User, mailoutbox: list, django_capture_on_commit_callbacks
) -> None:
    job = analysing_job(client_user)
    report = IntakeReport.objects.create(job=job, verdict=Verdict.ACCEPTED, summary="All clear.")
    IntakeFinding.objects.create(
        report=report, code="ok", severity="info", message="Stems line up."
    )
    with django_capture_on_commit_callbacks(execute=True):
        job_record_verdict(job=job, verdict=Verdict.ACCEPTED, report=report)
    job.refresh_from_db()
    assert job.status == JobStatus.ACCEPTED
    assert job.accepted_at == MONDAY_10
    assert job.due_at == MONDAY_10 + timedelta(days=3)
    stages = list(Stage.objects.filter(job=job).order_by("position"))
    assert [s.kind for s in stages] == STAGE_ORDER
    assert [s.position for s in stages] == list(range(6))
    assert stages[1].checklist[0] == {"item": "every stem soloed", "done": False}
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [client_user.email]
    assert "All clear." in mailoutbox[0].body
    assert "Stems line up." in mailoutbox[0].body


def test_warnings_without_acknowledgement_accept_at_once(client_user: User) -> None:
    job = analysing_job(client_user)
    job_record_verdict(job=job, verdict=Verdict.ACCEPTED_WITH_WARNINGS)
    assert job.status == JobStatus.ACCEPTED
    assert job.due_at is not None


def test_minor_clipping_waits_for_the_client_with_no_clock(
    client_user: User, frozen, mailoutbox: list, django_capture_on_commit_callbacks
) -> None:
    job = analysing_job(client_user)
    with django_capture_on_commit_callbacks(execute=True):
        job_record_verdict(
            job=job, verdict=Verdict.ACCEPTED_WITH_WARNINGS, needs_acknowledgement=True
        )
    assert job.status == JobStatus.AWAITING_CLIENT
    assert job.accepted_at is None and job.due_at is None
    assert not Stage.objects.filter(job=job).exists()
    assert "acknowledge" in mailoutbox[0].body
    frozen.shift(timedelta(hours=5))
    job_acknowledge(job=job, by=client_user)
    job.refresh_from_db()
    assert job.status == JobStatus.ACCEPTED
    assert job.accepted_at == MONDAY_10 + timedelta(hours=5)
    assert job.acknowledged_at == job.accepted_at
    assert Stage.objects.filter(job=job).count() == 6


def test_it_refuses_acknowledgement_of_a_reexport(client_user: User) -> None:
    job = analysing_job(client_user)
    job_record_verdict(job=job, verdict=Verdict.REEXPORT_REQUESTED)
    assert job.status == JobStatus.AWAITING_CLIENT
    with pytest.raises(WrongState):
        job_acknowledge(job=job, by=client_user)


def test_it_refuses_acknowledgement_by_an_outsider(client_user: User, outsider: User) -> None:
    job = analysing_job(client_user)
    job_record_verdict(job=job, verdict=Verdict.ACCEPTED_WITH_WARNINGS, needs_acknowledgement=True)
    with pytest.raises(NotAllowed):
        job_acknowledge(job=job, by=outsider)


def test_a_reexported_job_can_be_submitted_again(client_user: User) -> None:
    job = analysing_job(client_user)
    job_record_verdict(job=job, verdict=Verdict.REEXPORT_REQUESTED)
    job_submit(job=job, by=client_user)
    assert job.status == JobStatus.SUBMITTED


def test_it_refuses_a_declined_verdict_from_intake(client_user: User) -> None:
    job = analysing_job(client_user)
    before = JobEvent.objects.count()
    with pytest.raises(NotAllowed):
        job_record_verdict(job=job, verdict=Verdict.DECLINED)
    assert JobEvent.objects.count() == before
    job.refresh_from_db()
    assert job.status == JobStatus.ANALYSING


def test_it_refuses_a_verdict_outside_analysis(client_user: User) -> None:
    job = make_job(client=client_user, status=JobStatus.SUBMITTED)
    with pytest.raises(WrongState):
        job_record_verdict(job=job, verdict=Verdict.ACCEPTED)


def test_a_manager_overrides_a_reexport_with_a_reason(client_user: User, manager: User) -> None:
    job = analysing_job(client_user)
    job_record_verdict(job=job, verdict=Verdict.REEXPORT_REQUESTED)
    job_accept(job=job, by=manager, reason="the noise is part of the sound")
    job.refresh_from_db()
    assert job.status == JobStatus.ACCEPTED
    assert job.verdict == Verdict.ACCEPTED
    assert job.verdict_overridden_by == manager
    assert job.verdict_reason == "the noise is part of the sound"
    assert JobEvent.objects.filter(job=job, kind="verdict", note=job.verdict_reason).exists()


def test_it_refuses_an_override_without_a_reason_or_by_an_engineer(
    client_user: User, manager: User, engineer: User
) -> None:
    job = analysing_job(client_user)
    with pytest.raises(WorkflowError):
        job_override_verdict(job=job, by=manager, verdict=Verdict.ACCEPTED, reason=" ")
    with pytest.raises(NotAllowed):
        job_accept(job=job, by=engineer, reason="looks fine")
    job.refresh_from_db()
    assert job.verdict_overridden_by is None


def test_a_manager_declines_with_a_reason(client_user: User, manager: User) -> None:
    job = analysing_job(client_user)
    job_decline(job=job, by=manager, reason="not our kind of record")
    job.refresh_from_db()
    assert job.status == JobStatus.DECLINED
    assert job.verdict == Verdict.DECLINED
    assert job.closed_at == MONDAY_10


def test_it_refuses_to_decline_for_an_engineer_or_after_acceptance(
    client_user: User, manager: User, engineer: User
) -> None:
    job = analysing_job(client_user)
    with pytest.raises(NotAllowed):
        job_decline(job=job, by=engineer, reason="no")
    job_record_verdict(job=job, verdict=Verdict.ACCEPTED)
    with pytest.raises(WrongState):
        job_decline(job=job, by=manager, reason="changed our mind")


def test_a_manager_asks_for_a_reexport_instead(client_user: User, manager: User) -> None:
    job = analysing_job(client_user)
    job_override_verdict(
        job=job, by=manager, verdict=Verdict.REEXPORT_REQUESTED, reason="the vocal stem is muted"
    )
    assert job.status == JobStatus.AWAITING_CLIENT
    assert job.verdict == Verdict.REEXPORT_REQUESTED
    assert job.due_at is None


def test_a_new_verdict_after_an_override_drops_the_old_reason(
    client_user: User, manager: User
) -> None:
    job = analysing_job(client_user)
    job_override_verdict(
        job=job, by=manager, verdict=Verdict.REEXPORT_REQUESTED, reason="the vocal stem is muted"
    )
    job_submit(job=job, by=client_user)  # the client sends fixed files
    job_start_analysis(job=job)
    job_record_verdict(job=job, verdict=Verdict.ACCEPTED)
    job.refresh_from_db()
    # The studio's note was about the files before; the new verdict is intake's own.
    assert (job.verdict, job.verdict_reason, job.verdict_overridden_by) == (
        Verdict.ACCEPTED,
        "",
        None,
    )


def test_an_override_to_decline_is_a_decline(client_user: User, manager: User) -> None:
    job = analysing_job(client_user)
    job_override_verdict(job=job, by=manager, verdict=Verdict.DECLINED, reason="no vision")
    job.refresh_from_db()
    assert job.status == JobStatus.DECLINED
