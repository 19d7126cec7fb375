"""Uploads are hostile until measured: generated names, hashes while writing, type by content,
caps enforced before the bytes are written, and re-uploads that keep the old version."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.test import Client
from django.urls import reverse

from analysis.audio.sniff import sniff
from jobs.models import AudioFile, EventKind, JobEvent, JobStatus, Role, StudioPolicy
from jobs.uploads import UploadError, audio_file_add
from tests.factories import make_job, make_user, wav_bytes

pytestmark = pytest.mark.django_db


def _files_on_disk(media: Path) -> list[Path]:
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


@pytest.fixture
def media(settings: Any) -> Path:
    return Path(settings.MEDIA_ROOT)


@pytest.fixture
def job():
    return make_job()


@pytest.fixture
def client_for(job):
    c = Client()
    c.force_login(job.created_by)
    return c


def _post(c: Client, job, *files: tuple[str, bytes], kind: str = "stem", **extra: Any):
    uploads = [SimpleUploadedFile(name, data, "audio/wav") for name, data in files]
    return c.post(reverse("job_upload", args=[job.pk]), {"files": uploads, "kind": kind}, **extra)


def test_it_stores_under_a_generated_name_with_hash_and_size(job, media: Path) -> None:
    data = wav_bytes(0.5)
    audio = audio_file_add(
        job=job,
        content=io.BytesIO(data),
        name="Bass - Billie Jean.wav",
        kind="stem",
        by=job.created_by,
    )
    assert audio.original_name == "Bass - Billie Jean.wav"
    assert audio.sha256 == hashlib.sha256(data).hexdigest()
    assert audio.size_bytes == len(data)
    assert audio.file.name.startswith(f"jobs/{job.pk}/")
    assert "Bass" not in audio.file.name and not audio.file.name.endswith(".wav")
    assert (media / audio.file.name).read_bytes() == data
    assert audio.detected_type == "WAV"


def test_a_reupload_of_a_stem_is_a_new_version_and_keeps_the_old(job, media: Path) -> None:
    first = audio_file_add(
        job=job,
        content=io.BytesIO(wav_bytes(0.2)),
        name="Bass - X.wav",
        kind="stem",
        by=job.created_by,
    )
    second = audio_file_add(
        job=job,
        content=io.BytesIO(wav_bytes(0.3)),
        name="bass - x.WAV",
        kind="stem",
        by=job.created_by,
    )
    first.refresh_from_db()
    assert (second.lineage, second.version, second.is_current) == (first.lineage, 2, True)
    assert not first.is_current
    assert (media / first.file.name).exists() and (media / second.file.name).exists()
    other = audio_file_add(
        job=job,
        content=io.BytesIO(wav_bytes(0.2)),
        name="Kick - X.wav",
        kind="stem",
        by=job.created_by,
    )
    assert other.lineage != first.lineage and other.version == 1
    assert JobEvent.objects.filter(job=job, kind=EventKind.FILE).count() == 3


@pytest.mark.parametrize(
    "name",
    [
        "../../x.wav",
        "/etc/passwd",
        "..\\..\\evil.wav",
        "a" * 300 + ".wav",
        "Bass\u202ewav.exe - X.wav",
        ".htaccess",
    ],
)
def test_hostile_names_change_nothing_on_disk(job, media: Path, tmp_path: Path, name: str) -> None:
    audio = audio_file_add(
        job=job, content=io.BytesIO(wav_bytes(0.1)), name=name, kind="stem", by=job.created_by
    )
    stored = (media / audio.file.name).resolve()
    assert stored.is_relative_to((media / "jobs" / str(job.pk)).resolve())
    assert [p.resolve() for p in _files_on_disk(media)] == [stored]
    assert not (tmp_path / "x.wav").exists()
    assert "/" not in audio.original_name and "\\" not in audio.original_name
    assert "\u202e" not in audio.original_name and len(audio.original_name) <= 255
    assert not audio.original_name.startswith(".")


def _zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("Bass.wav", wav_bytes(0.1))
    return buf.getvalue()


@pytest.mark.parametrize(
    ("content", "detected"),
    [
        (_zip_bytes(), "ZIP"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 100, "MP3"),
        (b"\xff\xfb\x90\x64" * 100, "MP3"),
        (b"<!DOCTYPE html><html><script>alert(1)</script></html>", "HTML"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt " + b"\x00" * 40, "WAV"),
        (b"OggS" + b"\x00" * 60, "OGG"),
    ],
)
def test_type_is_decided_by_content_not_name(job, content: bytes, detected: str) -> None:
    assert sniff(content).container == detected
    audio = audio_file_add(
        job=job, content=io.BytesIO(content), name="Bass - X.wav", kind="stem", by=job.created_by
    )
    assert audio.detected_type == detected
    event = JobEvent.objects.get(job=job, kind=EventKind.FILE)
    if detected != "WAV":
        assert detected in event.note  # reported in the history, not trusted


def _sound(fmt: str, subtype: str) -> bytes:
    import numpy as np
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, np.zeros((100, 2)), 48000, format=fmt, subtype=subtype)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("content", "detected", "note"),
    [
        (_sound("W64", "PCM_24"), "W64", ""),
        (b"FORM\x00\x00\x00\x04AIFC", "AIFC", ""),
        (_sound("OGG", "OPUS"), "OGG", "content: an Ogg Opus file (lossy) [OGG]"),
    ],
)
def test_uploads_know_every_type_the_probe_knows(job, content: bytes, detected: str, note: str):
    audio = audio_file_add(
        job=job, content=io.BytesIO(content), name="Bass - X.wav", kind="stem", by=job.created_by
    )
    assert audio.detected_type == detected
    assert JobEvent.objects.get(job=job, kind=EventKind.FILE).note == note


def test_the_view_reports_what_a_fake_wav_really_is(job, client_for) -> None:
    response = _post(client_for, job, ("Bass - X.wav", _zip_bytes()), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert AudioFile.objects.filter(job=job).count() == 1
    body = response.content.decode()
    assert "Bass - X.wav" in body


def test_upload_view_stores_files_and_redirects(job, client_for) -> None:
    response = _post(
        client_for, job, ("Bass - X.wav", wav_bytes(0.2)), ("Kick - X.wav", wav_bytes(0.2))
    )
    assert response.status_code == 302
    assert sorted(AudioFile.objects.filter(job=job).values_list("original_name", flat=True)) == [
        "Bass - X.wav",
        "Kick - X.wav",
    ]


class _Spy(FileUploadHandler):
    """Stands where the temporary-file handler stands: what reaches it would be written."""

    received: list[int] = []

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        _Spy.received.append(len(raw_data))
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


@pytest.fixture
def spy(settings: Any):
    _Spy.received = []
    settings.FILE_UPLOAD_HANDLERS = [
        "jobs.uploads.CappedUploadHandler",
        f"{__name__}._Spy",
        "django.core.files.uploadhandler.TemporaryFileUploadHandler",
    ]
    return _Spy


def test_the_per_file_cap_is_enforced_before_bytes_are_written(job, client_for, media, spy) -> None:
    StudioPolicy.objects.update_or_create(pk=1, defaults={"max_file_bytes": 100_000})
    big = wav_bytes(3.0)  # ~860 kB
    assert len(big) > 100_000
    response = _post(client_for, job, ("Bass - X.wav", big), HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert "larger than the 97.7" in response.content.decode()
    assert AudioFile.objects.filter(job=job).count() == 0
    assert _files_on_disk(media) == []
    assert sum(spy.received) <= 100_000  # the chunk that crossed the cap never went further


def test_the_per_job_cap_is_enforced_before_bytes_are_written(job, client_for, media, spy) -> None:
    StudioPolicy.objects.update_or_create(
        pk=1, defaults={"max_file_bytes": 600_000, "max_job_bytes": 800_000}
    )
    audio_file_add(
        job=job,
        content=io.BytesIO(wav_bytes(2.0)),
        name="Bass - X.wav",
        kind="stem",
        by=job.created_by,
    )  # ~576 kB used
    spy.received.clear()
    response = _post(client_for, job, ("Kick - X.wav", wav_bytes(1.5)), HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert "space left on this job" in response.content.decode()
    assert AudioFile.objects.filter(job=job).count() == 1
    assert len(_files_on_disk(media)) == 1
    assert sum(spy.received) == 0


def test_the_service_refuses_a_file_over_the_caps(job, media: Path) -> None:
    StudioPolicy.objects.update_or_create(pk=1, defaults={"max_file_bytes": 1000})
    with pytest.raises(UploadError, match="limit is"):
        audio_file_add(
            job=job,
            content=io.BytesIO(wav_bytes(0.1)),
            name="B - X.wav",
            kind="stem",
            by=job.created_by,
        )
    assert _files_on_disk(media) == []


def test_files_cannot_be_added_once_submitted(media: Path) -> None:
    job = make_job(status=JobStatus.ANALYSING)
    with pytest.raises(UploadError, match="draft or waiting on you"):
        audio_file_add(
            job=job,
            content=io.BytesIO(wav_bytes(0.1)),
            name="B - X.wav",
            kind="stem",
            by=job.created_by,
        )
    assert _files_on_disk(media) == []


def test_an_unknown_kind_is_refused(job) -> None:
    with pytest.raises(UploadError, match="stem, the rough mix or a reference"):
        audio_file_add(
            job=job, content=io.BytesIO(b"x"), name="B - X.wav", kind="mixtape", by=job.created_by
        )


def test_a_master_is_refused_before_the_work_is_in_progress(job) -> None:
    with pytest.raises(UploadError, match="Masters can be uploaded while the job is in progress"):
        audio_file_add(
            job=job, content=io.BytesIO(b"x"), name="B - X.wav", kind="master", by=job.created_by
        )


def test_outsiders_get_404_and_engineers_403(job) -> None:
    outsider = Client()
    outsider.force_login(make_user(Role.CLIENT))
    assert _post(outsider, job, ("B - X.wav", wav_bytes(0.1))).status_code == 404
    engineer = Client()
    engineer.force_login(make_user(Role.ENGINEER))
    assert _post(engineer, job, ("B - X.wav", wav_bytes(0.1))).status_code == 403
    assert AudioFile.objects.count() == 0


def test_an_upload_without_the_csrf_token_is_refused(job) -> None:
    c = Client(enforce_csrf_checks=True)
    c.force_login(job.created_by)
    assert _post(c, job, ("B - X.wav", wav_bytes(0.1))).status_code == 403
    assert AudioFile.objects.count() == 0
