"""The resumable hand-in's HTTP side: tus 1.0.0 on the job's upload endpoint, and the S3
multipart signing endpoints. Only the job's client (or a manager) hands files in; an outsider
gets 404 for the job and for every upload on it."""

from __future__ import annotations

import json
from email.utils import format_datetime
from typing import Any
from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from jobs import s3_multipart
from jobs.access import job_for, partial_upload_for
from jobs.models import Job, PartialUpload, UploadProtocol, UploadState, User
from jobs.tus import (
    CHECKSUM_ALGORITHMS,
    TUS_EXTENSIONS,
    TUS_VERSION,
    TusError,
    expires_at,
    parse_checksum,
    parse_metadata,
    tus_upload_append,
    tus_upload_create,
    tus_upload_terminate,
)
from jobs.uploads import policy_caps
from jobs.views import _require_hand_in


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _hand_in_job(request: HttpRequest, job_id: UUID) -> Job:
    job = job_for(_user(request), job_id)
    _require_hand_in(_user(request), job)
    return job


# --- tus ---------------------------------------------------------------------------------------


def _tus(response: HttpResponse) -> HttpResponse:
    response["Tus-Resumable"] = TUS_VERSION
    response["Cache-Control"] = "no-store"
    return response


def _tus_error(exc: TusError) -> HttpResponse:
    response = HttpResponse(exc.message, status=exc.status, content_type="text/plain")
    if exc.status == 412:
        response["Tus-Version"] = TUS_VERSION
    return _tus(response)


def _int_header(request: HttpRequest, name: str) -> int:
    raw = request.headers.get(name, "")
    if not raw.isdigit():
        raise TusError(400, f"{name} must be a whole number of bytes.")
    return int(raw)


def _check_version(request: HttpRequest) -> None:
    if request.headers.get("Tus-Resumable") != TUS_VERSION:
        raise TusError(412, f"This server speaks tus {TUS_VERSION}.")


@require_http_methods(["OPTIONS", "POST"])
@login_required
def tus_create(request: HttpRequest, job_id: UUID) -> HttpResponse:
    """The job's tus endpoint: OPTIONS tells what the server supports; POST creates an upload
    (Upload-Length, Upload-Metadata with filename and kind)."""
    job = _hand_in_job(request, job_id)
    if request.method == "OPTIONS":
        response = HttpResponse(status=204)
        response["Tus-Version"] = TUS_VERSION
        response["Tus-Extension"] = TUS_EXTENSIONS
        response["Tus-Max-Size"] = str(policy_caps()[0])
        response["Tus-Checksum-Algorithm"] = ",".join(CHECKSUM_ALGORITHMS)
        return _tus(response)
    try:
        _check_version(request)
        if "Upload-Defer-Length" in request.headers:
            raise TusError(400, "Send the file's length when the upload is created.")
        upload = tus_upload_create(
            job=job,
            by=_user(request),
            length=_int_header(request, "Upload-Length"),
            metadata=parse_metadata(request.headers.get("Upload-Metadata", "")),
        )
    except TusError as exc:
        return _tus_error(exc)
    response = HttpResponse(status=201)
    response["Location"] = request.build_absolute_uri(
        reverse("tus_upload", kwargs={"job_id": job.pk, "upload_id": upload.pk})
    )
    response["Upload-Expires"] = format_datetime(expires_at(upload), usegmt=True)
    return _tus(response)


def _offset_response(upload: PartialUpload, status: int) -> HttpResponse:
    response = HttpResponse(status=status)
    response["Upload-Offset"] = str(upload.offset)
    response["Upload-Length"] = str(upload.length)
    if upload.state == UploadState.OPEN:
        response["Upload-Expires"] = format_datetime(expires_at(upload), usegmt=True)
    return _tus(response)


@require_http_methods(["HEAD", "PATCH", "DELETE", "OPTIONS"])
@login_required
def tus_upload(request: HttpRequest, job_id: UUID, upload_id: UUID) -> HttpResponse:
    """One upload: HEAD reads its offset, PATCH appends at Upload-Offset, DELETE cancels it.
    A joined, refused or abandoned upload is gone (404): the client starts a new one."""
    job = _hand_in_job(request, job_id)
    upload = partial_upload_for(_user(request), job, upload_id)
    if request.method == "OPTIONS":
        return _tus(HttpResponse(status=204))
    try:
        _check_version(request)
        if upload.protocol != UploadProtocol.TUS:
            raise TusError(404, "No such upload.")
        if request.method == "HEAD":
            if upload.state != UploadState.OPEN:
                raise TusError(404, upload.refusal or "This upload is no longer open.")
            return _offset_response(upload, 200)
        if request.method == "DELETE":
            tus_upload_terminate(upload=upload)
            return _tus(HttpResponse(status=204))
        if request.content_type != "application/offset+octet-stream":
            raise TusError(415, "Send the bytes as application/offset+octet-stream.")
        length = request.headers.get("Content-Length", "")
        upload = tus_upload_append(
            upload=upload,
            offset=_int_header(request, "Upload-Offset"),
            stream=request,  # type: ignore[arg-type]  # read in blocks, never whole
            content_length=int(length) if length.isdigit() else None,
            checksum=parse_checksum(request.headers.get("Upload-Checksum", "")),
        )
    except TusError as exc:
        return _tus_error(exc)
    return _offset_response(upload, 204)


# --- S3 multipart ------------------------------------------------------------------------------


def _json_body(request: HttpRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise TusError(400, "The request is not JSON.") from None
    if not isinstance(body, dict):
        raise TusError(400, "The request is not a JSON object.")
    return body


def _json_error(exc: TusError) -> JsonResponse:
    return JsonResponse({"error": exc.message}, status=exc.status)


@require_POST
@login_required
def s3_upload_start(request: HttpRequest, job_id: UUID) -> JsonResponse:
    """Start (or find again, by the file's fingerprint) an S3 multipart upload for one file:
    {name, size, kind, fingerprint} -> {id, key, uploadId}, refused over a cap."""
    job = _hand_in_job(request, job_id)
    try:
        body = _json_body(request)
        upload = s3_multipart.s3_upload_start(
            job=job,
            by=_user(request),
            name=str(body.get("name", "")),
            size=int(body.get("size", -1)),
            kind=str(body.get("kind", "")),
            fingerprint=str(body.get("fingerprint", "")),
        )
    except (TypeError, ValueError):
        return _json_error(TusError(400, "Send the file's name, size and kind."))
    except TusError as exc:
        return _json_error(exc)
    return JsonResponse(
        {"id": str(upload.pk), "key": upload.storage_key, "uploadId": upload.s3_upload_id}
    )


@require_POST
@login_required
def s3_upload_sign(request: HttpRequest, job_id: UUID, upload_id: UUID) -> JsonResponse:
    """A presigned URL for one S3 request of this upload (a part, the part list, completing or
    aborting it): {method, partNumber?, complete?} -> {url}."""
    job = _hand_in_job(request, job_id)
    upload = partial_upload_for(_user(request), job, upload_id)
    try:
        body = _json_body(request)
        url = s3_multipart.s3_upload_sign(
            upload=upload,
            method=str(body.get("method", "")),
            part_number=int(body["partNumber"]) if body.get("partNumber") else None,
            has_upload_id=bool(body.get("uploadId")),
        )
    except (TypeError, ValueError):
        return _json_error(TusError(400, "partNumber must be a whole number."))
    except TusError as exc:
        return _json_error(exc)
    return JsonResponse({"url": url, "key": upload.storage_key})


@require_POST
@login_required
def s3_upload_join(request: HttpRequest, job_id: UUID, upload_id: UUID) -> JsonResponse:
    """After the browser completed the multipart upload: check its size and SHA-256, add the
    file to the job and remove the upload's object."""
    job = _hand_in_job(request, job_id)
    upload = partial_upload_for(_user(request), job, upload_id)
    try:
        audio = s3_multipart.s3_upload_join(upload=upload)
    except TusError as exc:
        return _json_error(exc)
    return JsonResponse({"file": str(audio.pk), "version": audio.version, "sha256": audio.sha256})
