"""Client emails go out only after the move commits; a refused or failed move sends nothing.
Managers hear once per job when it becomes at risk and once when it becomes overdue."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings

from analysis.models import IntakeFinding, IntakeReport
from jobs.models import JobEvent, JobStatus, Stage, User, Verdict
from jobs.notifications import deadline_alerts_send
from jobs.plan_store import plan_refresh
from jobs.services import WrongState, job_record_verdict
from jobs.tasks import deadlines_check
from tests.factories import make_user
from tests.jobs.conftest import MONDAY_10
from tests.jobs.helpers import accepted_job
from tests.jobs.test_job_intake import analysing_job

pytestmark = pytest.mark.django_db


def test_a_reexport_email_lists_what_to_fix(
    client_user: User, frozen, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    colleague = make_user("client", organisation=client_user.organisation)
    make_user("client")  # another client's people hear nothing
    job = analysing_job(client_user)
    message = "Clips 12 times; export with 3 dB of headroom."
    report = IntakeReport.objects.create(
        job=job,
        verdict=Verdict.REEXPORT_REQUESTED,
        summary=f"Re-export requested: 1 problem to fix.\n- {message}",
    )
    IntakeFinding.objects.create(
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
    # Each finding once, in the text and in the HTML part; the link from SITE_URL.
    assert mail.body.count(message) == 1
    [(html, mime)] = mail.alternatives
    assert mime == "text/html" and html.count("Clips 12 times") == 1
    url = f"{settings.SITE_URL}/jobs/{job.pk}/"
    assert url in mail.body and f'href="{url}"' in html


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

    monkeypatch.setattr("jobs.services.intake.create_round_stages", broken)
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
    assert "not our genre" in mailoutbox[1].body  # the manager's reason is the client's to read


def test_alerts_go_to_managers_once(client_user: User, manager: User, frozen, mailoutbox) -> None:
    other_manager = make_user("manager")
    job = accepted_job(client_user)  # no engineers: at risk
    assert deadlines_check() == 1
    assert len(mailoutbox) == 1
    assert sorted(mailoutbox[0].to) == sorted([manager.email, other_manager.email])
    assert "at risk" in mailoutbox[0].subject
    assert deadlines_check() == 0
    assert len(mailoutbox) == 1
    job.refresh_from_db()
    assert job.at_risk_alerted_at == MONDAY_10
    frozen.shift(timedelta(days=4))
    assert deadlines_check() == 1
    assert "overdue" in mailoutbox[1].subject
    assert deadlines_check() == 0
    assert len(mailoutbox) == 2


def test_no_alert_for_a_job_on_track_or_on_hold(
    client_user: User, engineer: User, manager: User, frozen, mailoutbox
) -> None:
    from jobs.services import job_hold

    accepted_job(client_user)
    paused = accepted_job(client_user)
    job_hold(job=paused, by=manager)
    plan_refresh()
    assert deadline_alerts_send() == []
    assert mailoutbox == []
    assert paused.status == JobStatus.ON_HOLD


def test_a_failed_email_releases_the_claim(
    client_user: User, manager: User, frozen, monkeypatch
) -> None:
    job = accepted_job(client_user)
    plan_refresh()

    def broken(**kw: object) -> int:
        raise OSError("smtp down")

    monkeypatch.setattr("jobs.notifications.notify_deadline", broken)
    with pytest.raises(OSError):
        deadline_alerts_send()
    job.refresh_from_db()
    assert job.at_risk_alerted_at is None


def test_round_numbers_and_local_times_in_the_emails(
    client_user: User, engineer: User, frozen, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    from jobs.services import job_deliver, job_request_revision
    from tests.jobs.helpers import upload_master, work_through

    job = accepted_job(client_user)
    work_through(job, engineer)
    upload_master(job, engineer)
    with django_capture_on_commit_callbacks(execute=True):
        job_deliver(job=job, by=engineer)
    assert "(round 1)" in mailoutbox[-1].body and "Round 1." in mailoutbox[-1].alternatives[0][0]
    with django_capture_on_commit_callbacks(execute=True):
        job_request_revision(job=job, by=client_user, note="More air on the vocal")
    mail = mailoutbox[-1]
    assert "(round 2)" in mail.body and "More air on the vocal" in mail.body
    # Two days from Monday 10:00 London: Wednesday, in words and the studio's zone.
    assert "New due date: Wed 4 Mar, 10:00 (Europe/London)" in mail.body
