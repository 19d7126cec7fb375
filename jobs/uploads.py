"""Storing what clients hand in: streamed to storage under generated names, hashed and measured
while written, typed by content, capped per file and per job before the bytes are written.

`CappedUploadHandler` sits first in FILE_UPLOAD_HANDLERS: it counts each file's bytes as they
arrive and skips a file (nothing more of it reaches a temporary file, nothing reaches storage)
once it passes the per-file cap or the job's remaining budget. `audio_file_add` is the one way a
file becomes an `AudioFile`, for browser uploads and cloud links alike.
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

from analysis.intake.naming import base_name, clean_display_name, normalise
from analysis.services import master_measure_start
from jobs.models import AudioFile, EventKind, FileKind, Job, JobEvent, JobStatus, StudioPolicy

log = logging.getLogger(__name__)

# The views whose request bodies the cap handler budgets against the job's remaining space.
UPLOAD_URL_NAMES = frozenset({"job_upload", "job_master_upload"})
UPLOADABLE_STATUSES = frozenset({JobStatus.DRAFT, JobStatus.AWAITING_CLIENT})
MAX_NAME = 255
_SLACK = 64 * 1024  # multipart headers and form fields around the files


class UploadError(Exception):
    """A file that cannot be added; the message is meant for the client."""


# --- what the bytes are ------------------------------------------------------------------------

_AUDIO_TYPES = {"WAV", "RF64", "W64", "AIFF", "FLAC"}


def sniff_type(head: bytes) -> str:
    """The file type from its first bytes (never the name or the Content-Type)."""
    if len(head) >= 12 and head[8:12] == b"WAVE" and head[:4] in (b"RIFF", b"RIFX", b"RF64"):
        return "RF64" if head[:4] == b"RF64" else "WAV"
    if head[:4] == b"BW64" and head[8:12] == b"WAVE":
        return "RF64"
    if head[:4] == b"riff" and head[24:28] == b"wave":
        return "W64"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "AIFF"
    if head[:4] == b"fLaC":
        return "FLAC"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        if len(head) > 1 and head[1] & 0xF6 in (0xF0,):
            return "AAC"
        return "MP3"
    if head[:4] == b"OggS":
        return "OGG"
    if head[4:8] == b"ftyp":
        return "MP4/AAC"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "ZIP"
    if head[:4] == b"%PDF":
        return "PDF"
    text = head[:512].lstrip().lower()
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<script")):
        return "HTML"
    return "unknown"


def is_audio_type(kind: str) -> bool:
    return kind in _AUDIO_TYPES


def describe_type(kind: str) -> str:
    if is_audio_type(kind):
        return f"{kind} audio"
    if kind in ("MP3", "OGG", "AAC", "MP4/AAC"):
        return f"{kind} (lossy audio)"
    if kind == "unknown":
        return "not a recognised audio file"
    return f"a {kind} file, not audio"


# --- limits, enforced while bytes arrive -------------------------------------------------------


def policy_caps() -> tuple[int, int]:
    """(per-file cap, per-job cap) in bytes: the studio policy, never above MAX_FILE_BYTES."""
    policy = StudioPolicy.current()
    return min(policy.max_file_bytes, settings.MAX_FILE_BYTES), policy.max_job_bytes


def job_bytes_used(job_id: Any) -> int:
    # Old versions are kept in storage, so they count against the job's cap too.
    return int(AudioFile.objects.filter(job_id=job_id).aggregate(s=Sum("size_bytes"))["s"] or 0)


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
        self.refuse_all = False
        self.seen = 0
        self.total = 0
        match = getattr(request, "resolver_match", None)
        if match is not None and match.url_name in UPLOAD_URL_NAMES:
            self.max_file, job_cap = policy_caps()
            self.budget = job_cap - job_bytes_used(match.kwargs.get("job_id"))

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
        return None

    def new_file(self, field_name: str, file_name: str, *args: Any, **kwargs: Any) -> None:
        super().new_file(field_name, file_name, *args, **kwargs)
        self.seen = 0
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
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


# --- storing -----------------------------------------------------------------------------------


class HashingFile(File):
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
    return ""


def audio_file_add(
    *, job: Job, content: IO[bytes], name: str, kind: str, by: Any, declared_size: int | None = None
) -> AudioFile:
    """Store one file for a job. A stem (or reference) with the name of a current one becomes its
    next version and the old one is kept; the rough mix is one lineage; a master with the name of
    a current master of the round is its next version. A master is queued for measuring after
    the commit. Who may add which kind is the caller's check. Raises UploadError."""
    original = safe_original_name(name)
    max_job = policy_caps()[1]
    wrapped = HashingFile(content, original)
    size = declared_size if declared_size is not None else wrapped.size
    refusal = upload_refusal(job=job, kind=kind, name=original, size=size)
    if refusal:
        raise UploadError(refusal)
    wrapped.seek(0)
    head = content.read(4096)
    detected = sniff_type(head)
    wrapped.seek(0)

    audio = AudioFile(job=job, kind=kind, original_name=original, uploaded_by=by)
    audio.file.save(original, wrapped, save=False)  # the stored name is generated (upload_to)
    try:
        if wrapped.bytes_read != size and declared_size is None:
            raise UploadError(f"{original} changed while it was being stored; upload it again.")
        with transaction.atomic():
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
                note="" if is_audio_type(detected) else f"content: {describe_type(detected)}",
            )
            if kind == FileKind.MASTER:
                # Measured at once (after the commit), by the same pipeline as intake.
                master_measure_start(master=audio)
    except BaseException:
        audio.file.storage.delete(audio.file.name)
        raise
    audio.detected_type = detected  # type: ignore[attr-defined]
    return audio
