"""A manager puts a job on hold, resumes it or cancels it."""

from __future__ import annotations

from jobs.models import CLOCK_PAUSED, CLOSED, Job, JobStatus, ListeningSession, User
from jobs.services.core import locked, require_manager, require_reason, require_status
from jobs.services.rounds import pause_clock, resume_clock

_NOT_CLOSED = frozenset(JobStatus.values) - CLOSED


def job_hold(*, job: Job, by: User, reason: str = "") -> Job:
    """A manager puts a job on hold; its clock pauses and paused time moves the due date."""
    require_manager(by, "put a job on hold")
    with locked(job, by=by) as move:
        require_status(move.job, _NOT_CLOSED - {JobStatus.ON_HOLD}, "be put on hold")
        move.job.status_before_hold = move.job.status
        move.set_status(JobStatus.ON_HOLD, note=reason)
        pause_clock(move)
    return move.job


def job_resume(*, job: Job, by: User) -> Job:
    """A manager takes a job off hold: back where it was, with the due date moved by the pause."""
    require_manager(by, "resume a job")
    with locked(job, by=by) as move:
        require_status(move.job, {JobStatus.ON_HOLD}, "be resumed")
        move.set_status(move.job.status_before_hold)
        move.job.status_before_hold = ""
        if move.job.status not in CLOCK_PAUSED:
            resume_clock(move)
    return move.job


def job_cancel(*, job: Job, by: User, reason: str) -> Job:
    """A manager stops a job for good, at any point before approval."""
    require_manager(by, "cancel a job")
    reason = require_reason(reason, "cancel the job")
    with locked(job, by=by) as move:
        require_status(move.job, _NOT_CLOSED, "be cancelled")
        move.set_status(JobStatus.CANCELLED, note=reason)
        move.job.status_before_hold = ""
        move.job.closed_at = move.at
        ListeningSession.objects.filter(stage__job=move.job, ended_at__isnull=True).update(
            ended_at=move.at
        )
    return move.job
