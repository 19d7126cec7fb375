"""Making a file's lossless review copy (jobs.review.playback), claimed by a conditional
UPDATE so that running the task twice, or twice at once, makes one copy."""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import datetime, timedelta

from django.core.files import File
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from jobs.review.models import CopyStatus, ReviewCopy
from jobs.review.playback import CopyFormat, write_review_copy
from jobs.storage import local_path

MAX_COPY_ATTEMPTS = 3
STALE_CLAIM = timedelta(minutes=30)


def _claim(copy_id: int, now: datetime) -> bool:
    return bool(
        ReviewCopy.objects.filter(pk=copy_id, attempts__lt=MAX_COPY_ATTEMPTS)
        .filter(
            Q(status=CopyStatus.PENDING)
            | Q(status=CopyStatus.MAKING, claimed_at__lt=now - STALE_CLAIM)
        )
        .update(status=CopyStatus.MAKING, claimed_at=now, attempts=F("attempts") + 1)
    )


def review_copy_make(*, copy_id: int) -> str:
    """Make the copy (claimed by a conditional UPDATE, so twice or twice at once gives one):
    "made", "skipped" (someone else has it, or it is done) or "failed" (the reason is kept and
    the original is played instead)."""
    if not _claim(copy_id, timezone.now()):
        return "skipped"
    copy = ReviewCopy.objects.select_related("audio_file").get(pk=copy_id)
    fmt = CopyFormat(copy.container, copy.subtype, copy.note)
    workdir = tempfile.mkdtemp(prefix="headroom-copy-")
    target = os.path.join(workdir, f"review{fmt.extension}")
    try:
        with local_path(copy.audio_file.file) as source:
            written = write_review_copy(source, target, fmt)
        with open(target, "rb") as fh, transaction.atomic():
            copy.file.save(f"review{fmt.extension}", File(fh), save=False)
            ReviewCopy.objects.filter(pk=copy_id, status=CopyStatus.MAKING).update(
                status=CopyStatus.READY,
                file=copy.file.name,
                size_bytes=written.size_bytes,
                sha256=written.sha256,
                finished_at=timezone.now(),
                error="",
            )
    except Exception as exc:  # a file libsndfile cannot copy: keep why; the original plays
        ReviewCopy.objects.filter(pk=copy_id).update(
            status=CopyStatus.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=timezone.now(),
        )
        return "failed"
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return "made"
