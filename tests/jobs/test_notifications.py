"""Client emails go out only after the move commits; a refused or failed move sends nothing."""

from __future__ import annotations

import pytest

from analysis.models import Finding, IntakeReport
from jobs.models import JobEvent, JobStatus, Stage, User, Verdict
from jobs.services import WrongState, job_record_verdict
from tests.factories import make_user
from tests.jobs.test_job_intake import analysing_job

pytestmark = pytest.mark.django_db


def test_a_reexport_email_lists_what_to_fix(
    client_user: User, frozen, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    colleague = make_user("client", organisation=client_user.organisation)
    make_user("client")  # another client's people hear nothing
    job = analysing_job(client_user)
    report = IntakeReport.objects.create(job=job, verdict=Verdict.REEXPORT_REQUESTED)
    Finding.objects.create(
        report=report,
        code="clipping",
        severity="error",
        message="Clips 12 times; export with 3 dB of headroom.",
        file_name="Bass - Billie Jean.wav",
    )
    with django_capture_on_commit_callbacks(execute=True):
        job_record_verdict(job=job, verdict=Verdict.REEXPORT_REQUESTED, report=report)
    [mail] = mailoutbox
    assert sorted(mail.to) == sorted([client_user.email, colleague.email])
    assert "Re-export requested" in mail.subject
    assert "[Error] (Bass - Billie Jean.wav) Clips 12 times" in mail.body
    assert "export the files again" in mail.body


def test_a_refused_move_sends_nothing(
    client_user: User, frozen, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    job = analysing_job(client_user)
    job_record_verdict(job=job, verdict=Verdict.ACCEPTED)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(WrongState):
        job_record_verdict(job=job, verdict=Verdict.ACCEPTED)
    assert mailoutbox == []


def test_a_failure_midway_leaves_nothing_half_applied(
    client_user: User, frozen, mailoutbox, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    job = analysing_job(client_user)
    events = JobEvent.objects.count()

    def broken(*args: object, **kw: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr("jobs.services._create_round_stages", broken)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        job_record_verdict(job=job, verdict=Verdict.ACCEPTED)
    job.refresh_from_db()
    assert job.status == JobStatus.ANALYSING
    assert job.verdict == "" and job.due_at is None
    assert JobEvent.objects.count() == events
    assert not Stage.objects.filter(job=job).exists()
    assert mailoutbox == []


def test_a_managers_override_and_decline_reach_the_client(
    client_user: User, manager: User, frozen, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    from jobs.services import job_accept, job_decline

    accepted = analysing_job(client_user)
    declined = analysing_job(client_user)
    with django_capture_on_commit_callbacks(execute=True):
        job_accept(job=accepted, by=manager, reason="noise is intended")
        job_decline(job=declined, by=manager, reason="not our genre")
    assert [m.subject.rsplit(": ", 1)[1] for m in mailoutbox] == ["Accepted", "Declined"]
    assert "Work has started" in mailoutbox[0].body
    assert "will not take this job on" in mailoutbox[1].body
    assert "not our genre" not in mailoutbox[1].body  # the manager's reason stays internal
