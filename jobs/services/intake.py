"""Intake moves: a client opens and submits a job, intake records its verdict, the client
acknowledges warnings, a manager overrides, accepts or declines."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

from jobs.models import (
    PRE_ACCEPTANCE,
    STUDIO_FILE_KINDS,
    AudioFile,
    EventKind,
    Job,
    JobStatus,
    StudioPolicy,
    User,
    Verdict,
)
from jobs.services.core import (
    Move,
    NotAllowed,
    WorkflowError,
    WrongState,
    locked,
    require_manager,
    require_reason,
    require_status,
)
from jobs.services.rounds import create_round_stages, pause_clock, start_clock

if TYPE_CHECKING:
    from analysis.models import IntakeReport


def _tell_client_the_verdict(job: Job, report: IntakeReport | None = None) -> None:
    job_id, report_id = job.pk, report.pk if report is not None else None

    def send() -> None:
        from jobs.notifications import notify_verdict

        notify_verdict(job_id=job_id, report_id=report_id)

    transaction.on_commit(send)


def _require_hand_in(by: User, job: Job, what: str) -> None:
    if not by.may_hand_in(job):
        raise NotAllowed(f"Only the job's client or a studio manager can {what}.")


def _set_verdict(move: Move, verdict: str, *, note: str = "") -> None:
    """A new verdict replaces the last one whole: a manager's earlier reason (kept in the
    history) no longer speaks for it; `_overridden` sets the new one's."""
    move.record(EventKind.VERDICT, from_value=move.job.verdict, to_value=verdict, note=note)
    move.job.verdict = verdict
    move.job.verdict_overridden_by = None
    move.job.verdict_reason = ""


def _overridden(move: Move, verdict: str, reason: str) -> None:
    """A manager's verdict: the reason is kept on the job and in the history."""
    _set_verdict(move, verdict, note=reason)
    move.job.verdict_overridden_by = move.by
    move.job.verdict_reason = reason


def _accept(move: Move, *, held: bool = False) -> None:
    job = move.job
    policy = StudioPolicy.current()
    if held:
        # Accepted while a manager holds the job: the clock starts and pauses at once, and the
        # job resumes as accepted.
        job.status_before_hold = JobStatus.ACCEPTED
    else:
        move.set_status(JobStatus.ACCEPTED)
    start_clock(move, policy=policy, promise_days=policy.promise_days)
    if held:
        pause_clock(move)
    if not job.stages.filter(revision_round=job.revision_round).exists():
        create_round_stages(job)


def job_create(
    *, by: User, track_title: str, artist: str = "", notes: str = "", reference_notes: str = ""
) -> Job:
    """A client opens a job for one track; it stays a draft until the files are in and the
    client submits it."""
    if not by.may_open_jobs or by.organisation_id is None:  # (the second test is for mypy)
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
        Move(job=job, by=by, at=job.created_at).record(EventKind.STATUS, to_value=job.status)
    return job


def job_submit(*, job: Job, by: User) -> Job:
    """Hand the job's current files to intake: draft or awaiting_client -> submitted."""
    with locked(job, by=by, replan=False) as move:
        _require_hand_in(by, move.job, "submit this job")
        require_status(move.job, {JobStatus.DRAFT, JobStatus.AWAITING_CLIENT}, "be submitted")
        if (
            not AudioFile.objects.filter(job=move.job, is_current=True)
            .exclude(kind__in=STUDIO_FILE_KINDS)
            .exists()
        ):
            raise WrongState("Upload at least one file before submitting.")
        move.set_status(JobStatus.SUBMITTED)
        move.job.submitted_at = move.at
    return move.job


def job_start_analysis(*, job: Job) -> Job:
    """Intake has started measuring the files: submitted -> analysing (a system move)."""
    with locked(job, by=None, replan=False) as move:
        require_status(move.job, {JobStatus.SUBMITTED}, "start analysis")
        move.set_status(JobStatus.ANALYSING)
    return move.job


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
    with locked(job, by=by) as move:
        row = move.job
        # A manager may hold a job while intake runs; the verdict still lands, and the job
        # stays on hold until resumed, into the state the verdict chose.
        held = row.status == JobStatus.ON_HOLD and row.status_before_hold == JobStatus.ANALYSING
        if not held:
            require_status(row, {JobStatus.ANALYSING}, "take an intake verdict")
        _set_verdict(move, verdict, note=report.summary if report is not None else "")
        if verdict == Verdict.ACCEPTED or (
            verdict == Verdict.ACCEPTED_WITH_WARNINGS and not needs_acknowledgement
        ):
            _accept(move, held=held)
        else:
            row.acknowledged_at = None
            if held:
                row.status_before_hold = JobStatus.AWAITING_CLIENT
            else:
                move.set_status(JobStatus.AWAITING_CLIENT)
        if held:
            move.record(
                EventKind.NOTE,
                subject="status_before_hold",
                from_value=JobStatus.ANALYSING,
                to_value=row.status_before_hold,
                note="verdict recorded while on hold; the job resumes from here",
            )
        _tell_client_the_verdict(row, report)
    return move.job


def job_acknowledge(*, job: Job, by: User) -> Job:
    """The client accepts intake's warnings and lets the work go ahead; the clock starts now."""
    with locked(job, by=by) as move:
        _require_hand_in(by, move.job, "acknowledge the intake warnings")
        require_status(move.job, {JobStatus.AWAITING_CLIENT}, "be acknowledged")
        if move.job.verdict != Verdict.ACCEPTED_WITH_WARNINGS:
            raise WrongState("Only warnings can be acknowledged; this job needs new files.")
        move.job.acknowledged_at = move.at
        _accept(move)
    return move.job


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
    with locked(job, by=by) as move:
        require_status(
            move.job,
            {JobStatus.SUBMITTED, JobStatus.ANALYSING, JobStatus.AWAITING_CLIENT},
            "have its verdict overridden",
        )
        _overridden(move, verdict, reason)
        if verdict == Verdict.REEXPORT_REQUESTED:
            if move.job.status != JobStatus.AWAITING_CLIENT:
                move.set_status(JobStatus.AWAITING_CLIENT)
        else:
            _accept(move)
        _tell_client_the_verdict(move.job)
    return move.job


def job_accept(*, job: Job, by: User, reason: str) -> Job:
    """A manager accepts the job whatever intake said (an override, so a reason is required)."""
    return job_override_verdict(job=job, by=by, verdict=Verdict.ACCEPTED, reason=reason)


def job_decline(*, job: Job, by: User, reason: str) -> Job:
    """A manager turns the job away before work starts; the reason is kept."""
    require_manager(by, "decline a job")
    reason = require_reason(reason, "decline the job")
    with locked(job, by=by, replan=False) as move:
        require_status(move.job, PRE_ACCEPTANCE - {JobStatus.DRAFT}, "be declined")
        _overridden(move, Verdict.DECLINED, reason)
        move.set_status(JobStatus.DECLINED, note=reason)
        move.job.closed_at = move.at
        _tell_client_the_verdict(move.job)
    return move.job
