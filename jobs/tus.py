"""Resumable uploads by the tus protocol 1.0.0 (core, creation, termination, checksum,
expiration) onto local disk, until the whole file joins its job through `audio_file_add`.

The bytes of an unfinished upload live under UPLOAD_PARTIAL_DIR in a file named by the upload's
id. Each request that appends bytes first claims the upload with a conditional UPDATE on its
offset (a second writer gets 423, a stale offset 409), writes what arrives even if the
connection drops halfway (the client resumes from the last stored byte), and records the
SHA-256 of the run it stored. Before joining, the stored bytes are hashed again and must match
those runs (and the client's declared SHA-256, when it sent one).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db.models import F, Q, Sum
from django.utils import timezone

from jobs.models import AudioFile, FileKind, Job, PartialUpload, UploadProtocol, UploadState, User
from jobs.uploads import UploadError, audio_file_add, safe_original_name, upload_refusal

log = logging.getLogger(__name__)

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,termination,checksum,expiration"
CHECKSUM_ALGORITHMS: dict[str, Callable[[], Any]] = {
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "md5": hashlib.md5,
}
HANDIN_KINDS = frozenset({FileKind.STEM, FileKind.ROUGH_MIX, FileKind.REFERENCE})
_BLOCK = 1024 * 1024
# A writer that has not finished within this long is taken for dead (its connection dropped
# behind a proxy that never told us), so a resume may take the upload over.
WRITER_STALE = timedelta(minutes=5)


@dataclass
class TusError(Exception):
    """A refused request; `status` is the HTTP status the protocol asks for, `message` is for
    the client."""

    status: int
    message: str

    def __str__(self) -> str:
        return self.message


# --- where the bytes are -----------------------------------------------------------------------


def partial_dir() -> Path:
    configured = str(settings.UPLOAD_PARTIAL_DIR)
    return Path(configured) if configured else Path(settings.MEDIA_ROOT) / "partial-uploads"


def partial_path(upload: PartialUpload) -> Path:
    return partial_dir() / upload.storage_key


def abandoned_after() -> timedelta:
    return timedelta(seconds=int(settings.UPLOAD_ABANDONED_AFTER_S))


def expires_at(upload: PartialUpload) -> Any:
    return upload.updated_at + abandoned_after()


# --- the request's headers ---------------------------------------------------------------------


def parse_metadata(header: str) -> dict[str, str]:
    """`Upload-Metadata`: comma-separated `key base64value` pairs (a value may be absent)."""
    found: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in header.split(","))):
        key, _, encoded = pair.partition(" ")
        try:
            found[key] = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise TusError(400, f"The upload's metadata {key!r} is not base64 text.") from None
    return found


def parse_checksum(header: str) -> tuple[str, bytes] | None:
    """`Upload-Checksum: <algorithm> <base64 digest>`, or None when the header is absent."""
    if not header:
        return None
    algorithm, _, encoded = header.strip().partition(" ")
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise TusError(400, f"Checksum algorithm {algorithm!r} is not supported.")
    try:
        return algorithm, base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise TusError(400, "The Upload-Checksum digest is not base64.") from None


# --- creation ----------------------------------------------------------------------------------


def bytes_reserved(job: Job, *, exclude: Any = None) -> int:
    """Bytes promised to the job's uploads still under way (counted against its cap)."""
    open_uploads = PartialUpload.objects.filter(job=job, state=UploadState.OPEN)
    if exclude is not None:
        open_uploads = open_uploads.exclude(pk=exclude)
    return int(open_uploads.aggregate(s=Sum("length"))["s"] or 0)


def handin_refusal(*, job: Job, kind: str, name: str, length: int, exclude: Any = None) -> str:
    """Why a file cannot start its way into the job ("" when it can): the same checks as a
    plain upload, before a byte is written, with the uploads under way counted in."""
    if kind not in HANDIN_KINDS:
        return "Choose whether the file is a stem, the rough mix or a reference."
    return upload_refusal(
        job=job, kind=kind, name=name, size=length, reserved=bytes_reserved(job, exclude=exclude)
    )


def _declared_sha256(metadata: dict[str, str]) -> str:
    value = metadata.get("sha256", "").strip().lower()
    if value and (len(value) != 64 or any(c not in "0123456789abcdef" for c in value)):
        raise TusError(400, "The declared sha256 is not 64 hexadecimal digits.")
    return value


def tus_upload_create(
    *, job: Job, by: User, length: int, metadata: dict[str, str]
) -> PartialUpload:
    """A new upload of `length` bytes, refused (413 for a cap, 400 otherwise) before any byte
    is written. Metadata: `filename` (or `name`), `kind`, optionally `sha256`, `fingerprint`."""
    if length < 0:
        raise TusError(400, "Upload-Length must be a whole number of bytes.")
    name = safe_original_name(metadata.get("filename") or metadata.get("name") or "")
    kind = metadata.get("kind", FileKind.STEM)
    refusal = handin_refusal(job=job, kind=kind, name=name, length=length)
    if refusal:
        raise TusError(413 if "limit" in refusal else 400, refusal)
    upload = PartialUpload(
        job=job,
        uploaded_by=by,
        protocol=UploadProtocol.TUS,
        kind=kind,
        original_name=name,
        length=length,
        fingerprint=metadata.get("fingerprint", "")[:400],
        declared_sha256=_declared_sha256(metadata),
    )
    upload.storage_key = upload.id.hex
    partial_dir().mkdir(parents=True, exist_ok=True)
    partial_path(upload).touch(exist_ok=False)
    upload.save()
    if length == 0:
        tus_upload_join(upload=upload)
    return upload


# --- appending ---------------------------------------------------------------------------------


def _claim(upload: PartialUpload, offset: int) -> None:
    """Take the upload for one append at `offset`, or raise what the protocol says."""
    now = timezone.now()
    claimed = (
        PartialUpload.objects.filter(pk=upload.pk, state=UploadState.OPEN, offset=offset)
        .filter(Q(writing_since__isnull=True) | Q(writing_since__lt=now - WRITER_STALE))
        .update(writing_since=now, updated_at=now)
    )
    if claimed:
        upload.writing_since = now
        return
    upload.refresh_from_db()
    if upload.state != UploadState.OPEN:
        raise TusError(404, "This upload is no longer open; start it again.")
    if upload.offset != offset:
        raise TusError(
            409, f"The upload is at byte {upload.offset}, not {offset}: resume from there."
        )
    raise TusError(423, "Another request is adding to this upload; try again shortly.")


def _read_into(
    fh: IO[bytes], stream: IO[bytes], limit: int, hashers: list[Any]
) -> tuple[int, bool]:
    """Copy up to `limit` bytes; (bytes written, whether the body ended early)."""
    written = 0
    while written < limit:
        try:
            block = stream.read(min(_BLOCK, limit - written))
        except (OSError, ValueError) as exc:  # the client went away mid-body
            log.info("upload body ended early: %s", exc)
            return written, True
        if not block:
            return written, True
        fh.write(block)
        for h in hashers:
            h.update(block)
        written += len(block)
    return written, False


def tus_upload_append(
    *,
    upload: PartialUpload,
    offset: int,
    stream: IO[bytes],
    content_length: int | None,
    checksum: tuple[str, bytes] | None = None,
) -> PartialUpload:
    """Append the request body at `offset`. Bytes that arrived before a dropped connection are
    kept (unless a checksum was sent: then only a whole, matching body is kept). When the last
    byte is in, the file is verified and joins the job."""
    remaining = upload.length - offset
    if content_length is not None and content_length > remaining:
        raise TusError(413, f"The body is longer than the {remaining} bytes left of this upload.")
    _claim(upload, offset)
    limit = remaining if content_length is None else content_length
    sha = hashlib.sha256()
    hashers = [sha]
    check = CHECKSUM_ALGORITHMS[checksum[0]]() if checksum else None
    if check is not None:
        hashers.append(check)
    path = partial_path(upload)
    written = 0
    try:
        with open(path, "r+b") as fh:
            fh.seek(offset)
            fh.truncate()  # anything past the recorded offset was never acknowledged
            written, cut = _read_into(fh, stream, limit, hashers)
            refused = ""
            if check is not None and checksum is not None:
                if cut or check.digest() != checksum[1]:
                    refused = "The chunk's checksum does not match its bytes; send it again."
            if refused:
                fh.seek(offset)
                fh.truncate()
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        PartialUpload.objects.filter(pk=upload.pk).update(
            writing_since=None, bytes_received=F("bytes_received") + written
        )
        raise
    kept = 0 if refused else written
    chunks = [*upload.chunks, [offset, kept, sha.hexdigest()]] if kept else upload.chunks
    PartialUpload.objects.filter(pk=upload.pk).update(
        offset=offset + kept,
        chunks=chunks,
        bytes_received=F("bytes_received") + written,
        writing_since=None,
        updated_at=timezone.now(),
    )
    upload.refresh_from_db()
    if refused:
        raise TusError(460, refused)
    if upload.offset == upload.length:
        tus_upload_join(upload=upload)
    return upload


# --- joining the job ---------------------------------------------------------------------------


def _verified_sha256(upload: PartialUpload, path: Path) -> str:
    """SHA-256 of the stored file, read once; every stored run must hash as it did on arrival."""
    if path.stat().st_size != upload.length:
        raise TusError(460, "The stored file is not as long as the upload; send it again.")
    whole = hashlib.sha256()
    with open(path, "rb") as fh:
        for start, length, digest in sorted(upload.chunks):
            fh.seek(start)
            run = hashlib.sha256()
            left = length
            while left:
                block = fh.read(min(_BLOCK, left))
                if not block:
                    break
                run.update(block)
                whole.update(block)
                left -= len(block)
            if left or run.hexdigest() != digest:
                raise TusError(460, "The stored bytes changed after they arrived; send it again.")
    return whole.hexdigest()


def _refuse(upload: PartialUpload, message: str) -> None:
    PartialUpload.objects.filter(pk=upload.pk).update(
        state=UploadState.REFUSED, refusal=message, updated_at=timezone.now()
    )
    partial_path(upload).unlink(missing_ok=True)
    upload.state = UploadState.REFUSED
    upload.refusal = message


def upload_add_to_job(*, upload: PartialUpload, content: IO[bytes], sha256: str) -> AudioFile:
    """Verified bytes join the job through `audio_file_add`, as every upload does, whichever
    protocol brought them; a refusal there (a cap, the job's state) is a 400 for the client.
    The upload is then marked joined."""
    try:
        audio = audio_file_add(
            job=upload.job,
            content=content,
            name=upload.original_name,
            kind=upload.kind,
            by=upload.uploaded_by,
        )
    except UploadError as exc:
        raise TusError(400, str(exc)) from None
    if audio.sha256 != sha256:  # the file changed between the check and the copy
        log.error("upload %s: stored %s but verified %s", upload.pk, audio.sha256, sha256)
    PartialUpload.objects.filter(pk=upload.pk).update(
        state=UploadState.JOINED, audio_file=audio, updated_at=timezone.now()
    )
    upload.state = UploadState.JOINED
    upload.audio_file = audio
    return audio


def tus_upload_join(*, upload: PartialUpload) -> AudioFile:
    """Verify the size and SHA-256 of the stored bytes, then add them to the job as a new file
    (or a stem's next version). A refusal removes the bytes: the client starts again."""
    path = partial_path(upload)
    try:
        sha256 = _verified_sha256(upload, path)
        if upload.declared_sha256 and sha256 != upload.declared_sha256:
            raise TusError(
                460,
                f"{upload.original_name} arrived with other bytes than were sent; send it again.",
            )
        with open(path, "rb") as fh:
            audio = upload_add_to_job(upload=upload, content=fh, sha256=sha256)
    except TusError as exc:
        _refuse(upload, exc.message)
        raise
    path.unlink(missing_ok=True)
    return audio


def tus_upload_terminate(*, upload: PartialUpload) -> None:
    """The client cancelled: its bytes are removed at once."""
    PartialUpload.objects.filter(pk=upload.pk, state=UploadState.OPEN).update(
        state=UploadState.ABANDONED, updated_at=timezone.now()
    )
    partial_path(upload).unlink(missing_ok=True)
