"""Jobs and their files: one track to master, its status and delivery clock, and every uploaded
version of its stems, rough mix, references and masters."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from jobs.models.labels import ChoiceLabels


class JobStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    ANALYSING = "analysing", "Analysing"
    AWAITING_CLIENT = "awaiting_client", "Waiting on client"
    ACCEPTED = "accepted", "Accepted"
    IN_PROGRESS = "in_progress", "In progress"
    DELIVERED = "delivered", "Delivered"
    REVISION_REQUESTED = "revision_requested", "Revision requested"
    APPROVED = "approved", "Approved"
    DECLINED = "declined", "Declined"
    ON_HOLD = "on_hold", "On hold"
    CANCELLED = "cancelled", "Cancelled"


class Verdict(models.TextChoices):
    ACCEPTED = "accepted", "Accepted"
    ACCEPTED_WITH_WARNINGS = "accepted_with_warnings", "Accepted with warnings"
    REEXPORT_REQUESTED = "reexport_requested", "Re-export requested"
    DECLINED = "declined", "Declined"


class DeadlineStatus(models.TextChoices):
    ON_TRACK = "on_track", "On track"
    AT_RISK = "at_risk", "At risk"
    OVERDUE = "overdue", "Overdue"


# The job's status sets, each written once.
# From acceptance to delivery: the delivery clock runs and the stages can be worked on.
CLOCK_RUNNING = frozenset({JobStatus.ACCEPTED, JobStatus.IN_PROGRESS, JobStatus.REVISION_REQUESTED})
CLOSED = frozenset({JobStatus.APPROVED, JobStatus.DECLINED, JobStatus.CANCELLED})
# Before acceptance: a job may be declined here, and there is no clock yet.
PRE_ACCEPTANCE = frozenset(
    {JobStatus.DRAFT, JobStatus.SUBMITTED, JobStatus.ANALYSING, JobStatus.AWAITING_CLIENT}
)
# Waiting on someone outside the studio's work: a started clock stays stopped.
CLOCK_PAUSED = frozenset({JobStatus.AWAITING_CLIENT, JobStatus.ON_HOLD})
# The due date is still ahead of the studio (the board shows a deadline state for these only).
HAS_DEADLINE = CLOCK_RUNNING | CLOCK_PAUSED
# Intake is measuring the files.
INTAKE_RUNNING = frozenset({JobStatus.SUBMITTED, JobStatus.ANALYSING})


class Job(ChoiceLabels, models.Model):
    """One track to master."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        "jobs.Organisation", on_delete=models.PROTECT, related_name="jobs"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="jobs_created"
    )
    track_title = models.CharField(max_length=200)
    artist = models.CharField(max_length=200, blank=True)
    notes = models.TextField(blank=True)
    reference_notes = models.TextField(
        blank=True, help_text="What to take from the references, in the client's words."
    )
    cloud_link = models.URLField(max_length=1000, blank=True)

    status = models.CharField(max_length=24, choices=JobStatus.choices, default=JobStatus.DRAFT)
    status_before_hold = models.CharField(max_length=24, choices=JobStatus.choices, blank=True)
    verdict = models.CharField(max_length=24, choices=Verdict.choices, blank=True)
    verdict_overridden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    verdict_reason = models.TextField(blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    # The delivery clock. Due = accepted + promise + paused time (see jobs/clock.py).
    accepted_at = models.DateTimeField(null=True, blank=True)
    promise_days = models.PositiveSmallIntegerField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_total = models.DurationField(default=timedelta(0))
    revision_round = models.PositiveSmallIntegerField(default=0)
    deadline_status = models.CharField(
        max_length=16, choices=DeadlineStatus.choices, default=DeadlineStatus.ON_TRACK
    )
    predicted_finish_at = models.DateTimeField(null=True, blank=True)
    at_risk_alerted_at = models.DateTimeField(null=True, blank=True)
    overdue_alerted_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at", "created_at"]
        indexes = [models.Index(fields=["status", "due_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=JobStatus.values), name="job_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(verdict="") | Q(verdict__in=Verdict.values), name="job_verdict_valid"
            ),
            models.CheckConstraint(
                condition=Q(deadline_status__in=DeadlineStatus.values),
                name="job_deadline_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(due_at__isnull=True) | Q(accepted_at__isnull=False),
                name="job_due_needs_acceptance",
            ),
            models.CheckConstraint(
                condition=Q(due_at__isnull=True) | Q(due_at__gt=models.F("accepted_at")),
                name="job_due_after_acceptance",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=sorted(s.value for s in CLOCK_RUNNING))
                | Q(accepted_at__isnull=False, due_at__isnull=False),
                name="job_running_has_clock",
            ),
            models.CheckConstraint(
                condition=~Q(status="on_hold") | ~Q(status_before_hold=""),
                name="job_hold_remembers_status",
            ),
            models.CheckConstraint(
                condition=~Q(status="declined") | Q(verdict="declined"),
                name="job_declined_has_verdict",
            ),
            models.CheckConstraint(
                condition=Q(verdict_overridden_by__isnull=True) | ~Q(verdict_reason=""),
                name="job_override_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(track_title__regex=r"\S"), name="job_has_track_title"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.track_title} ({self.artist})" if self.artist else self.track_title

    @property
    def is_closed(self) -> bool:
        return self.status in CLOSED

    @property
    def round_number(self) -> int:
        """The round as people count it: the first delivery is round 1, each revision adds one
        (pages, emails and history all say this number)."""
        return self.revision_round + 1

    @property
    def awaits_acknowledgement(self) -> bool:
        """Intake found minor problems and waits for the client to let the work go ahead."""
        return (
            self.status == JobStatus.AWAITING_CLIENT
            and self.verdict == Verdict.ACCEPTED_WITH_WARNINGS
            and self.acknowledged_at is None
        )

    @property
    def is_workable(self) -> bool:
        """Accepted and not yet delivered: the stages of the current round can be worked on."""
        return self.status in CLOCK_RUNNING

    @property
    def has_deadline_state(self) -> bool:
        """On track / at risk / overdue means something only while the studio owes the work:
        closed, delivered or not yet accepted work has no deadline to keep, so no state."""
        return self.due_at is not None and self.status in HAS_DEADLINE

    @property
    def clock_running(self) -> bool:
        return self.status in CLOCK_RUNNING and self.paused_at is None

    def time_left(self, now: Any = None) -> timedelta | None:
        if self.due_at is None:
            return None
        return self.due_at - (now or timezone.now())

    def is_overdue(self, now: Any = None) -> bool:
        left = self.time_left(now)
        return left is not None and left < timedelta(0) and self.status in CLOCK_RUNNING


class FileKind(models.TextChoices):
    STEM = "stem", "Stem"
    ROUGH_MIX = "rough_mix", "Rough mix"
    REFERENCE = "reference", "Reference"
    MASTER = "master", "Master"
    # A short sample of how the levelled master would sound, sent while the client decides about
    # minor clipping: heard and measured, never delivered, never counted as a master.
    PREVIEW = "preview", "Levelling preview"


# The studio's own files: not the client's hand-in, not counted against the client's storage.
STUDIO_FILE_KINDS = frozenset({FileKind.MASTER, FileKind.PREVIEW})


def audio_upload_to(instance: AudioFile, filename: str) -> str:
    # The client's file name is data, never a path: the stored name is generated.
    return f"jobs/{instance.job_id}/{uuid.uuid4().hex}"


class AudioFile(ChoiceLabels, models.Model):
    """One uploaded file. A re-upload of the same stem is a new version in the same lineage;
    nothing a client uploaded is overwritten."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="files")
    kind = models.CharField(max_length=16, choices=FileKind.choices)
    original_name = models.CharField(max_length=400)
    file = models.FileField(upload_to=audio_upload_to, max_length=300)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.BigIntegerField()
    lineage = models.UUIDField(default=uuid.uuid4, db_index=True)
    version = models.PositiveSmallIntegerField(default=1)
    is_current = models.BooleanField(default=True)
    revision_round = models.PositiveSmallIntegerField(default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["kind", "original_name", "-version"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=FileKind.values), name="file_kind_valid"),
            models.CheckConstraint(condition=Q(version__gte=1), name="file_version_positive"),
            models.CheckConstraint(condition=Q(size_bytes__gte=0), name="file_size_nonnegative"),
            models.CheckConstraint(
                condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="file_sha256_hex"
            ),
            models.UniqueConstraint(fields=["lineage", "version"], name="file_version_once"),
            models.UniqueConstraint(
                fields=["lineage"], condition=Q(is_current=True), name="file_one_current_version"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.original_name} v{self.version}"
