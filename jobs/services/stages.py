"""Stage moves: start, finish, skip, reopen and assign, in the order the six stages run."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from jobs.models import (
    CLOSED,
    EventKind,
    Job,
    JobStatus,
    ListeningSession,
    Stage,
    StageStatus,
    User,
)
from jobs.services.core import (
    WORKABLE,
    NotAllowed,
    WorkflowError,
    WrongState,
    is_manager_user,
    lock_job,
    record_event,
    replan_soon,
    require_reason,
    require_status,
    set_status,
    sync,
)


def _lock_stage(stage: Stage) -> tuple[Job, Stage]:
    job = lock_job(stage.job)
    try:
        locked = Stage.objects.select_for_update().get(pk=stage.pk)
    except Stage.DoesNotExist:
        raise WrongState("This stage no longer exists.") from None
    locked.job = job
    return job, locked


def _require_stage_mover(by: User, stage: Stage) -> None:
    if is_manager_user(by):
        return
    if by is not None and by.is_engineer and stage.assignee_id == by.pk:
        return
    raise NotAllowed("Only the engineer assigned to this stage or a manager can move it.")


def _require_current_round(job: Job, stage: Stage) -> None:
    if stage.revision_round != job.revision_round:
        raise WrongState("This stage belongs to an earlier round.")


def _round_stages(job: Job, stage: Stage) -> list[Stage]:
    return list(
        Stage.objects.select_for_update()
        .filter(job=job, revision_round=stage.revision_round)
        .order_by("position")
    )


def _require_previous_finished(job: Job, stage: Stage) -> None:
    earlier = Stage.objects.filter(
        job=job, revision_round=stage.revision_round, position__lt=stage.position
    ).exclude(status__in=[StageStatus.DONE, StageStatus.SKIPPED])
    if earlier.exists():
        first = earlier.order_by("position").first()
        assert first is not None
        raise WrongState(f"{first.get_kind_display()} has to be done or skipped first.")


def _stage_event(
    job: Job, stage: Stage, *, to: str, by: User | None, at: datetime, note: str = ""
) -> None:
    record_event(
        job,
        kind=EventKind.STAGE,
        actor=by,
        at=at,
        subject=stage.kind,
        from_value=stage.status,
        to_value=to,
        note=note,
    )
    stage.status = to


def _job_into_progress(job: Job, *, by: User | None, at: datetime) -> None:
    if job.status in (JobStatus.ACCEPTED, JobStatus.REVISION_REQUESTED):
        set_status(job, JobStatus.IN_PROGRESS, actor=by, at=at)
        job.save()


def stage_start(*, stage: Stage, by: User) -> Stage:
    """Begin a stage; the one before must be done or skipped."""
    with transaction.atomic():
        job, locked = _lock_stage(stage)
        _require_stage_mover(by, locked)
        require_status(job, WORKABLE, "have work started")
        _require_current_round(job, locked)
        if locked.status != StageStatus.PENDING:
            raise WrongState(f"{locked.get_kind_display()} is not pending.")
        _require_previous_finished(job, locked)
        now = timezone.now()
        _stage_event(job, locked, to=StageStatus.IN_PROGRESS, by=by, at=now)
        locked.started_at = now
        locked.finished_at = None
        locked.save()
        _job_into_progress(job, by=by, at=now)
    replan_soon()
    sync(locked, stage)
    return locked


def stage_finish(*, stage: Stage, by: User, notes: str | None = None) -> Stage:
    """Mark an in-progress stage done (optionally saving the recall notes)."""
    with transaction.atomic():
        job, locked = _lock_stage(stage)
        _require_stage_mover(by, locked)
        require_status(job, {JobStatus.IN_PROGRESS}, "have a stage finished")
        _require_current_round(job, locked)
        if locked.status != StageStatus.IN_PROGRESS:
            raise WrongState(f"{locked.get_kind_display()} is not in progress.")
        if ListeningSession.objects.filter(stage=locked, ended_at__isnull=True).exists():
            raise WrongState("Stop the listening session before finishing the stage.")
        now = timezone.now()
        _stage_event(job, locked, to=StageStatus.DONE, by=by, at=now)
        locked.finished_at = now
        # A finished stage has a real finish; the plan's guesses no longer apply.
        locked.predicted_finish_at = None
        locked.proposed_assignee = None
        if notes is not None:
            locked.notes = notes
        locked.save()
    replan_soon()
    sync(locked, stage)
    return locked


def stage_skip(*, stage: Stage, by: User, reason: str) -> Stage:
    """Skip a stage the job does not need (the reason is kept); order still holds."""
    reason = require_reason(reason, "skip a stage")
    with transaction.atomic():
        job, locked = _lock_stage(stage)
        _require_stage_mover(by, locked)
        require_status(job, WORKABLE, "have a stage skipped")
        _require_current_round(job, locked)
        if locked.status not in (StageStatus.PENDING, StageStatus.IN_PROGRESS):
            raise WrongState(f"{locked.get_kind_display()} is already finished.")
        if ListeningSession.objects.filter(stage=locked, ended_at__isnull=True).exists():
            raise WrongState("Stop the listening session before skipping the stage.")
        _require_previous_finished(job, locked)
        now = timezone.now()
        _stage_event(job, locked, to=StageStatus.SKIPPED, by=by, at=now, note=reason)
        locked.skip_reason = reason
        locked.finished_at = now if locked.started_at else None
        locked.predicted_finish_at = None
        locked.proposed_assignee = None
        locked.save()
        _job_into_progress(job, by=by, at=now)
    replan_soon()
    sync(locked, stage)
    return locked


def stage_reopen(*, stage: Stage, by: User, reason: str = "") -> Stage:
    """Go back to a finished stage: it is in progress again and every later stage of the round
    returns to pending, because their work was based on what is being redone."""
    with transaction.atomic():
        job, locked = _lock_stage(stage)
        _require_stage_mover(by, locked)
        require_status(job, {JobStatus.IN_PROGRESS}, "have a stage reopened")
        _require_current_round(job, locked)
        if locked.status not in (StageStatus.DONE, StageStatus.SKIPPED):
            raise WrongState(f"{locked.get_kind_display()} is not finished.")
        later = [s for s in _round_stages(job, locked) if s.position > locked.position]
        if ListeningSession.objects.filter(stage__in=later, ended_at__isnull=True).exists():
            raise WrongState("Someone is listening on a later stage; stop that session first.")
        now = timezone.now()
        _stage_event(job, locked, to=StageStatus.IN_PROGRESS, by=by, at=now, note=reason)
        locked.skip_reason = ""
        locked.finished_at = None
        locked.started_at = now
        locked.save()
        for s in later:
            if s.status == StageStatus.PENDING:
                continue
            _stage_event(
                job,
                s,
                to=StageStatus.PENDING,
                by=by,
                at=now,
                note=f"{locked.get_kind_display()} reopened",
            )
            s.skip_reason = ""
            s.started_at = None
            s.finished_at = None
            s.save()
    replan_soon()
    sync(locked, stage)
    return locked


def stage_assign(*, stage: Stage, by: User, engineer: User | None) -> Stage:
    """Give a stage to an engineer (None to unassign). A manager assigns anyone in the studio; an
    engineer may only take unassigned work for themself."""
    with transaction.atomic():
        job, locked = _lock_stage(stage)
        if is_manager_user(by):
            if engineer is not None and not (engineer.is_studio and engineer.is_active):
                raise WorkflowError("Work can only go to the studio's engineers and managers.")
        elif by is not None and by.is_engineer:
            if engineer is None or engineer.pk != by.pk:
                raise NotAllowed("An engineer can only take work for themself.")
            if locked.assignee_id is not None and locked.assignee_id != by.pk:
                raise NotAllowed("This stage is someone else's; ask a manager to reassign it.")
        else:
            raise NotAllowed("Only the studio can assign work.")
        if job.status in CLOSED or job.status == JobStatus.DELIVERED:
            raise WrongState("The work on this job is finished.")
        _require_current_round(job, locked)
        if not locked.is_open:
            raise WrongState(f"{locked.get_kind_display()} is already finished.")
        if ListeningSession.objects.filter(stage=locked, ended_at__isnull=True).exists():
            raise WrongState("Someone is listening on this stage; stop that session first.")
        new_id = engineer.pk if engineer is not None else None
        if locked.assignee_id == new_id:
            return locked
        now = timezone.now()
        old = locked.assignee.username if locked.assignee else ""
        record_event(
            job,
            kind=EventKind.ASSIGNEE,
            actor=by,
            at=now,
            subject=locked.kind,
            from_value=old,
            to_value=engineer.username if engineer else "",
        )
        locked.assignee = engineer
        locked.proposed_assignee = None
        locked.save()
    replan_soon()
    sync(locked, stage)
    return locked
