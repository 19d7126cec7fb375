"""Resumable uploads by tus 1.0.0: an independent client (tuspy) against the live server,
including a resume after a dropped connection that sends no stored byte twice, and the bad
input that must be refused (stale offset, over a cap, another client's job, changed bytes)."""

from __future__ import annotations

import base64
import hashlib
import io
import socket
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from tusclient import client as tus_client
from tusclient.exceptions import TusCommunicationError

from analysis.models import IntakeReport
from jobs.models import AudioFile, JobStatus, PartialUpload, Role, StudioPolicy, UploadState, User
from jobs.tus import partial_dir
from jobs.upload_sweep import partial_uploads_sweep
from tests.factories import make_job, make_user, wav_bytes

TUS = {"Tus-Resumable": "1.0.0"}


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _metadata(name: str, kind: str = "stem", **extra: str) -> str:
    return ",".join(f"{k} {_b64(v)}" for k, v in {"filename": name, "kind": kind, **extra}.items())


def _session_headers(base_url: str, user: User, job: Any) -> dict[str, str]:
    """Cookie and CSRF header of a logged-in browser, for a client outside Django's test
    client."""
    c = Client()
    c.force_login(user)
    with requests.Session() as session:  # closed, so no connection outlives the test
        session.cookies.set("sessionid", c.cookies["sessionid"].value)
        session.get(base_url + reverse("job_detail", args=[job.pk]), timeout=10)
        token = session.cookies["csrftoken"]
    return {
        "Cookie": f"sessionid={c.cookies['sessionid'].value}; csrftoken={token}",
        "X-CSRFToken": token,
    }


def _endpoint(base_url: str, job: Any) -> str:
    return base_url + reverse("tus_create", args=[job.pk])


def _upload_of(url: str) -> PartialUpload:
    return PartialUpload.objects.get(pk=url.rstrip("/").rsplit("/", 1)[-1])


def _cut_patch(url: str, headers: dict[str, str], offset: int, body: bytes, sent: int) -> None:
    """A PATCH that promises `body` but sends only its first `sent` bytes, then the connection
    drops (as a phone leaving Wi-Fi does)."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        head = [
            f"PATCH {parts.path} HTTP/1.1",
            f"Host: {parts.netloc}",
            "Tus-Resumable: 1.0.0",
            "Content-Type: application/offset+octet-stream",
            f"Upload-Offset: {offset}",
            f"Content-Length: {len(body)}",
            "Connection: close",
            *(f"{k}: {v}" for k, v in headers.items()),
        ]
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body[:sent])
        sock.shutdown(socket.SHUT_WR)  # nothing more is coming
        while sock.recv(65536):  # until the server has answered and let go
            pass


def _wait_settled(upload: PartialUpload, *, timeout: float = 10.0) -> PartialUpload:
    """The server notices the dropped connection on its own thread; wait until it has
    recorded what it stored."""
    before = upload.bytes_received
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        upload.refresh_from_db()
        if upload.writing_since is None and upload.bytes_received > before:
            return upload
        time.sleep(0.05)
    raise AssertionError("the server never recorded the interrupted body")


# --- an independent client against the live server ---------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_tuspy_uploads_a_stem_that_joins_the_job_verified(live_server: Any) -> None:
    job = make_job(track_title="Billie Jean")
    data = wav_bytes(2.0)
    headers = _session_headers(live_server.url, job.created_by, job)
    uploader = tus_client.TusClient(_endpoint(live_server.url, job), headers=headers).uploader(
        file_stream=io.BytesIO(data),
        chunk_size=len(data) // 3 + 1,
        metadata={"filename": "Bass - Billie Jean.wav", "kind": "stem"},
        upload_checksum=True,  # sha1 per chunk, the checksum extension
    )
    uploader.upload()

    upload = _upload_of(uploader.url)
    assert upload.state == UploadState.JOINED
    audio = AudioFile.objects.get(job=job)
    assert upload.audio_file == audio
    assert (audio.original_name, audio.kind, audio.size_bytes) == (
        "Bass - Billie Jean.wav",
        "stem",
        len(data),
    )
    assert audio.sha256 == hashlib.sha256(data).hexdigest()
    assert audio.file.read() == data
    assert len(upload.chunks) == 3
    assert upload.bytes_received == len(data)
    assert not list(partial_dir().iterdir())  # the partial bytes are gone once joined


@pytest.mark.django_db(transaction=True)
def test_a_dropped_connection_resumes_from_the_last_stored_byte(live_server: Any) -> None:
    job = make_job(track_title="Billie Jean")
    data = wav_bytes(3.0)
    headers = _session_headers(live_server.url, job.created_by, job)
    endpoint = _endpoint(live_server.url, job)
    first = tus_client.TusClient(endpoint, headers=headers).uploader(
        file_stream=io.BytesIO(data),
        chunk_size=len(data) // 4,
        metadata={"filename": "Vocal - Billie Jean.wav", "kind": "stem"},
    )
    first.upload_chunk()  # a quarter is in
    upload = _upload_of(first.url)
    assert upload.offset == len(data) // 4

    # The next request carries the rest but the line drops after 100 kB of it.
    rest = data[upload.offset :]
    _cut_patch(first.url, headers, upload.offset, rest, 100_000)
    upload = _wait_settled(upload)
    stored = upload.offset
    assert stored == len(data) // 4 + 100_000
    assert Path(partial_dir() / upload.storage_key).stat().st_size == stored

    # A new client (the tab was closed) resumes from the server's offset.
    second = tus_client.TusClient(endpoint, headers=headers).uploader(
        file_stream=io.BytesIO(data), url=first.url, chunk_size=len(data)
    )
    assert second.offset == stored
    second.upload()

    upload.refresh_from_db()
    assert upload.state == UploadState.JOINED
    # Every byte reached the server exactly once: the stored ones were not sent again.
    assert upload.bytes_received == len(data)
    assert [c[:2] for c in upload.chunks] == [
        [0, len(data) // 4],
        [len(data) // 4, 100_000],
        [stored, len(data) - stored],
    ]
    audio = AudioFile.objects.get(job=job)
    assert audio.sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.django_db(transaction=True)
def test_a_resume_with_other_bytes_is_refused_and_the_upload_starts_again(
    live_server: Any,
) -> None:
    job = make_job(track_title="Billie Jean")
    original = wav_bytes(2.0, freq=440.0)
    changed = wav_bytes(2.0, freq=220.0)  # the same length: a re-export over the same name
    assert len(original) == len(changed)
    headers = _session_headers(live_server.url, job.created_by, job)
    endpoint = _endpoint(live_server.url, job)
    meta = {
        "filename": "Bass - Billie Jean.wav",
        "kind": "stem",
        "sha256": hashlib.sha256(original).hexdigest(),
    }
    first = tus_client.TusClient(endpoint, headers=headers).uploader(
        file_stream=io.BytesIO(original), chunk_size=len(original) // 2, metadata=meta
    )
    first.upload_chunk()
    resumed = tus_client.TusClient(endpoint, headers=headers).uploader(
        file_stream=io.BytesIO(changed), url=first.url, chunk_size=len(changed)
    )
    with pytest.raises(TusCommunicationError) as refused:
        resumed.upload()
    assert refused.value.status_code == 460

    upload = _upload_of(first.url)
    assert upload.state == UploadState.REFUSED
    assert not AudioFile.objects.filter(job=job).exists()  # never joined
    assert not (partial_dir() / upload.storage_key).exists()
    head = requests.head(first.url, headers={**headers, **TUS}, timeout=10)
    assert head.status_code == 404  # a client that resumes is told to start again

    again = tus_client.TusClient(endpoint, headers=headers).uploader(
        file_stream=io.BytesIO(original), chunk_size=len(original), metadata=meta
    )
    again.upload()
    assert AudioFile.objects.get(job=job).sha256 == meta["sha256"]


# --- the protocol's refusals, through the test client ------------------------------------------


@pytest.fixture
def job(db: None) -> Any:
    return make_job(track_title="Billie Jean")


def _as(user: User) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _create(c: Client, job: Any, length: int, name: str = "Bass - Billie Jean.wav", **kw: Any):
    return c.post(
        reverse("tus_create", args=[job.pk]),
        headers={**TUS, "Upload-Length": str(length), "Upload-Metadata": _metadata(name, **kw)},
    )


def _patch(c: Client, url: str, offset: int, body: bytes, **headers: str):
    return c.generic(
        "PATCH",
        url,
        data=body,
        content_type="application/offset+octet-stream",
        headers={**TUS, "Upload-Offset": str(offset), **headers},
    )


def test_options_tells_the_version_extensions_and_size_cap(job: Any) -> None:
    response = _as(job.created_by).options(reverse("tus_create", args=[job.pk]))
    assert response.status_code == 204
    assert response["Tus-Version"] == "1.0.0"
    assert set(response["Tus-Extension"].split(",")) >= {"creation", "termination", "checksum"}
    assert int(response["Tus-Max-Size"]) == StudioPolicy.current().max_file_bytes


def test_a_patch_at_a_stale_offset_is_refused_and_writes_nothing(job: Any) -> None:
    c = _as(job.created_by)
    data = wav_bytes(0.5)
    url = _create(c, job, len(data))["Location"]
    assert _patch(c, url, 0, data[:1000]).status_code == 204
    stale = _patch(c, url, 0, data[:5000])  # the client thinks nothing was stored
    assert stale.status_code == 409
    assert "at byte 1000" in stale.content.decode()
    upload = _upload_of(url)
    assert (upload.offset, upload.bytes_received) == (1000, 1000)
    head = c.head(url, headers=TUS)
    assert (head.status_code, head["Upload-Offset"], head["Upload-Length"]) == (
        200,
        "1000",
        str(len(data)),
    )


def test_a_chunk_whose_checksum_differs_is_refused_and_not_kept(job: Any) -> None:
    c = _as(job.created_by)
    data = wav_bytes(0.5)
    url = _create(c, job, len(data))["Location"]
    wrong = base64.b64encode(hashlib.sha256(b"other bytes").digest()).decode()
    response = _patch(c, url, 0, data[:4096], **{"Upload-Checksum": f"sha256 {wrong}"})
    assert response.status_code == 460
    upload = _upload_of(url)
    assert upload.offset == 0
    assert (partial_dir() / upload.storage_key).stat().st_size == 0
    right = base64.b64encode(hashlib.sha256(data[:4096]).digest()).decode()
    ok = _patch(c, url, 0, data[:4096], **{"Upload-Checksum": f"sha256 {right}"})
    assert (ok.status_code, ok["Upload-Offset"]) == (204, "4096")


def test_an_upload_over_the_file_cap_is_refused_before_a_byte_is_written(job: Any) -> None:
    policy = StudioPolicy.current()
    policy.max_file_bytes = 1_000_000
    policy.save()
    response = _create(_as(job.created_by), job, 1_000_001)
    assert response.status_code == 413
    assert "976.6\xa0KB per file" in response.content.decode()
    assert not PartialUpload.objects.exists()
    assert not partial_dir().exists() or not list(partial_dir().iterdir())


def test_uploads_under_way_count_against_the_job_cap(job: Any) -> None:
    policy = StudioPolicy.current()
    policy.max_file_bytes, policy.max_job_bytes = 600_000, 1_000_000
    policy.save()
    c = _as(job.created_by)
    assert _create(c, job, 600_000).status_code == 201
    second = _create(c, job, 600_000, name="Vocal - Billie Jean.wav")
    assert second.status_code == 413
    assert "past its 976.6\xa0KB limit" in second.content.decode()


def test_another_clients_job_and_upload_are_404(job: Any) -> None:
    owner = _as(job.created_by)
    url = _create(owner, job, 1000)["Location"]
    outsider = _as(make_user(Role.CLIENT))
    assert _create(outsider, job, 1000).status_code == 404
    assert outsider.head(url, headers=TUS).status_code == 404
    assert _patch(outsider, url, 0, b"x" * 10).status_code == 404
    assert outsider.delete(url, headers=TUS).status_code == 404
    assert _upload_of(url).offset == 0
    # A colleague in the same organisation hands in on the job, but not into this upload.
    colleague = _as(make_user(Role.CLIENT, organisation=job.organisation))
    assert colleague.head(url, headers=TUS).status_code == 404
    assert _create(colleague, job, 1000).status_code == 201


def test_an_engineer_cannot_hand_in_and_a_manager_can(job: Any) -> None:
    assert _create(_as(make_user(Role.ENGINEER)), job, 1000).status_code == 403
    assert _create(_as(make_user(Role.MANAGER)), job, 1000).status_code == 201


def test_a_job_that_no_longer_takes_files_refuses_the_last_chunk(job: Any) -> None:
    c = _as(job.created_by)
    data = wav_bytes(0.5)
    url = _create(c, job, len(data))["Location"]
    assert _patch(c, url, 0, data[:1000]).status_code == 204
    type(job).objects.filter(pk=job.pk).update(status=JobStatus.SUBMITTED)
    last = _patch(c, url, 1000, data[1000:])
    assert last.status_code == 400
    assert "not while it is submitted" in last.content.decode()
    assert not AudioFile.objects.exists()
    assert _upload_of(url).state == UploadState.REFUSED


def test_bytes_changed_on_disk_before_joining_are_refused(job: Any) -> None:
    c = _as(job.created_by)
    data = wav_bytes(0.5)
    url = _create(c, job, len(data))["Location"]
    assert _patch(c, url, 0, data[:1000]).status_code == 204
    path = partial_dir() / _upload_of(url).storage_key
    with open(path, "r+b") as fh:
        fh.write(b"\x00" * 10)
    assert _patch(c, url, 1000, data[1000:]).status_code == 460
    assert not AudioFile.objects.exists()


def test_a_wrong_protocol_version_or_content_type_is_refused(job: Any) -> None:
    c = _as(job.created_by)
    response = c.post(reverse("tus_create", args=[job.pk]), headers={"Upload-Length": "10"})
    assert (response.status_code, response["Tus-Version"]) == (412, "1.0.0")
    url = _create(c, job, 10)["Location"]
    wrong_type = c.generic(
        "PATCH",
        url,
        data=b"x" * 10,
        content_type="text/plain",
        headers={**TUS, "Upload-Offset": "0"},
    )
    assert wrong_type.status_code == 415


def test_termination_removes_the_bytes(job: Any) -> None:
    c = _as(job.created_by)
    url = _create(c, job, 5000)["Location"]
    _patch(c, url, 0, b"RIFF" + b"\x00" * 996)
    assert c.delete(url, headers=TUS).status_code == 204
    upload = _upload_of(url)
    assert upload.state == UploadState.ABANDONED
    assert not (partial_dir() / upload.storage_key).exists()
    assert c.head(url, headers=TUS).status_code == 404


def test_the_sweep_removes_uploads_abandoned_for_a_day(job: Any) -> None:
    c = _as(job.created_by)
    stale_url = _create(c, job, 5000)["Location"]
    _patch(c, stale_url, 0, b"\x00" * 1000)
    with time_machine.travel(timezone.now() + timedelta(hours=20)):
        fresh_url = _create(c, job, 5000, name="Vocal - Billie Jean.wav")["Location"]
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        assert partial_uploads_sweep() == 1
    stale, fresh = _upload_of(stale_url), _upload_of(fresh_url)
    assert stale.state == UploadState.ABANDONED
    assert not (partial_dir() / stale.storage_key).exists()
    assert fresh.state == UploadState.OPEN
    assert (partial_dir() / fresh.storage_key).exists()


def test_stems_handed_in_by_tus_are_measured_and_get_their_verdict(
    job: Any, django_capture_on_commit_callbacks: Any
) -> None:
    c = _as(job.created_by)
    for name, data in [
        ("Bass - Billie Jean.wav", wav_bytes(1.0, freq=110.0)),
        ("Vocal - Billie Jean.wav", wav_bytes(1.0, freq=440.0)),
    ]:
        url = _create(c, job, len(data), name=name)["Location"]
        assert _patch(c, url, 0, data).status_code == 204
    assert AudioFile.objects.filter(job=job).count() == 2
    with django_capture_on_commit_callbacks(execute=True):
        c.post(reverse("job_submit", args=[job.pk]))
    job.refresh_from_db()
    report = IntakeReport.objects.get(job=job)
    assert job.verdict and job.status != JobStatus.DRAFT
    assert report.verdict == job.verdict
