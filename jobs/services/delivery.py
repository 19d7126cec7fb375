"""The end of a round: the studio delivers the masters, the client approves them or asks for a
revision (a new round)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from jobs.models import (
    AudioFile,
    Job,
    JobStatus,
    Stage,
    StageStatus,
    StudioPolicy,
    User,
)
from jobs.services.core import (
    NotAllowed,
    WrongState,
    is_client_of,
    is_manager_user,
    lock_job,
    on_commit,
    replan_soon,
    require_reason,
    require_status,
    set_status,
    sync,
)
from jobs.services.rounds import (
    create_round_stages,
    start_clock,
)


def _require_deliverable(job: Job, by: User) -> list[AudioFile]:
    """Everything `job_deliver` checks short of reading the bytes; returns the round's masters."""
    from analysis.delivery import current_masters, delivery_refusals, master_checks

    delivery = Stage.objects.filter(
        job=job, revision_round=job.revision_round, kind="delivery"
    ).first()
    allowed = is_manager_user(by) or (
        by is not None and by.is_engineer and delivery is not None and delivery.assignee_id == by.pk
    )
    if not allowed:
        raise NotAllowed("Only the delivery engineer or a manager can deliver a job.")
    require_status(job, {JobStatus.IN_PROGRESS}, "be delivered")
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
        locked = lock_job(job)
        masters = _require_deliverable(locked, by)
        if {m.pk for m in masters} != {m.pk for m in hashed}:
            raise WrongState("The masters changed while they were being checked; deliver again.")
        now = timezone.now()
        set_status(
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

        on_commit(send)
    replan_soon()
    sync(locked, job)
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
        locked = lock_job(job)
        if not is_client_of(by, locked):
            raise NotAllowed("Only the job's client can approve the master.")
        require_status(locked, {JobStatus.DELIVERED}, "be approved")
        now = timezone.now()
        set_status(locked, JobStatus.APPROVED, actor=by, at=now)
        locked.closed_at = now
        locked.save()
    sync(locked, job)
    return locked


def job_request_revision(*, job: Job, by: User, note: str) -> Job:
    """The client asks for changes to a delivered master: a new round with its own promise
    (the policy's revision promise) and six fresh stages."""
    note = require_reason(note, "ask for a revision (say what should change)")
    with transaction.atomic():
        locked = lock_job(job)
        if not is_client_of(by, locked):
            raise NotAllowed("Only the job's client can ask for a revision.")
        require_status(locked, {JobStatus.DELIVERED}, "get a revision")
        now = timezone.now()
        policy = StudioPolicy.current()
        locked.revision_round += 1
        set_status(locked, JobStatus.REVISION_REQUESTED, actor=by, at=now, note=note)
        start_clock(
            locked, policy=policy, at=now, promise_days=policy.revision_promise_days, actor=by
        )
        locked.delivered_at = None
        locked.save()
        create_round_stages(locked, policy=policy)
        job_id = locked.pk

        def send() -> None:
            from jobs.notifications import notify_revision_received

            notify_revision_received(job_id=job_id, note=note)

        on_commit(send)
    replan_soon()
    sync(locked, job)
    return locked
