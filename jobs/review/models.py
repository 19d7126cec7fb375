"""The review room's rows: each file's waveform peaks (beside its measurement, never inside the
report's JSON), the lossless review copy of a file the browser cannot play, comments pinned to
the track, and guest links."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path

from django.db import models
from django.db.models import Q
from django.utils import timezone

from jobs.models import AudioFile, Job, User
from jobs.models.labels import ChoiceLabels


class FilePeaks(models.Model):
    """Waveform peaks of one file version, from its measuring pass: `data` is
    analysis.audio.peaks.Peaks.to_bytes() (tens of KB, read only by the peaks endpoint);
    `overview` a few hundred columns and the loudness over time, for the pages' small SVG."""

    audio_file = models.OneToOneField(AudioFile, on_delete=models.CASCADE, related_name="peaks")
    data = models.BinaryField()
    overview = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "file peaks"

    def __str__(self) -> str:
        return f"Peaks of {self.audio_file}"


def review_copy_upload_to(instance: ReviewCopy, filename: str) -> str:
    return f"jobs/{instance.audio_file.job_id}/review/{uuid.uuid4().hex}{Path(filename).suffix}"


class CopyStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    MAKING = "making", "Being made"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class ReviewCopy(ChoiceLabels, models.Model):
    """A lossless copy of a file the browser cannot play as it is (jobs.review.playback), made
    by a task; the original stays untouched and is what downloads and deliveries send."""

    audio_file = models.OneToOneField(
        AudioFile, on_delete=models.CASCADE, related_name="review_copy"
    )
    container = models.CharField(max_length=8)
    subtype = models.CharField(max_length=16)
    note = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=8, choices=CopyStatus.choices, default=CopyStatus.PENDING)
    file = models.FileField(upload_to=review_copy_upload_to, max_length=300, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=CopyStatus.values), name="review_copy_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status="ready") | (~Q(file="") & Q(sha256__regex=r"^[0-9a-f]{64}$")),
                name="review_copy_ready_has_file",
            ),
        ]

    def __str__(self) -> str:
        return f"Review copy of {self.audio_file} ({self.container} {self.subtype})"


class Visibility(models.TextChoices):
    CLIENT = "client", "Shared with the client"
    INTERNAL = "internal", "Studio only"


class GuestLink(models.Model):
    """A delivery shared with someone who has no account (the artist of a label client): the
    link's long random token is the credential (only its SHA-256 is kept), with an optional
    password and expiry and its own rights. Listening is always allowed; the rest is granted."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="guest_links")
    label = models.CharField(max_length=200, help_text="Who the link is for, e.g. the artist.")
    token_hash = models.CharField(max_length=64, unique=True)
    token_hint = models.CharField(max_length=8)  # the token's last characters, to tell links apart
    password = models.CharField(max_length=200, blank=True)  # a Django password hash, or ""
    expires_at = models.DateTimeField(null=True, blank=True)
    can_comment = models.BooleanField(default=False)
    can_download = models.BooleanField(default=False)
    can_approve = models.BooleanField(default=False)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(label__regex=r"\S"), name="guest_link_has_label"),
            models.CheckConstraint(
                condition=Q(token_hash__regex=r"^[0-9a-f]{64}$"), name="guest_link_token_hash"
            ),
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True) | Q(revoked_by__isnull=False),
                name="guest_link_revoked_by_someone",
            ),
        ]

    def __str__(self) -> str:
        return f"Guest link for {self.label} ({self.job})"

    @property
    def has_password(self) -> bool:
        return bool(self.password)

    def state(self, now: datetime | None = None) -> str:
        """ "active", "revoked" or "expired"."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= (now or timezone.now()):
            return "expired"
        return "active"

    @property
    def rights(self) -> list[str]:
        granted = ["listen"]
        granted += [r for r in ("comment", "download", "approve") if getattr(self, f"can_{r}")]
        return granted


class Comment(ChoiceLabels, models.Model):
    """A comment pinned to a moment (`end_s` empty) or a range of one file version, in the
    revision round it was written in. Replies hang off a top-level comment and share its place
    and visibility. Written by a user or by a guest through a link."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="comments")
    audio_file = models.ForeignKey(
        AudioFile, on_delete=models.CASCADE, related_name="review_comments"
    )
    revision_round = models.PositiveSmallIntegerField()
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies"
    )
    author = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    guest = models.ForeignKey(
        GuestLink, null=True, blank=True, on_delete=models.PROTECT, related_name="comments"
    )
    visibility = models.CharField(
        max_length=8, choices=Visibility.choices, default=Visibility.CLIENT
    )
    start_s = models.FloatField()
    end_s = models.FloatField(null=True, blank=True)
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The round the client's revision request (made of these comments) opened.
    requested_in_round = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["audio_file", "start_s", "created_at"]
        indexes = [models.Index(fields=["job", "resolved_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(visibility__in=Visibility.values), name="comment_visibility_valid"
            ),
            models.CheckConstraint(condition=Q(start_s__gte=0), name="comment_start_nonnegative"),
            models.CheckConstraint(
                condition=Q(end_s__isnull=True) | Q(end_s__gt=models.F("start_s")),
                name="comment_range_forward",
            ),
            models.CheckConstraint(
                condition=Q(author__isnull=False) | Q(guest__isnull=False),
                name="comment_has_author",
            ),
            models.CheckConstraint(condition=Q(text__regex=r"\S"), name="comment_has_text"),
        ]

    def __str__(self) -> str:
        return f"Comment at {self.start_s:.3f} s on {self.audio_file}"

    @property
    def is_range(self) -> bool:
        return self.end_s is not None

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None

    @property
    def author_name(self) -> str:
        if self.author is not None:
            return self.author.get_full_name() or self.author.username
        return f"{self.guest.label} (guest)" if self.guest is not None else ""
