"""What a client reads about a file names no server path and no internal error: a decoder's
complaint becomes plain words with a fix, and the detail goes to the log."""

from __future__ import annotations

import logging
import struct
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from analysis.models import FileAnalysis
from analysis.services import file_measure
from jobs.models import AudioFile, Role
from tests.factories import make_audio_file, make_job, make_user

pytestmark = pytest.mark.django_db


def wav_without_format() -> bytes:
    """RIFF/WAVE with a data chunk and no fmt chunk: the sniffer takes it, libsndfile refuses it
    (and names the file's full path when it does)."""
    data = b"\x00" * 400
    return (
        b"RIFF"
        + struct.pack("<I", 12 + len(data))
        + b"WAVE"
        + b"data"
        + struct.pack("<I", len(data))
        + data
    )


def _pages(client: Client, job_id: object) -> str:
    return "".join(
        client.get(reverse(name, args=[job_id])).content.decode()
        for name in ("job_detail", "job_intake")
    )


def test_a_decoder_error_reaches_the_client_as_plain_words(
    settings, caplog, django_capture_on_commit_callbacks
) -> None:
    owner = make_user(Role.CLIENT)
    job = make_job(client=owner)
    browser = Client()
    browser.force_login(owner)
    upload = SimpleUploadedFile("Bass - Billie Jean.wav", wav_without_format(), "audio/wav")
    assert browser.post(
        reverse("job_upload", args=[job.pk]), {"kind": "stem", "files": [upload]}
    ).status_code in (200, 302)
    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        assert browser.post(reverse("job_submit", args=[job.pk])).status_code == 302
    media = str(Path(settings.MEDIA_ROOT).resolve())
    body = _pages(browser, job.pk)
    assert "Bass - Billie Jean.wav cannot be read" in body
    assert "Export Bass - Billie Jean again" in body
    for leak in (
        media,
        str(settings.MEDIA_ROOT),
        "/tmp",
        "Error opening",
        "libsndfile",
        "chunk marker",
    ):
        assert leak not in body, leak
    report = FileAnalysis.objects.get(audio_file__job=job).report
    assert media not in str(report["findings"]) and media not in str(report["unreadable"])


def test_a_storage_failure_is_shown_without_its_detail(settings) -> None:
    owner = make_user(Role.CLIENT)
    job = make_job(client=owner)
    audio = make_audio_file(job)
    stored = Path(audio.file.path)
    stored.unlink()  # the file is gone from storage: open() names the full path
    analysis = FileAnalysis.objects.create(audio_file=audio)
    with pytest.raises(OSError):
        file_measure(analysis_id=analysis.pk)
    analysis.refresh_from_db()
    assert analysis.error == "the stored file could not be read"
    browser = Client()
    browser.force_login(owner)
    body = _pages(browser, job.pk)
    assert "the stored file could not be read" in body
    for leak in (str(stored.parent), audio.file.name, "FileNotFoundError", "Errno"):
        assert leak not in body, leak
    assert AudioFile.objects.filter(pk=audio.pk).exists()
