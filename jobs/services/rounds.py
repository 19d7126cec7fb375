"""A round's delivery clock and stages: the clock starts at acceptance (or a revision), pauses
while the job waits on someone outside the studio, and paused time moves the due date."""

from __future__ import annotations

from datetime import datetime, timedelta

from jobs import clock
from jobs.models import (
    DEFAULT_CHECKLISTS,
    STAGE_ORDER,
    EventKind,
    Job,
    Stage,
    StudioPolicy,
    User,
)
from jobs.services.core import (
    record_event,
    studio_calendar,
    working_days,
)


def start_clock(
    job: Job, *, policy: StudioPolicy, at: datetime, promise_days: int, actor: User | None
) -> None:
    old_due = job.due_at
    job.accepted_at = at
    job.promise_days = promise_days
    job.paused_at = None
    job.paused_total = timedelta(0)
    job.due_at = clock.due_at(
        studio_calendar(policy=policy),
        accepted_at=at,
        promise_days=promise_days,
        working_days=working_days(policy),
    )
    job.deadline_status = "on_track"
    job.predicted_finish_at = None
    job.at_risk_alerted_at = None
    job.overdue_alerted_at = None
    record_event(
        job,
        kind=EventKind.DEADLINE,
        actor=actor,
        at=at,
        subject="due_at",
        from_value=old_due.isoformat() if old_due else "",
        to_value=job.due_at.isoformat(),
        note=f"round {job.revision_round}: {promise_days}-day promise",
    )


def pause_clock(job: Job, *, at: datetime) -> None:
    # Before acceptance there is no clock to pause; a pause already running stays as it is.
    if job.accepted_at is not None and job.paused_at is None:
        job.paused_at = at


def resume_clock(job: Job, *, at: datetime, actor: User | None) -> None:
    if job.paused_at is None or job.accepted_at is None:
        return
    policy = StudioPolicy.current()
    calendar = studio_calendar(policy=policy)
    working = working_days(policy)
    pause = clock.paused_length(calendar, job.paused_at, at, working_days=working)
    job.paused_total += pause
    job.paused_at = None
    old_due = job.due_at
    # Move the due date by the pause rather than recomputing it from acceptance, so a policy
    # edited since (clock mode, days off) does not shift a date the client was already given.
    if old_due is not None:
        job.due_at = (
            clock.add_working_time(calendar, old_due, pause) if working else old_due + pause
        )
    if job.due_at is not None and job.due_at != old_due:
        record_event(
            job,
            kind=EventKind.DEADLINE,
            actor=actor,
            at=at,
            subject="due_at",
            from_value=old_due.isoformat() if old_due else "",
            to_value=job.due_at.isoformat(),
            note="paused time moves the due date",
        )


def create_round_stages(job: Job, *, policy: StudioPolicy) -> None:
    Stage.objects.bulk_create(
        Stage(
            job=job,
            kind=kind,
            position=position,
            revision_round=job.revision_round,
            checklist=[{"item": item, "done": False} for item in DEFAULT_CHECKLISTS[kind]],
        )
        for position, kind in enumerate(STAGE_ORDER)
    )
