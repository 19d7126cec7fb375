"""A manager's decisions on a job: override intake's verdict, decline, ask for a re-export, hold,
resume or cancel, each through the workflow services, and the review queue that lists the jobs
waiting for one. Every form carries the status it was made for: a job that moved meanwhile gets
a message saying so, and nothing changes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from jobs.access import job_for
from jobs.board_views import require_manager
from jobs.decisions import review_queue
from jobs.models import Job, JobStatus, Verdict
from jobs.services import (
    WorkflowError,
    job_cancel,
    job_decline,
    job_hold,
    job_override_verdict,
    job_resume,
)

VERDICT_MOVES: dict[str, tuple[str, str]] = {
    "accept": (Verdict.ACCEPTED, "Accepted: the clock has started and the client has been told."),
    "reexport": (
        Verdict.REEXPORT_REQUESTED,
        "Re-export requested: the client has been told what to send again.",
    ),
    "decline": (Verdict.DECLINED, "Declined: the client has been told why."),
}
HOLD_MOVES = ("hold", "resume", "cancel")


@require_GET
@login_required
def decisions(request: HttpRequest) -> HttpResponse:
    """The review queue: every job intake could not settle alone, with the decision forms."""
    require_manager(request)
    return render(request, "jobs/decisions.html", {"rows": review_queue()})


def _back(request: HttpRequest, job: Job) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("job_detail", job_id=job.pk)


def _moved_meanwhile(request: HttpRequest, job: Job) -> bool:
    """The form was made for another status: say what changed and change nothing."""
    was = request.POST.get("was", "")
    if not was or was == job.status:
        return False
    before = dict(JobStatus.choices).get(was, was)
    messages.error(
        request,
        f"“{job.track_title}” moved while the form was open: it was {before.lower()}, it is now "
        f"{job.get_status_display().lower()}. Nothing was changed; check the job and try again.",
    )
    return True


def _run(request: HttpRequest, job: Job, move: Callable[[], Any], success: str) -> HttpResponse:
    try:
        move()
    except WorkflowError as exc:  # the wrong moment, or a missing reason: said, nothing changed
        messages.error(request, exc.message)
        return _back(request, job)
    messages.success(request, success)
    return _back(request, job)


@require_POST
@login_required
def job_decide(request: HttpRequest, job_id: UUID) -> HttpResponse:
    """Override intake (accept despite the findings), decline, or ask for a re-export, with a
    reason the client sees on their page and in the email."""
    job = job_for(request.user, job_id)  # type: ignore[arg-type]
    user = require_manager(request)
    action = request.POST.get("action", "")
    if action not in VERDICT_MOVES:
        messages.error(request, "Choose accept, re-export or decline.")
        return _back(request, job)
    if _moved_meanwhile(request, job):
        return _back(request, job)
    verdict, success = VERDICT_MOVES[action]
    reason = request.POST.get("reason", "")
    if verdict == Verdict.DECLINED:
        return _run(request, job, lambda: job_decline(job=job, by=user, reason=reason), success)
    return _run(
        request,
        job,
        lambda: job_override_verdict(job=job, by=user, verdict=verdict, reason=reason),
        success,
    )


@require_POST
@login_required
def job_hold_move(request: HttpRequest, job_id: UUID) -> HttpResponse:
    """Hold, resume or cancel a job (the clock pauses on hold; a cancellation needs a reason)."""
    job = job_for(request.user, job_id)  # type: ignore[arg-type]
    user = require_manager(request)
    action = request.POST.get("action", "")
    if action not in HOLD_MOVES:
        messages.error(request, "Choose hold, resume or cancel.")
        return _back(request, job)
    if _moved_meanwhile(request, job):
        return _back(request, job)
    reason = request.POST.get("reason", "")
    if action == "hold":
        return _run(
            request,
            job,
            lambda: job_hold(job=job, by=user, reason=reason),
            "On hold: the clock is paused.",
        )
    if action == "resume":
        return _run(
            request,
            job,
            lambda: job_resume(job=job, by=user),
            "Resumed: the due date moved by the pause.",
        )
    return _run(request, job, lambda: job_cancel(job=job, by=user, reason=reason), "Cancelled.")
