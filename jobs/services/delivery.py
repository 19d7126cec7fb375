"""The end of a round: the studio delivers the masters, the client approves them or asks for a
revision (a new round)."""

from __future__ import annotations

from django.db import transaction

from jobs.models import (
    AudioFile,
    Job,
    JobStatus,
    Stage,
    StageKind,
    StageStatus,
    StudioPolicy,
    User,
)
from jobs.services.core import (
    NotAllowed,
    WrongState,
    locked,
    require_reason,
    require_status,
)
from jobs.services.rounds import create_round_stages, start_clock


def _require_deliverable(job: Job, by: User) -> list[AudioFile]:
    """Everything `job_deliver` checks short of reading the bytes; returns the round's masters."""
    from analysis.delivery import current_masters, delivery_refusals, master_checks

    if not by.may_deliver(job):
        raise NotAllowed("Only the delivery engineer or a manager can deliver a job.")
    require_status(job, {JobStatus.IN_PROGRESS}, "be delivered")
    delivery = Stage.objects.filter(
        job=job, revision_round=job.revision_round, kind=StageKind.DELIVERY
    ).first()
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
    with locked(job, by=by) as move:
        masters = _require_deliverable(move.job, by)
        if {m.pk for m in masters} != {m.pk for m in hashed}:
            raise WrongState("The masters changed while they were being checked; deliver again.")
        move.set_status(
            JobStatus.DELIVERED,
            note=", ".join(f"{m.original_name} v{m.version}" for m in masters)[:2000],
        )
        move.job.delivered_at = move.at
        job_id = move.job.pk

        def send() -> None:
            from jobs.notifications import notify_delivered

            notify_delivered(job_id=job_id)

        transaction.on_commit(send)
    return move.job


def _lock_free(job: Job) -> Job:
    """The job as it is now, without a lock (for checks that are repeated under one)."""
    try:
        return Job.objects.get(pk=job.pk)
    except Job.DoesNotExist:
        raise WrongState("This job no longer exists.") from None


def job_approve(*, job: Job, by: User) -> Job:
    """The client approves the delivered master; the job is closed."""
    with locked(job, by=by, replan=False) as move:
        if not by.may_review(move.job):
            raise NotAllowed("Only the job's client can approve the master.")
        require_status(move.job, {JobStatus.DELIVERED}, "be approved")
        move.set_status(JobStatus.APPROVED)
        move.job.closed_at = move.at
    return move.job


def job_request_revision(*, job: Job, by: User, note: str) -> Job:
    """The client asks for changes to a delivered master: a new round with its own promise
    (the policy's revision promise) and six fresh stages."""
    note = require_reason(note, "ask for a revision (say what should change)")
    with locked(job, by=by) as move:
        if not by.may_review(move.job):
            raise NotAllowed("Only the job's client can ask for a revision.")
        require_status(move.job, {JobStatus.DELIVERED}, "get a revision")
        policy = StudioPolicy.current()
        move.job.revision_round += 1
        move.set_status(JobStatus.REVISION_REQUESTED, note=note)
        start_clock(move, policy=policy, promise_days=policy.revision_promise_days)
        move.job.delivered_at = None
        create_round_stages(move.job)
        job_id = move.job.pk

        def send() -> None:
            from jobs.notifications import notify_revision_received

            notify_revision_received(job_id=job_id, note=note)

        transaction.on_commit(send)
    return move.job
