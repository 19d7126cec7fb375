"""Every move in a job's life: who may make it, the state it starts from, and its history.

Each service locks the job (`select_for_update`), checks the actor and the state, applies the change
and writes `JobEvent` rows in one transaction, so a refused move leaves nothing behind. Invalid
moves raise `WorkflowError` (`NotAllowed` for the wrong person, `WrongState` for the wrong moment).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from jobs import clock
from jobs.models import (
    CLOCK_RUNNING,
    CLOSED,
    DEFAULT_CHECKLISTS,
    STAGE_ORDER,
    AudioFile,
    ClockMode,
    EventKind,
    FileKind,
    Job,
    JobEvent,
    JobStatus,
    ListeningSession,
    Stage,
    StageStatus,
    StudioDayOff,
    StudioPolicy,
    User,
    Verdict,
)

if TYPE_CHECKING:
    from analysis.models import IntakeReport


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
_PRE_ACCEPTANCE = frozenset(
    {JobStatus.DRAFT, JobStatus.SUBMITTED, JobStatus.ANALYSING, JobStatus.AWAITING_CLIENT}
)
# States in which the clock is started but stopped, waiting on someone outside the studio's work.
_PAUSING = frozenset({JobStatus.AWAITING_CLIENT, JobStatus.ON_HOLD})
_WORKABLE = frozenset({JobStatus.ACCEPTED, JobStatus.IN_PROGRESS, JobStatus.REVISION_REQUESTED})


# --- helpers -----------------------------------------------------------------------------------


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


def _working_days(policy: StudioPolicy) -> bool:
    return policy.clock_mode == ClockMode.WORKING_DAYS


def _lock(job: Job) -> Job:
    try:
        return Job.objects.select_for_update().get(pk=job.pk)
    except Job.DoesNotExist:
        raise WrongState("This job no longer exists.") from None


def _sync(source: Any, target: Any) -> None:
    """Copy the saved state onto the caller's instance so it is not left stale."""
    if source is target:
        return
    for f in source._meta.concrete_fields:
        setattr(target, f.attname, getattr(source, f.attname))


def _event(
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


def _set_status(job: Job, status: str, *, actor: User | None, at: datetime, note: str = "") -> None:
    _event(
        job,
        kind=EventKind.STATUS,
        actor=actor,
        at=at,
        from_value=job.status,
        to_value=status,
        note=note,
    )
    job.status = status


def _is_client_of(user: User | None, job: Job) -> bool:
    return user is not None and user.is_client_of(job)


def _is_manager(user: User | None) -> bool:
    return user is not None and user.is_active and user.is_manager


def _require_manager(by: User | None, what: str) -> None:
    if not _is_manager(by):
        raise NotAllowed(f"Only a studio manager can {what}.")


def _require_client_or_manager(by: User | None, job: Job, what: str) -> None:
    if not (_is_client_of(by, job) or _is_manager(by)):
        raise NotAllowed(f"Only the job's client or a studio manager can {what}.")


def _require_reason(reason: str, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise WorkflowError(f"Give a reason to {what}.")
    return reason


def _require_status(job: Job, allowed: frozenset[str] | set[str], what: str) -> None:
    if job.status not in allowed:
        raise WrongState(f"A job that is {job.get_status_display().lower()} cannot {what}.")


def _on_commit(fn: Callable[[], None]) -> None:
    transaction.on_commit(fn)


def _tell_client_the_verdict(job: Job, report: IntakeReport | None = None) -> None:
    job_id, report_id = job.pk, report.pk if report is not None else None

    def send() -> None:
        from jobs.notifications import notify_verdict

        notify_verdict(job_id=job_id, report_id=report_id)

    _on_commit(send)


def _replan_soon() -> None:
    """The plan depends on every stage, assignee and clock, so any such move re-plans once it is
    committed (in the worker, or in process when there is no broker)."""

    def queue() -> None:
        from jobs.tasks import REPLAN_DELAY_S, REPLAN_QUEUED, plan_refresh_task

        # A burst of moves needs one re-plan, not one each: queue only if none is waiting, and
        # wait a few seconds first, so the moves of one burst land in the same re-plan.
        if cache.add(REPLAN_QUEUED, "1", timeout=60):
            plan_refresh_task.apply_async(countdown=REPLAN_DELAY_S)

    transaction.on_commit(queue)


def _start_clock(
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
        working_days=_working_days(policy),
    )
    job.deadline_status = "on_track"
    job.predicted_finish_at = None
    job.at_risk_alerted_at = None
    job.overdue_alerted_at = None
    _event(
        job,
        kind=EventKind.DEADLINE,
        actor=actor,
        at=at,
        subject="due_at",
        from_value=old_due.isoformat() if old_due else "",
        to_value=job.due_at.isoformat(),
        note=f"round {job.revision_round}: {promise_days}-day promise",
    )


def _pause_clock(job: Job, *, at: datetime) -> None:
    # Before acceptance there is no clock to pause; a pause already running stays as it is.
    if job.accepted_at is not None and job.paused_at is None:
        job.paused_at = at


def _resume_clock(job: Job, *, at: datetime, actor: User | None) -> None:
    if job.paused_at is None or job.accepted_at is None:
        return
    policy = StudioPolicy.current()
    calendar = studio_calendar(policy=policy)
    working = _working_days(policy)
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
        _event(
            job,
            kind=EventKind.DEADLINE,
            actor=actor,
            at=at,
            subject="due_at",
            from_value=old_due.isoformat() if old_due else "",
            to_value=job.due_at.isoformat(),
            note="paused time moves the due date",
        )


def _create_round_stages(job: Job, *, policy: StudioPolicy) -> None:
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


def _accept(job: Job, *, at: datetime, actor: User | None, held: bool = False) -> None:
    policy = StudioPolicy.current()
    if held:
        # Accepted while a manager holds the job: the clock starts and pauses at once, and the
        # job resumes as accepted.
        job.status_before_hold = JobStatus.ACCEPTED
    else:
        _set_status(job, JobStatus.ACCEPTED, actor=actor, at=at)
    _start_clock(job, policy=policy, at=at, promise_days=policy.promise_days, actor=actor)
    if held:
        _pause_clock(job, at=at)
    if not job.stages.filter(revision_round=job.revision_round).exists():
        _create_round_stages(job, policy=policy)


# --- intake ------------------------------------------------------------------------------------


def job_create(
    *, by: User, track_title: str, artist: str = "", notes: str = "", reference_notes: str = ""
) -> Job:
    """A client opens a job for one track; it stays a draft until the files are in and the
    client submits it."""
    if not by.is_client or by.organisation_id is None:
        raise NotAllowed("Only a client can open a job for their own track.")
    track_title = track_title.strip()
    if not track_title:
        raise WorkflowError("Give the track's title.")
    with transaction.atomic():
        job = Job.objects.create(
            organisation_id=by.organisation_id,
            created_by=by,
            track_title=track_title[:200],
            artist=artist.strip()[:200],
            notes=notes.strip(),
            reference_notes=reference_notes.strip(),
        )
        _event(job, kind=EventKind.STATUS, actor=by, at=job.created_at, to_value=job.status)
    return job


def job_submit(*, job: Job, by: User) -> Job:
    """Hand the job's current files to intake: draft or awaiting_client -> submitted."""
    with transaction.atomic():
        locked = _lock(job)
        _require_client_or_manager(by, locked, "submit this job")
        _require_status(locked, {JobStatus.DRAFT, JobStatus.AWAITING_CLIENT}, "be submitted")
        if (
            not AudioFile.objects.filter(job=locked, is_current=True)
            .exclude(kind=FileKind.MASTER)
            .exists()
        ):
            raise WrongState("Upload at least one file before submitting.")
        now = timezone.now()
        _set_status(locked, JobStatus.SUBMITTED, actor=by, at=now)
        locked.submitted_at = now
        locked.save()
    _sync(locked, job)
    return locked


def job_start_analysis(*, job: Job) -> Job:
    """Intake has started measuring the files: submitted -> analysing (a system move)."""
    with transaction.atomic():
        locked = _lock(job)
        _require_status(locked, {JobStatus.SUBMITTED}, "start analysis")
        _set_status(locked, JobStatus.ANALYSING, actor=None, at=timezone.now())
        locked.save()
    _sync(locked, job)
    return locked


def job_record_verdict(
    *,
    job: Job,
    verdict: str,
    needs_acknowledgement: bool = False,
    by: User | None = None,
    report: IntakeReport | None = None,
) -> Job:
    """Record intake's verdict on an analysing job and move it on: accepted starts the clock and
    the round's stages; minor problems wait for the client's acknowledgement; a re-export waits
    for new files. Declining is a manager's decision (`job_decline`), never automatic."""
    if verdict == Verdict.DECLINED:
        raise NotAllowed("Only a studio manager can decline a job (job_decline).")
    if verdict not in Verdict.values:
        raise WorkflowError(f"Unknown verdict {verdict!r}.")
    with transaction.atomic():
        locked = _lock(job)
        # A manager may hold a job while intake runs; the verdict still lands, and the job
        # stays on hold until resumed, into the state the verdict chose.
        held = (
            locked.status == JobStatus.ON_HOLD and locked.status_before_hold == JobStatus.ANALYSING
        )
        if not held:
            _require_status(locked, {JobStatus.ANALYSING}, "take an intake verdict")
        now = timezone.now()
        _event(
            locked,
            kind=EventKind.VERDICT,
            actor=by,
            at=now,
            from_value=locked.verdict,
            to_value=verdict,
            note=report.summary if report is not None else "",
        )
        locked.verdict = verdict
        if verdict == Verdict.ACCEPTED or (
            verdict == Verdict.ACCEPTED_WITH_WARNINGS and not needs_acknowledgement
        ):
            _accept(locked, at=now, actor=by, held=held)
        else:
            locked.acknowledged_at = None
            if held:
                locked.status_before_hold = JobStatus.AWAITING_CLIENT
            else:
                _set_status(locked, JobStatus.AWAITING_CLIENT, actor=by, at=now)
        if held:
            _event(
                locked,
                kind=EventKind.NOTE,
                actor=by,
                at=now,
                subject="status_before_hold",
                from_value=JobStatus.ANALYSING,
                to_value=locked.status_before_hold,
                note="verdict recorded while on hold; the job resumes from here",
            )
        locked.save()
        _tell_client_the_verdict(locked, report)
    _replan_soon()
    _sync(locked, job)
    return locked


def job_acknowledge(*, job: Job, by: User) -> Job:
    """The client accepts intake's warnings and lets the work go ahead; the clock starts now."""
    with transaction.atomic():
        locked = _lock(job)
        _require_client_or_manager(by, locked, "acknowledge the intake warnings")
        _require_status(locked, {JobStatus.AWAITING_CLIENT}, "be acknowledged")
        if locked.verdict != Verdict.ACCEPTED_WITH_WARNINGS:
            raise WrongState("Only warnings can be acknowledged; this job needs new files.")
        now = timezone.now()
        locked.acknowledged_at = now
        _accept(locked, at=now, actor=by)
        locked.save()
    _replan_soon()
    _sync(locked, job)
    return locked


def job_override_verdict(*, job: Job, by: User, verdict: str, reason: str) -> Job:
    """A manager replaces intake's verdict; the reason is kept on the job and in the history.
    Accepting (with or without warnings) starts the clock at once; declining goes through
    `job_decline`."""
    _require_manager(by, "override an intake verdict")
    reason = _require_reason(reason, "override the verdict")
    if verdict == Verdict.DECLINED:
        return job_decline(job=job, by=by, reason=reason)
    if verdict not in Verdict.values:
        raise WorkflowError(f"Unknown verdict {verdict!r}.")
    with transaction.atomic():
        locked = _lock(job)
        _require_manager(by, "override an intake verdict")
        _require_status(
            locked,
            {JobStatus.SUBMITTED, JobStatus.ANALYSING, JobStatus.AWAITING_CLIENT},
            "have its verdict overridden",
        )
        now = timezone.now()
        _event(
            locked,
            kind=EventKind.VERDICT,
            actor=by,
            at=now,
            from_value=locked.verdict,
            to_value=verdict,
            note=reason,
        )
        locked.verdict = verdict
        locked.verdict_overridden_by = by
        locked.verdict_reason = reason
        if verdict == Verdict.REEXPORT_REQUESTED:
            if locked.status != JobStatus.AWAITING_CLIENT:
                _set_status(locked, JobStatus.AWAITING_CLIENT, actor=by, at=now)
        else:
            _accept(locked, at=now, actor=by)
        locked.save()
        _tell_client_the_verdict(locked)
    _replan_soon()
    _sync(locked, job)
    return locked


def job_accept(*, job: Job, by: User, reason: str) -> Job:
    """A manager accepts the job whatever intake said (an override, so a reason is required)."""
    return job_override_verdict(job=job, by=by, verdict=Verdict.ACCEPTED, reason=reason)


def job_decline(*, job: Job, by: User, reason: str) -> Job:
    """A manager turns the job away before work starts; the reason is kept."""
    _require_manager(by, "decline a job")
    reason = _require_reason(reason, "decline the job")
    with transaction.atomic():
        locked = _lock(job)
        _require_manager(by, "decline a job")
        _require_status(locked, _PRE_ACCEPTANCE - {JobStatus.DRAFT}, "be declined")
        now = timezone.now()
        _event(
            locked,
            kind=EventKind.VERDICT,
            actor=by,
            at=now,
            from_value=locked.verdict,
            to_value=Verdict.DECLINED,
            note=reason,
        )
        locked.verdict = Verdict.DECLINED
        locked.verdict_overridden_by = by
        locked.verdict_reason = reason
        _set_status(locked, JobStatus.DECLINED, actor=by, at=now, note=reason)
        locked.closed_at = now
        locked.save()
        _tell_client_the_verdict(locked)
    _sync(locked, job)
    return locked


# --- stages ------------------------------------------------------------------------------------


def _lock_stage(stage: Stage) -> tuple[Job, Stage]:
    job = _lock(stage.job)
    try:
        locked = Stage.objects.select_for_update().get(pk=stage.pk)
    except Stage.DoesNotExist:
        raise WrongState("This stage no longer exists.") from None
    locked.job = job
    return job, locked


def _require_stage_mover(by: User, stage: Stage) -> None:
    if _is_manager(by):
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
    _event(
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
        _set_status(job, JobStatus.IN_PROGRESS, actor=by, at=at)
        job.save()


def stage_start(*, stage: Stage, by: User) -> Stage:
    """Begin a stage; the one before must be done or skipped."""
    with transaction.atomic():
        job, locked = _lock_stage(stage)
        _require_stage_mover(by, locked)
        _require_status(job, _WORKABLE, "have work started")
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
    _replan_soon()
    _sync(locked, stage)
    return locked


def stage_finish(*, stage: Stage, by: User, notes: str | None = None) -> Stage:
    """Mark an in-progress stage done (optionally saving the recall notes)."""
    with transaction.atomic():
        job, locked = _lock_stage(stage)
        _require_stage_mover(by, locked)
        _require_status(job, {JobStatus.IN_PROGRESS}, "have a stage finished")
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
    _replan_soon()
    _sync(locked, stage)
    return locked


def stage_skip(*, stage: Stage, by: User, reason: str) -> Stage:
    """Skip a stage the job does not need (the reason is kept); order still holds."""
    reason = _require_reason(reason, "skip a stage")
    with transaction.atomic():
        job, locked = _lock_stage(stage)
        _require_stage_mover(by, locked)
        _require_status(job, _WORKABLE, "have a stage skipped")
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
    _replan_soon()
    _sync(locked, stage)
    return locked


def stage_reopen(*, stage: Stage, by: User, reason: str = "") -> Stage:
    """Go back to a finished stage: it is in progress again and every later stage of the round
    returns to pending, because their work was based on what is being redone."""
    with transaction.atomic():
        job, locked = _lock_stage(stage)
        _require_stage_mover(by, locked)
        _require_status(job, {JobStatus.IN_PROGRESS}, "have a stage reopened")
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
    _replan_soon()
    _sync(locked, stage)
    return locked


def stage_assign(*, stage: Stage, by: User, engineer: User | None) -> Stage:
    """Give a stage to an engineer (None to unassign). A manager assigns anyone in the studio; an
    engineer may only take unassigned work for themself."""
    with transaction.atomic():
        job, locked = _lock_stage(stage)
        if _is_manager(by):
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
        _event(
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
    _replan_soon()
    _sync(locked, stage)
    return locked


# --- hold, cancel, deliver, approve, revise ----------------------------------------------------


def job_hold(*, job: Job, by: User, reason: str = "") -> Job:
    """A manager puts a job on hold; its clock pauses and paused time moves the due date."""
    _require_manager(by, "put a job on hold")
    with transaction.atomic():
        locked = _lock(job)
        _require_manager(by, "put a job on hold")
        if locked.status in CLOSED or locked.status == JobStatus.ON_HOLD:
            raise WrongState(
                f"A job that is {locked.get_status_display().lower()} cannot be put on hold."
            )
        now = timezone.now()
        locked.status_before_hold = locked.status
        _set_status(locked, JobStatus.ON_HOLD, actor=by, at=now, note=reason)
        _pause_clock(locked, at=now)
        locked.save()
    _replan_soon()
    _sync(locked, job)
    return locked


def job_resume(*, job: Job, by: User) -> Job:
    """A manager takes a job off hold: back where it was, with the due date moved by the pause."""
    _require_manager(by, "resume a job")
    with transaction.atomic():
        locked = _lock(job)
        _require_manager(by, "resume a job")
        _require_status(locked, {JobStatus.ON_HOLD}, "be resumed")
        now = timezone.now()
        _set_status(locked, locked.status_before_hold, actor=by, at=now)
        locked.status_before_hold = ""
        if locked.status not in _PAUSING:
            _resume_clock(locked, at=now, actor=by)
        locked.save()
    _replan_soon()
    _sync(locked, job)
    return locked


def job_cancel(*, job: Job, by: User, reason: str) -> Job:
    """A manager stops a job for good, at any point before approval."""
    _require_manager(by, "cancel a job")
    reason = _require_reason(reason, "cancel the job")
    with transaction.atomic():
        locked = _lock(job)
        _require_manager(by, "cancel a job")
        if locked.status in CLOSED:
            raise WrongState(
                f"A job that is {locked.get_status_display().lower()} cannot be cancelled."
            )
        now = timezone.now()
        _set_status(locked, JobStatus.CANCELLED, actor=by, at=now, note=reason)
        locked.status_before_hold = ""
        locked.closed_at = now
        ListeningSession.objects.filter(stage__job=locked, ended_at__isnull=True).update(
            ended_at=now
        )
        locked.save()
    _replan_soon()
    _sync(locked, job)
    return locked


def _require_deliverable(job: Job, by: User) -> list[AudioFile]:
    """Everything `job_deliver` checks short of reading the bytes; returns the round's masters."""
    from analysis.delivery import current_masters, delivery_refusals, master_checks

    delivery = Stage.objects.filter(
        job=job, revision_round=job.revision_round, kind="delivery"
    ).first()
    allowed = _is_manager(by) or (
        by is not None and by.is_engineer and delivery is not None and delivery.assignee_id == by.pk
    )
    if not allowed:
        raise NotAllowed("Only the delivery engineer or a manager can deliver a job.")
    _require_status(job, {JobStatus.IN_PROGRESS}, "be delivered")
    if delivery is None or delivery.status != StageStatus.DONE:
        raise WrongState("Finish the delivery stage before delivering.")
    masters = current_masters(job)
    if not masters:
        raise WrongState("Upload the master for this round before delivering.")
    problems = delivery_refusals(master_checks(masters))
    if problems:
        raise WrongState("Not delivered: " + " ".join(problems))
    return masters


def job_deliver(*, job: Job, by: User) -> Job:
    """Send the masters: the round's delivery stage is done; the round has current masters, each
    measured and passing the delivery check (no error finding: a true peak above the policy's
    ceiling, clipping); and each one's stored bytes still hash to the SHA-256 recorded when it was
    stored. No one, a manager included, can skip a check. The client is told once the move is
    committed."""
    from analysis.delivery import integrity_refusals

    # The bytes are hashed outside the job's lock (reading gigabytes must not hold up every
    # other move on the job); under the lock the checks run again and the masters must be the
    # very ones that were hashed.
    hashed = _require_deliverable(_lock_free(job), by)
    problems = integrity_refusals(hashed)
    if problems:
        raise WrongState("Not delivered: " + " ".join(problems))
    with transaction.atomic():
        locked = _lock(job)
        masters = _require_deliverable(locked, by)
        if {m.pk for m in masters} != {m.pk for m in hashed}:
            raise WrongState("The masters changed while they were being checked; deliver again.")
        now = timezone.now()
        _set_status(
            locked,
            JobStatus.DELIVERED,
            actor=by,
            at=now,
            note=", ".join(f"{m.original_name} v{m.version}" for m in masters)[:2000],
        )
        locked.delivered_at = now
        locked.save()
        job_id = locked.pk

        def send() -> None:
            from jobs.notifications import notify_delivered

            notify_delivered(job_id=job_id)

        _on_commit(send)
    _replan_soon()
    _sync(locked, job)
    return locked


def _lock_free(job: Job) -> Job:
    """The job as it is now, without a lock (for checks that are repeated under one)."""
    try:
        return Job.objects.get(pk=job.pk)
    except Job.DoesNotExist:
        raise WrongState("This job no longer exists.") from None


def job_approve(*, job: Job, by: User) -> Job:
    """The client approves the delivered master; the job is closed."""
    with transaction.atomic():
        locked = _lock(job)
        if not _is_client_of(by, locked):
            raise NotAllowed("Only the job's client can approve the master.")
        _require_status(locked, {JobStatus.DELIVERED}, "be approved")
        now = timezone.now()
        _set_status(locked, JobStatus.APPROVED, actor=by, at=now)
        locked.closed_at = now
        locked.save()
    _sync(locked, job)
    return locked


def job_request_revision(*, job: Job, by: User, note: str) -> Job:
    """The client asks for changes to a delivered master: a new round with its own promise
    (the policy's revision promise) and six fresh stages."""
    note = _require_reason(note, "ask for a revision (say what should change)")
    with transaction.atomic():
        locked = _lock(job)
        if not _is_client_of(by, locked):
            raise NotAllowed("Only the job's client can ask for a revision.")
        _require_status(locked, {JobStatus.DELIVERED}, "get a revision")
        now = timezone.now()
        policy = StudioPolicy.current()
        locked.revision_round += 1
        _set_status(locked, JobStatus.REVISION_REQUESTED, actor=by, at=now, note=note)
        _start_clock(
            locked, policy=policy, at=now, promise_days=policy.revision_promise_days, actor=by
        )
        locked.delivered_at = None
        locked.save()
        _create_round_stages(locked, policy=policy)
        job_id = locked.pk

        def send() -> None:
            from jobs.notifications import notify_revision_received

            notify_revision_received(job_id=job_id, note=note)

        _on_commit(send)
    _replan_soon()
    _sync(locked, job)
    return locked


__all__ = [
    "CLOCK_RUNNING",
    "NotAllowed",
    "WorkflowError",
    "WrongState",
    "job_accept",
    "job_acknowledge",
    "job_approve",
    "job_cancel",
    "job_create",
    "job_decline",
    "job_deliver",
    "job_hold",
    "job_override_verdict",
    "job_record_verdict",
    "job_request_revision",
    "job_resume",
    "job_start_analysis",
    "job_submit",
    "stage_assign",
    "stage_finish",
    "stage_reopen",
    "stage_skip",
    "stage_start",
    "studio_calendar",
]
