"""A manager's decisions in the app: the review queue, overriding, declining or asking for a
re-export with a reason the client reads, hold / resume / cancel, stale forms, and who may."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.test import Client

from analysis.models import IntakeFinding, IntakeReport
from jobs.decisions import review_queue
from jobs.models import Job, JobEvent, JobStatus, Role, User, Verdict
from tests.factories import make_job, make_user

pytestmark = pytest.mark.django_db


def _login(user: User) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _waiting(verdict: str = Verdict.ACCEPTED_WITH_WARNINGS, **kw: object) -> Job:
    return make_job(status=JobStatus.AWAITING_CLIENT, verdict=verdict, **kw)  # type: ignore[arg-type]


def test_the_queue_lists_the_jobs_that_need_a_human() -> None:
    warned = _waiting(track_title="Warned")
    reexport = _waiting(Verdict.REEXPORT_REQUESTED, track_title="Again")
    blind = make_job(status=JobStatus.ANALYSING, track_title="Blind")
    report = IntakeReport.objects.create(job=blind, verdict=Verdict.ACCEPTED_WITH_WARNINGS)
    IntakeFinding.objects.create(report=report, code="no_vision", severity="warning", message="x")
    # Fixed by a later intake run: the latest report has no such finding.
    fixed = make_job(status=JobStatus.ANALYSING, track_title="Fixed")
    old = IntakeReport.objects.create(job=fixed, verdict=Verdict.ACCEPTED_WITH_WARNINGS)
    IntakeFinding.objects.create(report=old, code="no_vision", severity="warning", message="x")
    IntakeReport.objects.create(job=fixed, verdict=Verdict.ACCEPTED)
    make_job(status=JobStatus.IN_PROGRESS, track_title="Busy")

    rows = {r.job.pk: r.why for r in review_queue()}

    assert set(rows) == {warned.pk, reexport.pk, blind.pk}
    assert "No vision" in rows[blind.pk][0]
    assert "Re-export" in rows[reexport.pk][0]
    manager = _login(make_user(Role.MANAGER))
    page = manager.get("/decisions/").content.decode()
    assert "Warned" in page and "Blind" in page and "Busy" not in page


def test_an_override_with_a_reason_starts_the_work_and_the_client_reads_why(
    django_capture_on_commit_callbacks: Any,
) -> None:
    job = _waiting()
    manager = make_user(Role.MANAGER)
    reason = "The clipping is in the synth patch itself; we master it as it is."

    with django_capture_on_commit_callbacks(execute=True):
        response = _login(manager).post(
            f"/jobs/{job.pk}/decide/",
            {"action": "accept", "reason": reason, "was": JobStatus.AWAITING_CLIENT},
        )

    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == JobStatus.ACCEPTED and job.due_at is not None
    assert job.verdict == Verdict.ACCEPTED and job.verdict_overridden_by == manager
    assert job.stages.count() == 6
    assert JobEvent.objects.filter(job=job, kind="verdict", note=reason, actor=manager).exists()
    (email,) = [m for m in mail.outbox if job.created_by.email in m.to]
    assert reason in email.body
    client_page = _login(job.created_by).get(f"/jobs/{job.pk}/").content.decode()
    assert reason in client_page
    assert "Manager's decisions" not in client_page


@pytest.mark.parametrize(
    ("action", "status", "verdict"),
    [
        ("decline", JobStatus.DECLINED, Verdict.DECLINED),
        ("reexport", JobStatus.AWAITING_CLIENT, Verdict.REEXPORT_REQUESTED),
    ],
)
def test_decline_and_reexport_tell_the_client_the_reason(
    action: str, status: str, verdict: str, django_capture_on_commit_callbacks: Any
) -> None:
    job = _waiting()
    with django_capture_on_commit_callbacks(execute=True):
        _login(make_user(Role.MANAGER)).post(
            f"/jobs/{job.pk}/decide/",
            {"action": action, "reason": "Bass is missing.", "was": job.status},
        )
    job.refresh_from_db()
    assert (job.status, job.verdict, job.verdict_reason) == (status, verdict, "Bass is missing.")
    assert any("Bass is missing." in m.body for m in mail.outbox)


def test_a_decision_without_a_reason_or_on_a_moved_job_changes_nothing() -> None:
    job = _waiting()
    manager = _login(make_user(Role.MANAGER))

    no_reason = manager.post(
        f"/jobs/{job.pk}/decide/",
        {"action": "accept", "reason": " ", "was": job.status},
        follow=True,
    )
    assert no_reason.status_code == 200 and "Give a reason" in no_reason.content.decode()

    stale = manager.post(
        f"/jobs/{job.pk}/decide/",
        {"action": "decline", "reason": "no", "was": JobStatus.ANALYSING},
        follow=True,
    )
    body = stale.content.decode()
    assert stale.status_code == 200
    assert "it was analysing, it is now waiting on client" in body
    assert "Nothing was changed" in body
    job.refresh_from_db()
    assert job.status == JobStatus.AWAITING_CLIENT and job.verdict_reason == ""
    assert not mail.outbox


def test_hold_resume_and_cancel_from_the_job_page_with_history() -> None:
    job = make_job(status=JobStatus.IN_PROGRESS)
    manager = _login(make_user(Role.MANAGER))
    page = manager.get(f"/jobs/{job.pk}/").content.decode()
    assert "Put on hold" in page and 'name="was" value="in_progress"' in page

    manager.post(
        f"/jobs/{job.pk}/hold/", {"action": "hold", "reason": "Client asked", "was": "in_progress"}
    )
    job.refresh_from_db()
    assert job.status == JobStatus.ON_HOLD and job.paused_at is not None
    assert "Resume" in manager.get(f"/jobs/{job.pk}/").content.decode()

    manager.post(f"/jobs/{job.pk}/hold/", {"action": "resume", "was": "on_hold"})
    job.refresh_from_db()
    assert job.status == JobStatus.IN_PROGRESS and job.paused_at is None

    refused = manager.post(
        f"/jobs/{job.pk}/hold/",
        {"action": "cancel", "reason": "", "was": "in_progress"},
        follow=True,
    )
    assert "Give a reason to cancel" in refused.content.decode()
    manager.post(
        f"/jobs/{job.pk}/hold/",
        {"action": "cancel", "reason": "Label dropped it", "was": "in_progress"},
    )
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    moves = list(JobEvent.objects.filter(job=job, kind="status").values_list("to_value", flat=True))
    assert moves[-3:] == ["on_hold", "in_progress", "cancelled"]


@pytest.mark.parametrize("path", ["decide", "hold"])
def test_only_a_manager_decides(path: str) -> None:
    job = _waiting()
    data = {"action": "decline" if path == "decide" else "cancel", "reason": "x", "was": job.status}
    assert _login(make_user(Role.ENGINEER)).post(f"/jobs/{job.pk}/{path}/", data).status_code == 403
    assert _login(job.created_by).post(f"/jobs/{job.pk}/{path}/", data).status_code == 403
    assert _login(make_user(Role.CLIENT)).post(f"/jobs/{job.pk}/{path}/", data).status_code == 404
    assert _login(make_user(Role.MANAGER)).get(f"/jobs/{job.pk}/{path}/").status_code == 405
    job.refresh_from_db()
    assert job.status == JobStatus.AWAITING_CLIENT


def test_the_review_queue_is_for_managers_only() -> None:
    for role in (Role.ENGINEER, Role.CLIENT):
        assert _login(make_user(role)).get("/decisions/").status_code == 403
    assert Client().get("/decisions/").status_code == 302
