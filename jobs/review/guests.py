"""Guest review: a delivery shared with someone who has no account, through a link whose long
random token is the credential (only its SHA-256 is stored), with an optional password and
expiry and separate rights. Every use lands in the job's history."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.utils import timezone

from jobs.models import EventKind, Job, JobEvent, User
from jobs.review.models import GuestLink
from jobs.services import NotAllowed, WorkflowError, WrongState, job_approve

TOKEN_BYTES = 32  # 43 URL-safe characters: not guessable, not enumerable
MIN_PASSWORD = 6


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def link_by_token(token: str) -> GuestLink | None:
    """The link a token opens, whatever its state (None when there is no such link)."""
    if not token or len(token) > 200:
        return None
    return (
        GuestLink.objects.select_related("job", "created_by", "revoked_by")
        .filter(token_hash=token_hash(token))
        .first()
    )


def guest_event(link: GuestLink, action: str, note: str = "") -> None:
    """One use of the link, in the job's history (which the client reads too)."""
    JobEvent.objects.create(
        job_id=link.job_id,
        kind=EventKind.NOTE,
        subject="guest link",
        from_value=link.label[:200],
        to_value=action[:200],
        note=note,
    )


def _may_share(by: User, job: Job) -> bool:
    return by.is_active and (by.is_manager or by.is_client_of(job))


def guest_link_create(
    *,
    job: Job,
    by: User,
    label: str,
    password: str = "",
    expires_at: datetime | None = None,
    can_comment: bool = False,
    can_download: bool = False,
    can_approve: bool = False,
) -> tuple[GuestLink, str]:
    """A new link and its token (shown once: only the hash is kept). The job's client or a
    manager shares a delivery; only the client can hand on the right to approve it."""
    if not _may_share(by, job):
        raise NotAllowed("Only the job's client or a studio manager can share it with a guest.")
    if (
        job.delivered_at is None
        and not job.files.filter(kind="master", revision_round__lt=job.revision_round).exists()
    ):
        raise WrongState("Share the job once a master has been delivered.")
    label = " ".join((label or "").split())[:200]
    if not label:
        raise WorkflowError("Say who the link is for (a name), so its uses can be told apart.")
    if password and len(password) < MIN_PASSWORD:
        raise WorkflowError(
            f"Make the password at least {MIN_PASSWORD} characters, or leave it out."
        )
    if expires_at is not None and expires_at <= timezone.now():
        raise WorkflowError("Choose an expiry in the future, or none.")
    if can_approve and not by.is_client_of(job):
        raise NotAllowed("Approving is the client's decision: only the client can hand it on.")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with transaction.atomic():
        link = GuestLink.objects.create(
            job=job,
            label=label,
            token_hash=token_hash(token),
            token_hint=token[-4:],
            password=make_password(password) if password else "",
            expires_at=expires_at,
            can_comment=can_comment,
            can_download=can_download,
            can_approve=can_approve,
            created_by=by,
        )
        JobEvent.objects.create(
            job=job,
            kind=EventKind.NOTE,
            actor=by,
            subject="guest link",
            from_value=label,
            to_value="shared",
            note="Rights: "
            + ", ".join(link.rights)
            + (f"; expires {expires_at:%Y-%m-%d %H:%M}" if expires_at else "")
            + ("; with a password" if password else ""),
        )
    return link, token


def guest_link_revoke(*, link: GuestLink, by: User) -> GuestLink:
    if not _may_share(by, link.job):
        raise NotAllowed("Only the job's client or a studio manager can revoke this link.")
    with transaction.atomic():
        updated = GuestLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoked_by=by
        )
        if updated:
            JobEvent.objects.create(
                job_id=link.job_id,
                kind=EventKind.NOTE,
                actor=by,
                subject="guest link",
                from_value=link.label,
                to_value="revoked",
            )
    link.refresh_from_db()
    return link


def guest_password_ok(link: GuestLink, password: str) -> bool:
    return not link.password or check_password(password or "", link.password)


def guest_used(link: GuestLink, action: str, note: str = "") -> None:
    """Record a use: the history line and the link's last use."""
    GuestLink.objects.filter(pk=link.pk).update(last_used_at=timezone.now())
    guest_event(link, action, note)


def guest_approve(*, link: GuestLink) -> Job:
    """The guest approves the delivery on behalf of the client who shared it (and who must
    still be the job's client)."""
    if not link.can_approve or link.state() != "active":
        raise NotAllowed("This link cannot approve the delivery.")
    sharer = link.created_by
    if not sharer.is_active or not sharer.is_client_of(link.job):
        raise NotAllowed("The person who shared this link can no longer approve for the client.")
    with transaction.atomic():
        job = job_approve(job=link.job, by=sharer)
        guest_used(link, "approved", f"Approved by {link.label} through the link {sharer} shared.")
    return job
