"""An upload in progress: the bytes a client has handed in so far for one file, by the resumable
protocol of the storage (tus on local disk, S3 multipart on S3), until it joins the job."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.db import models
from django.db.models import Q
from django.utils import timezone

from jobs.models.labels import ChoiceLabels


class UploadProtocol(models.TextChoices):
    TUS = "tus", "tus"
    S3 = "s3", "S3 multipart"


class UploadState(models.TextChoices):
    OPEN = "open", "Open"
    JOINED = "joined", "Joined the job"
    REFUSED = "refused", "Refused"
    ABANDONED = "abandoned", "Abandoned"


class PartialUpload(ChoiceLabels, models.Model):
    """One file on its way in. `offset` counts the bytes stored in order from the start;
    `bytes_received` counts every byte that reached the server for it (so a resume that resent
    stored bytes shows); `chunks` holds the SHA-256 of each stored run of bytes as it arrived,
    checked against the stored bytes before the file joins the job."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    job = models.ForeignKey("jobs.Job", on_delete=models.CASCADE, related_name="partial_uploads")
    uploaded_by = models.ForeignKey("jobs.User", on_delete=models.CASCADE, related_name="+")
    protocol = models.CharField(max_length=8, choices=UploadProtocol.choices)
    state = models.CharField(max_length=12, choices=UploadState.choices, default="open")
    kind = models.CharField(max_length=16)
    original_name = models.CharField(max_length=400)
    length = models.BigIntegerField()
    offset = models.BigIntegerField(default=0)
    bytes_received = models.BigIntegerField(default=0)
    # Where the bytes are: a path under TUS_UPLOAD_DIR, or the S3 key of the multipart upload.
    storage_key = models.CharField(max_length=300)
    s3_upload_id = models.CharField(max_length=1024, blank=True)
    # The browser's fingerprint of the file (name, size, modification time): a file dropped
    # again after the tab was closed finds its unfinished upload.
    fingerprint = models.CharField(max_length=400, blank=True)
    declared_sha256 = models.CharField(max_length=64, blank=True)
    chunks = models.JSONField(default=list, blank=True)  # [[offset, length, sha256 hex], ...]
    # Set while one request appends bytes; a second one meanwhile gets 423 Locked.
    writing_since = models.DateTimeField(null=True, blank=True)
    refusal = models.TextField(blank=True)
    audio_file = models.ForeignKey(
        "jobs.AudioFile", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "jobs"
        ordering = ["created_at"]
        indexes = [models.Index(fields=["state", "updated_at"], name="partial_upload_sweep")]
        constraints = [
            models.CheckConstraint(
                condition=Q(offset__gte=0) & Q(offset__lte=models.F("length")),
                name="partial_upload_offset_in_file",
            ),
            models.CheckConstraint(
                condition=Q(protocol__in=UploadProtocol.values), name="partial_upload_protocol"
            ),
            models.CheckConstraint(
                condition=Q(state__in=UploadState.values), name="partial_upload_state"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.original_name} {self.offset}/{self.length}"

    def expires_at(self, ttl: timedelta) -> datetime:
        return self.updated_at + ttl
