"""Intake moves: a client opens and submits a job, intake records its verdict, the client
acknowledges warnings, a manager overrides, accepts or declines."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from jobs.models import (
    AudioFile,
    EventKind,
    FileKind,
    Job,
    JobStatus,
    StudioPolicy,
    User,
    Verdict,
)
from jobs.services.core import (
    PRE_ACCEPTANCE,
    NotAllowed,
    WorkflowError,
    WrongState,
    lock_job,
    on_commit,
    record_event,
    replan_soon,
    require_client_or_manager,
    require_manager,
    require_reason,
    require_status,
    set_status,
    sync,
)
from jobs.services.rounds import (
    create_round_stages,
    pause_clock,
    start_clock,
)

if TYPE_CHECKING:
    from analysis.models import IntakeReport


def _tell_client_the_verdict(job: Job, report: IntakeReport | None = None) -> None:
    job_id, report_id = job.pk, report.pk if report is not None else None

    def send() -> None:
        from jobs.notifications import notify_verdict

        notify_verdict(job_id=job_id, report_id=report_id)

    on_commit(send)


def _accept(job: Job, *, at: datetime, actor: User | None, held: bool = False) -> None:
    policy = StudioPolicy.current()
    if held:
        # Accepted while a manager holds the job: the clock starts and pauses at once, and the
        # job resumes as accepted.
        job.status_before_hold = JobStatus.ACCEPTED
    else:
        set_status(job, JobStatus.ACCEPTED, actor=actor, at=at)
    start_clock(job, policy=policy, at=at, promise_days=policy.promise_days, actor=actor)
    if held:
        pause_clock(job, at=at)
    if not job.stages.filter(revision_round=job.revision_round).exists():
        create_round_stages(job, policy=policy)


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
        record_event(job, kind=EventKind.STATUS, actor=by, at=job.created_at, to_value=job.status)
    return job


def job_submit(*, job: Job, by: User) -> Job:
    """Hand the job's current files to intake: draft or awaiting_client -> submitted."""
    with transaction.atomic():
        locked = lock_job(job)
        require_client_or_manager(by, locked, "submit this job")
        require_status(locked, {JobStatus.DRAFT, JobStatus.AWAITING_CLIENT}, "be submitted")
        if (
            not AudioFile.objects.filter(job=locked, is_current=True)
            .exclude(kind=FileKind.MASTER)
            .exists()
        ):
            raise WrongState("Upload at least one file before submitting.")
        now = timezone.now()
        set_status(locked, JobStatus.SUBMITTED, actor=by, at=now)
        locked.submitted_at = now
        locked.save()
    sync(locked, job)
    return locked


def job_start_analysis(*, job: Job) -> Job:
    """Intake has started measuring the files: submitted -> analysing (a system move)."""
    with transaction.atomic():
        locked = lock_job(job)
        require_status(locked, {JobStatus.SUBMITTED}, "start analysis")
        set_status(locked, JobStatus.ANALYSING, actor=None, at=timezone.now())
        locked.save()
    sync(locked, job)
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
        locked = lock_job(job)
        # A manager may hold a job while intake runs; the verdict still lands, and the job
        # stays on hold until resumed, into the state the verdict chose.
        held = (
            locked.status == JobStatus.ON_HOLD and locked.status_before_hold == JobStatus.ANALYSING
        )
        if not held:
            require_status(locked, {JobStatus.ANALYSING}, "take an intake verdict")
        now = timezone.now()
        record_event(
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
                set_status(locked, JobStatus.AWAITING_CLIENT, actor=by, at=now)
        if held:
            record_event(
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
    replan_soon()
    sync(locked, job)
    return locked


def job_acknowledge(*, job: Job, by: User) -> Job:
    """The client accepts intake's warnings and lets the work go ahead; the clock starts now."""
    with transaction.atomic():
        locked = lock_job(job)
        require_client_or_manager(by, locked, "acknowledge the intake warnings")
        require_status(locked, {JobStatus.AWAITING_CLIENT}, "be acknowledged")
        if locked.verdict != Verdict.ACCEPTED_WITH_WARNINGS:
            raise WrongState("Only warnings can be acknowledged; this job needs new files.")
        now = timezone.now()
        locked.acknowledged_at = now
        _accept(locked, at=now, actor=by)
        locked.save()
    replan_soon()
    sync(locked, job)
    return locked


def job_override_verdict(*, job: Job, by: User, verdict: str, reason: str) -> Job:
    """A manager replaces intake's verdict; the reason is kept on the job and in the history.
    Accepting (with or without warnings) starts the clock at once; declining goes through
    `job_decline`."""
    require_manager(by, "override an intake verdict")
    reason = require_reason(reason, "override the verdict")
    if verdict == Verdict.DECLINED:
        return job_decline(job=job, by=by, reason=reason)
    if verdict not in Verdict.values:
        raise WorkflowError(f"Unknown verdict {verdict!r}.")
    with transaction.atomic():
        locked = lock_job(job)
        require_manager(by, "override an intake verdict")
        require_status(
            locked,
            {JobStatus.SUBMITTED, JobStatus.ANALYSING, JobStatus.AWAITING_CLIENT},
            "have its verdict overridden",
        )
        now = timezone.now()
        record_event(
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
                set_status(locked, JobStatus.AWAITING_CLIENT, actor=by, at=now)
        else:
            _accept(locked, at=now, actor=by)
        locked.save()
        _tell_client_the_verdict(locked)
    replan_soon()
    sync(locked, job)
    return locked


def job_accept(*, job: Job, by: User, reason: str) -> Job:
    """A manager accepts the job whatever intake said (an override, so a reason is required)."""
    return job_override_verdict(job=job, by=by, verdict=Verdict.ACCEPTED, reason=reason)


def job_decline(*, job: Job, by: User, reason: str) -> Job:
    """A manager turns the job away before work starts; the reason is kept."""
    require_manager(by, "decline a job")
    reason = require_reason(reason, "decline the job")
    with transaction.atomic():
        locked = lock_job(job)
        require_manager(by, "decline a job")
        require_status(locked, PRE_ACCEPTANCE - {JobStatus.DRAFT}, "be declined")
        now = timezone.now()
        record_event(
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
        set_status(locked, JobStatus.DECLINED, actor=by, at=now, note=reason)
        locked.closed_at = now
        locked.save()
        _tell_client_the_verdict(locked)
    sync(locked, job)
    return locked
