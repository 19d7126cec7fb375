"""Resumable uploads straight to S3 by multipart upload with presigned parts, when files are
stored on S3: the browser sends each part to the bucket; the server starts the upload (after
the caps), signs each request, and joins the completed object to the job once its size and
parts check out.

A file dropped again after the tab was closed finds its unfinished upload by the browser's
fingerprint, and the parts S3 already holds are not sent again.
"""

from __future__ import annotations

import hashlib
import logging
import math
import tempfile
import uuid
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.core.files.storage import default_storage
from django.utils import timezone

from jobs.models import AudioFile, Job, PartialUpload, UploadProtocol, UploadState, User
from jobs.tus import TusError, handin_refusal, upload_add_to_job
from jobs.uploads import safe_original_name

log = logging.getLogger(__name__)

MIN_PART = 5 * 1024 * 1024  # S3's smallest part (all but the last)
MAX_PARTS = 10_000
SIGNED_FOR_S = 3600
_BLOCK = 1024 * 1024


def s3_active() -> bool:
    """Whether files are stored on S3 (then the browser uploads there directly)."""
    return hasattr(default_storage, "bucket_name")


def _client() -> Any:
    return default_storage.bucket.meta.client  # type: ignore[attr-defined]


def _bucket() -> str:
    return str(default_storage.bucket_name)  # type: ignore[attr-defined]


def _open(upload: PartialUpload) -> None:
    if upload.state != UploadState.OPEN or upload.protocol != UploadProtocol.S3:
        raise TusError(404, upload.refusal or "This upload is no longer open; start it again.")


def s3_upload_start(
    *, job: Job, by: User, name: str, size: int, kind: str, fingerprint: str
) -> PartialUpload:
    """The file's unfinished upload (same fingerprint, size and kind) or a new multipart
    upload, refused over a cap before any byte is sent."""
    if not s3_active():
        raise TusError(404, "Files are not stored on S3 here.")
    if size < 0:
        raise TusError(400, "Send the file's size in bytes.")
    original = safe_original_name(name)
    earlier = (
        PartialUpload.objects.filter(
            job=job,
            uploaded_by=by,
            protocol=UploadProtocol.S3,
            state=UploadState.OPEN,
            fingerprint=fingerprint[:400],
            length=size,
            kind=kind,
        ).first()
        if fingerprint
        else None
    )
    refusal = handin_refusal(
        job=job, kind=kind, name=original, length=size, exclude=earlier.pk if earlier else None
    )
    if refusal:
        raise TusError(413 if "limit" in refusal else 400, refusal)
    if earlier is not None:
        return earlier
    key = f"partial-uploads/{job.pk}/{uuid.uuid4().hex}"
    try:
        created = _client().create_multipart_upload(Bucket=_bucket(), Key=key)
    except (BotoCoreError, ClientError):
        log.exception("S3 refused to start a multipart upload")
        raise TusError(503, "The file store is not answering; try again in a minute.") from None
    return PartialUpload.objects.create(
        job=job,
        uploaded_by=by,
        protocol=UploadProtocol.S3,
        kind=kind,
        original_name=original,
        length=size,
        storage_key=key,
        s3_upload_id=created["UploadId"],
        fingerprint=fingerprint[:400],
    )


def _parts(upload: PartialUpload) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    marker = 0
    while True:
        page = _client().list_parts(
            Bucket=_bucket(),
            Key=upload.storage_key,
            UploadId=upload.s3_upload_id,
            PartNumberMarker=marker,
        )
        parts.extend(page.get("Parts", []))
        if not page.get("IsTruncated"):
            return parts
        marker = int(page["NextPartNumberMarker"])


def s3_upload_sign(
    *, upload: PartialUpload, method: str, part_number: int | None, has_upload_id: bool
) -> str:
    """A presigned URL for one request the browser makes to S3 for this upload. Parts are
    signed only within the file's declared size; completing is signed only when the stored
    parts add up to exactly that size."""
    _open(upload)
    ident: dict[str, Any] = {
        "Bucket": _bucket(),
        "Key": upload.storage_key,
        "UploadId": upload.s3_upload_id,
    }
    operation: str
    if method == "PUT" and part_number is not None:
        most = min(MAX_PARTS, max(1, math.ceil(upload.length / MIN_PART)))
        if not 1 <= part_number <= most:
            raise TusError(400, f"Part {part_number} is beyond the end of the file.")
        operation, ident = "upload_part", {**ident, "PartNumber": part_number}
    elif method == "GET":
        operation = "list_parts"
    elif method == "POST" and has_upload_id:
        parts = _parts(upload)
        stored = sum(int(p["Size"]) for p in parts)
        if stored != upload.length:
            raise TusError(
                409, f"S3 holds {stored} of the file's {upload.length} bytes; send the rest."
            )
        PartialUpload.objects.filter(pk=upload.pk).update(
            chunks=[[int(p["PartNumber"]), int(p["Size"]), p["ETag"]] for p in parts],
            offset=stored,
            updated_at=timezone.now(),
        )
        operation = "complete_multipart_upload"
    elif method == "DELETE" and has_upload_id:
        PartialUpload.objects.filter(pk=upload.pk).update(
            state=UploadState.ABANDONED, updated_at=timezone.now()
        )
        operation = "abort_multipart_upload"
    else:
        raise TusError(400, "That request is not part of an upload.")
    PartialUpload.objects.filter(pk=upload.pk).update(updated_at=timezone.now())
    return str(_client().generate_presigned_url(operation, Params=ident, ExpiresIn=SIGNED_FOR_S))


def _etag_of(part_md5s: list[bytes]) -> str:
    """The ETag S3 gives a multipart object: MD5 of the parts' MD5s, dash, part count."""
    return f'"{hashlib.md5(b"".join(part_md5s)).hexdigest()}-{len(part_md5s)}"'


def _download_verified(upload: PartialUpload, into: Any) -> str:
    """Copy the completed object into `into`, checking its size and that its parts hash to the
    object's ETag; returns its SHA-256."""
    head = _client().head_object(Bucket=_bucket(), Key=upload.storage_key)
    if int(head["ContentLength"]) != upload.length:
        raise TusError(460, "The stored file is not as long as the upload; send it again.")
    body = _client().get_object(Bucket=_bucket(), Key=upload.storage_key)["Body"]
    whole = hashlib.sha256()
    md5s = []
    for _number, size, _etag in sorted(upload.chunks):
        part = hashlib.md5()
        left = int(size)
        while left:
            block = body.read(min(_BLOCK, left))
            if not block:
                raise TusError(460, "The stored file ended early; send it again.")
            part.update(block)
            whole.update(block)
            into.write(block)
            left -= len(block)
        md5s.append(part.digest())
    if upload.chunks and _etag_of(md5s) != head["ETag"]:
        raise TusError(460, "The stored parts changed after they arrived; send it again.")
    into.flush()
    into.seek(0)
    return whole.hexdigest()


def _remove_object(upload: PartialUpload) -> None:
    try:
        _client().delete_object(Bucket=_bucket(), Key=upload.storage_key)
    except (BotoCoreError, ClientError):
        log.warning("could not remove %s; the sweep tries again", upload.storage_key)


def _refuse(upload: PartialUpload, message: str) -> None:
    PartialUpload.objects.filter(pk=upload.pk).update(
        state=UploadState.REFUSED, refusal=message, updated_at=timezone.now()
    )
    _remove_object(upload)


def s3_upload_join(*, upload: PartialUpload) -> AudioFile:
    """Add the completed object to the job as a new file (or a stem's next version), through
    the same `audio_file_add` as every other upload, then remove the upload's object."""
    _open(upload)
    if not upload.chunks:
        raise TusError(409, "The upload is not complete yet.")
    try:
        with tempfile.TemporaryFile() as spool:
            sha256 = _download_verified(upload, spool)
            audio = upload_add_to_job(upload=upload, content=spool, sha256=sha256)
    except TusError as exc:
        _refuse(upload, exc.message)
        raise
    except (BotoCoreError, ClientError):
        log.exception("S3 failed while joining upload %s", upload.pk)
        raise TusError(503, "The file store is not answering; try again in a minute.") from None
    _remove_object(upload)
    return audio


def s3_upload_abort(*, upload: PartialUpload) -> None:
    """Abort the multipart upload in S3 (its parts are removed) and its object, if any."""
    try:
        _client().abort_multipart_upload(
            Bucket=_bucket(), Key=upload.storage_key, UploadId=upload.s3_upload_id
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("NoSuchUpload", "404"):
            raise
    _remove_object(upload)
