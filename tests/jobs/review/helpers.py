"""Files measured by the real pipeline (in this process), for the review room's tests."""

from __future__ import annotations

import io

import numpy as np
import soundfile as sf

from analysis.models import FileAnalysis
from analysis.services import file_measure
from jobs.models import AudioFile, FileKind, Job, User
from tests.factories import make_audio_file


def tone(
    seconds: float = 2.0,
    *,
    dbfs: float = -12.0,
    rate: int = 48000,
    clip_at: tuple[float, ...] = (),
    fmt: str = "WAV",
    subtype: str = "PCM_24",
) -> bytes:
    """A stereo 440 Hz sine at `dbfs`, with runs of full-scale samples at `clip_at` seconds."""
    t = np.arange(int(seconds * rate)) / rate
    x = 10 ** (dbfs / 20) * np.sin(2 * np.pi * 440.0 * t)
    for at in clip_at:
        start = int(at * rate)
        x[start : start + 8] = 1.0
    buf = io.BytesIO()
    sf.write(buf, np.stack([x, x], axis=1), rate, subtype=subtype, format=fmt)
    return buf.getvalue()


def measured_file(
    job: Job,
    *,
    kind: str = FileKind.STEM,
    name: str = "Bass - Billie Jean.wav",
    content: bytes | None = None,
    by: User | None = None,
    **kw: object,
) -> AudioFile:
    audio = make_audio_file(
        job, kind=kind, name=name, content=content or tone(), uploaded_by=by, **kw
    )
    analysis = FileAnalysis.objects.create(audio_file=audio)
    assert file_measure(analysis_id=analysis.pk) == "measured"
    return audio
