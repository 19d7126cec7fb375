"""A manager puts a job on hold, resumes it or cancels it."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from jobs.models import (
    CLOSED,
    Job,
    JobStatus,
    ListeningSession,
    User,
)
from jobs.services.core import (
    PAUSING,
    WrongState,
    lock_job,
    replan_soon,
    require_manager,
    require_reason,
    require_status,
    set_status,
    sync,
)
from jobs.services.rounds import (
    pause_clock,
    resume_clock,
)


def job_hold(*, job: Job, by: User, reason: str = "") -> Job:
    """A manager puts a job on hold; its clock pauses and paused time moves the due date."""
    require_manager(by, "put a job on hold")
    with transaction.atomic():
        locked = lock_job(job)
        require_manager(by, "put a job on hold")
        if locked.status in CLOSED or locked.status == JobStatus.ON_HOLD:
            raise WrongState(
                f"A job that is {locked.get_status_display().lower()} cannot be put on hold."
            )
        now = timezone.now()
        locked.status_before_hold = locked.status
        set_status(locked, JobStatus.ON_HOLD, actor=by, at=now, note=reason)
        pause_clock(locked, at=now)
        locked.save()
    replan_soon()
    sync(locked, job)
    return locked


def job_resume(*, job: Job, by: User) -> Job:
    """A manager takes a job off hold: back where it was, with the due date moved by the pause."""
    require_manager(by, "resume a job")
    with transaction.atomic():
        locked = lock_job(job)
        require_manager(by, "resume a job")
        require_status(locked, {JobStatus.ON_HOLD}, "be resumed")
        now = timezone.now()
        set_status(locked, locked.status_before_hold, actor=by, at=now)
        locked.status_before_hold = ""
        if locked.status not in PAUSING:
            resume_clock(locked, at=now, actor=by)
        locked.save()
    replan_soon()
    sync(locked, job)
    return locked


def job_cancel(*, job: Job, by: User, reason: str) -> Job:
    """A manager stops a job for good, at any point before approval."""
    require_manager(by, "cancel a job")
    reason = require_reason(reason, "cancel the job")
    with transaction.atomic():
        locked = lock_job(job)
        require_manager(by, "cancel a job")
        if locked.status in CLOSED:
            raise WrongState(
                f"A job that is {locked.get_status_display().lower()} cannot be cancelled."
            )
        now = timezone.now()
        set_status(locked, JobStatus.CANCELLED, actor=by, at=now, note=reason)
        locked.status_before_hold = ""
        locked.closed_at = now
        ListeningSession.objects.filter(stage__job=locked, ended_at__isnull=True).update(
            ended_at=now
        )
        locked.save()
    replan_soon()
    sync(locked, job)
    return locked
