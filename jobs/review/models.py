"""The review room's rows: each file's waveform peaks (beside its measurement, never inside the
report's JSON) and the lossless review copy of a file the browser cannot play."""

from __future__ import annotations

import uuid
from pathlib import Path

from django.db import models
from django.db.models import Q
from django.utils import timezone

from jobs.models import AudioFile


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


class ReviewCopy(models.Model):
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
