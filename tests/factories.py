"""Small factories for tests: each makes one valid row with sensible defaults."""

from __future__ import annotations

import hashlib
import io
import itertools
from datetime import timedelta
from typing import Any

import numpy as np
import soundfile as sf
from django.core.files.base import ContentFile
from django.utils import timezone

from jobs.models import (
    CLOCK_RUNNING,
    AudioFile,
    FileKind,
    Job,
    JobStatus,
    Organisation,
    Role,
    User,
)

_seq = itertools.count(1)


def make_organisation(name: str | None = None) -> Organisation:
    return Organisation.objects.create(name=name or f"Client {next(_seq)}")


def make_user(
    role: str = Role.CLIENT, *, organisation: Organisation | None = None, **kw: Any
) -> User:
    n = next(_seq)
    if role == Role.CLIENT and organisation is None:
        organisation = make_organisation()
    kw.setdefault("username", f"{role}{n}")
    kw.setdefault("email", f"{role}{n}@example.com")
    user = User(role=role, organisation=organisation, **kw)
    user.set_password("correct horse battery staple")
    user.save()
    return user


def make_job(*, client: User | None = None, status: str = JobStatus.DRAFT, **kw: Any) -> Job:
    client = client or make_user(Role.CLIENT)
    assert client.organisation is not None
    if status in CLOCK_RUNNING:
        kw.setdefault("accepted_at", timezone.now())
        kw.setdefault("due_at", kw["accepted_at"] + timedelta(days=3))
        kw.setdefault("promise_days", 3)
    if status == JobStatus.ON_HOLD:
        kw.setdefault("status_before_hold", JobStatus.SUBMITTED)
    kw.setdefault("track_title", "Billie Jean")
    kw.setdefault("artist", "The Demo Band")
    return Job.objects.create(
        organisation=client.organisation, created_by=client, status=status, **kw
    )


def wav_bytes(
    seconds: float = 1.0,
    *,
    rate: int = 48000,
    channels: int = 2,
    freq: float = 440.0,
    peak: float = 0.5,
    subtype: str = "PCM_24",
    fmt: str = "WAV",
) -> bytes:
    """A sine, as the bytes of an audio file."""
    t = np.arange(int(seconds * rate)) / rate
    mono = peak * np.sin(2 * np.pi * freq * t)
    data = np.repeat(mono[:, None], channels, axis=1) if channels > 1 else mono
    buf = io.BytesIO()
    sf.write(buf, data, rate, subtype=subtype, format=fmt)
    return buf.getvalue()


def make_audio_file(
    job: Job,
    *,
    kind: str = FileKind.STEM,
    name: str = "Bass - Billie Jean.wav",
    content: bytes | None = None,
    uploaded_by: User | None = None,
    **kw: Any,
) -> AudioFile:
    content = content if content is not None else wav_bytes()
    kw.setdefault("sha256", hashlib.sha256(content).hexdigest())
    kw.setdefault("size_bytes", len(content))
    audio = AudioFile(
        job=job,
        kind=kind,
        original_name=name,
        uploaded_by=uploaded_by or job.created_by,
        **kw,
    )
    audio.file.save(name, ContentFile(content), save=False)
    audio.save()
    return audio
