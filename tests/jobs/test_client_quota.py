"""A storage quota per client across all its jobs (studio policy), enforced before any byte of a
file is written; the message names the cap. Masters, the studio's own work, do not count."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.test import Client
from django.urls import reverse

from jobs.models import AudioFile, JobStatus, Role, StudioPolicy
from jobs.uploads import UploadError, audio_file_add
from tests.factories import make_job, make_user, wav_bytes

pytestmark = pytest.mark.django_db


class _Seen(FileUploadHandler):
    """Sits after the cap handler and records every byte that got past it."""

    received: list[int] = []

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        _Seen.received.append(len(raw_data))
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


@pytest.fixture
def seen(settings: Any) -> type[_Seen]:
    _Seen.received = []
    settings.FILE_UPLOAD_HANDLERS = [
        "jobs.uploads.CappedUploadHandler",
        f"{__name__}._Seen",
        "django.core.files.uploadhandler.TemporaryFileUploadHandler",
    ]
    return _Seen


@pytest.fixture
def small_quota() -> None:
    policy = StudioPolicy.current()
    policy.max_file_bytes = 600_000
    policy.max_job_bytes = 800_000
    policy.max_client_bytes = 1_000_000  # a per-job cap alone bounds nothing: jobs are free
    policy.save()


def _stored(media: Path) -> list[Path]:
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


def test_the_default_quota_is_a_few_jobs_worth() -> None:
    policy = StudioPolicy.current()
    assert policy.max_client_bytes >= 4 * policy.max_job_bytes


def test_a_client_cannot_spread_past_the_quota_over_new_jobs(
    settings: Any, small_quota: None, seen: type[_Seen]
) -> None:
    owner = make_user(Role.CLIENT)
    first = make_job(client=owner)
    audio_file_add(
        job=first, content=io.BytesIO(wav_bytes(2.0)), name="Bass - A.wav", kind="stem", by=owner
    )  # ~576 kB of the client's 1 MB
    second = make_job(client=owner, track_title="Another Song")
    browser = Client()
    browser.force_login(owner)
    seen.received.clear()
    upload = SimpleUploadedFile("Keys - B.wav", wav_bytes(1.8), "audio/wav")  # ~518 kB
    response = browser.post(
        reverse("job_upload", args=[second.pk]),
        {"files": [upload], "kind": "stem"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "Keys - B.wav was not stored" in body
    assert "976.6\xa0KB allowed per client" in body  # the cap, named
    assert not AudioFile.objects.filter(job=second).exists()
    assert sum(seen.received) == 0  # refused from the request's length: nothing went further
    assert len(_stored(Path(settings.MEDIA_ROOT))) == 1

    # What still fits is taken.
    small = SimpleUploadedFile("Keys - B.wav", wav_bytes(0.5), "audio/wav")
    assert browser.post(
        reverse("job_upload", args=[second.pk]), {"files": [small], "kind": "stem"}
    ).status_code in (200, 302)
    assert AudioFile.objects.filter(job=second).count() == 1


def test_the_service_refuses_past_the_quota_too(small_quota: None, settings: Any) -> None:
    owner = make_user(Role.CLIENT)
    audio_file_add(
        job=make_job(client=owner),
        content=io.BytesIO(wav_bytes(2.0)),
        name="Bass - A.wav",
        kind="stem",
        by=owner,
    )
    second = make_job(client=owner, track_title="Another Song")
    with pytest.raises(UploadError, match="allowed per client"):
        audio_file_add(
            job=second,
            content=io.BytesIO(wav_bytes(1.5)),
            name="Keys - B.wav",
            kind="stem",
            by=owner,
        )  # what a cloud link adds goes through here
    assert not AudioFile.objects.filter(job=second).exists()
    assert len(_stored(Path(settings.MEDIA_ROOT))) == 1


def test_masters_do_not_count_against_the_client(small_quota: None) -> None:
    owner = make_user(Role.CLIENT)
    engineer = make_user(Role.ENGINEER)
    audio_file_add(
        job=make_job(client=owner),
        content=io.BytesIO(wav_bytes(2.0)),
        name="Bass - A.wav",
        kind="stem",
        by=owner,
    )
    job = make_job(client=owner, status=JobStatus.IN_PROGRESS, track_title="Mastered")
    master = audio_file_add(
        job=job,
        content=io.BytesIO(wav_bytes(1.5)),
        name="Master - Mastered.wav",
        kind="master",
        by=engineer,
    )
    assert master.pk is not None
