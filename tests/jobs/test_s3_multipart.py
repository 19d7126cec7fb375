"""Resumable uploads straight to S3 (the loopback S3 server): the server starts the multipart
upload after the caps, signs each request, finds the upload again after the tab was closed
(the parts S3 holds are not sent again), and joins the completed object once it checks out."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest
import requests
from django.test import Client
from django.urls import reverse

from jobs.models import AudioFile, PartialUpload, Role, StudioPolicy, UploadState
from tests.factories import make_job, make_user, wav_bytes
from tests.s3 import s3_client, s3_endpoint, s3_storage

__all__ = ["s3_endpoint", "s3_storage"]  # fixtures

pytestmark = pytest.mark.django_db
PART = 5 * 1024 * 1024


def _as(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _start(c: Client, job: Any, data: bytes, fingerprint: str = "Bass|1|1700000000000") -> Any:
    return c.post(
        reverse("s3_upload_start", args=[job.pk]),
        {
            "name": "Bass - Billie Jean.wav",
            "size": len(data),
            "kind": "stem",
            "fingerprint": fingerprint,
        },
        content_type="application/json",
    )


def _sign(c: Client, job: Any, upload_id: str, **body: Any) -> Any:
    return c.post(
        reverse("s3_upload_sign", args=[job.pk, upload_id]), body, content_type="application/json"
    )


def _put_part(c: Client, job: Any, started: dict[str, str], number: int, data: bytes) -> str:
    url = _sign(
        c, job, started["id"], method="PUT", partNumber=number, uploadId=started["uploadId"]
    )
    response = requests.put(url.json()["url"], data=data, timeout=30)
    assert response.status_code == 200, response.text
    return response.headers["ETag"]


def test_an_interrupted_multipart_upload_resumes_and_joins_verified(
    s3_storage: str,
    s3_endpoint: str,
) -> None:
    job = make_job(track_title="Billie Jean")
    owner = _as(job.created_by)
    data = wav_bytes(40.0)  # about 11.5 MB: three parts
    parts = [data[i : i + PART] for i in range(0, len(data), PART)]
    assert len(parts) == 3

    started = _start(owner, job, data).json()
    first_etag = _put_part(owner, job, started, 1, parts[0])
    # The tab is closed here. Dropped again, the file finds its upload and asks S3 what it has.
    again = _start(owner, job, data).json()
    assert again == started
    listed = requests.get(
        _sign(owner, job, started["id"], method="GET", uploadId=started["uploadId"]).json()["url"],
        timeout=30,
    )
    held = re.findall(r"<PartNumber>(\d+)</PartNumber>", listed.text)
    assert held == ["1"]
    etags = [first_etag] + [_put_part(owner, job, started, n, parts[n - 1]) for n in (2, 3)]

    complete_xml = (
        "<CompleteMultipartUpload>"
        + "".join(
            f"<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>"
            for n, etag in enumerate(etags, start=1)
        )
        + "</CompleteMultipartUpload>"
    )
    signed = _sign(owner, job, started["id"], method="POST", uploadId=started["uploadId"])
    assert requests.post(signed.json()["url"], data=complete_xml, timeout=30).status_code == 200

    joined = owner.post(reverse("s3_upload_join", args=[job.pk, started["id"]]))
    assert joined.status_code == 200, joined.content
    audio = AudioFile.objects.get(job=job)
    assert audio.sha256 == hashlib.sha256(data).hexdigest() == joined.json()["sha256"]
    assert audio.size_bytes == len(data)
    upload = PartialUpload.objects.get(pk=started["id"])
    assert upload.state == UploadState.JOINED
    keys = [
        o["Key"]
        for o in s3_client(s3_endpoint).list_objects_v2(Bucket=s3_storage).get("Contents", [])
    ]
    assert upload.storage_key not in keys  # the upload's object is removed once joined
    assert audio.file.name in keys


def test_completing_before_every_byte_is_in_is_refused(s3_storage: str) -> None:
    job = make_job()
    owner = _as(job.created_by)
    data = wav_bytes(40.0)
    started = _start(owner, job, data).json()
    _put_part(owner, job, started, 1, data[:PART])
    refused = _sign(owner, job, started["id"], method="POST", uploadId=started["uploadId"])
    assert refused.status_code == 409
    assert f"{PART} of the file's {len(data)} bytes" in refused.json()["error"]
    assert owner.post(reverse("s3_upload_join", args=[job.pk, started["id"]])).status_code == 409
    assert not AudioFile.objects.exists()


def test_parts_beyond_the_declared_size_are_not_signed(s3_storage: str) -> None:
    job = make_job()
    owner = _as(job.created_by)
    data = wav_bytes(40.0)
    started = _start(owner, job, data).json()
    beyond = _sign(owner, job, started["id"], method="PUT", partNumber=4, uploadId="x")
    assert beyond.status_code == 400


def test_over_a_cap_nothing_is_started(s3_storage: str, s3_endpoint: str) -> None:
    def open_uploads() -> int:
        found = s3_client(s3_endpoint).list_multipart_uploads(Bucket=s3_storage)
        return len(found.get("Uploads", []))

    before = open_uploads()
    policy = StudioPolicy.current()
    policy.max_file_bytes = 1_000_000
    policy.save()
    job = make_job()
    refused = _start(_as(job.created_by), job, wav_bytes(40.0))
    assert refused.status_code == 413
    assert "per file" in refused.json()["error"]
    assert not PartialUpload.objects.exists()
    assert open_uploads() == before


def test_another_client_gets_404_for_the_job_and_the_upload(s3_storage: str) -> None:
    job = make_job()
    started = _start(_as(job.created_by), job, wav_bytes(1.0)).json()
    outsider = _as(make_user(Role.CLIENT))
    assert _start(outsider, job, wav_bytes(1.0)).status_code == 404
    assert _sign(outsider, job, started["id"], method="GET", uploadId="x").status_code == 404
    assert outsider.post(reverse("s3_upload_join", args=[job.pk, started["id"]])).status_code == 404
