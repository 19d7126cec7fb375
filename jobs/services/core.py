"""The core under every move in a job's life: errors written for people, the history, the lock,
the working calendar and the re-plan after commit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.db import transaction

from jobs import clock
from jobs.models import (
    ClockMode,
    EventKind,
    Job,
    JobEvent,
    JobStatus,
    StudioDayOff,
    StudioPolicy,
    User,
)


class WorkflowError(Exception):
    """A move that cannot be made; the message is meant for people."""

    code = "invalid"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotAllowed(WorkflowError):
    """The actor may not make this move."""

    code = "not_allowed"


class WrongState(WorkflowError):
    """The job or stage is not in a state this move starts from."""

    code = "wrong_state"


# Before acceptance a job may be put on hold, cancelled or declined; these are the states.
PRE_ACCEPTANCE = frozenset(
    {JobStatus.DRAFT, JobStatus.SUBMITTED, JobStatus.ANALYSING, JobStatus.AWAITING_CLIENT}
)
# States in which the clock is started but stopped, waiting on someone outside the studio's work.
PAUSING = frozenset({JobStatus.AWAITING_CLIENT, JobStatus.ON_HOLD})
WORKABLE = frozenset({JobStatus.ACCEPTED, JobStatus.IN_PROGRESS, JobStatus.REVISION_REQUESTED})


def studio_calendar(*, policy: StudioPolicy | None = None) -> clock.WorkCalendar:
    """The studio's working calendar (hours, weekdays, days off) for the delivery clock."""
    policy = policy or StudioPolicy.current()
    return clock.WorkCalendar(
        tz=policy.timezone,
        start=policy.workday_start,
        end=policy.workday_end,
        weekdays=frozenset(int(d) for d in policy.working_weekdays),
        days_off=frozenset(StudioDayOff.objects.values_list("date", flat=True)),
    )


def working_days(policy: StudioPolicy) -> bool:
    return policy.clock_mode == ClockMode.WORKING_DAYS


def lock_job(job: Job) -> Job:
    try:
        return Job.objects.select_for_update().get(pk=job.pk)
    except Job.DoesNotExist:
        raise WrongState("This job no longer exists.") from None


def sync(source: Any, target: Any) -> None:
    """Copy the saved state onto the caller's instance so it is not left stale."""
    if source is target:
        return
    for f in source._meta.concrete_fields:
        setattr(target, f.attname, getattr(source, f.attname))


def record_event(
    job: Job,
    *,
    kind: str,
    actor: User | None,
    at: datetime,
    subject: str = "",
    from_value: str = "",
    to_value: str = "",
    note: str = "",
) -> None:
    JobEvent.objects.create(
        job=job,
        kind=kind,
        actor=actor,
        at=at,
        subject=subject,
        from_value=from_value,
        to_value=to_value,
        note=note,
    )


def set_status(job: Job, status: str, *, actor: User | None, at: datetime, note: str = "") -> None:
    record_event(
        job,
        kind=EventKind.STATUS,
        actor=actor,
        at=at,
        from_value=job.status,
        to_value=status,
        note=note,
    )
    job.status = status


def is_client_of(user: User | None, job: Job) -> bool:
    return user is not None and user.is_client_of(job)


def is_manager_user(user: User | None) -> bool:
    return user is not None and user.is_active and user.is_manager


def require_manager(by: User | None, what: str) -> None:
    if not is_manager_user(by):
        raise NotAllowed(f"Only a studio manager can {what}.")


def require_client_or_manager(by: User | None, job: Job, what: str) -> None:
    if not (is_client_of(by, job) or is_manager_user(by)):
        raise NotAllowed(f"Only the job's client or a studio manager can {what}.")


def require_reason(reason: str, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise WorkflowError(f"Give a reason to {what}.")
    return reason


def require_status(job: Job, allowed: frozenset[str] | set[str], what: str) -> None:
    if job.status not in allowed:
        raise WrongState(f"A job that is {job.get_status_display().lower()} cannot {what}.")


def on_commit(fn: Callable[[], None]) -> None:
    transaction.on_commit(fn)


def replan_soon() -> None:
    """The plan depends on every stage, assignee and clock, so any such move re-plans once it is
    committed (in the worker, or in process when there is no broker)."""

    def queue() -> None:
        from jobs.tasks import REPLAN_DELAY_S, REPLAN_QUEUED, plan_refresh_task

        # A burst of moves needs one re-plan, not one each: queue only if none is waiting, and
        # wait a few seconds first, so the moves of one burst land in the same re-plan.
        if cache.add(REPLAN_QUEUED, "1", timeout=60):
            plan_refresh_task.apply_async(countdown=REPLAN_DELAY_S)

    transaction.on_commit(queue)
