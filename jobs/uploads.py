"""Storing what clients hand in: streamed to storage under generated names, hashed and measured
while written, typed by content, capped per file and per job before the bytes are written.

`CappedUploadHandler` sits first in FILE_UPLOAD_HANDLERS: it counts each file's bytes as they
arrive and skips a file (nothing more of it reaches a temporary file, nothing reaches storage)
once it passes the per-file cap or the job's remaining budget. `audio_file_add` is the one way a
file becomes an `AudioFile`, for browser uploads and cloud links alike; a master is added through
analysis.services.master_add, which also queues its measurement.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from typing import IO, Any
from urllib.parse import quote

from django.conf import settings
from django.core.files import File
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.db import transaction
from django.db.models import Max, Sum
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from analysis.audio.sniff import sniff_file
from analysis.intake.naming import base_name, clean_display_name, normalise
from jobs.models import (
    STUDIO_FILE_KINDS,
    AudioFile,
    EventKind,
    FileKind,
    Job,
    JobEvent,
    JobStatus,
    Organisation,
    StudioPolicy,
)

log = logging.getLogger(__name__)

# The views whose request bodies the cap handler budgets against the job's remaining space.
UPLOAD_URL_NAMES = frozenset({"job_upload", "job_master_upload", "job_preview_upload"})
UPLOADABLE_STATUSES = frozenset({JobStatus.DRAFT, JobStatus.AWAITING_CLIENT})
MAX_NAME = 255
_SLACK = 64 * 1024  # multipart headers and form fields around the files


class UploadError(Exception):
    """A file that cannot be added; the message is meant for the client."""


# --- limits, enforced while bytes arrive -------------------------------------------------------


def policy_caps() -> tuple[int, int]:
    """(per-file cap, per-job cap) in bytes: the studio policy, never above MAX_FILE_BYTES."""
    policy = StudioPolicy.current()
    return min(policy.max_file_bytes, settings.MAX_FILE_BYTES), policy.max_job_bytes


def job_bytes_used(job_id: Any) -> int:
    # Old versions are kept in storage, so they count against the job's cap too.
    return int(AudioFile.objects.filter(job_id=job_id).aggregate(s=Sum("size_bytes"))["s"] or 0)


def client_cap() -> int:
    return int(StudioPolicy.current().max_client_bytes)


def client_bytes_used(organisation_id: Any) -> int:
    """What one client's files take in storage across all its jobs (old versions included);
    masters and levelling previews are the studio's work and do not count."""
    used = (
        AudioFile.objects.filter(job__organisation_id=organisation_id)
        .exclude(kind__in=STUDIO_FILE_KINDS)
        .aggregate(s=Sum("size_bytes"))["s"]
    )
    return int(used or 0)


def client_space_left(job: Job) -> int:
    return client_cap() - client_bytes_used(job.organisation_id)


def _over_client_cap(name: str) -> str:
    return (
        f"{name} was not stored: your files across all jobs would pass the "
        f"{filesizeformat(client_cap())} allowed per client. Ask the studio to make room."
    )


def upload_refusals(request: HttpRequest) -> list[str]:
    """Messages for files the upload handler skipped in this request."""
    return list(getattr(request, "_upload_refusals", []))


class CappedUploadHandler(FileUploadHandler):
    """Counts bytes per file as they arrive and skips a file once it passes a cap, before the
    next handler (memory or temporary file) sees the chunk."""

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.max_file = int(settings.MAX_FILE_BYTES)
        self.budget: int | None = None
        self.client_budget: int | None = None
        self.refuse_all = False
        self.refuse_client = False
        self.seen = 0
        self.total = 0
        match = getattr(request, "resolver_match", None)
        if match is not None and match.url_name in UPLOAD_URL_NAMES:
            self.max_file, job_cap = policy_caps()
            self.budget = job_cap - job_bytes_used(match.kwargs.get("job_id"))
            if match.url_name == "job_upload":  # a client's files; masters are the studio's
                org = Job.objects.filter(pk=match.kwargs.get("job_id")).values_list(
                    "organisation_id", flat=True
                )
                self.client_budget = client_cap() - client_bytes_used(org.first())

    def _refuse(self, message: str) -> None:
        if self.request is not None:
            refusals = getattr(self.request, "_upload_refusals", [])
            refusals.append(message)
            self.request._upload_refusals = refusals  # type: ignore[attr-defined]

    def handle_raw_input(
        self,
        input_data: IO[bytes],
        META: dict[str, str],
        content_length: int,
        boundary: str,
        encoding: str | None = None,
    ) -> None:
        if self.budget is not None and content_length > self.budget + _SLACK:
            # Fields are still parsed (the CSRF token), but no file byte is kept.
            self.refuse_all = True
        elif self.client_budget is not None and content_length > self.client_budget + _SLACK:
            self.refuse_all = True
            self.refuse_client = True
        return None

    def new_file(self, field_name: str, file_name: str, *args: Any, **kwargs: Any) -> None:
        super().new_file(field_name, file_name, *args, **kwargs)
        self.seen = 0
        if self.refuse_all and self.refuse_client:
            self._refuse(_over_client_cap(clean_display_name(file_name)))
            raise SkipFile
        if self.refuse_all:
            self._refuse(
                f"{clean_display_name(file_name)} was not stored: this upload is larger than "
                f"the space left on this job ({filesizeformat(max(self.budget or 0, 0))})."
            )
            raise SkipFile

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.seen += len(raw_data)
        self.total += len(raw_data)
        name = clean_display_name(self.file_name or "")
        if self.seen > self.max_file:
            self._refuse(
                f"{name} was not stored: it is larger than the "
                f"{filesizeformat(self.max_file)} allowed per file."
            )
            raise SkipFile
        if self.budget is not None and self.total > self.budget:
            self._refuse(
                f"{name} was not stored: the job's files would pass the "
                f"{filesizeformat(policy_caps()[1])} allowed per job."
            )
            raise SkipFile
        if self.client_budget is not None and self.total > self.client_budget:
            self._refuse(_over_client_cap(name))
            raise SkipFile
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


# --- storing -----------------------------------------------------------------------------------


class HashingFile(File[bytes]):
    """Wraps an open file: SHA-256 and size are computed from the very bytes storage reads."""

    def __init__(self, file: IO[bytes], name: str) -> None:
        super().__init__(file, name)
        self._src = file
        self._restart()

    def _restart(self) -> None:
        self.sha256 = hashlib.sha256()
        self.bytes_read = 0

    def seek(self, offset: int, whence: int = 0) -> int:
        if offset == 0 and whence == 0:
            self._restart()
        return self._src.seek(offset, whence)

    def read(self, size: int = -1) -> bytes:
        data = self._src.read(size)
        self.sha256.update(data)
        self.bytes_read += len(data)
        return data

    def chunks(self, chunk_size: int | None = None) -> Any:
        self.seek(0)
        while True:
            data = self.read(chunk_size or self.DEFAULT_CHUNK_SIZE)
            if not data:
                break
            yield data

    @property
    def size(self) -> int:  # type: ignore[override]
        pos = self._src.tell()
        self._src.seek(0, 2)
        end = self._src.tell()
        self._src.seek(pos)
        return end


def safe_original_name(name: str) -> str:
    """The client's name, kept as data: no directories, no control or bidi characters, bounded."""
    leaf = clean_display_name(name).replace("\\", "/").rsplit("/", 1)[-1].strip()
    leaf = leaf.lstrip(".") or "unnamed"
    return leaf[:MAX_NAME]


def attachment_disposition(name: str) -> str:
    """`Content-Disposition: attachment` under the client's name (RFC 6266): an ASCII
    `filename` fallback for old clients and the exact name as `filename*` (RFC 8187). Neither
    can name a directory or carry quotes, control or bidi-override characters."""
    leaf = safe_original_name(name)
    fallback = "".join(ch if " " <= ch <= "~" and ch not in '"\\%;' else "_" for ch in leaf)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(leaf, safe='')}"


def _lineage_match(job: Job, kind: str, name: str) -> AudioFile | None:
    current = AudioFile.objects.filter(job=job, kind=kind, is_current=True)
    if kind == FileKind.MASTER:
        # A round's masters are what that round delivered: a new round starts new lineages,
        # so the masters a client already received stay as they were.
        current = current.filter(revision_round=job.revision_round)
    if kind == FileKind.ROUGH_MIX:
        return current.order_by("-uploaded_at").first()  # one rough mix: a new one replaces it
    key = normalise(base_name(name))
    for f in current:
        if normalise(base_name(f.original_name)) == key:
            return f
    return None


def _status_refusal(job: Job, kind: str) -> str:
    """Why files of this kind cannot be added to the job now ("" when they can): clients hand
    files in while the job is a draft or waiting on them; masters come while it is in progress."""
    status = job.get_status_display().lower()
    if kind == FileKind.MASTER:
        if job.status != JobStatus.IN_PROGRESS:
            return (
                f"Masters can be uploaded while the job is in progress, not while it is {status}."
            )
        return ""
    if kind == FileKind.PREVIEW:
        if not job.awaits_acknowledgement:
            return (
                "A levelling preview can be sent while the job waits on the client over minor "
                f"clipping, not while it is {status}"
                + (f" ({job.get_verdict_display().lower()})." if job.verdict else ".")
            )
        return ""
    if job.status not in UPLOADABLE_STATUSES:
        return (
            f"Files can be added while the job is a draft or waiting on you, not while it is "
            f"{status}."
        )
    return ""


def upload_refusal(*, job: Job, kind: str, name: str, size: int, reserved: int = 0) -> str:
    """Why a file of `size` bytes cannot be added to the job now ("" when it can): its kind,
    the job's state, the cap per file and the cap per job (`reserved`: bytes promised to
    uploads still under way). Checked before any byte of the file is written."""
    if kind not in FileKind.values:
        return "Choose whether the file is a stem, the rough mix or a reference."
    refusal = _status_refusal(job, kind)
    if refusal:
        return refusal
    original = safe_original_name(name)
    max_file, max_job = policy_caps()
    if size > max_file:
        return (
            f"{original} is {filesizeformat(size)}; the limit is {filesizeformat(max_file)} "
            "per file."
        )
    if job_bytes_used(job.pk) + reserved + size > max_job:
        return f"{original} would take this job past its {filesizeformat(max_job)} limit."
    if kind not in STUDIO_FILE_KINDS and reserved + size > client_space_left(job):
        return _over_client_cap(original)
    return ""


def audio_file_add(
    *, job: Job, content: IO[bytes], name: str, kind: str, by: Any, declared_size: int | None = None
) -> AudioFile:
    """Store one file for a job. A stem (or reference) with the name of a current one becomes its
    next version and the old one is kept; the rough mix is one lineage; a master with the name of
    a current master of the round is its next version. Nothing is measured here: intake measures
    a submission's files, and analysis.services.master_add measures a master. Who may add which
    kind is the caller's check. Raises UploadError."""
    original = safe_original_name(name)
    max_job = policy_caps()[1]
    wrapped = HashingFile(content, original)
    size = declared_size if declared_size is not None else wrapped.size
    refusal = upload_refusal(job=job, kind=kind, name=original, size=size)
    if refusal:
        raise UploadError(refusal)
    detected = sniff_file(content)  # read from the file itself, so the hash starts afresh
    wrapped.seek(0)

    audio = AudioFile(job=job, kind=kind, original_name=original, uploaded_by=by)
    audio.file.save(original, wrapped, save=False)  # the stored name is generated (upload_to)
    try:
        if wrapped.bytes_read != size and declared_size is None:
            raise UploadError(f"{original} changed while it was being stored; upload it again.")
        with transaction.atomic():
            if kind not in STUDIO_FILE_KINDS:
                # The client's row first: two uploads to two of its jobs are counted one by one.
                Organisation.objects.select_for_update().filter(pk=job.organisation_id).first()
                if wrapped.bytes_read > client_space_left(job):
                    raise UploadError(_over_client_cap(original))
            locked = Job.objects.select_for_update().get(pk=job.pk)
            if _status_refusal(locked, kind):
                raise UploadError(
                    f"The job became {locked.get_status_display().lower()} meanwhile; "
                    f"{original} was not added."
                )
            if job_bytes_used(job.pk) + wrapped.bytes_read > max_job:
                raise UploadError(
                    f"{original} would take this job past its {filesizeformat(max_job)} limit."
                )
            previous = _lineage_match(locked, kind, original)
            audio.sha256 = wrapped.sha256.hexdigest()
            audio.size_bytes = wrapped.bytes_read
            audio.revision_round = locked.revision_round
            audio.uploaded_at = timezone.now()
            if previous is not None:
                AudioFile.objects.filter(pk=previous.pk).update(is_current=False)
                top = AudioFile.objects.filter(lineage=previous.lineage).aggregate(
                    v=Max("version")
                )["v"]
                audio.lineage = previous.lineage
                audio.version = int(top or 0) + 1
            else:
                audio.lineage = uuid.uuid4()
            audio.save()
            JobEvent.objects.create(
                job=locked,
                actor=by,
                kind=EventKind.FILE,
                subject=original[:64],
                from_value=f"v{previous.version}" if previous else "",
                to_value=f"v{audio.version} {audio.get_kind_display().lower()}",
                note="" if detected.lossless else f"content: {detected.label}",
            )
    except BaseException:
        audio.file.storage.delete(audio.file.name)
        raise
    audio.detected_type = detected.container  # type: ignore[attr-defined]
    return audio
