"""Removing abandoned uploads: bytes of an upload nobody added to for a day are deleted (the
partial file, or the S3 multipart upload's parts), and old upload records are dropped."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from botocore.exceptions import BotoCoreError, ClientError
from django.db.models import Q
from django.utils import timezone

from jobs.models import PartialUpload, UploadProtocol, UploadState
from jobs.s3_multipart import s3_upload_abort
from jobs.tus import WRITER_STALE, abandoned_after, partial_path

log = logging.getLogger(__name__)

# Finished records are kept a while: they say how many bytes each upload took.
KEEP_RECORDS = timedelta(days=30)


def partial_uploads_sweep(*, now: datetime | None = None) -> int:
    """Abandon and remove the open uploads untouched for UPLOAD_ABANDONED_AFTER_S (never one a
    request is writing to); returns how many were removed."""
    now = now or timezone.now()
    stale = PartialUpload.objects.filter(
        state=UploadState.OPEN, updated_at__lt=now - abandoned_after()
    ).filter(Q(writing_since__isnull=True) | Q(writing_since__lt=now - WRITER_STALE))
    removed = 0
    for upload in stale:
        # Claimed first, so a resume arriving now either wins (and the sweep skips it) or
        # finds the upload gone and starts again.
        claimed = PartialUpload.objects.filter(
            pk=upload.pk, state=UploadState.OPEN, updated_at=upload.updated_at
        ).update(state=UploadState.ABANDONED, refusal="Abandoned: nothing arrived for a day.")
        if not claimed:
            continue
        if upload.protocol == UploadProtocol.TUS:
            partial_path(upload).unlink(missing_ok=True)
        else:
            try:
                s3_upload_abort(upload=upload)
            except (BotoCoreError, ClientError):
                log.exception("could not abort the S3 upload %s", upload.pk)
                continue
        removed += 1
    PartialUpload.objects.exclude(state=UploadState.OPEN).filter(
        updated_at__lt=now - KEEP_RECORDS
    ).delete()
    return removed
