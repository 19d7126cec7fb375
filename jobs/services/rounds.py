"""A round's delivery clock and stages: the clock starts at acceptance (or a revision), pauses
while the job waits on someone outside the studio, and paused time moves the due date."""

from __future__ import annotations

from datetime import datetime, timedelta

from jobs import clock
from jobs.models import STAGE_ORDER, EventKind, Job, Stage, StudioPolicy
from jobs.services.core import Move, studio_calendar, working_days


def _due_moved(move: Move, old_due: datetime | None, note: str) -> None:
    assert move.job.due_at is not None
    move.record(
        EventKind.DEADLINE,
        subject="due_at",
        from_value=old_due.isoformat() if old_due else "",
        to_value=move.job.due_at.isoformat(),
        note=note,
    )


def start_clock(move: Move, *, policy: StudioPolicy, promise_days: int) -> None:
    job, at = move.job, move.at
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
    _due_moved(move, old_due, f"Round {job.round_number}: {promise_days}-day promise")


def pause_clock(move: Move) -> None:
    # Before acceptance there is no clock to pause; a pause already running stays as it is.
    if move.job.accepted_at is not None and move.job.paused_at is None:
        move.job.paused_at = move.at


def resume_clock(move: Move) -> None:
    job = move.job
    if job.paused_at is None or job.accepted_at is None:
        return
    policy = StudioPolicy.current()
    calendar = studio_calendar(policy=policy)
    working = working_days(policy)
    pause = clock.paused_length(calendar, job.paused_at, move.at, working_days=working)
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
        _due_moved(move, old_due, "paused time moves the due date")


def create_round_stages(job: Job) -> None:
    policy = StudioPolicy.current()
    Stage.objects.bulk_create(
        Stage(
            job=job,
            kind=kind,
            position=position,
            revision_round=job.revision_round,
            checklist=[{"item": item, "done": False} for item in policy.checklist_items(kind)],
        )
        for position, kind in enumerate(STAGE_ORDER)
    )
